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
    for (auto& b : {backends::make_cpu_flash(), backends::make_math()}) {
      insert_sorted(*entries, Entry{b, b->availability()});
    }
    for (auto& b : plugins_from_env(st->refusals)) {
      if (find_entry(*entries, b->id())) {
        st->refusals.push_back(
            {b->origin(), str("attend: plugin ", b->origin(), " refused: backend id '", b->id(),
                              "' is already registered")});
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
  if (id == kAuto || id == "native") return std::string(kAuto);
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
  if (id.empty() || id == kAuto) {
    throw Error(Code::plugin, core::str("attend: backend id '", id, "' is reserved or empty"));
  }
  Availability availability = backend->availability();
  core::Store& s = core::store();
  std::lock_guard lock(s.mutex);
  auto next = std::make_unique<core::Snapshot>(*s.current);
  auto same = std::find_if(next->begin(), next->end(),
                           [&](const core::Entry& e) { return e.backend->id() == id; });
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
