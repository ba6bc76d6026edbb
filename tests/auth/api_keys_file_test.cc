#include "core/auth/api_keys_file.h"

#include <string>

#include "core/auth/api_key.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace faceserve {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kId = "0123456789abcdef";
const std::string kDigest = Sha256Hex("some key");

std::string Entry(const std::string& fields) {
  return "- id: " + kId + "\n  name: svc\n  sha256: " + kDigest + "\n" + fields;
}

TEST(ApiKeysFileTest, ReadsEveryField) {
  absl::StatusOr<std::vector<ApiKeyRecord>> keys =
      ParseApiKeysFile(Entry("  scopes: [identify, enroll]\n  galleries: [staff, \"a: b\"]\n"), "f");
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 1u);
  const ApiKeyRecord& k = (*keys)[0];
  EXPECT_EQ(k.id, kId);
  EXPECT_EQ(k.name, "svc");
  EXPECT_EQ(k.sha256_hex, kDigest);
  EXPECT_EQ(k.scopes, (std::vector<Scope>{Scope::kIdentify, Scope::kEnroll}));
  EXPECT_EQ(k.galleries, (std::vector<std::string>{"staff", "a: b"}));
  EXPECT_EQ(k.source, ApiKeyRecord::Source::kFile);
}

TEST(ApiKeysFileTest, AnEmptyFileHoldsNoKeysAndGalleriesAreOptional) {
  EXPECT_TRUE(ParseApiKeysFile("", "f")->empty());
  EXPECT_TRUE(ParseApiKeysFile("# nothing yet\n", "f")->empty());
  absl::StatusOr<std::vector<ApiKeyRecord>> keys =
      ParseApiKeysFile(Entry("  scopes: [analyze]\n"), "f");
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_TRUE((*keys)[0].galleries.empty());
}

TEST(ApiKeysFileTest, FormattedEntriesReadBackTheSame) {
  ApiKeyRecord key;
  key.id = kId;
  key.name = "name with: colon # and hash \"quoted\"";
  key.sha256_hex = kDigest;
  key.scopes = {Scope::kAdmin};
  key.galleries = {"*"};
  ApiKeyRecord other = key;
  other.id = "fedcba9876543210";
  other.galleries = {};
  const std::string text = FormatApiKeysFileEntry(key) + FormatApiKeysFileEntry(other);
  absl::StatusOr<std::vector<ApiKeyRecord>> back = ParseApiKeysFile(text, "f");
  ASSERT_TRUE(back.ok()) << back.status() << "\n" << text;
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0].name, key.name);
  EXPECT_EQ((*back)[0].galleries, key.galleries);
  EXPECT_EQ((*back)[0].scopes, key.scopes);
  EXPECT_EQ((*back)[1].id, other.id);
  EXPECT_TRUE((*back)[1].galleries.empty());
}

TEST(ApiKeysFileTest, RefusesMalformedEntriesNamingThemWithoutTheDigest) {
  const std::string scopes = "  scopes: [analyze]\n";
  struct Case {
    std::string text, says;
  };
  const std::string short_digest = kDigest.substr(1);
  for (const Case& c : std::vector<Case>{
           {"id: 1\n", "expected a list"},
           {"- 3\n", "entry 0: expected a map"},
           {"- id: 0123\n  name: a\n  sha256: " + kDigest + "\n" + scopes, "id: 16"},
           {"- id: " + kId + "\n  sha256: " + kDigest + "\n" + scopes, "name:"},
           {"- id: " + kId + "\n  name: a\n  sha256: " + short_digest + "\n" + scopes, "sha256:"},
           {Entry(""), "scopes: a non-empty list"},
           {Entry("  scopes: []\n"), "scopes: a non-empty list"},
           {Entry("  scopes: [root]\n"), "unknown scope 'root'"},
           {Entry(scopes + "  galleries: staff\n"), "galleries: a list"},
           {Entry(scopes + "  expires: 2027\n"), "unknown field 'expires'"},
           {Entry(scopes) + Entry(scopes), "entry 1: id " + kId + " is listed twice"},
           {"- [unclosed\n", "not YAML"},
       }) {
    absl::StatusOr<std::vector<ApiKeyRecord>> keys = ParseApiKeysFile(c.text, "keys.yaml");
    ASSERT_FALSE(keys.ok()) << c.text;
    EXPECT_EQ(keys.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(keys.status().message()), HasSubstr(c.says)) << c.text;
    EXPECT_THAT(std::string(keys.status().message()), HasSubstr("keys.yaml"));
    EXPECT_THAT(std::string(keys.status().message()), Not(HasSubstr(kDigest.substr(0, 20))));
  }
}

TEST(ApiKeysFileTest, AMissingFileIsNotFound) {
  EXPECT_EQ(ReadApiKeysFile("/nonexistent/keys.yaml").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace faceserve
