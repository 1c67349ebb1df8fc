// Backend selection state: a process default (ATTEND_BACKEND, else "auto") and thread-local,
// nestable scopes over it. Selection order: explicit argument > innermost scope > the layer's own
// setting > process default.
#pragma once

#include <string>
#include <string_view>

namespace attend {

// RAII: while alive, calls on this thread without an explicit backend use `id`. Nestable; the
// destructor restores exactly what was active before. Not copyable or movable: a scope belongs
// to the stack frame and thread that made it, and scopes end in reverse order of their start
// (destroying one out of order aborts with a message rather than corrupt the selection).
class BackendScope {
 public:
  explicit BackendScope(std::string_view id);
  ~BackendScope();
  BackendScope(const BackendScope&) = delete;
  BackendScope& operator=(const BackendScope&) = delete;

 private:
  const std::string* previous_;
  std::string id_;
};

// The innermost scope's backend on this thread, or nullptr when no scope is active.
const std::string* current_scope_backend() noexcept;

// The process default: ATTEND_BACKEND at first use, "auto" if unset. Settable (validated).
std::string default_backend();
void set_default_backend(std::string_view id);

}  // namespace attend
