#include "cuda/check.hpp"

#include <string>

namespace attend::cuda {

void throw_cuda_error(cudaError_t error, const char* call, const char* file, int line) {
  std::string where = file;
  const auto slash = where.find_last_of('/');
  if (slash != std::string::npos) where = where.substr(slash + 1);
  throw Error(Code::runtime, std::string("attend: CUDA error in ") + call + " (" + where + ":" +
                                 std::to_string(line) + "): " + cudaGetErrorName(error) + ": " +
                                 cudaGetErrorString(error));
}

}  // namespace attend::cuda
