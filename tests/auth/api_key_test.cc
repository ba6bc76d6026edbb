#include "core/auth/api_key.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace faceserve {
namespace {

TEST(ApiKeyTest, GeneratedKeyHasItsFormatAndItsDigest) {
  absl::StatusOr<GeneratedApiKey> key = GenerateApiKey();
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->key.size(), 4u + 16 + 1 + 40);
  EXPECT_EQ(key->key.substr(0, 4), "fsk_");
  EXPECT_TRUE(IsApiKeyId(key->id));
  EXPECT_EQ(ApiKeyIdOf(key->key).value_or(""), key->id);
  EXPECT_EQ(key->sha256_hex, Sha256Hex(key->key));
  EXPECT_TRUE(IsSha256Hex(key->sha256_hex));
}

TEST(ApiKeyTest, KeysAreNeverRepeated) {
  std::set<std::string> keys, ids;
  for (int i = 0; i < 1000; ++i) {
    absl::StatusOr<GeneratedApiKey> key = GenerateApiKey();
    ASSERT_TRUE(key.ok());
    keys.insert(key->key);
    ids.insert(key->id);
  }
  EXPECT_EQ(keys.size(), 1000u);
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(ApiKeyTest, Sha256MatchesThePublishedTestVectors) {
  // FIPS 180-2, appendix B.1, and the empty message.
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(ApiKeyTest, MalformedKeysHaveNoIdAndTheMessageDoesNotEchoThem) {
  const std::string good = GenerateApiKey()->key;
  for (const std::string& bad :
       {std::string(""), std::string("fsk_"), good.substr(1), good + "0",
        "FSK_" + good.substr(4), good.substr(0, 20) + "-" + good.substr(21),
        good.substr(0, 30) + "G" + good.substr(31), std::string("Bearer ") + good}) {
    absl::StatusOr<std::string> id = ApiKeyIdOf(bad);
    EXPECT_FALSE(id.ok()) << bad;
    if (bad.size() > 10) {  // "fsk_" itself is in the message, as the format
      EXPECT_EQ(std::string(id.status().message()).find(bad), std::string::npos);
    }
  }
}

TEST(ApiKeyTest, SameDigestComparesWholeDigests) {
  const std::string a = Sha256Hex("a"), b = Sha256Hex("b");
  EXPECT_TRUE(SameDigest(a, a));
  EXPECT_FALSE(SameDigest(a, b));
  std::string last = a;
  last.back() = last.back() == '0' ? '1' : '0';
  EXPECT_FALSE(SameDigest(a, last));
  EXPECT_FALSE(SameDigest(a, a.substr(1)));
}

}  // namespace
}  // namespace faceserve
