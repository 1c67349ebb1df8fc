// Run by CTest with ATTEND_BACKEND set: argv[1] says what the process default must be.
#include <gtest/gtest.h>

#include <string>

#include "attend/attend.hpp"

namespace {
std::string expected;
}

TEST(EnvDefault, ReadsAttendBackend) {
  if (expected == "unknown") {
    try {
      attend::default_backend();
      FAIL() << "an unknown ATTEND_BACKEND must be an error";
    } catch (const attend::Error& e) {
      EXPECT_EQ(e.code(), attend::Code::unknown_backend);
      EXPECT_NE(std::string(e.what()).find("ATTEND_BACKEND"), std::string::npos);
    }
    return;
  }
  EXPECT_EQ(attend::default_backend(), expected);
}

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  expected = argc > 1 ? argv[1] : "auto";
  return RUN_ALL_TESTS();
}
