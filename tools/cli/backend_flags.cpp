#include "backend_flags.hpp"

#include <string_view>

#include "attend/registry.hpp"
#include "usage_error.hpp"

namespace attend::cli {

std::string resolve_backend_flag(const std::string& flag, const std::string& id) {
  try {
    return resolve_backend_id(id);
  } catch (const Error& e) {
    if (e.code() != Code::unknown_backend) throw;
    std::string_view message = e.what();
    if (message.starts_with("attend: ")) message.remove_prefix(8);
    throw UsageError(flag + ": " + std::string(message));
  }
}

std::vector<std::string> available_backends() {
  std::vector<std::string> ids;
  for (const BackendInfo& b : list_backends()) {
    if (b.availability.score > 0) ids.push_back(b.id);
  }
  return ids;
}

std::vector<std::string> available_backends(DeviceKind device) {
  std::vector<std::string> ids;
  for (const BackendInfo& b : list_backends()) {
    if (b.availability.score > 0 && b.capabilities.device == device) ids.push_back(b.id);
  }
  return ids;
}

std::optional<DeviceKind> backend_device(const std::string& id) {
  for (const BackendInfo& b : list_backends()) {
    if (b.id == id) return b.capabilities.device;
  }
  return std::nullopt;
}

}  // namespace attend::cli
