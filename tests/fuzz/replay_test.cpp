// Replays the committed fuzz corpus and every input that once broke a promise (regressions/),
// under the ordinary test build, so that a fixed bug stays fixed without the fuzzer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "fuzz_case.hpp"

namespace {

std::vector<std::filesystem::path> inputs() {
  std::vector<std::filesystem::path> out;
  for (const char* dir : {ATTEND_FUZZ_DIR "/corpus", ATTEND_FUZZ_DIR "/regressions"}) {
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      if (e.is_regular_file() && e.path().filename().string()[0] != '.') out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(FuzzReplay, EveryCommittedInputKeepsThePromises) {
  const auto files = inputs();
  ASSERT_GE(files.size(), 10u) << "the seed corpus is missing";
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                          std::istreambuf_iterator<char>());
    SCOPED_TRACE(f.filename().string());
    attend::fuzz::run_case(bytes.data(), bytes.size());  // aborts on a broken promise
  }
}

}  // namespace
