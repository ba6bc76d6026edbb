// Thread names as `top -H` and perf show them.
#include "core/thread_name.h"

#include <pthread.h>

#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace faceserve {
namespace {

std::string NameOf(pthread_t t) {
  char buf[64] = {};
  EXPECT_EQ(pthread_getname_np(t, buf, sizeof(buf)), 0);
  return buf;
}

TEST(ThreadNameTest, ShortNamesKeepTheWholeBaseAndIndex) {
  EXPECT_EQ(ThreadNameFor("request", 0), "request/0");
  EXPECT_EQ(ThreadNameFor("landmarks", 12), "landmarks/12");
}

TEST(ThreadNameTest, LongNamesAreCutBeforeTheIndex) {
  EXPECT_EQ(ThreadNameFor("ssd_mobilenetv1", 1), "ssd_mobilenet/1");
  EXPECT_EQ(ThreadNameFor("face_recognition", 10), "face_recogni/10");
  EXPECT_LE(ThreadNameFor(std::string(100, 'a'), 3).size(), 15u);
}

TEST(ThreadNameTest, NamesTheCallingThread) {
  std::string seen;
  std::thread t([&] {
    NameThisThread("detector/3");
    seen = NameOf(pthread_self());
  });
  t.join();
  EXPECT_EQ(seen, "detector/3");
}

TEST(ThreadNameTest, AnOverlongNameIsCutNotRefused) {
  std::string seen;
  std::thread t([&] {
    NameThisThread(std::string(40, 'z'));
    seen = NameOf(pthread_self());
  });
  t.join();
  EXPECT_EQ(seen, std::string(15, 'z'));
}

}  // namespace
}  // namespace faceserve
