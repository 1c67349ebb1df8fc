/* The C API from C: a run checked against the reference, explain, scopes, errors, plugins. */
#include <attend/attend.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static int failures = 0, passes = 0;
#define CHECK(cond)                                                            \
  do {                                                                         \
    if (cond) {                                                                \
      ++passes;                                                                \
    } else {                                                                   \
      ++failures;                                                              \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

enum { B = 2, S = 19, H = 3, D = 16, N = B * S * H * D };
static float q[N], k[N], v[N], out[N], ref[N];

static void make_params(attend_params* p, float* o) {
  const int64_t shape[4] = {B, S, H, D};
  attend_params_init(p);
  p->q = attend_tensor_contiguous(q, ATTEND_DTYPE_F32, ATTEND_DEVICE_CPU, 4, shape);
  p->k = attend_tensor_contiguous(k, ATTEND_DTYPE_F32, ATTEND_DEVICE_CPU, 4, shape);
  p->v = attend_tensor_contiguous(v, ATTEND_DTYPE_F32, ATTEND_DEVICE_CPU, 4, shape);
  p->out = attend_tensor_contiguous(o, ATTEND_DTYPE_F32, ATTEND_DEVICE_CPU, 4, shape);
  p->is_causal = 1;
}

int main(void) {
  for (int i = 0; i < N; ++i) {
    q[i] = sinf(0.37f * i);
    k[i] = cosf(0.11f * i);
    v[i] = sinf(0.05f * i + 2.0f);
  }
  attend_params p;
  make_params(&p, out);
  CHECK(attend_attention(&p, NULL) == 0);
  make_params(&p, ref);
  CHECK(attend_attention(&p, "_native_math") == 0);
  double diff = 0, norm = 0;
  for (int i = 0; i < N; ++i)
    diff += (out[i] - ref[i]) * (out[i] - ref[i]), norm += ref[i] * ref[i];
  CHECK(sqrt(diff / norm) < 1e-5);

  char text[16384]; /* every backend's verdict, with reasons and notes */
  size_t needed = 0;
  CHECK(attend_explain(&p, NULL, text, sizeof text, &needed) == 0);
  CHECK(strstr(text, "chosen: ") != NULL);
  CHECK(needed == strlen(text) + 1);
  char tiny[8];
  CHECK(attend_explain(&p, NULL, tiny, sizeof tiny, &needed) == 0);
  CHECK(strlen(tiny) == 7 && needed > sizeof tiny); /* truncated, NUL-terminated, full size told */

  CHECK(attend_list_backends(text, sizeof text, NULL) == 0);
  CHECK(strstr(text, "math 1 reference built-in") != NULL);

  /* Errors: a code, its name, and a message; nothing escapes as an exception. */
  attend_params bad = p;
  bad.k.shape[3] = 8;
  int code = attend_attention(&bad, NULL);
  CHECK(code != 0);
  CHECK(strcmp(attend_code_name(code), "shape") == 0);
  CHECK(attend_last_error_code() == code);
  CHECK(strstr(attend_last_error(), "head dim") != NULL);
  CHECK(attend_attention(NULL, NULL) != 0);
  CHECK(strcmp(attend_code_name(attend_attention(&p, "no_such_backend")), "unknown_backend") == 0);
  bad = p;
  bad.q.dtype = 42;
  CHECK(strcmp(attend_code_name(attend_attention(&bad, NULL)), "dtype") == 0);

  /* Sizes whose strides overflow int64 are refused, not wrapped. */
  const int64_t huge[4] = {INT64_MAX / 4, 4, 4, 4};
  bad = p;
  bad.q = attend_tensor_contiguous(q, ATTEND_DTYPE_F32, ATTEND_DEVICE_CPU, 4, huge);
  CHECK(strcmp(attend_code_name(attend_attention(&bad, NULL)), "overflow") == 0);

  /* Scopes nest and pop; popping an empty stack is a usage error. */
  CHECK(attend_scope_push("math") == 0);
  CHECK(attend_explain(&p, NULL, text, sizeof text, NULL) == 0);
  CHECK(strstr(text, "requested: math (scope)") != NULL);
  CHECK(attend_scope_pop() == 0);
  CHECK(strcmp(attend_code_name(attend_scope_pop()), "usage") == 0);
  CHECK(attend_scope_push("nope") != 0);

  CHECK(strcmp(attend_code_name(attend_load_plugin("/nonexistent.so", 0)), "plugin") == 0);
  CHECK(strlen(attend_version()) > 0);

  printf("c_api: %d passed, %d failed\n", passes, failures);
  return failures == 0 ? 0 : 1;
}
