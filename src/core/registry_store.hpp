// The registry's storage: an immutable snapshot of entries, best availability first, replaced
// whole when a backend is added or removed. Readers take the snapshot without locking when
// nothing changed since their last look (one atomic load).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "attend/backend.hpp"

namespace attend::core {

struct Entry {
  std::shared_ptr<const Backend> backend;
  Availability availability;  // measured once, at registration
};

using Snapshot = std::vector<Entry>;

// The current backends; built-ins are registered on first use. A snapshot is never freed (they
// are replaced only by registration, which is rare), so the reference stays valid even if a
// backend re-enters the dispatcher while another call iterates.
const Snapshot& snapshot();
const Entry* find_entry(const Snapshot& s, std::string_view id) noexcept;
// Empty, or why the backend's id or an alias would make a name ambiguous among `entries`.
std::string name_clash(const Snapshot& entries, const Backend& backend);

}  // namespace attend::core
