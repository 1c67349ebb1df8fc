// A flag value the command cannot turn into a problem. main() prints it with a usage hint and
// exits with 2, the same as CLI11's own parse errors; library errors exit with 1.
#pragma once

#include <stdexcept>
#include <string>

namespace attend::cli {

class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace attend::cli
