// Run with ATTEND_PLUGIN_PATH naming the test plugins' directory (plus empty entries, which
// must not mean the current directory): good plugins load, every bad one is refused with a reason.
#include <gtest/gtest.h>

#include <algorithm>

#include "attend/attend.hpp"

namespace attend {
namespace {

TEST(PluginPath, LoadsGoodPluginsAndRefusesTheRest) {
  EXPECT_TRUE(has_backend("test_plugin"));
  EXPECT_TRUE(has_backend("failing_plugin"));
  const auto refusals = plugin_refusals();
  auto refused = [&](const char* file) {
    return std::any_of(refusals.begin(), refusals.end(), [&](const PluginRefusal& r) {
      return r.path.find(file) != std::string::npos;
    });
  };
  for (const char* f : {"bad_abi.so", "no_abi.so", "no_entry.so", "null_description.so",
                        "bad_caps.so", "duplicate_id.so", "bad_id.so", "small_struct.so",
                        "garbage.so", "nonexistent-dir-is-reported"}) {
    EXPECT_TRUE(refused(f)) << f;
  }
  EXPECT_EQ(refusals.size(), 15u);
  for (const PluginRefusal& r : refusals) EXPECT_FALSE(r.reason.empty()) << r.path;
  // The built-in math backend was not shadowed by the plugin that claimed its id.
  for (const BackendInfo& b : list_backends()) {
    if (b.id == "math") EXPECT_EQ(b.origin, "built-in");
  }
}

}  // namespace
}  // namespace attend
