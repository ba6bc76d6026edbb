#include "server/http_endpoint.h"

#include <atomic>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/http_get.h"

namespace faceserve {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<HttpEndpoint> StartOrDie(std::function<std::string()> handler) {
  auto endpoint = HttpEndpoint::Start("127.0.0.1:0", "/metrics", std::move(handler));
  EXPECT_TRUE(endpoint.ok()) << endpoint.status();
  return endpoint.ok() ? *std::move(endpoint) : nullptr;
}

TEST(HttpEndpointTest, ServesTheHandlerOnItsPath) {
  std::atomic<int> calls{0};
  auto endpoint = StartOrDie([&calls] {
    ++calls;
    return std::string("metric_a 1\n");
  });
  ASSERT_NE(endpoint, nullptr);
  ASSERT_GT(endpoint->port(), 0);
  for (int i = 0; i < 3; ++i) {
    auto response = testing::HttpGet("127.0.0.1", endpoint->port(), "/metrics?x=1");
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "metric_a 1\n");
    EXPECT_THAT(response->headers, HasSubstr("Content-Type: text/plain; version=0.0.4"));
    EXPECT_THAT(response->headers, HasSubstr("Content-Length: 11"));
  }
  EXPECT_EQ(calls.load(), 3);
}

TEST(HttpEndpointTest, OtherPathsAreNotFound) {
  auto endpoint = StartOrDie([] { return std::string("x"); });
  ASSERT_NE(endpoint, nullptr);
  auto response = testing::HttpGet("127.0.0.1", endpoint->port(), "/other");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 404);
}

TEST(HttpEndpointTest, MalformedAddressIsInvalidArgument) {
  EXPECT_EQ(HttpEndpoint::Start("no-port", "/m", [] { return std::string(); }).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(HttpEndpoint::Start("127.0.0.1:99999", "/m", [] { return std::string(); })
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(HttpEndpointTest, PortInUseIsUnavailable) {
  auto first = StartOrDie([] { return std::string(); });
  ASSERT_NE(first, nullptr);
  auto second = HttpEndpoint::Start(absl::StrCat("127.0.0.1:", first->port()), "/m",
                                    [] { return std::string(); });
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable) << second.status();
}

TEST(HttpEndpointTest, StopsPromptlyWhenDestroyed) {
  auto endpoint = StartOrDie([] { return std::string(); });
  ASSERT_NE(endpoint, nullptr);
  const absl::Time start = absl::Now();
  endpoint.reset();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
}

}  // namespace
}  // namespace faceserve
