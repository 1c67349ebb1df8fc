#include "cuda/check.hpp"

#include <string>

namespace attend::cuda {

void throw_cuda_error(cudaError_t error, const char* call, const char* file, int line) {
  // The runtime also keeps the error as the thread's last error; reset it so that the next
  // call's launch check does not report this one again (sticky errors stay regardless).
  (void)cudaGetLastError();
  throw_library_error("CUDA", call, file, line, cudaGetErrorName(error), cudaGetErrorString(error));
}

void throw_library_error(const char* library, const char* call, const char* file, int line,
                         const char* name, const char* text) {
  std::string where = file;
  const auto slash = where.find_last_of('/');
  if (slash != std::string::npos) where = where.substr(slash + 1);
  throw Error(Code::runtime, std::string("attend: ") + library + " error in " + call + " (" +
                                 where + ":" + std::to_string(line) + "): " + name + ": " + text);
}

}  // namespace attend::cuda
