// Translation between the C plugin ABI (attend/plugin.h) and the C++ types: capability blocks
// checked for contradictions, problems lowered to the C struct.
#pragma once

#include <string>
#include <vector>

#include "attend/backend.hpp"
#include "attend/plugin.h"
#include "attend/problem.hpp"

namespace attend::core {

// Every contradiction in a plugin's description (empty: it is consistent).
std::vector<std::string> validate_description(const attend_plugin& plugin);

Capabilities to_capabilities(const attend_capabilities& caps);
attend_problem to_c_problem(const Problem& p);

}  // namespace attend::core
