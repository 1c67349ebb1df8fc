// A test backend that records how often it ran, with capabilities the test chooses, so that
// selection can be observed from outside.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "attend/attend.hpp"

namespace attend::testing {

class ProbeBackend final : public Backend {
 public:
  ProbeBackend(std::string id, int score, Capabilities caps)
      : id_(std::move(id)), score_(score), caps_(std::move(caps)) {}

  static Capabilities cpu_fp32_caps() {
    Capabilities c;
    c.device = DeviceKind::cpu;
    c.dtypes = {DType::f32};
    c.layouts = {Layout::BSHD, Layout::BHSD};
    c.causal_top_left = c.causal_bottom_right = true;
    return c;
  }

  std::string_view id() const noexcept override { return id_; }
  std::string_view family() const noexcept override { return "test"; }
  std::string_view description() const noexcept override { return "records calls"; }
  std::vector<std::string> aliases() const override { return {"_probe_" + id_}; }
  const Capabilities& capabilities() const noexcept override { return caps_; }
  Availability availability() const override {
    return {score_, score_ > 0 ? "test probe" : "probe disabled"};
  }
  void run(const Problem&) const override { calls.fetch_add(1); }

  mutable std::atomic<int> calls{0};

 private:
  std::string id_;
  int score_;
  Capabilities caps_;
};

// Registers a probe for the lifetime of the object.
class ScopedProbe {
 public:
  ScopedProbe(std::string id, int score, Capabilities caps = ProbeBackend::cpu_fp32_caps())
      : probe_(std::make_shared<ProbeBackend>(std::move(id), score, std::move(caps))) {
    register_backend(probe_);
  }
  ~ScopedProbe() { unregister_backend(probe_->id()); }
  int calls() const { return probe_->calls.load(); }
  const ProbeBackend& backend() const { return *probe_; }

 private:
  std::shared_ptr<ProbeBackend> probe_;
};

}  // namespace attend::testing
