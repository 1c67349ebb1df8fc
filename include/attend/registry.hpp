// The registry of backends and the two calls everything goes through: attention() runs a problem,
// explain() says what every backend thinks of it. Both use the same evaluation, so they agree.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "attend/backend.hpp"
#include "attend/error.hpp"
#include "attend/params.hpp"

namespace attend {

inline constexpr std::string_view kAuto = "auto";
// "auto", or "native", the name diffusers gives it.
constexpr bool is_auto(std::string_view id) noexcept {
  return id == kAuto || id == "native";
}

// Runs attention with the active backend (scope > process default; see scope.hpp).
void attention(const Params& params);
// Runs attention with the named backend ("auto" lets the dispatcher choose).
void attention(const Params& params, std::string_view backend);

// Where the backend of a call came from.
enum class Source { argument, scope, layer, process_default };
std::string_view source_name(Source s) noexcept;

struct Explanation {
  std::string requested;  // the id asked for (may be "auto")
  Source source = Source::process_default;
  std::string chosen;             // the backend that would run; empty if none can
  std::vector<Verdict> verdicts;  // every registered backend, best-ranked first
};

// What every backend says about this problem, and which one `attention` would take.
// Invalid input (a problem no backend could ever run) throws attend::Error as attention() does;
// the opt-in data checks (ATTEND_CHECKS) run only in attention(), which reads the data.
Explanation explain(const Params& params);
Explanation explain(const Params& params, std::string_view backend);

struct BackendInfo {
  std::string id;
  std::string family;
  std::string description;
  std::string origin;
  std::vector<std::string> aliases;
  Capabilities capabilities;
  Availability availability;
};

// Every registered backend, best availability first (the order `auto` tries them in).
std::vector<BackendInfo> list_backends();
bool has_backend(std::string_view id);
// Resolves an id or a diffusers alias ("_native_math", "flash_varlen", ...) to an attend id.
// Throws attend::Error(Code::unknown_backend) listing the known ids if nothing matches.
std::string resolve_backend_id(std::string_view id_or_alias);

// Adds a backend. A duplicate id throws attend::Error(Code::plugin) unless `replace` is true.
void register_backend(std::shared_ptr<const Backend> backend, bool replace = false);
// Removes a backend by id; returns false if there was none. Built-ins may be removed too.
bool unregister_backend(std::string_view id);

// Loads a backend from a shared library through the C ABI of attend/plugin.h and registers it.
// Returns its id. Throws attend::Error(Code::plugin) with the reason when the library cannot be
// loaded, lacks the entry symbol, speaks another ABI version, describes itself inconsistently, or
// reuses a registered id (built-in ids are shadowed only with `replace`).
std::string load_plugin(const std::string& path, bool replace = false);

// Plugins found through ATTEND_PLUGIN_PATH (a ':'-separated list of directories, each scanned
// for *.so files at first use of the registry) that were refused, with their reasons.
struct PluginRefusal {
  std::string path;
  std::string reason;
};
std::vector<PluginRefusal> plugin_refusals();

// Data checks (NaN/Inf scans of host q/k/v, fully masked rows) cost a pass over memory and
// are off unless ATTEND_CHECKS=1 or this is switched on.
void set_data_checks(bool enabled);
bool data_checks_enabled();

}  // namespace attend
