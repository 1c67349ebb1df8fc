// Backend registration, listing, and id/alias resolution.
#include "attend/registry.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>

#include "backends/builtin.hpp"
#include "core/plugin_loader.hpp"
#include "core/registry_store.hpp"
#include "core/text.hpp"
#include "core/validate_backend.hpp"

namespace attend {
namespace core {
namespace {

struct Store {
  std::mutex mutex;
  const Snapshot* current = nullptr;
  std::vector<std::unique_ptr<const Snapshot>> all;  // every snapshot ever published
  std::atomic<std::uint64_t> generation{1};
  std::vector<PluginRefusal> refusals;  // from ATTEND_PLUGIN_PATH

  void publish(std::unique_ptr<const Snapshot> next) {
    current = next.get();
    all.push_back(std::move(next));
    generation.fetch_add(1, std::memory_order_release);
  }
};

}  // namespace

// Ids and aliases share one namespace: a name must resolve to exactly one backend. The entry
// with the same id (the one a replacement displaces) does not count.
std::string name_clash(const Snapshot& entries, const Backend& backend) {
  std::vector<std::string> names = backend.aliases();
  names.emplace_back(backend.id());
  for (const Entry& e : entries) {
    if (e.backend->id() == backend.id()) continue;
    std::vector<std::string> taken = e.backend->aliases();
    taken.emplace_back(e.backend->id());
    for (const std::string& n : names) {
      if (std::find(taken.begin(), taken.end(), n) != taken.end()) {
        return str("the name '", n, "' already belongs to '", e.backend->id(), "'");
      }
    }
  }
  return {};
}

namespace {

void insert_sorted(Snapshot& entries, Entry entry) {
  // Best score first; equal scores keep registration order.
  auto at = std::find_if(entries.begin(), entries.end(), [&](const Entry& e) {
    return e.availability.score < entry.availability.score;
  });
  entries.insert(at, std::move(entry));
}

Store& store() {
  static Store* s = [] {
    auto* st = new Store;  // never destroyed: backends may be used from static destructors
    auto entries = std::make_unique<Snapshot>();
    for (auto& b :
         {backends::make_flash3(), backends::make_flash3_varlen(), backends::make_cudnn(),
          backends::make_flash(), backends::make_flash_varlen(), backends::make_efficient(),
          backends::make_flex(), backends::make_sage(), backends::make_sage_varlen(),
          backends::make_sage_fp8(), backends::make_cuda_math(), backends::make_cpu_flash(),
          backends::make_math()}) {
      insert_sorted(*entries, Entry{b, b->availability()});
    }
    for (auto& b : plugins_from_env(st->refusals)) {
      std::string why = find_entry(*entries, b->id())
                            ? str("backend id '", b->id(), "' is already registered")
                            : name_clash(*entries, *b);
      if (!why.empty()) {
        st->refusals.push_back(
            {b->origin(), str("attend: plugin ", b->origin(), " refused: ", why)});
        continue;
      }
      insert_sorted(*entries, Entry{b, b->availability()});
    }
    st->publish(std::move(entries));
    return st;
  }();
  return *s;
}

}  // namespace

const Snapshot& snapshot() {
  Store& s = store();
  thread_local std::uint64_t seen = 0;
  thread_local const Snapshot* cached = nullptr;
  if (seen != s.generation.load(std::memory_order_acquire)) {
    std::lock_guard lock(s.mutex);
    cached = s.current;
    seen = s.generation.load(std::memory_order_relaxed);
  }
  return *cached;
}

const Entry* find_entry(const Snapshot& s, std::string_view id) noexcept {
  for (const Entry& e : s) {
    if (e.backend->id() == id) return &e;
  }
  return nullptr;
}

}  // namespace core

std::vector<BackendInfo> list_backends() {
  const core::Snapshot& snap = core::snapshot();
  std::vector<BackendInfo> out;
  out.reserve(snap.size());
  for (const core::Entry& e : snap) {
    const Backend& b = *e.backend;
    out.push_back({std::string(b.id()), std::string(b.family()), std::string(b.description()),
                   b.origin(), b.aliases(), b.capabilities(), e.availability});
  }
  return out;
}

bool has_backend(std::string_view id) {
  return core::find_entry(core::snapshot(), id) != nullptr;
}

std::string resolve_backend_id(std::string_view id) {
  if (is_auto(id)) return std::string(kAuto);
  const core::Snapshot& snap = core::snapshot();
  if (core::find_entry(snap, id)) return std::string(id);
  for (const core::Entry& e : snap) {
    for (const std::string& alias : e.backend->aliases()) {
      if (alias == id) return std::string(e.backend->id());
    }
  }
  std::string known = "auto";
  for (const core::Entry& e : snap) known += ", " + std::string(e.backend->id());
  throw Error(Code::unknown_backend,
              core::str("attend: unknown backend '", id, "'; known: ", known));
}

void register_backend(std::shared_ptr<const Backend> backend, bool replace) {
  if (!backend) throw Error(Code::usage, "attend: register_backend got a null backend");
  const std::string id(backend->id());
  if (const std::vector<std::string> why = core::backend_problems(*backend); !why.empty()) {
    std::string all;
    for (const std::string& w : why) all += (all.empty() ? "" : "; ") + w;
    throw Error(Code::plugin, core::str("attend: backend '", id, "' refused: ", all));
  }
  Availability availability = backend->availability();
  core::Store& s = core::store();
  std::lock_guard lock(s.mutex);
  auto next = std::make_unique<core::Snapshot>(*s.current);
  auto same = std::find_if(next->begin(), next->end(),
                           [&](const core::Entry& e) { return e.backend->id() == id; });
  if (std::string clash = core::name_clash(*next, *backend); !clash.empty()) {
    throw Error(Code::plugin, core::str("attend: backend '", id, "' refused: ", clash));
  }
  if (same != next->end()) {
    if (!replace) {
      throw Error(Code::plugin,
                  core::str("attend: a backend with id '", id, "' is already registered (",
                            same->backend->origin(), ")"));
    }
    next->erase(same);
  }
  core::insert_sorted(*next, core::Entry{std::move(backend), std::move(availability)});
  s.publish(std::move(next));
}

std::string load_plugin(const std::string& path, bool replace) {
  std::shared_ptr<const Backend> backend = core::open_plugin(path);
  std::string id(backend->id());
  if (const core::Entry* same = core::find_entry(core::snapshot(), id); same && !replace) {
    throw Error(Code::plugin, core::str("attend: plugin ", path, " refused: backend id '", id,
                                        "' is already registered (", same->backend->origin(),
                                        "); load it with replace to shadow it"));
  }
  register_backend(std::move(backend), replace);
  return id;
}

std::vector<PluginRefusal> plugin_refusals() {
  core::Store& s = core::store();
  std::lock_guard lock(s.mutex);
  return s.refusals;
}

bool unregister_backend(std::string_view id) {
  core::Store& s = core::store();
  std::lock_guard lock(s.mutex);
  auto next = std::make_unique<core::Snapshot>(*s.current);
  auto it = std::find_if(next->begin(), next->end(),
                         [&](const core::Entry& e) { return e.backend->id() == id; });
  if (it == next->end()) return false;
  next->erase(it);
  s.publish(std::move(next));
  return true;
}

}  // namespace attend
