#include "backends/cudnn/library.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "backends/cudnn/frontend.hpp"
#include "core/text.hpp"

// The frontend's dynamic-loading shim resolves every cuDNN call through this handle.
namespace cudnn_frontend {
void* cudnn_dlhandle = nullptr;
}  // namespace cudnn_frontend

namespace attend::cudnn {
namespace {

using core::str;

// The oldest cuDNN whose SDPA has what this backend asks of it (bottom-right causal at any
// length, bias with the padding mask).
constexpr std::size_t kMinVersion = 90600;

std::string version_text(std::size_t v) {
  return str(v / 10000, ".", v / 100 % 100, ".", v % 100);
}

Availability open_library() {
  const char* env = std::getenv("ATTEND_CUDNN_LIBRARY");
  const std::string name = env != nullptr && *env != '\0' ? env : "libcudnn.so.9";
  void* handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return {0, str("cuDNN 9 not found (", why ? why : name,
                   "); set ATTEND_CUDNN_LIBRARY to the path of libcudnn.so.9")};
  }
  using GetVersion = std::size_t (*)();
  auto get_version = reinterpret_cast<GetVersion>(dlsym(handle, "cudnnGetVersion"));
  if (get_version == nullptr) return {0, str(name, " has no cudnnGetVersion: not cuDNN")};
  const std::size_t version = get_version();
  if (version < kMinVersion || version >= 100000) {
    return {0, str("cuDNN ", version_text(version), " loaded from ", name,
                   "; needs 9.x, >= ", version_text(kMinVersion))};
  }
  cudnn_frontend::cudnn_dlhandle = handle;
  return {1, str("cuDNN ", version_text(version))};
}

// Handles are made on demand and reused, never destroyed: destroying them in static
// destructors would race CUDA's own teardown.
struct HandlePool {
  std::mutex mutex;
  std::map<int, std::vector<cudnnHandle_t>> free;
};

HandlePool& pool() {
  static HandlePool* p = new HandlePool;
  return *p;
}

}  // namespace

const Availability& loaded_library() {
  static const Availability a = open_library();
  return a;
}

void check_status(cudnnStatus_t status, const char* call) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  const char* text = cudnn_frontend::detail::get_error_string(status);
  throw Error(Code::runtime, str("attend: cuDNN error in ", call, ": ", text ? text : "unknown"));
}

HandleLease::HandleLease(int device, cudaStream_t stream) : device_(device) {
  {
    HandlePool& p = pool();
    std::lock_guard<std::mutex> lock(p.mutex);
    std::vector<cudnnHandle_t>& list = p.free[device];
    if (!list.empty()) {
      handle_ = list.back();
      list.pop_back();
    }
  }
  if (handle_ == nullptr)
    check_status(cudnn_frontend::detail::create_handle(&handle_), "cudnnCreate");
  const cudnnStatus_t status = cudnn_frontend::detail::set_stream(handle_, stream);
  if (status != CUDNN_STATUS_SUCCESS) {
    release();
    check_status(status, "cudnnSetStream");
  }
}

HandleLease::~HandleLease() {
  release();
}

void HandleLease::release() noexcept {
  if (handle_ == nullptr) return;
  HandlePool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  p.free[device_].push_back(handle_);
  handle_ = nullptr;
}

}  // namespace attend::cudnn
