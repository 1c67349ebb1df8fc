// Internal view of the selection state for the dispatcher.
#pragma once

#include <string>

namespace attend::core {

// The process default backend id (resolved), read from ATTEND_BACKEND on first use.
const std::string& process_default_backend();

}  // namespace attend::core
