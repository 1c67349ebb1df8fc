// `attend check`: every available backend against `math` over the conformance grid, in the
// spirit of ggml's test-backend-ops. A refusal is a SKIP with the dispatcher's reason codes;
// a backend that passes explain() and then throws, or misses the tolerance, is a FAIL. With
// --device cuda each case's inputs are copied to the GPU and its GPU backends are checked.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "attend/registry.hpp"
#include "backend_flags.hpp"
#include "check_cases.hpp"
#include "commands.hpp"
#include "device_flag.hpp"
#include "reference.hpp"
#include "support/device_problem.hpp"

namespace attend::cli {
namespace {

struct Options {
  bool quick = false;
  std::vector<std::string> backends;
  std::string device;
  std::uint64_t seed = 1;
};

struct Tally {
  int passed = 0, failed = 0, skipped = 0;
};

// "[dtype] dtype: expected fp32, got bf16" from the backend's own verdict.
std::string skip_text(const Explanation& ex, const std::string& id) {
  for (const Verdict& v : ex.verdicts) {
    if (v.backend != id) continue;
    std::string codes;
    for (const Reason& r : v.reasons) {
      const std::string code(code_name(r.code));
      if (codes.find(code) == std::string::npos) codes += (codes.empty() ? "" : ",") + code;
    }
    if (v.reasons.empty()) return "[?]";
    const Reason& first = v.reasons.front();
    return fmt::format("[{}] {}: expected {}, got {}", codes, first.what, first.expected,
                       first.got);
  }
  return "[unknown_backend]";
}

std::vector<std::string> backends_to_check(const Options& o, RunDevice device) {
  std::vector<std::string> ids;
  for (const std::string& b : o.backends) ids.push_back(resolve_backend_flag("--backend", b));
  if (!ids.empty()) return ids;
  const DeviceKind kind = device == RunDevice::cuda ? DeviceKind::cuda : DeviceKind::cpu;
  for (const std::string& id : available_backends(kind)) {
    if (id != "math") ids.push_back(id);
  }
  return ids;
}

// One case on one backend: prints its line and counts it. `device` holds the case's inputs
// copied to the GPU, or is empty for a host run.
void check_one(const CheckCase& c, std::size_t index, const std::string& id,
               const support::HostProblem& host, support::DeviceProblem* device,
               bool dropout_attend_stream, std::optional<support::Output>& ref, Tally& tally) {
  const std::string head =
      fmt::format("{:<10} #{:03} {:<13} {}", id, index, c.feature, c.spec.describe());
  support::Output out = host.make_output();
  const Params params = device ? device->params() : host.params(out);  // for explain
  Explanation ex;
  try {
    ex = explain(params, id);
  } catch (const Error& e) {
    ++tally.failed;
    fmt::print("FAIL  {}  invalid case [{}]: {}\n", head, code_name(e.code()), e.what());
    return;
  }
  if (ex.chosen.empty()) {
    ++tally.skipped;
    fmt::print("SKIP  {}  {}\n", head, skip_text(ex, id));
    return;
  }
  // One run into a fresh (poisoned) output.
  const auto run_once = [&](support::Output& o) {
    const Params p = device ? device->params() : host.params(o);
    if (device) device->poison_outputs();
    attention(p, id);
    if (device) o = device->download();
  };
  try {
    run_once(out);
  } catch (const Error& e) {
    ++tally.failed;
    fmt::print("FAIL  {}  explain() accepted it but the call threw [{}]: {}\n", head,
               code_name(e.code()), e.what());
    return;
  }
  if (c.spec.dropout_p > 0 && !dropout_attend_stream) {
    // Its own random stream keeps other weights than the reference's: what can be checked is
    // that the same seed and offset give the same output again.
    support::Output again = host.make_output();
    try {
      run_once(again);
    } catch (const Error& e) {
      ++tally.failed;
      fmt::print("FAIL  {}  the second run threw [{}]: {}\n", head, code_name(e.code()), e.what());
      return;
    }
    const Judgement j = judge(host, again, out, id);
    const bool same = j.pass && j.cmp.max_abs == 0.0;
    ++(same ? tally.passed : tally.failed);
    fmt::print("{}  {}  own dropout stream, against its own second run: {}\n",
               same ? "PASS" : "FAIL", head, j.summary);
    return;
  }
  try {
    if (!ref) ref = reference_output(host);
  } catch (const Error& e) {
    ++tally.failed;
    fmt::print("FAIL  {}  the reference failed [{}]: {}\n", head, code_name(e.code()), e.what());
    return;
  }
  const Judgement j = judge(host, out, *ref, id);
  ++(j.pass ? tally.passed : tally.failed);
  fmt::print("{}  {}  {}\n", j.pass ? "PASS" : "FAIL", head, j.summary);
}

int run_check(const Options& o) {
  const auto start = std::chrono::steady_clock::now();
  const RunDevice device = resolve_device(o.device);
  const std::vector<std::string> ids = backends_to_check(o, device);
  if (ids.empty()) {
    fmt::print("no backend to check: {} (see `attend list`)\n0 passed, 0 failed, 0 skipped\n",
               device == RunDevice::cuda ? "no GPU backend is available on this machine"
                                         : "none besides math is available on this machine");
    return 0;
  }
  const std::vector<CheckCase> cases = check_cases(o.quick, o.seed);
  std::set<std::string> own_dropout;  // backends whose dropout is not attend's stream
  for (const BackendInfo& b : list_backends()) {
    if (!b.capabilities.dropout_attend_stream) own_dropout.insert(b.id);
  }
  fmt::print("checking {} against math on {} cases{}{}\n", fmt::join(ids, ", "), cases.size(),
             o.quick ? " (quick)" : "", device == RunDevice::cuda ? " on the GPU" : "");
  Tally tally;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const support::HostProblem host(cases[i].spec);
    std::optional<support::Output> ref;  // computed once per case, on the first backend that runs
    std::optional<support::DeviceProblem> on_gpu;
    if (device == RunDevice::cuda) {
      try {
        on_gpu.emplace(host);
      } catch (const Error& e) {
        tally.failed += static_cast<int>(ids.size());
        fmt::print("FAIL  #{:03} {:<13} {}  the inputs could not be copied to the GPU: {}\n", i,
                   cases[i].feature, cases[i].spec.describe(), e.what());
        continue;
      }
    }
    for (const std::string& id : ids) {
      check_one(cases[i], i, id, host, on_gpu ? &*on_gpu : nullptr, own_dropout.count(id) == 0, ref,
                tally);
    }
    std::fflush(stdout);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("{} cases in {:.1f} s\n", cases.size(), seconds);
  fmt::print("{} passed, {} failed, {} skipped\n", tally.passed, tally.failed, tally.skipped);
  return tally.failed > 0 ? 1 : 0;
}

}  // namespace

Command add_check_command(CLI::App& parent) {
  auto opts = std::make_shared<Options>();
  CLI::App* app =
      parent.add_subcommand("check", "Conformance sweep of every available backend against math");
  app->footer(
      "Runs every available backend (except math) against math over a random grid of small "
      "problems covering dtypes, head dims, Sq != Sk, both causal alignments, GQA, each mask "
      "broadcast shape, key padding, windows, softcap, varlen with empty sequences, LSE, dropout, "
      "layouts and strides. One line per case: PASS, FAIL, or SKIP with the refusal's reason "
      "codes from attend::explain.\nExit code 1 if anything failed.");
  app->add_flag("--quick", opts->quick, "a smaller grid with shorter sequences");
  app->add_option("--backend", opts->backends,
                  "backends to check (default: every available one of the device "
                  "except math)")
      ->delimiter(',');
  add_device_flag(*app, opts->device);
  app->add_option("--seed", opts->seed, "seed of the grid's sizes and inputs")
      ->capture_default_str();
  return {app, [opts] { return run_check(*opts); }};
}

}  // namespace attend::cli
