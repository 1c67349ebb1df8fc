/* attend's C API: attention, explain, scopes, backend listing, plugins, errors. For C callers and
 * any language with a C FFI. Every function returns 0 on success or an attend error code (the
 * values of attend::Code; attend_code_name() names them), and never lets a C++ exception out.
 * The message of the last failure on the calling thread is attend_last_error(). */
#ifndef ATTEND_H
#define ATTEND_H

#include <stddef.h>
#include <stdint.h>

#include "attend/plugin.h" /* dtype, device, layout and align values */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct attend_tensor {
  void* data;
  int32_t dtype;       /* enum attend_dtype */
  int32_t device_kind; /* enum attend_device_kind */
  int32_t device_index;
  int32_t rank; /* 0 = absent */
  int64_t shape[4];
  int64_t strides[4]; /* in elements */
} attend_tensor;

typedef struct attend_params {
  attend_tensor q, k, v, out;
  int32_t layout; /* enum attend_layout */
  attend_tensor attn_mask, key_padding_mask;
  int32_t is_causal;
  int32_t align;                     /* enum attend_align */
  int64_t window_left, window_right; /* -1 = unbounded */
  int32_t has_scale;                 /* 0: 1/sqrt(D) */
  double scale;
  double softcap;
  int32_t enable_gqa;
  double dropout_p;
  uint64_t dropout_seed, dropout_offset;
  attend_tensor lse;
  attend_tensor cu_seqlens_q, cu_seqlens_k;
  int64_t max_seqlen_q, max_seqlen_k;
  void* stream;
} attend_params;

/* Zeroes the struct and sets the defaults (unbounded window). */
void attend_params_init(attend_params* params);
/* A contiguous (row-major) tensor view. */
attend_tensor attend_tensor_contiguous(void* data, int32_t dtype, int32_t device_kind, int32_t rank,
                                       const int64_t* shape);

/* Runs attention; backend NULL = the active one (scope > default), or an id / diffusers name. */
int attend_attention(const attend_params* params, const char* backend);
/* Writes every backend's verdict as a table (and the chosen backend) into buf, truncated to size
 * (always NUL-terminated when size > 0); *needed, if given, receives the full length + 1. */
int attend_explain(const attend_params* params, const char* backend, char* buf, size_t size,
                   size_t* needed);

/* Thread-local backend scopes: push makes id active on this thread until the matching pop. */
int attend_scope_push(const char* id);
int attend_scope_pop(void);
int attend_set_default_backend(const char* id);

/* One line per backend: "id score family origin", best first. Same buffer rules as explain. */
int attend_list_backends(char* buf, size_t size, size_t* needed);
int attend_load_plugin(const char* path, int replace);

int attend_last_error_code(void);
const char* attend_last_error(void);
const char* attend_code_name(int code);
const char* attend_version(void);

#ifdef __cplusplus
}
#endif

#endif /* ATTEND_H */
