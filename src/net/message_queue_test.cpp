#include "net/message_queue.h"

#include <gtest/gtest.h>

#include <deque>
#include <random>

namespace backside::net {
namespace {

std::shared_ptr<const std::string> message(int i) { return std::make_shared<const std::string>(std::to_string(i)); }

TEST(MessageQueue, FirstInFirstOutWithTheHeadPutInFront) {
  MessageQueue queue;
  EXPECT_TRUE(queue.empty());
  queue.push_back(message(1));
  queue.push_back(message(2));
  queue.push_front(message(0));
  EXPECT_EQ(queue.size(), 3u);
  EXPECT_EQ(*queue.pop_front(), "0");
  queue.push_front(message(-1));  // reuses the slot just freed
  EXPECT_EQ(*queue.pop_front(), "-1");
  EXPECT_EQ(*queue.pop_front(), "1");
  EXPECT_EQ(*queue.pop_front(), "2");
  EXPECT_TRUE(queue.empty());
}

TEST(MessageQueue, BehavesAsADequeUnderARandomWorkload) {
  MessageQueue queue;
  std::deque<int> model;
  std::mt19937 random(42);
  int next = 0;
  for (int step = 0; step < 100000; ++step) {
    const unsigned choice = random() % 10;
    if (choice < 5 || model.empty()) {
      queue.push_back(message(next));
      model.push_back(next++);
    } else if (choice == 5) {
      queue.push_front(message(next));
      model.push_front(next++);
    } else if (choice == 6 && random() % 50 == 0) {
      queue.clear();
      model.clear();
    } else {
      ASSERT_EQ(*queue.pop_front(), std::to_string(model.front()));
      model.pop_front();
    }
    ASSERT_EQ(queue.size(), model.size());
    ASSERT_EQ(queue.empty(), model.empty());
  }
}

}  // namespace
}  // namespace backside::net
