// dlopen + the entry symbol + a checked description = a Backend. A refused library is closed; an
// accepted one lives as long as its backend, which registry snapshots keep for the process.
#include "core/plugin_loader.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "attend/error.hpp"
#include "attend/plugin.h"
#include "core/plugin_abi.hpp"
#include "core/text.hpp"

namespace attend::core {
namespace {

[[noreturn]] void refuse(const std::string& path, const std::string& why) {
  throw Error(Code::plugin, str("attend: plugin ", path, " refused: ", why));
}

class PluginBackend final : public Backend {
 public:
  // Owns the library: it is closed when the last reference to this backend goes (a refused
  // registration), never while a snapshot can still reach it.
  PluginBackend(const attend_plugin& d, std::string path, std::shared_ptr<void> library)
      : d_(d),
        id_(d.id),
        family_(d.family),
        description_(d.description),
        path_(std::move(path)),
        caps_(to_capabilities(d.caps)),
        library_(std::move(library)) {
    for (const char* const* a = d.aliases; a && *a; ++a) aliases_.emplace_back(*a);
  }
  std::string_view id() const noexcept override { return id_; }
  std::string_view family() const noexcept override { return family_; }
  std::string_view description() const noexcept override { return description_; }
  std::vector<std::string> aliases() const override { return aliases_; }
  std::string origin() const override { return path_; }
  const Capabilities& capabilities() const noexcept override { return caps_; }

  Availability availability() const override {
    char reason[256] = {0};
    const std::int32_t score = d_.availability(reason, sizeof reason);
    reason[sizeof reason - 1] = '\0';
    return {std::max<std::int32_t>(score, 0), reason};
  }

  void run(const Problem& problem) const override {
    const attend_problem c = to_c_problem(problem);
    char error[512] = {0};
    const std::int32_t rc = d_.run(&c, error, sizeof error);
    error[sizeof error - 1] = '\0';
    if (rc != 0) {
      throw Error(Code::runtime,
                  str("attend: plugin backend '", id_, "' (", path_, ") failed with code ", rc,
                      ": ", error[0] ? error : "(no message)"));
    }
  }

 private:
  attend_plugin d_;  // a copy: the plugin's strings and functions live as long as the library
  std::string id_, family_, description_, path_;
  std::vector<std::string> aliases_;
  Capabilities caps_;
  std::shared_ptr<void> library_;
};

using Library = std::unique_ptr<void, int (*)(void*)>;

}  // namespace

std::shared_ptr<const Backend> open_plugin(const std::string& path) {
  dlerror();
  Library lib(dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL), dlclose);
  if (!lib) {
    const char* e = dlerror();
    refuse(path, str("cannot be loaded: ", e ? e : "unknown error"));
  }
  void* sym = dlsym(lib.get(), ATTEND_PLUGIN_ENTRY_SYMBOL);
  if (!sym) refuse(path, str("it exports no '", ATTEND_PLUGIN_ENTRY_SYMBOL, "' function"));
  const auto entry = reinterpret_cast<attend_plugin_entry_fn>(sym);
  const attend_plugin* d = entry(ATTEND_PLUGIN_ABI_VERSION);
  if (!d) refuse(path, "its entry returned no description");
  if (d->abi_version == 0) refuse(path, "its description has no ABI version");
  if (d->abi_version != ATTEND_PLUGIN_ABI_VERSION) {
    refuse(path, str("it speaks plugin ABI version ", d->abi_version, ", this attend speaks ",
                     ATTEND_PLUGIN_ABI_VERSION));
  }
  if (d->struct_size < sizeof(attend_plugin)) {
    refuse(path,
           str("its description is ", d->struct_size, " bytes, expected ", sizeof(attend_plugin)));
  }
  const std::vector<std::string> problems = validate_description(*d);
  if (!problems.empty()) {
    std::string all;
    for (const std::string& p : problems) all += (all.empty() ? "" : "; ") + p;
    refuse(path, "its description contradicts itself: " + all);
  }
  return std::make_shared<PluginBackend>(*d, path, std::shared_ptr<void>(lib.release(), dlclose));
}

std::vector<std::shared_ptr<const Backend>> plugins_from_env(std::vector<PluginRefusal>& refusals) {
  std::vector<std::shared_ptr<const Backend>> out;
  const char* env = std::getenv("ATTEND_PLUGIN_PATH");
  if (!env || !*env) return out;
  std::string list(env);
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t end = std::min(list.find(':', start), list.size());
    const std::string dir = list.substr(start, end - start);
    start = end + 1;
    if (dir.empty()) continue;  // never the current directory implicitly
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      if (e.path().extension() == ".so") files.push_back(e.path());
    }
    if (ec) {
      refusals.push_back({dir, "ATTEND_PLUGIN_PATH directory cannot be read: " + ec.message()});
      continue;
    }
    std::sort(files.begin(), files.end());  // a stable order, whatever the file system's
    for (const auto& f : files) {
      try {
        out.push_back(open_plugin(f.string()));
      } catch (const Error& e) {
        refusals.push_back({f.string(), e.what()});
      }
    }
  }
  return out;
}

}  // namespace attend::core
