// Loading run-time backends from shared libraries.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "attend/backend.hpp"
#include "attend/registry.hpp"

namespace attend::core {

// Opens `path` and returns its backend; throws attend::Error(Code::plugin) with the reason.
std::shared_ptr<const Backend> open_plugin(const std::string& path);

// Every *.so in the ATTEND_PLUGIN_PATH directories, opened; failures go to `refusals`.
std::vector<std::shared_ptr<const Backend>> plugins_from_env(std::vector<PluginRefusal>& refusals);

}  // namespace attend::core
