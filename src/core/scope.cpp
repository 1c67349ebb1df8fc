// Selection state: the process default (ATTEND_BACKEND or set_default_backend) and thread-local
// scopes. Reading either on the hot path costs a thread-local load and one atomic load.
#include "attend/scope.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "attend/error.hpp"
#include "attend/registry.hpp"
#include "core/selection_state.hpp"

namespace attend {
namespace {

thread_local const std::string* innermost_scope = nullptr;

struct DefaultBackend {
  std::mutex mutex;
  std::string id;
  std::atomic<std::uint64_t> generation{0};  // 0: not yet read from the environment
};

DefaultBackend& default_state() {
  static DefaultBackend* d = new DefaultBackend;  // never destroyed: used until process exit
  return *d;
}

}  // namespace

BackendScope::BackendScope(std::string_view id)
    : previous_(innermost_scope), id_(resolve_backend_id(id)) {
  innermost_scope = &id_;
}

BackendScope::~BackendScope() {
  if (innermost_scope != &id_) {
    // Restoring `previous_` now would resurrect a dead scope or drop a live one.
    std::fprintf(stderr, "attend: BackendScope('%s') destroyed out of nesting order\n",
                 id_.c_str());
    std::abort();
  }
  innermost_scope = previous_;
}

const std::string* current_scope_backend() noexcept {
  return innermost_scope;
}

namespace core {

const std::string& process_default_backend() {
  DefaultBackend& d = default_state();
  thread_local std::uint64_t seen = 0;
  thread_local std::string cached;
  std::uint64_t now = d.generation.load(std::memory_order_acquire);
  if (now == 0) {
    std::lock_guard lock(d.mutex);
    if (d.generation.load(std::memory_order_relaxed) == 0) {
      const char* env = std::getenv("ATTEND_BACKEND");
      std::string id = env && *env ? std::string(env) : std::string(kAuto);
      try {
        d.id = resolve_backend_id(id);
      } catch (const Error& e) {
        throw Error(Code::unknown_backend, std::string("ATTEND_BACKEND: ") + e.what());
      }
      d.generation.store(1, std::memory_order_release);
    }
    now = d.generation.load(std::memory_order_relaxed);
  }
  if (seen != now) {
    std::lock_guard lock(d.mutex);
    cached = d.id;
    seen = d.generation.load(std::memory_order_relaxed);
  }
  return cached;
}

}  // namespace core

std::string default_backend() {
  return core::process_default_backend();
}

void set_default_backend(std::string_view id) {
  std::string resolved = resolve_backend_id(id);
  DefaultBackend& d = default_state();
  std::lock_guard lock(d.mutex);
  d.id = std::move(resolved);
  d.generation.fetch_add(1, std::memory_order_release);
}

}  // namespace attend
