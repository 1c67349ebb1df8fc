// libFuzzer entry point (clang, -fsanitize=fuzzer): scripts/fuzz.sh builds and runs it.
#include <cstddef>
#include <cstdint>

#include "fuzz_case.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  attend::fuzz::run_case(data, size);
  return 0;
}
