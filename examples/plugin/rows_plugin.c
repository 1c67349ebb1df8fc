/* An attend backend shipped as a plugin, written in plain C against attend/plugin.h: fp32
 * attention one query row at a time with an online softmax. Any strides, BSHD/BHSD/THD (varlen),
 * causal in both alignments, sliding windows, softcap, GQA and LSE. Build it as a shared library
 * and load it with attend::load_plugin() or ATTEND_PLUGIN_PATH. */
#include <attend/plugin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int32_t rows_availability(char* reason, size_t size) {
  snprintf(reason, size, "portable C, always available");
  return 5; /* below the built-in SIMD backend, above the reference */
}

static void attend_row(const attend_problem* p, int64_t b, int64_t h, int64_t i, int64_t q0,
                       int64_t q_len, int64_t k0, int64_t k_len, float* acc) {
  const int64_t kv = h / (p->Hq / p->Hkv);
  const float* q = (const float*)p->q.data + b * p->q.sb + (q0 + i) * p->q.ss + h * p->q.sh;
  const int64_t pos = i + (p->align == ATTEND_ALIGN_BOTTOM_RIGHT ? k_len - q_len : 0);
  int64_t lo = p->window_left >= 0 ? pos - p->window_left : 0;
  int64_t hi = p->window_right >= 0 ? pos + p->window_right + 1 : k_len;
  if (lo < 0) lo = 0;
  if (hi > k_len) hi = k_len;

  float m = -INFINITY, l = 0.0f;
  for (int64_t d = 0; d < p->Dv; ++d) acc[d] = 0.0f;
  for (int64_t j = lo; j < hi; ++j) {
    const float* k = (const float*)p->k.data + b * p->k.sb + (k0 + j) * p->k.ss + kv * p->k.sh;
    const float* v = (const float*)p->v.data + b * p->v.sb + (k0 + j) * p->v.ss + kv * p->v.sh;
    float s = 0.0f;
    for (int64_t d = 0; d < p->D; ++d) s += q[d * p->q.sd] * k[d * p->k.sd];
    s *= (float)p->scale;
    if (p->softcap > 0) s = (float)p->softcap * tanhf(s / (float)p->softcap);
    const float m_new = s > m ? s : m;
    const float correction = expf(m - m_new); /* rescales what was summed under the old max */
    const float w = expf(s - m_new);
    l = l * correction + w;
    for (int64_t d = 0; d < p->Dv; ++d) acc[d] = acc[d] * correction + w * v[d * p->v.sd];
    m = m_new;
  }
  float* out = (float*)p->out.data + b * p->out.sb + (q0 + i) * p->out.ss + h * p->out.sh;
  for (int64_t d = 0; d < p->Dv; ++d) out[d * p->out.sd] = l > 0 ? acc[d] / l : 0.0f;
  if (p->lse.data)
    p->lse.data[b * p->lse.sb + h * p->lse.sh + (q0 + i) * p->lse.sq] =
        l > 0 ? m + logf(l) : -INFINITY;
}

static int32_t rows_run(const attend_problem* p, char* error, size_t size) {
  if (p->struct_size < sizeof(attend_problem)) {
    snprintf(error, size, "host problem struct is %u bytes, plugin needs %zu", p->struct_size,
             sizeof(attend_problem));
    return 1;
  }
  float* acc = (float*)malloc((size_t)(p->Dv > 0 ? p->Dv : 1) * sizeof(float));
  if (!acc) {
    snprintf(error, size, "out of memory for %lld floats", (long long)p->Dv);
    return 2;
  }
  for (int64_t b = 0; b < p->B; ++b) {
    int64_t q0 = 0, q_len = p->Sq, k0 = 0, k_len = p->Sk;
    if (p->varlen) {
      q0 = p->cu_seqlens_q[b], q_len = p->cu_seqlens_q[b + 1] - q0;
      k0 = p->cu_seqlens_k[b], k_len = p->cu_seqlens_k[b + 1] - k0;
    }
    for (int64_t h = 0; h < p->Hq; ++h)
      for (int64_t i = 0; i < q_len; ++i) attend_row(p, b, h, i, q0, q_len, k0, k_len, acc);
  }
  free(acc);
  return 0;
}

static const attend_plugin kRowsPlugin = {
    ATTEND_PLUGIN_ABI_VERSION,
    sizeof(attend_plugin),
    "cpu_rows",
    "cpu",
    "example plugin: fp32 attention row by row, online softmax, in C",
    NULL,
    {ATTEND_DEVICE_CPU, 0, 0, 1u << ATTEND_DTYPE_F32,
     (1u << ATTEND_LAYOUT_BSHD) | (1u << ATTEND_LAYOUT_BHSD) | (1u << ATTEND_LAYOUT_THD), 1, 0, 1,
     ATTEND_CAP_DIFFERENT_V_HEAD_DIM | ATTEND_CAP_CAUSAL_TOP_LEFT | ATTEND_CAP_CAUSAL_BOTTOM_RIGHT |
         ATTEND_CAP_WINDOW | ATTEND_CAP_SOFTCAP | ATTEND_CAP_GQA | ATTEND_CAP_LSE |
         ATTEND_CAP_DETERMINISTIC | ATTEND_CAP_ANY_STRIDES,
     0},
    rows_availability,
    rows_run,
};

__attribute__((visibility("default"))) const attend_plugin* attend_plugin_entry(
    uint32_t host_abi_version) {
  (void)host_abi_version; /* the host checks our version; we have nothing to adapt */
  return &kRowsPlugin;
}
