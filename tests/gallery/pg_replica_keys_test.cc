// API keys shared by replicas (issue 33): each replica's AccessControl over
// its own PgApiKeyStore on one real PostgreSQL. A key made through one is
// honoured by the other within a poll; revoked through the other, it is
// refused by both.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/auth/access_control.h"
#include "core/gallery/pg_api_key_store.h"
#include "tests/gallery/pg_test_database.h"

namespace faceserve {
namespace {

struct KeyReplica {
  std::unique_ptr<PgApiKeyStore> store;
  std::unique_ptr<AccessControl> access;
};

KeyReplica OpenKeyReplica(const std::string& dsn) {
  KeyReplica r;
  absl::StatusOr<std::unique_ptr<PgApiKeyStore>> store = PgApiKeyStore::Open(dsn);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return r;
  r.store = *std::move(store);
  AccessOptions options;
  options.required = true;
  options.store_poll = absl::Milliseconds(100);
  absl::StatusOr<std::unique_ptr<AccessControl>> access =
      AccessControl::Create(std::move(options), r.store.get());
  EXPECT_TRUE(access.ok()) << access.status();
  if (access.ok()) r.access = *std::move(access);
  return r;
}

// Whether `key` may search gallery "people" through `r`.
bool MaySearch(const KeyReplica& r, const std::string& key) {
  absl::StatusOr<Caller> caller = r.access->Authenticate(absl::StrCat("Bearer ", key));
  return caller.ok() && r.access->Authorize(*caller, AccessNeed{{Scope::kIdentify}, "people"}).ok();
}

bool Within(absl::Duration limit, const std::function<bool()>& condition) {
  const absl::Time end = absl::Now() + limit;
  while (!condition()) {
    if (absl::Now() > end) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

TEST(PgReplicaKeysTest, AKeyMadeOnOneReplicaHoldsOnTheOtherAndARevocationOnBoth) {
  PgDatabase db(::testing::UnitTest::GetInstance()->current_test_info()->name());
  KeyReplica a = OpenKeyReplica(db.dsn()), b = OpenKeyReplica(db.dsn());
  ASSERT_TRUE(a.access && b.access);
  absl::StatusOr<AccessControl::CreatedKey> made =
      a.access->CreateKey("billing", {Scope::kIdentify}, {"people"});
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_TRUE(MaySearch(a, made->key));  // at once where it was made
  EXPECT_TRUE(Within(absl::Seconds(1), [&] { return MaySearch(b, made->key); }))
      << "the key made on A is not valid on B";
  ASSERT_TRUE(b.access->RevokeKey(made->record.id).ok());
  EXPECT_FALSE(MaySearch(b, made->key));
  EXPECT_TRUE(Within(absl::Seconds(1), [&] { return !MaySearch(a, made->key); }))
      << "the key revoked on B is still valid on A";
  EXPECT_EQ(a.access->ListKeys().size(), 0u);
}

}  // namespace
}  // namespace faceserve
