// Backend ids given on the command line: validated up front, so that a typo is a usage error
// (exit 2) rather than a failure halfway through a run.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "attend/tensor.hpp"

namespace attend::cli {

// An attend id, a diffusers alias or "auto"; returns the attend id. Throws UsageError.
std::string resolve_backend_flag(const std::string& flag, const std::string& id);

// Ids of the backends that can run on this machine (availability score > 0), best first.
std::vector<std::string> available_backends();
// The same, only those whose tensors live on `device`.
std::vector<std::string> available_backends(DeviceKind device);

// Where a registered backend's tensors live; nullopt for "auto" or an unknown id.
std::optional<DeviceKind> backend_device(const std::string& id);

}  // namespace attend::cli
