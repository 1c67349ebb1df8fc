#include <gtest/gtest.h>

#include <algorithm>

#include "attend/attend.hpp"
#include "probe_backend.hpp"

namespace attend {
namespace {

using testing::ScopedProbe;

TEST(Registry, BuiltinsAreListedBestFirst) {
  const auto all = list_backends();
  ASSERT_GE(all.size(), 2u);
  auto find = [&](std::string_view id) {
    return std::find_if(all.begin(), all.end(), [&](const BackendInfo& b) { return b.id == id; });
  };
  ASSERT_NE(find("math"), all.end());
  ASSERT_NE(find("cpu_flash"), all.end());
  EXPECT_EQ(find("math")->availability.score, 1);
  EXPECT_EQ(find("math")->origin, "built-in");
  for (std::size_t i = 1; i < all.size(); ++i) {
    EXPECT_GE(all[i - 1].availability.score, all[i].availability.score);
  }
}

TEST(Registry, ResolvesIdsAndDiffusersAliases) {
  EXPECT_EQ(resolve_backend_id("math"), "math");
  EXPECT_EQ(resolve_backend_id("_native_math"), "math");
  EXPECT_EQ(resolve_backend_id("auto"), "auto");
  EXPECT_EQ(resolve_backend_id("native"), "auto");
  try {
    resolve_backend_id("flash_attn_9");
    FAIL() << "expected unknown_backend";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::unknown_backend);
    EXPECT_NE(std::string(e.what()).find("math"), std::string::npos) << "lists known ids";
  }
}

TEST(Registry, DuplicateIdIsRefusedUnlessReplacing) {
  ScopedProbe probe("probe_dup", 5);
  auto again = std::make_shared<testing::ProbeBackend>("probe_dup", 7,
                                                       testing::ProbeBackend::cpu_fp32_caps());
  try {
    register_backend(again);
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::plugin);
  }
  register_backend(again, /*replace=*/true);
  const auto all = list_backends();
  const auto it = std::find_if(all.begin(), all.end(),
                               [](const BackendInfo& b) { return b.id == "probe_dup"; });
  ASSERT_NE(it, all.end());
  EXPECT_EQ(it->availability.score, 7);
}

TEST(Registry, ReservedIdsAreRefused) {
  auto bad =
      std::make_shared<testing::ProbeBackend>("auto", 5, testing::ProbeBackend::cpu_fp32_caps());
  EXPECT_THROW(register_backend(bad), Error);
  EXPECT_THROW(register_backend(nullptr), Error);
}

TEST(Registry, UnregisterRemoves) {
  {
    ScopedProbe probe("probe_gone", 5);
    EXPECT_TRUE(has_backend("probe_gone"));
  }
  EXPECT_FALSE(has_backend("probe_gone"));
  EXPECT_FALSE(unregister_backend("probe_gone"));
}

}  // namespace
}  // namespace attend
