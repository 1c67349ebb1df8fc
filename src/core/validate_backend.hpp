// What every backend must satisfy before it is registered, built-in, C++ or plugin: a usable id,
// sane aliases, and capability data that does not contradict itself.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "attend/backend.hpp"

namespace attend::core {

// Empty when the id is usable: 1-64 characters of [a-z0-9_], not a reserved word.
std::string id_problem(std::string_view id);
// Every contradiction in the capability data.
std::vector<std::string> capability_problems(const Capabilities& caps);
// Both, plus the aliases (each must itself be a usable id). Empty: the backend may register.
std::vector<std::string> backend_problems(const Backend& backend);

}  // namespace attend::core
