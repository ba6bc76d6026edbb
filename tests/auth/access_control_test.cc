#include "core/auth/access_control.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/auth/api_key.h"
#include "core/auth/api_keys_file.h"
#include "core/error_reason.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace faceserve {
namespace {

using ::testing::HasSubstr;

// An ApiKeyStore in memory that can be told to fail.
class MemoryKeyStore final : public ApiKeyStore {
 public:
  absl::StatusOr<std::vector<ApiKeyRecord>> ListApiKeys() override {
    absl::MutexLock lock(&mu_);
    std::vector<ApiKeyRecord> out;
    for (const auto& [id, key] : keys_) out.push_back(key);
    return out;
  }
  absl::Status AddApiKey(const ApiKeyRecord& key) override {
    absl::MutexLock lock(&mu_);
    if (fail_) return absl::InternalError("disk full");
    keys_[key.id] = key;
    return absl::OkStatus();
  }
  absl::Status RemoveApiKey(const std::string& id) override {
    absl::MutexLock lock(&mu_);
    if (fail_) return absl::InternalError("disk full");
    if (keys_.erase(id) == 0) {
      return WithReason(absl::NotFoundError("no key"), ErrorReason::kApiKeyNotFound);
    }
    return absl::OkStatus();
  }
  void set_fail(bool fail) {
    absl::MutexLock lock(&mu_);
    fail_ = fail;
  }
  size_t size() {
    absl::MutexLock lock(&mu_);
    return keys_.size();
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, ApiKeyRecord> keys_;
  bool fail_ = false;
};

std::string Bearer(const std::string& key) { return "Bearer " + key; }

AccessNeed Need(Scope scope, const std::string& gallery = "") {
  AccessNeed need;
  need.any_of = {scope};
  need.gallery = gallery;
  return need;
}

class AccessControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("faceserve_access_", getpid(), "_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    keys_file_ = (dir_ / "keys.yaml").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A key in the keys file; returns the key.
  std::string AddFileKey(const std::string& name, std::vector<Scope> scopes,
                         std::vector<std::string> galleries) {
    GeneratedApiKey key = *GenerateApiKey();
    ApiKeyRecord record;
    record.id = key.id;
    record.name = name;
    record.sha256_hex = key.sha256_hex;
    record.scopes = std::move(scopes);
    record.galleries = std::move(galleries);
    std::ofstream(keys_file_, std::ios::app) << FormatApiKeysFileEntry(record);
    return key.key;
  }

  std::unique_ptr<AccessControl> Make(bool required, bool with_file) {
    AccessOptions options;
    options.required = required;
    if (with_file) options.keys_file = keys_file_;
    options.keys_file_poll = absl::Milliseconds(20);
    options.log = [this](const std::string& line) {
      absl::MutexLock lock(&log_mu_);
      log_ += line + "\n";
    };
    absl::StatusOr<std::unique_ptr<AccessControl>> access =
        AccessControl::Create(std::move(options), &store_);
    EXPECT_TRUE(access.ok()) << access.status();
    return access.ok() ? *std::move(access) : nullptr;
  }

  // The reason Authenticate + Authorize give, "OK" when allowed.
  std::string Decide(AccessControl& access, const std::optional<std::string>& header,
                     const AccessNeed& need) {
    std::optional<absl::string_view> h;
    if (header.has_value()) h = *header;
    absl::StatusOr<Caller> caller = access.Authenticate(h);
    absl::Status s = caller.ok() ? access.Authorize(*caller, need) : caller.status();
    return s.ok() ? "OK" : ReasonNameOf(s);
  }

  std::string log() {
    absl::MutexLock lock(&log_mu_);
    return log_;
  }

  std::filesystem::path dir_;
  std::string keys_file_;
  MemoryKeyStore store_;
  absl::Mutex log_mu_;
  std::string log_;
};

TEST_F(AccessControlTest, OffAllowsEverythingAndManagesNoKeys) {
  std::unique_ptr<AccessControl> access = Make(false, false);
  EXPECT_EQ(Decide(*access, std::nullopt, {{Scope::kAdmin}, "g", true}), "OK");
  EXPECT_EQ(Decide(*access, std::string("Bearer nonsense"), Need(Scope::kEnroll, "g")), "OK");
  absl::StatusOr<AccessControl::CreatedKey> created = access->CreateKey("k", {Scope::kAdmin}, {"*"});
  EXPECT_EQ(created.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonNameOf(created.status()), "KEY_MANAGEMENT_UNAVAILABLE");
  EXPECT_EQ(store_.size(), 0u);
}

TEST_F(AccessControlTest, RefusesMissingMalformedUnknownAndWrongSecretKeys) {
  const std::string admin = AddFileKey("root", {Scope::kAdmin}, {"*"});
  std::unique_ptr<AccessControl> access = Make(true, true);
  const AccessNeed any;
  EXPECT_EQ(Decide(*access, std::nullopt, any), "API_KEY_MISSING");
  EXPECT_EQ(Decide(*access, std::string(""), any), "API_KEY_MISSING");
  EXPECT_EQ(Decide(*access, admin, any), "API_KEY_INVALID");  // no "Bearer "
  EXPECT_EQ(Decide(*access, "Basic " + admin, any), "API_KEY_INVALID");
  EXPECT_EQ(Decide(*access, Bearer("fsk_nonsense"), any), "API_KEY_INVALID");
  EXPECT_EQ(Decide(*access, Bearer(GenerateApiKey()->key), any), "API_KEY_INVALID");
  std::string wrong_secret = admin;
  wrong_secret.back() = wrong_secret.back() == 'a' ? 'b' : 'a';
  EXPECT_EQ(Decide(*access, Bearer(wrong_secret), any), "API_KEY_INVALID");
  EXPECT_EQ(Decide(*access, Bearer(admin), any), "OK");
  EXPECT_EQ(Decide(*access, "bearer " + admin, any), "OK");  // the scheme ignores case
}

TEST_F(AccessControlTest, ScopesAndGalleriesDecide) {
  const std::string ident = AddFileKey("ident", {Scope::kIdentify}, {"staff"});
  const std::string clerk = AddFileKey("clerk", {Scope::kEnroll, Scope::kAnalyze}, {"staff", "vip"});
  const std::string admin = AddFileKey("admin", {Scope::kAdmin}, {"staff"});
  const std::string root = AddFileKey("root", {Scope::kAdmin}, {"*"});
  const std::string analyze = AddFileKey("cam", {Scope::kAnalyze}, {});
  std::unique_ptr<AccessControl> access = Make(true, true);

  const AccessNeed analyze_call = Need(Scope::kAnalyze, "");
  const AccessNeed identify_staff = Need(Scope::kIdentify, "staff");
  const AccessNeed identify_vip = Need(Scope::kIdentify, "vip");
  const AccessNeed enroll_vip = Need(Scope::kEnroll, "vip");
  const AccessNeed read_staff{{Scope::kIdentify, Scope::kEnroll}, "staff", false};
  const AccessNeed keys{{Scope::kAdmin}, "", true};

  EXPECT_EQ(Decide(*access, Bearer(ident), identify_staff), "OK");
  EXPECT_EQ(Decide(*access, Bearer(ident), read_staff), "OK");
  EXPECT_EQ(Decide(*access, Bearer(ident), identify_vip), "GALLERY_NOT_GRANTED");
  EXPECT_EQ(Decide(*access, Bearer(ident), analyze_call), "SCOPE_NOT_GRANTED");
  EXPECT_EQ(Decide(*access, Bearer(ident), enroll_vip), "SCOPE_NOT_GRANTED");

  EXPECT_EQ(Decide(*access, Bearer(clerk), enroll_vip), "OK");
  EXPECT_EQ(Decide(*access, Bearer(clerk), read_staff), "OK");
  EXPECT_EQ(Decide(*access, Bearer(clerk), analyze_call), "OK");
  EXPECT_EQ(Decide(*access, Bearer(clerk), identify_staff), "SCOPE_NOT_GRANTED");

  // admin holds every scope, on its galleries only; keys need "*".
  EXPECT_EQ(Decide(*access, Bearer(admin), identify_staff), "OK");
  EXPECT_EQ(Decide(*access, Bearer(admin), analyze_call), "OK");
  EXPECT_EQ(Decide(*access, Bearer(admin), enroll_vip), "GALLERY_NOT_GRANTED");
  EXPECT_EQ(Decide(*access, Bearer(admin), keys), "GALLERY_NOT_GRANTED");
  EXPECT_EQ(Decide(*access, Bearer(root), keys), "OK");
  EXPECT_EQ(Decide(*access, Bearer(root), enroll_vip), "OK");

  EXPECT_EQ(Decide(*access, Bearer(analyze), analyze_call), "OK");
  EXPECT_EQ(Decide(*access, Bearer(analyze), identify_staff), "SCOPE_NOT_GRANTED");
}

TEST_F(AccessControlTest, RefusalsSayWhatIsMissingWithoutTheKey) {
  const std::string ident = AddFileKey("ident", {Scope::kIdentify}, {"staff"});
  std::unique_ptr<AccessControl> access = Make(true, true);
  absl::StatusOr<Caller> caller = access->Authenticate(Bearer(ident));
  ASSERT_TRUE(caller.ok());
  absl::Status scope = access->Authorize(*caller, Need(Scope::kEnroll, "staff"));
  EXPECT_EQ(scope.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(MetadataOf(scope).at("scope"), "enroll");
  absl::Status gallery = access->Authorize(*caller, Need(Scope::kIdentify, "vip"));
  EXPECT_EQ(MetadataOf(gallery).at("gallery"), "vip");
  absl::StatusOr<Caller> bad = access->Authenticate(Bearer(ident + "0"));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kUnauthenticated);
  for (const absl::Status& s : {scope, gallery, bad.status()}) {
    EXPECT_THAT(s.ToString(), ::testing::Not(HasSubstr(ident.substr(4))));
    EXPECT_THAT(s.ToString(), ::testing::Not(HasSubstr(Sha256Hex(ident).substr(0, 16))));
  }
}

TEST_F(AccessControlTest, CreatedKeysWorkAtOnceAndRevokedOnesFailAtOnce) {
  const std::string root = AddFileKey("root", {Scope::kAdmin}, {"*"});
  std::unique_ptr<AccessControl> access = Make(true, true);
  absl::StatusOr<AccessControl::CreatedKey> created =
      access->CreateKey("svc", {Scope::kEnroll, Scope::kIdentify, Scope::kEnroll}, {"b", "a", "b"});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->record.scopes, (std::vector<Scope>{Scope::kIdentify, Scope::kEnroll}));
  EXPECT_EQ(created->record.galleries, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(created->record.sha256_hex, Sha256Hex(created->key));
  EXPECT_EQ(store_.size(), 1u);
  EXPECT_EQ(Decide(*access, Bearer(created->key), Need(Scope::kEnroll, "a")), "OK");

  // Rotation: a second key is valid beside the first.
  absl::StatusOr<AccessControl::CreatedKey> next = access->CreateKey("svc-2", {Scope::kEnroll}, {"a"});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(Decide(*access, Bearer(created->key), Need(Scope::kEnroll, "a")), "OK");
  EXPECT_EQ(Decide(*access, Bearer(next->key), Need(Scope::kEnroll, "a")), "OK");
  ASSERT_TRUE(access->RevokeKey(created->record.id).ok());
  EXPECT_EQ(Decide(*access, Bearer(created->key), Need(Scope::kEnroll, "a")), "API_KEY_INVALID");
  EXPECT_EQ(Decide(*access, Bearer(next->key), Need(Scope::kEnroll, "a")), "OK");
  EXPECT_EQ(ReasonNameOf(access->RevokeKey(created->record.id)), "API_KEY_NOT_FOUND");

  // The file's keys are the file's to revoke.
  const std::string root_id = *ApiKeyIdOf(root);
  EXPECT_EQ(ReasonNameOf(access->RevokeKey(root_id)), "KEY_MANAGEMENT_UNAVAILABLE");
  EXPECT_EQ(Decide(*access, Bearer(root), {}), "OK");

  // The log names keys by id, never by key or digest.
  EXPECT_THAT(log(), HasSubstr(created->record.id));
  EXPECT_THAT(log(), ::testing::Not(HasSubstr(created->key)));
  EXPECT_THAT(log(), ::testing::Not(HasSubstr(created->record.sha256_hex)));
}

TEST_F(AccessControlTest, AStoreThatFailsChangesNothing) {
  std::unique_ptr<AccessControl> access = Make(true, false);
  absl::StatusOr<AccessControl::CreatedKey> kept = access->CreateKey("kept", {Scope::kAnalyze}, {});
  ASSERT_TRUE(kept.ok());
  store_.set_fail(true);
  EXPECT_FALSE(access->CreateKey("lost", {Scope::kAnalyze}, {}).ok());
  EXPECT_EQ(access->ListKeys().size(), 1u);
  EXPECT_FALSE(access->RevokeKey(kept->record.id).ok());
  EXPECT_EQ(Decide(*access, Bearer(kept->key), Need(Scope::kAnalyze)), "OK");
}

TEST_F(AccessControlTest, CreateChecksItsRequest) {
  std::unique_ptr<AccessControl> access = Make(true, false);
  auto field_of = [&](const std::string& name, std::vector<Scope> scopes,
                      std::vector<std::string> galleries) {
    absl::StatusOr<AccessControl::CreatedKey> c = access->CreateKey(name, scopes, galleries);
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    return MetadataOf(c.status())["field"];
  };
  EXPECT_EQ(field_of("", {Scope::kAnalyze}, {}), "name");
  EXPECT_EQ(field_of(std::string(257, 'n'), {Scope::kAnalyze}, {}), "name");
  EXPECT_EQ(field_of("a\nb", {Scope::kAnalyze}, {}), "name");
  EXPECT_EQ(field_of("k", {}, {}), "scopes");
  EXPECT_EQ(field_of("k", {Scope::kIdentify}, {"ok", ""}), "galleries[1]");
  EXPECT_EQ(store_.size(), 0u);
}

TEST_F(AccessControlTest, StoredKeysAreLoadedAtStart) {
  std::string key;
  {
    std::unique_ptr<AccessControl> first = Make(true, false);
    key = first->CreateKey("svc", {Scope::kAnalyze}, {})->key;
  }
  std::unique_ptr<AccessControl> second = Make(true, false);
  EXPECT_EQ(Decide(*second, Bearer(key), Need(Scope::kAnalyze)), "OK");
}

TEST_F(AccessControlTest, TheKeysFileIsReReadWhenItChangesAndKeptWhenBroken) {
  const std::string first = AddFileKey("first", {Scope::kAnalyze}, {});
  std::unique_ptr<AccessControl> access = Make(true, true);
  const AccessNeed need = Need(Scope::kAnalyze);
  EXPECT_EQ(Decide(*access, Bearer(first), need), "OK");

  const std::string second = AddFileKey("second", {Scope::kAnalyze}, {});
  access->ReloadKeysFileIfChanged();
  EXPECT_EQ(Decide(*access, Bearer(second), need), "OK");

  // A broken file keeps the keys read before.
  std::ofstream(keys_file_, std::ios::app) << "- id: broken\n";
  access->ReloadKeysFileIfChanged();
  EXPECT_EQ(Decide(*access, Bearer(first), need), "OK");
  EXPECT_THAT(log(), HasSubstr("keeping the keys read before"));

  // Removing an entry revokes its key; the poll thread sees it by itself.
  std::ofstream(keys_file_, std::ios::trunc) << "";
  const std::string third = AddFileKey("third", {Scope::kAnalyze}, {});
  const absl::Time limit = absl::Now() + absl::Seconds(10);
  while (Decide(*access, Bearer(third), need) != "OK" && absl::Now() < limit) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(Decide(*access, Bearer(third), need), "OK");
  EXPECT_EQ(Decide(*access, Bearer(first), need), "API_KEY_INVALID");
  EXPECT_EQ(Decide(*access, Bearer(second), need), "API_KEY_INVALID");
}

TEST_F(AccessControlTest, AnUnreadableKeysFileStopsTheStart) {
  AccessOptions options;
  options.required = true;
  options.keys_file = keys_file_;  // never written
  EXPECT_EQ(AccessControl::Create(options, &store_).status().code(), absl::StatusCode::kNotFound);
  std::ofstream(keys_file_) << "- nonsense\n";
  EXPECT_EQ(AccessControl::Create(options, &store_).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(AccessControlTest, ConcurrentChecksWhileKeysChange) {
  std::unique_ptr<AccessControl> access = Make(true, false);
  const std::string stable = access->CreateKey("stable", {Scope::kAnalyze}, {})->key;
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::vector<std::thread> checkers;
  for (int t = 0; t < 4; ++t) {
    checkers.emplace_back([&] {
      while (!stop.load()) {
        if (Decide(*access, Bearer(stable), Need(Scope::kAnalyze)) != "OK") wrong.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    absl::StatusOr<AccessControl::CreatedKey> k = access->CreateKey("temp", {Scope::kAnalyze}, {});
    ASSERT_TRUE(k.ok());
    EXPECT_EQ(Decide(*access, Bearer(k->key), Need(Scope::kAnalyze)), "OK");
    ASSERT_TRUE(access->RevokeKey(k->record.id).ok());
    EXPECT_EQ(Decide(*access, Bearer(k->key), Need(Scope::kAnalyze)), "API_KEY_INVALID");
  }
  stop.store(true);
  for (std::thread& t : checkers) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace faceserve
