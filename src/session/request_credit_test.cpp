#include "session/request_credit.h"

#include <gtest/gtest.h>

#include <vector>

namespace backside::session {
namespace {

TEST(RequestCredit, PausesAtTheCountAndResumesAtHalf) {
  std::vector<bool> calls;
  RequestCredit credit(4, 0, [&](bool paused) { calls.push_back(paused); });
  for (int i = 0; i < 3; ++i) credit.begin();
  EXPECT_TRUE(calls.empty());
  credit.begin();
  ASSERT_EQ(calls, std::vector<bool>{true});
  credit.begin();  // already paused: no second call
  credit.end();
  credit.end();
  EXPECT_EQ(calls.size(), 1u);  // 3 left: above half
  credit.end();
  EXPECT_EQ(calls, (std::vector<bool>{true, false}));
  EXPECT_FALSE(credit.paused());
}

TEST(RequestCredit, PausesAtTheBytesWhateverTheCount) {
  std::vector<bool> calls;
  RequestCredit credit(1000, 100, [&](bool paused) { calls.push_back(paused); });
  credit.begin(60);
  EXPECT_TRUE(calls.empty());
  credit.begin(40);
  ASSERT_EQ(calls, std::vector<bool>{true});
  credit.end(40);  // 60 left: above half of the bytes
  EXPECT_TRUE(credit.paused());
  credit.end(60);
  EXPECT_EQ(calls, (std::vector<bool>{true, false}));
  EXPECT_EQ(credit.requests(), 0u);
  credit.end(10);  // more ends than begins cannot underflow
  EXPECT_EQ(credit.requests(), 0u);
}

}  // namespace
}  // namespace backside::session
