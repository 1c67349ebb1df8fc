// attention() and explain(): resolve the problem once, evaluate backends with the one shared
// predicate, run the first that passes (or the one asked for), explain everything on failure.
#include "core/dispatch.hpp"

#include <string>

#include "attend/scope.hpp"
#include "core/data_checks.hpp"
#include "core/evaluate.hpp"
#include "core/registry_store.hpp"
#include "core/resolve.hpp"
#include "core/selection_state.hpp"

namespace attend {
namespace core {
namespace {

Verdict verdict_for(const Entry& e, const Problem& p) {
  ReasonSink sink(true);
  evaluate(*e.backend, e.availability, p, sink);
  Verdict v;
  v.backend = std::string(e.backend->id());
  v.ok = !sink.refused();
  v.score = e.availability.score;
  v.reasons = sink.take_reasons();
  v.notes = sink.take_notes();
  if (e.backend->capabilities().quantized) {
    v.notes.emplace_back(
        "quantized inside (cosine >= 0.999, relative L1 <= 0.03 against exact "
        "attention): auto never picks it; name it to use it");
  }
  return v;
}

std::vector<Verdict> all_verdicts(const Snapshot& snap, const Problem& p) {
  std::vector<Verdict> out;
  out.reserve(snap.size());
  for (const Entry& e : snap) out.push_back(verdict_for(e, p));
  return out;
}

// `auto` runs exact backends only; quantized ones are chosen by name.
bool auto_may_pick(const Entry& e) {
  return !e.backend->capabilities().quantized;
}

bool passes(const Entry& e, const Problem& p) {
  ReasonSink sink(false);
  evaluate(*e.backend, e.availability, p, sink);
  return !sink.refused();
}

// The entry for a named backend; aliases are resolved off the hot path.
const Entry& named_entry(const Snapshot& snap, std::string_view id) {
  if (const Entry* e = find_entry(snap, id)) return *e;
  const std::string resolved = resolve_backend_id(id);  // throws for unknown ids
  if (const Entry* e = find_entry(snap, resolved)) return *e;
  throw Error(Code::unknown_backend, "attend: backend '" + resolved + "' is not registered");
}

// A strict choice failed: its own reasons, and which backends could have run the problem.
[[noreturn]] void refuse_named(const Snapshot& snap, const Entry& e, const Problem& p) {
  std::vector<Verdict> verdicts{verdict_for(e, p)};
  std::string could;
  for (const Entry& other : snap) {
    if (&other != &e && passes(other, p))
      could += (could.empty() ? "" : ", ") + std::string(other.backend->id());
  }
  verdicts.front().notes.push_back(could.empty() ? "no registered backend can run this problem"
                                                 : "backends that can run it: " + could);
  throw NoBackendError(std::string(e.backend->id()), std::move(verdicts));
}

}  // namespace

Request pick(const std::string* layer_id) {
  if (const std::string* scoped = current_scope_backend()) return {*scoped, Source::scope};
  if (layer_id) return {*layer_id, Source::layer};
  return {process_default_backend(), Source::process_default};
}

void dispatch(const Params& params, Request request) {
  const Problem problem = resolve(params);
  if (data_checks_enabled()) run_data_checks(problem);
  const Snapshot& snap = snapshot();
  if (is_auto(request.id)) {
    for (const Entry& e : snap) {
      if (auto_may_pick(e) && passes(e, problem)) return e.backend->run(problem);
    }
    throw NoBackendError(std::string(kAuto), all_verdicts(snap, problem));
  }
  const Entry& e = named_entry(snap, request.id);
  if (!passes(e, problem)) refuse_named(snap, e, problem);
  e.backend->run(problem);
}

Explanation explain(const Params& params, Request request) {
  const Problem problem = resolve(params);
  const Snapshot& snap = snapshot();
  Explanation ex;
  ex.requested = resolve_backend_id(request.id);
  ex.source = request.source;
  ex.verdicts = all_verdicts(snap, problem);
  for (std::size_t i = 0; i < ex.verdicts.size(); ++i) {
    const Verdict& v = ex.verdicts[i];
    const bool wanted = ex.requested == kAuto ? auto_may_pick(snap[i]) : v.backend == ex.requested;
    if (v.ok && wanted) {
      ex.chosen = v.backend;
      break;
    }
  }
  return ex;
}

}  // namespace core

std::string_view source_name(Source s) noexcept {
  switch (s) {
    case Source::argument:
      return "argument";
    case Source::scope:
      return "scope";
    case Source::layer:
      return "layer";
    case Source::process_default:
      return "default";
  }
  return "?";
}

void attention(const Params& params) {
  core::dispatch(params, core::pick(nullptr));
}

void attention(const Params& params, std::string_view backend) {
  core::dispatch(params, {backend, Source::argument});
}

Explanation explain(const Params& params) {
  return core::explain(params, core::pick(nullptr));
}

Explanation explain(const Params& params, std::string_view backend) {
  return core::explain(params, {backend, Source::argument});
}

}  // namespace attend
