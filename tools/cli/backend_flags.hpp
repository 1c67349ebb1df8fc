// Backend ids given on the command line: validated up front, so that a typo is a usage error
// (exit 2) rather than a failure halfway through a run.
#pragma once

#include <string>
#include <vector>

namespace attend::cli {

// An attend id, a diffusers alias or "auto"; returns the attend id. Throws UsageError.
std::string resolve_backend_flag(const std::string& flag, const std::string& id);

// Ids of the backends that can run on this machine (availability score > 0), best first.
std::vector<std::string> available_backends();

}  // namespace attend::cli
