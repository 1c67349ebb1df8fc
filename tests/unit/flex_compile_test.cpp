// The flex backend's run-time compilation on any machine with NVRTC (no GPU needed): generated
// modules compile, a wrong source comes back with the compiler's message at the snippet's line,
// and modules are cached in memory and on disk under ATTEND_CACHE_DIR.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "attend/attend.hpp"
#include "backends/flex/codegen.hpp"
#include "backends/flex/compiler.hpp"

namespace attend {
namespace {

namespace fs = std::filesystem;

class FlexCompile : public testing::Test {
 protected:
  void SetUp() override {
    if (flex::compiler_availability().score <= 0) {
      GTEST_SKIP() << flex::compiler_availability().reason;
    }
    dir_ = fs::temp_directory_path() / ("attend-flex-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    setenv("ATTEND_CACHE_DIR", dir_.c_str(), 1);
    flex::forget_compiled_modules();
  }
  void TearDown() override {
    unsetenv("ATTEND_CACHE_DIR");
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::size_t cached_files() const {
    std::size_t n = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_ / "flex", ec))
      n += e.path().extension() == ".cubin";
    return n;
  }
  fs::path dir_;
};

FlexSpec alibi_causal() {
  FlexSpec s;
  s.score_mod = "score - slopes[h] * (q_idx - kv_idx)";
  s.mask_mod = "q_idx >= kv_idx";
  s.tensors = {{"slopes", view(reinterpret_cast<void*>(256), DType::f32, Device::cuda(0), {24})}};
  return s;
}

TEST_F(FlexCompile, ModulesCompileForEveryVariant) {
  const FlexSpec spec = alibi_causal();
  for (DType t : {DType::bf16, DType::f16}) {
    for (int kd : {64, 128, 256}) {
      const auto m = flex::compiled_module(spec, {t, kd, true});
      ASSERT_TRUE(m->error.empty()) << m->error;
      EXPECT_GT(m->cubin.size(), 10000u);
      EXPECT_NE(m->kernel_name.find("flash3_fwd_kernel"), std::string::npos) << m->kernel_name;
      EXPECT_NE(m->block_mask_name.find("block_mask_kernel"), std::string::npos);
    }
  }
}

TEST_F(FlexCompile, CompileErrorsNameTheSnippetAndLine) {
  FlexSpec s;
  s.score_mod = "score + no_such_table[kv_idx]";
  auto m = flex::compiled_module(s, {DType::bf16, 128, true});
  EXPECT_NE(m->error.find("score_mod(1)"), std::string::npos) << m->error;
  EXPECT_NE(m->error.find("no_such_table"), std::string::npos) << m->error;

  FlexSpec t;
  t.mask_mod = "const int window = 8;\nreturn q_idx - kv_idx < windw;";
  m = flex::compiled_module(t, {DType::bf16, 128, false});
  EXPECT_NE(m->error.find("mask_mod(2)"), std::string::npos) << m->error;
  EXPECT_NE(m->error.find("windw"), std::string::npos) << m->error;
}

TEST_F(FlexCompile, CachedInMemoryThenOnDisk) {
  const FlexSpec spec = alibi_causal();
  const flex::Variant v{DType::bf16, 128, true};
  const auto first = flex::compiled_module(spec, v);
  ASSERT_TRUE(first->error.empty()) << first->error;
  EXPECT_EQ(first->from, flex::CompiledModule::From::compiler);
  EXPECT_EQ(cached_files(), 1u);
  EXPECT_EQ(flex::compiled_module(spec, v).get(), first.get());  // the memory hit

  flex::forget_compiled_modules();
  const auto from_disk = flex::compiled_module(spec, v);
  EXPECT_EQ(from_disk->from, flex::CompiledModule::From::disk);
  EXPECT_EQ(from_disk->cubin, first->cubin);
  EXPECT_EQ(from_disk->kernel_name, first->kernel_name);

  // Another source is another module; a corrupt file is compiled again, not loaded.
  FlexSpec other = spec;
  other.mask_mod = "q_idx >= kv_idx + 1";
  EXPECT_EQ(flex::compiled_module(other, v)->from, flex::CompiledModule::From::compiler);
  EXPECT_EQ(cached_files(), 2u);
  for (const auto& e : fs::directory_iterator(dir_ / "flex")) fs::resize_file(e.path(), 30);
  flex::forget_compiled_modules();
  EXPECT_EQ(flex::compiled_module(spec, v)->from, flex::CompiledModule::From::compiler);
}

TEST_F(FlexCompile, KeyFollowsWhatTheSourceDependsOn) {
  const FlexSpec spec = alibi_causal();
  const std::string base = flex::module_key(spec, {DType::bf16, 128, true});
  EXPECT_NE(base, flex::module_key(spec, {DType::f16, 128, true}));
  EXPECT_NE(base, flex::module_key(spec, {DType::bf16, 64, true}));
  FlexSpec wider = spec;
  wider.tensors[0].tensor.dtype = DType::bf16;
  EXPECT_NE(base, flex::module_key(wider, {DType::bf16, 128, true}));
  // The tensors' data and sizes are run-time arguments: not in the key.
  FlexSpec moved = spec;
  moved.tensors[0].tensor = view(reinterpret_cast<void*>(512), DType::f32, Device::cuda(0), {40});
  EXPECT_EQ(base, flex::module_key(moved, {DType::bf16, 128, true}));
}

}  // namespace
}  // namespace attend
