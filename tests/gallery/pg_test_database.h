// A database of its own for each PostgreSQL test, on the throwaway cluster
// that the ctest fixture postgres.start makes (scripts/throwaway_postgres.sh
// writes its connection string to $FACESERVE_TEST_PG_DSN_FILE).
#ifndef FACESERVE_TESTS_GALLERY_PG_TEST_DATABASE_H_
#define FACESERVE_TESTS_GALLERY_PG_TEST_DATABASE_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/gallery/pg_connection.h"
#include "core/gallery/pg_gallery_store.h"
#include "tests/gallery/store_under_test.h"

namespace faceserve {

// The throwaway cluster's connection string (written by the ctest fixture).
inline std::string ServerDsn() {
  const char* file = std::getenv("FACESERVE_TEST_PG_DSN_FILE");
  if (file == nullptr) return "";
  std::ifstream in(file);
  std::string dsn;
  std::getline(in, dsn);
  return std::string(absl::StripAsciiWhitespace(dsn));
}

// A database of its own on the cluster, dropped afterwards.
class PgDatabase : public StoreUnderTest {
 public:
  // On the cluster of `server_dsn` (default: the fixture's).
  explicit PgDatabase(const std::string& test_name, std::string server_dsn = ServerDsn())
      : server_dsn_(std::move(server_dsn)) {
    name_ = absl::AsciiStrToLower(absl::StrCat("t", ::getpid(), "_", test_name)).substr(0, 60);
    absl::StatusOr<std::unique_ptr<PgConnection>> admin = PgConnection::Connect(server_dsn_);
    EXPECT_TRUE(admin.ok()) << admin.status()
                            << " (FACESERVE_TEST_PG_DSN_FILE: run through ctest, which starts "
                               "the throwaway cluster)";
    if (!admin.ok()) return;
    admin_ = *std::move(admin);
    EXPECT_TRUE(admin_->Run(absl::StrCat("DROP DATABASE IF EXISTS \"", name_, "\"")).ok());
    const absl::Status created = admin_->Run(absl::StrCat("CREATE DATABASE \"", name_, "\""));
    EXPECT_TRUE(created.ok()) << created;
  }
  ~PgDatabase() override {
    if (admin_ != nullptr) {
      admin_->Run(absl::StrCat("DROP DATABASE IF EXISTS \"", name_, "\" WITH (FORCE)"))
          .IgnoreError();
    }
  }
  // Later keywords win in a libpq connection string.
  std::string dsn() const { return absl::StrCat(server_dsn_, " dbname=", name_); }
  const std::string& name() const { return name_; }
  PgConnection* admin() { return admin_.get(); }
  absl::StatusOr<std::unique_ptr<GalleryStore>> Open() override {
    absl::StatusOr<std::unique_ptr<PgGalleryStore>> s = PgGalleryStore::Open(dsn());
    if (!s.ok()) return s.status();
    return std::unique_ptr<GalleryStore>(*std::move(s));
  }

 private:
  std::string server_dsn_;
  std::string name_;
  std::unique_ptr<PgConnection> admin_;
};

}  // namespace faceserve

#endif  // FACESERVE_TESTS_GALLERY_PG_TEST_DATABASE_H_
