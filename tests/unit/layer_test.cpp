#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "attend/attend.hpp"
#include "probe_backend.hpp"
#include "problem_fixture.hpp"

namespace attend {
namespace {

using testing::ScopedProbe;

struct TinyModel {
  std::vector<Attention> layers = std::vector<Attention>(3);
  template <class F>
  void for_each_attention_layer(F&& f) {
    for (Attention& a : layers) f(a);
  }
};
static_assert(AttentionModel<TinyModel>);

class LayerTest : public ::testing::Test {
 protected:
  ScopedProbe a_{"probe_a", 90};
  ScopedProbe b_{"probe_b", 80};
  support::HostProblem problem_{testing::small_spec()};
  support::Output out_ = problem_.make_output();
  Params params_ = problem_.params(out_);
};

TEST_F(LayerTest, LayerSettingBeatsProcessDefault) {
  Attention layer("probe_b");
  layer(params_);
  EXPECT_EQ(b_.calls(), 1);
  EXPECT_EQ(a_.calls(), 0);
  layer.reset_backend();
  layer(params_);  // back to the default (auto): the best probe
  EXPECT_EQ(a_.calls(), 1);
}

TEST_F(LayerTest, ScopeBeatsLayerSetting) {
  Attention layer("probe_b");
  BackendScope scope("probe_a");
  layer(params_);
  EXPECT_EQ(a_.calls(), 1);
  EXPECT_EQ(b_.calls(), 0);
  const Explanation ex = layer.explain(params_);
  EXPECT_EQ(ex.source, Source::scope);
  EXPECT_EQ(ex.chosen, "probe_a");
}

TEST_F(LayerTest, SetAttentionBackendTouchesOnlyThatModel) {
  TinyModel first, second;
  set_attention_backend(first, "_probe_probe_b");
  for (const Attention& l : first.layers) EXPECT_EQ(l.backend(), "probe_b");
  for (const Attention& l : second.layers) EXPECT_FALSE(l.backend().has_value());
  EXPECT_EQ(current_scope_backend(), nullptr);
  EXPECT_EQ(default_backend(), "auto");

  for (Attention& l : first.layers) l(params_);
  for (Attention& l : second.layers) l(params_);
  EXPECT_EQ(b_.calls(), 3);
  EXPECT_EQ(a_.calls(), 3);

  reset_attention_backend(first);
  for (const Attention& l : first.layers) EXPECT_FALSE(l.backend().has_value());
}

TEST_F(LayerTest, UnknownIdLeavesModelUntouched) {
  TinyModel m;
  set_attention_backend(m, "probe_a");
  EXPECT_THROW(set_attention_backend(m, "nope"), Error);
  for (const Attention& l : m.layers) EXPECT_EQ(l.backend(), "probe_a");
}

TEST_F(LayerTest, ModelsOnDifferentThreadsKeepTheirOwnBackends) {
  TinyModel ma, mb;
  set_attention_backend(ma, "probe_a");
  set_attention_backend(mb, "probe_b");
  auto run = [&](TinyModel& m) {
    for (int i = 0; i < 50; ++i) {
      for (Attention& l : m.layers) l(params_);
    }
  };
  std::thread t1(run, std::ref(ma)), t2(run, std::ref(mb));
  t1.join();
  t2.join();
  EXPECT_EQ(a_.calls(), 150);
  EXPECT_EQ(b_.calls(), 150);
}

}  // namespace
}  // namespace attend
