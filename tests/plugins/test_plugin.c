/* Test plugins, one per refusal the loader must give, selected by a PLUGIN_* definition. Each
 * is otherwise a valid plugin that copies q to out (for head dims that match). */
#include <attend/plugin.h>
#include <stdio.h>
#include <string.h>

static int32_t avail(char* reason, size_t size) {
  snprintf(reason, size, "test plugin");
  return 2;
}

static int32_t run_copy(const attend_problem* p, char* error, size_t size) {
#ifdef PLUGIN_RUN_FAILS
  (void)p;
  snprintf(error, size, "device exploded (on purpose)");
  return 7;
#else
  (void)error, (void)size;
  for (int64_t b = 0; b < p->B; ++b)
    for (int64_t s = 0; s < p->Sq; ++s)
      for (int64_t h = 0; h < p->Hq; ++h)
        for (int64_t d = 0; d < p->Dv; ++d) {
          const float* q = (const float*)p->q.data;
          float* o = (float*)p->out.data;
          o[b * p->out.sb + s * p->out.ss + h * p->out.sh + d * p->out.sd] =
              q[b * p->q.sb + s * p->q.ss + h * p->q.sh + d * p->q.sd];
        }
  return 0;
#endif
}

#ifndef PLUGIN_ID
#define PLUGIN_ID "test_plugin"
#endif
#ifndef PLUGIN_ABI
#define PLUGIN_ABI ATTEND_PLUGIN_ABI_VERSION
#endif
#ifndef PLUGIN_STRUCT_SIZE
#define PLUGIN_STRUCT_SIZE sizeof(attend_plugin)
#endif
#ifndef PLUGIN_DEVICE
#define PLUGIN_DEVICE ATTEND_DEVICE_CPU
#endif
#ifndef PLUGIN_ALIGNMENT
#define PLUGIN_ALIGNMENT 0
#endif
#ifdef PLUGIN_NO_RUN
#define PLUGIN_RUN_FN NULL
#else
#define PLUGIN_RUN_FN run_copy
#endif

#ifdef PLUGIN_BAD_CAPS
#undef PLUGIN_DTYPES
#define PLUGIN_DTYPES 0u
#define PLUGIN_HEAD_MIN 64
#define PLUGIN_HEAD_MAX 32
#define PLUGIN_FLAGS (1u << 30)
#else
#ifndef PLUGIN_DTYPES
#define PLUGIN_DTYPES (1u << ATTEND_DTYPE_F32)
#endif
#define PLUGIN_HEAD_MIN 1
#define PLUGIN_HEAD_MAX 0
#define PLUGIN_FLAGS ATTEND_CAP_ANY_STRIDES
#endif

#ifndef PLUGIN_ALIAS
#define PLUGIN_ALIAS "_test_alias"
#endif
static const char* const kAliases[] = {PLUGIN_ALIAS, NULL};

static const attend_plugin kPlugin = {
    PLUGIN_ABI,
    PLUGIN_STRUCT_SIZE,
    PLUGIN_ID,
    "test",
    "a test plugin",
    kAliases,
    {PLUGIN_DEVICE, 0, 0, PLUGIN_DTYPES, 1u << ATTEND_LAYOUT_BSHD, PLUGIN_HEAD_MIN, PLUGIN_HEAD_MAX,
     1, PLUGIN_FLAGS, PLUGIN_ALIGNMENT},
    avail,
    PLUGIN_RUN_FN,
};

#ifdef PLUGIN_NO_ENTRY
__attribute__((visibility("default"))) const attend_plugin* some_other_name(uint32_t v) {
  (void)v;
  return &kPlugin;
}
#else
__attribute__((visibility("default"))) const attend_plugin* attend_plugin_entry(uint32_t v) {
  (void)v;
#ifdef PLUGIN_NULL_DESCRIPTION
  return NULL;
#else
  return &kPlugin;
#endif
}
#endif
