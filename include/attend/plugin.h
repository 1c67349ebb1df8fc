/* The stable C ABI for backends loaded at run time. A plugin is a shared library exporting one
 * function, attend_plugin_entry, that returns a description of the backend as plain data: its
 * id, capabilities and two function pointers. attend checks the description before using it and
 * refuses, with a reason, anything inconsistent. No C++ types cross this boundary.
 *
 * Compatibility rule: the first member of attend_plugin is always the ABI version, so a host can
 * read it from any plugin. A host accepts exactly its own ATTEND_PLUGIN_ABI_VERSION. */
#ifndef ATTEND_PLUGIN_H
#define ATTEND_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ATTEND_PLUGIN_ABI_VERSION 1u
#define ATTEND_PLUGIN_ENTRY_SYMBOL "attend_plugin_entry"

/* Element types; the values match attend::DType. */
enum attend_dtype {
  ATTEND_DTYPE_F32 = 0,
  ATTEND_DTYPE_F16 = 1,
  ATTEND_DTYPE_BF16 = 2,
  ATTEND_DTYPE_F64 = 3,
  ATTEND_DTYPE_BOOL = 4,
  ATTEND_DTYPE_I32 = 5,
  ATTEND_DTYPE_I64 = 6
};
enum attend_device_kind { ATTEND_DEVICE_CPU = 0, ATTEND_DEVICE_CUDA = 1 };
enum attend_layout { ATTEND_LAYOUT_BSHD = 0, ATTEND_LAYOUT_BHSD = 1, ATTEND_LAYOUT_THD = 2 };
enum attend_align { ATTEND_ALIGN_TOP_LEFT = 0, ATTEND_ALIGN_BOTTOM_RIGHT = 1 };

/* Capability flags (attend_capabilities.flags). */
#define ATTEND_CAP_DIFFERENT_V_HEAD_DIM (1u << 0)
#define ATTEND_CAP_BOOL_MASK (1u << 1)
#define ATTEND_CAP_ADDITIVE_MASK (1u << 2)
#define ATTEND_CAP_KEY_PADDING_MASK (1u << 3)
#define ATTEND_CAP_MASK_WITH_CAUSAL (1u << 4)
#define ATTEND_CAP_CAUSAL_TOP_LEFT (1u << 5)
#define ATTEND_CAP_CAUSAL_BOTTOM_RIGHT (1u << 6)
#define ATTEND_CAP_WINDOW (1u << 7)
#define ATTEND_CAP_SOFTCAP (1u << 8)
#define ATTEND_CAP_GQA (1u << 9)
#define ATTEND_CAP_DROPOUT (1u << 10)
#define ATTEND_CAP_LSE (1u << 11)
#define ATTEND_CAP_DETERMINISTIC (1u << 12)
#define ATTEND_CAP_BACKWARD (1u << 13)
#define ATTEND_CAP_ANY_STRIDES (1u << 14)
#define ATTEND_CAP_ALL_FLAGS ((1u << 15) - 1u)

/* What the backend can run; the same facts a built-in backend declares. */
typedef struct attend_capabilities {
  int32_t device_kind;       /* enum attend_device_kind */
  int32_t min_sm, max_sm;    /* CUDA compute capability major*10+minor; 0 = no bound */
  uint32_t dtypes;           /* bit (1 << attend_dtype) per accepted q/k/v type */
  uint32_t layouts;          /* bit (1 << attend_layout) per accepted layout */
  int64_t head_dim_min;      /* >= 1 */
  int64_t head_dim_max;      /* 0 = unbounded, else >= head_dim_min */
  int64_t head_dim_multiple; /* >= 1 */
  uint32_t flags;            /* ATTEND_CAP_* */
  int32_t alignment_bytes;   /* 0 or a power of two */
} attend_capabilities;

/* The resolved problem (see attend/problem.hpp for the meaning of each field). Strides are in
 * elements, in canonical (batch, sequence, head, dim) order whatever the caller's layout. */
typedef struct attend_tensor_ref {
  void* data;
  int64_t sb, ss, sh, sd;
} attend_tensor_ref;

typedef struct attend_mask_ref {
  const void* data; /* NULL: absent */
  int32_t dtype;
  int64_t sb, sh, sq, sk;
} attend_mask_ref;

typedef struct attend_lse_ref {
  float* data; /* NULL: absent */
  int64_t sb, sh, sq;
} attend_lse_ref;

typedef struct attend_problem {
  uint32_t struct_size; /* sizeof(attend_problem) of the host */
  int32_t dtype, out_dtype;
  int32_t device_kind, device_index;
  int32_t layout;
  int64_t B, Sq, Sk, Hq, Hkv, D, Dv;
  int32_t varlen;
  const int32_t* cu_seqlens_q;
  const int32_t* cu_seqlens_k;
  int64_t total_q, total_k;
  attend_tensor_ref q, k, v, out;
  attend_mask_ref mask, key_padding;
  attend_lse_ref lse;
  int32_t causal, align;
  int64_t window_left, window_right; /* causal already folded in: right <= 0 */
  double scale, softcap, dropout_p;
  uint64_t dropout_seed, dropout_offset;
  void* stream;
} attend_problem;

typedef struct attend_plugin {
  uint32_t abi_version; /* must stay first: ATTEND_PLUGIN_ABI_VERSION */
  uint32_t struct_size; /* sizeof(attend_plugin) of the plugin */
  const char* id;       /* lowercase letters, digits and '_', unique */
  const char* family;
  const char* description;
  const char* const* aliases; /* NULL-terminated list, or NULL */
  attend_capabilities caps;
  /* Availability score on this machine (0 = cannot run); writes a reason into buf. */
  int32_t (*availability)(char* reason, size_t reason_size);
  /* Runs a problem that passed every check. Returns 0, or non-zero with a message in error. */
  int32_t (*run)(const attend_problem* problem, char* error, size_t error_size);
} attend_plugin;

/* The one symbol a plugin exports. host_abi_version is the host's ATTEND_PLUGIN_ABI_VERSION. */
typedef const attend_plugin* (*attend_plugin_entry_fn)(uint32_t host_abi_version);

#ifdef __cplusplus
}
#endif

#endif /* ATTEND_PLUGIN_H */
