#include "client/command_line.h"

#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "client/facectl.h"

namespace faceserve::client {
namespace {

const std::vector<FlagSpec> kSpecs = {{"json", false}, {"concurrency", true}, {"list", true}};

TEST(ParseArgsTest, FlagsInBothFormsAndPositionals) {
  auto p = ParseArgs({"a.jpg", "--concurrency", "4", "--json", "b.jpg", "--list=x,,y"}, kSpecs);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->positional, (std::vector<std::string>{"a.jpg", "b.jpg"}));
  EXPECT_TRUE(p->Has("json"));
  EXPECT_EQ(*p->GetInt("concurrency", 1, 1, 256), 4);
  EXPECT_EQ(p->GetList("list"), (std::vector<std::string>{"x", "y"}));
}

TEST(ParseArgsTest, DoubleDashEndsFlagsAndLoneDashIsPositional) {
  auto p = ParseArgs({"--", "--json", "-"}, kSpecs);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->positional, (std::vector<std::string>{"--json", "-"}));
  EXPECT_FALSE(p->Has("json"));
}

TEST(ParseArgsTest, ErrorsAreInvalidArgument) {
  EXPECT_EQ(ParseArgs({"--nope"}, kSpecs).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(ParseArgs({"--concurrency"}, kSpecs).ok());    // missing value
  EXPECT_FALSE(ParseArgs({"--json=yes"}, kSpecs).ok());       // switch with a value
  EXPECT_FALSE(ParseArgs({"-x"}, kSpecs).ok());               // short options unknown
}

TEST(ParseArgsTest, TypedGettersCheckRangeAndSyntax) {
  auto p = ParseArgs({"--concurrency", "0"}, kSpecs);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->GetInt("concurrency", 1, 1, 256).ok());
  p = ParseArgs({"--concurrency", "4x"}, kSpecs);
  EXPECT_FALSE(p->GetInt("concurrency", 1, 1, 256).ok());
  EXPECT_FALSE(p->GetDouble("concurrency", 0, 0, 10).ok());
  EXPECT_EQ(*p->GetInt("absent", 7, 1, 2), 7);  // defaults are not range-checked
}

struct CliRun {
  int code;
  std::string out;
  std::string err;
};

CliRun Facectl(std::vector<std::string> args) {
  std::ostringstream out, err;
  const int code = RunFacectl(args, out, err);
  return {code, out.str(), err.str()};
}

// Every usage error exits 2 with "error: ..." and usage text, without
// contacting a server.
TEST(FacectlUsageTest, BadUsageExitsTwoWithUsage) {
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"frobnicate"},
      {"--bogus", "health"},
      {"--server"},
      {"analyze"},
      {"analyze", "a.jpg", "--min-score", "2"},
      {"analyze", "a.jpg", "--max-faces", "many"},
      {"analyze", "a.jpg", "--unknown"},
      {"embed"},
      {"embed", "a.jpg", "--largest", "--crop"},
      {"verify", "a.jpg"},
      {"verify", "a.jpg", "b.jpg", "c.jpg"},
      {"verify", "a.jpg", "b.jpg", "--threshold", "abc"},
      {"eval-verify"},
      {"eval-verify", "p.csv", "--concurrency", "0"},
      {"bench", "a.jpg"},                                            // neither --requests nor --duration
      {"bench", "a.jpg", "--requests", "1", "--duration", "1"},      // both
      {"bench", "a.jpg", "--requests", "1", "--rpc", "verify"},
      {"bench", "--requests", "5"},                                  // no image
      {"bench", "a.jpg", "--requests", "5", "--concurrency", "-1"},
      {"health", "extra"},
      {"health", "--timeout-ms", "-5"},
  };
  for (const auto& args : cases) {
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    const CliRun r = Facectl(args);
    EXPECT_EQ(r.code, 2) << joined << "\n" << r.err;
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << joined << "\n" << r.err;
    EXPECT_NE(r.err.find("usage: facectl"), std::string::npos) << joined << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << joined;
  }
}

TEST(FacectlUsageTest, HelpExitsZeroWithUsageOnStdout) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--help"}, {"-h"}, {"help"}, {"bench", "--help"}, {"help", "analyze"}}) {
    const CliRun r = Facectl(args);
    EXPECT_EQ(r.code, 0);
    EXPECT_NE(r.out.find("usage: facectl"), std::string::npos);
    EXPECT_TRUE(r.err.empty());
  }
  EXPECT_NE(Facectl({"bench", "--help"}).out.find("--concurrency"), std::string::npos);
}

TEST(FacectlUsageTest, MissingImageIsNotFoundExitOne) {
  const CliRun r = Facectl({"analyze", "/nonexistent/x.jpg", "--server", "127.0.0.1:1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("error: NOT_FOUND: /nonexistent/x.jpg", 0), 0u) << r.err;
}

TEST(FacectlUsageTest, UnreachableServerIsUnavailableExitOne) {
  // Port 1 on loopback: nothing listens there.
  const CliRun r = Facectl({"--server", "127.0.0.1:1", "--timeout-ms", "2000", "health"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("error: UNAVAILABLE: ", 0), 0u) << r.err;
}

}  // namespace
}  // namespace faceserve::client
