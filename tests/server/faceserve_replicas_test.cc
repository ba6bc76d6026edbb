// Two faceserve processes on one real PostgreSQL (issue 33): gRPC over
// loopback to each, real models, the throwaway cluster of the ctest
// fixture postgres.start (a database of each test's own).
//
//  * a gallery made and a person enrolled through replica A (from a photo)
//    is searchable through replica B within a second, and B identifies
//    the person from another photo;
//    B's /metrics and /readyz say it follows the store;
//  * replica A is killed with SIGKILL in the middle of a burst of
//    enrollments: every enrollment it acknowledged is found through B;
//  * PostgreSQL stops under both (a cluster of the test's own): searches
//    answer, enrollments are UNAVAILABLE, /readyz and /metrics say stale;
//    once it is back, both catch up by themselves;
//  * facectl gallery export / import move a gallery from SQLite to
//    PostgreSQL and back, byte for byte.
//
// Needs the faceserve binary and the exported models; the photo part needs
// ../shared/data (skipped without it).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "absl/strings/match.h"
#include "client/facectl.h"
#include "faceserve/v1/gallery_service.grpc.pb.h"
#include "gtest/gtest.h"
#include "proto/rpc_status.h"
#include "tests/gallery/own_pg_cluster.h"
#include "tests/gallery/pg_test_database.h"
#include "tests/server/enroll_burst.h"
#include "tests/server/test_harness.h"
#include "tests/server/verify_photos.h"
#include "tests/testing/server_process.h"

namespace faceserve {

namespace {

namespace fs = std::filesystem;
using testing::HealthCheck;
using testing::ServerProcess;

const std::string kSourceDir = FACESERVE_SOURCE_DIR;
const std::string& kVerify = testing::kVerifyPhotos;

std::string Photo(const std::string& identity, int index) {
  return testing::VerifyPhoto(identity, index);
}

// The database's libpq URI on the cluster `server` (the fixture's by
// default): one word, as --set takes it.
std::string UriOf(const PgDatabase& db, const std::string& server = ServerDsn()) {
  std::smatch port;
  std::regex_search(server, port, std::regex("port=(\\d+)"));
  return absl::StrCat("postgresql://faceserve@127.0.0.1:", port[1].str(), "/", db.name());
}

// A faceserve replica on the PostgreSQL database `uri` (or, with `sqlite`,
// on that SQLite file); `settings`: more --set values.
class Replica {
 public:
  explicit Replica(const std::string& uri, bool sqlite = false,
                   const std::vector<std::string>& settings = {}) {
    std::vector<std::string> args{
        FACESERVE_BINARY, "--config", kSourceDir + "/config/default.yaml", "--set",
        "server.listen=127.0.0.1:0", "--set", "metrics.listen=127.0.0.1:0", "--set",
        "http.listen=", "--set", "device.preheat=false", "--set",
        "models_dir=" + kSourceDir + "/models/exported", "--set",
        sqlite ? "gallery.backend=sqlite" : "gallery.backend=postgres", "--set",
        sqlite ? "gallery.sqlite.path=" + uri : "gallery.postgres.dsn=" + uri};
    for (const std::string& setting : settings) {
      args.push_back("--set");
      args.push_back(setting);
    }
    process_ = std::make_unique<ServerProcess>(args);
    const int port = process_->WaitForPort(absl::Seconds(120));
    metrics_port_ = process_->WaitForMetricsPort(absl::Seconds(1));
    if (port == 0) return;
    address_ = absl::StrCat("127.0.0.1:", port);
    channel_ = grpc::CreateChannel(address_,
                                   grpc::InsecureChannelCredentials());
    testing::WaitUntil(
        [&] { return HealthCheck(channel_, "faceserve.v1.GalleryService") == testing::kServing; },
        absl::Seconds(120));
    galleries = v1::GalleryService::NewStub(channel_);
  }
  bool ok() const { return galleries != nullptr; }
  std::string log() { return process_->log(); }
  const std::string& address() const { return address_; }
  void Kill() {
    kill(process_->pid(), SIGKILL);
    process_->Exited(absl::Seconds(30));
  }
  std::string Get(const std::string& path) {
    httplib::Client client("127.0.0.1", metrics_port_);
    httplib::Result r = client.Get(path);
    return r ? r->body : "";
  }

  std::unique_ptr<v1::GalleryService::Stub> galleries;

 private:
  std::unique_ptr<ServerProcess> process_;
  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  int metrics_port_ = 0;
};

template <typename Method, typename Request, typename Response>
absl::Status Call(Replica& r, Method method, const Request& request, Response* response) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  return FromGrpcStatus(((*r.galleries).*method)(&context, request, response));
}

std::string TestName() { return ::testing::UnitTest::GetInstance()->current_test_info()->name(); }

TEST(FaceserveReplicasTest, AnEnrollmentThroughOneReplicaIsIdentifiedThroughTheOther) {
  if (!fs::exists(kVerify)) GTEST_SKIP() << "needs the verify photos at " << kVerify;
  PgDatabase db(TestName());
  Replica a(UriOf(db)), b(UriOf(db));
  ASSERT_TRUE(a.ok()) << a.log();
  ASSERT_TRUE(b.ok()) << b.log();
  EXPECT_NE(a.log().find("loaded from PostgreSQL"), std::string::npos) << a.log();

  v1::CreateGalleryRequest create;
  create.set_name("people");
  v1::Gallery gallery;
  ASSERT_TRUE(Call(a, &v1::GalleryService::Stub::CreateGallery, create, &gallery).ok());
  v1::EnrollRequest enroll;
  enroll.set_gallery("people");
  enroll.set_subject("obama");
  enroll.add_inputs()->mutable_image()->set_encoded(Photo("barack_obama", 0));
  v1::EnrollResponse enrolled;
  const absl::Status acked = Call(a, &v1::GalleryService::Stub::Enroll, enroll, &enrolled);
  ASSERT_TRUE(acked.ok()) << acked;
  const absl::Time ack = absl::Now();

  // Propagation, timed on B's in-memory search by the enrolled embedding
  // (an Identify would add B's model time, seconds under the sanitizers).
  v1::GetSubjectRequest get;
  get.set_gallery("people");
  get.set_subject("obama");
  get.set_include_embeddings(true);
  v1::Subject subject;
  ASSERT_TRUE(Call(a, &v1::GalleryService::Stub::GetSubject, get, &subject).ok());
  ASSERT_EQ(subject.faces_size(), 1);
  v1::SearchRequest search;
  search.mutable_options()->set_gallery("people");
  *search.add_queries() = subject.faces(0).embedding();
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        v1::SearchResponse found;
        return Call(b, &v1::GalleryService::Stub::Search, search, &found).ok() &&
               found.results(0).matches_size() > 0 &&
               found.results(0).matches(0).subject() == "obama";
      },
      absl::Seconds(10)))
      << "B never found the face enrolled through A";
  const absl::Duration took = absl::Now() - ack;
  EXPECT_LT(took, absl::Seconds(1)) << "enrolled on A, searchable on B after " << took;
  std::printf("enrolled on A, searchable on B after %.0f ms\n", absl::ToDoubleMilliseconds(took));

  // And B identifies the person from another photo.
  v1::IdentifyRequest identify;
  identify.mutable_image()->set_encoded(Photo("barack_obama", 1));
  identify.mutable_options()->set_gallery("people");
  v1::IdentifyResponse response;
  ASSERT_TRUE(Call(b, &v1::GalleryService::Stub::Identify, identify, &response).ok());
  ASSERT_EQ(response.faces_size(), 1);
  EXPECT_TRUE(response.faces(0).identity().identified());
  EXPECT_EQ(response.faces(0).identity().matches(0).subject(), "obama");

  EXPECT_NE(b.Get("/metrics").find("faceserve_gallery_store_in_step 1"), std::string::npos);
  EXPECT_NE(b.Get("/metrics").find("faceserve_gallery_faces{gallery=\"people\"} 1"),
            std::string::npos)
      << b.Get("/metrics");
  EXPECT_EQ(b.Get("/readyz"), "ready\n");
}

TEST(FaceserveReplicasTest, EnrollmentsAcknowledgedByAKilledReplicaAreFoundOnTheOther) {
  PgDatabase db(TestName());
  Replica a(UriOf(db)), b(UriOf(db));
  ASSERT_TRUE(a.ok()) << a.log();
  ASSERT_TRUE(b.ok()) << b.log();
  v1::CreateGalleryRequest create;
  create.set_name("burst");
  v1::Gallery gallery;
  ASSERT_TRUE(Call(a, &v1::GalleryService::Stub::CreateGallery, create, &gallery).ok());

  testing::EnrollBurst burst("burst", 8, [&](const v1::EnrollRequest& r, v1::EnrollResponse* out) {
    return Call(a, &v1::GalleryService::Stub::Enroll, r, out).ok();
  });
  absl::SleepFor(absl::Seconds(2));
  a.Kill();  // in the middle of the burst
  const testing::AckedFaces acked = burst.Stop();
  ASSERT_GT(acked.size(), 20u);

  // Every acknowledged face, searched through B (one second for the last
  // ones to arrive).
  absl::SleepFor(absl::Seconds(1));
  const int found =
      testing::FoundByBestMatch(acked, "burst", [&](const v1::SearchRequest& r, v1::SearchResponse* out) {
        return Call(b, &v1::GalleryService::Stub::Search, r, out).ok();
      });
  EXPECT_EQ(found, static_cast<int>(acked.size()));
  std::printf("%zu enrollments acknowledged by A before kill -9, %d found through B\n",
              acked.size(), found);
}

// PostgreSQL stops under two servers (a cluster of this test's own, halted
// and resumed): searches answer from memory through both, enrollments are
// UNAVAILABLE and say why, /readyz stays 200 and says the galleries may be
// stale, the metrics say out of step; once PostgreSQL is back, an
// enrollment through one server reaches the other, and /readyz is "ready"
// again. No model runs: faces are enrolled and searched as embeddings.
TEST(FaceserveReplicasTest, WithPostgresStoppedBothServersAnswerFromMemoryAndCatchUp) {
  OwnPgCluster pg("pg-outage");
  ASSERT_FALSE(pg.dsn().empty());
  const std::string& server_dsn = pg.dsn();
  {
    PgDatabase db(TestName(), server_dsn);
    // Short polls and staleness: the servers notice the database away (and
    // back) within a second or two.
    const std::vector<std::string> quick{"gallery.postgres.poll_ms=200",
                                         "gallery.postgres.stale_after_ms=1000"};
    Replica a(UriOf(db, server_dsn), false, quick), b(UriOf(db, server_dsn), false, quick);
    ASSERT_TRUE(a.ok()) << a.log();
    ASSERT_TRUE(b.ok()) << b.log();
    v1::CreateGalleryRequest create;
    create.set_name("people");
    v1::Gallery gallery;
    ASSERT_TRUE(Call(a, &v1::GalleryService::Stub::CreateGallery, create, &gallery).ok());
    // One enrollment of a random embedding (as the burst makes them): what
    // was acknowledged, empty when the call failed.
    std::mt19937 rng(33);
    auto enroll_one = [&](Replica& r, const std::string& subject) -> testing::AckedFaces {
      std::normal_distribution<float> n;
      std::vector<float> e(128);
      for (float& v : e) v = n(rng);
      v1::EnrollRequest q;
      q.set_gallery("people");
      q.set_subject(subject);
      *q.add_inputs()->mutable_embedding()->mutable_values() = {e.begin(), e.end()};
      v1::EnrollResponse out;
      if (!Call(r, &v1::GalleryService::Stub::Enroll, q, &out).ok()) return {};
      return {{out.results(0).face_id(), {subject, e}}};
    };
    const testing::AckedFaces before = enroll_one(a, "ann");
    ASSERT_FALSE(before.empty());
    auto search_through = [&](Replica& r) {
      return [&r](const v1::SearchRequest& q, v1::SearchResponse* out) {
        return Call(r, &v1::GalleryService::Stub::Search, q, out).ok();
      };
    };
    absl::SleepFor(absl::Seconds(1));  // B follows within milliseconds
    ASSERT_EQ(testing::FoundByBestMatch(before, "people", search_through(b)),
              static_cast<int>(before.size()));

    ASSERT_TRUE(pg.Halt());
    // Searches: from memory, through both.
    EXPECT_EQ(testing::FoundByBestMatch(before, "people", search_through(a)),
              static_cast<int>(before.size()));
    EXPECT_EQ(testing::FoundByBestMatch(before, "people", search_through(b)),
              static_cast<int>(before.size()));
    // Enrollments: UNAVAILABLE, naming the database.
    v1::EnrollRequest enroll;
    enroll.set_gallery("people");
    enroll.set_subject("refused");
    const std::vector<float>& ann = before.begin()->second.second;
    *enroll.add_inputs()->mutable_embedding()->mutable_values() = {ann.begin(), ann.end()};
    v1::EnrollResponse refused_response;
    const absl::Status refused =
        Call(a, &v1::GalleryService::Stub::Enroll, enroll, &refused_response);
    EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable) << refused;
    EXPECT_TRUE(absl::StrContains(refused.message(), "PostgreSQL")) << refused;
    // Probes: still ready (searches answer), saying why to look.
    for (Replica* r : {&a, &b}) {
      EXPECT_TRUE(testing::WaitUntil(
          [&] { return absl::StrContains(r->Get("/readyz"), "galleries may be stale"); },
          absl::Seconds(10)))
          << r->Get("/readyz");
      EXPECT_TRUE(absl::StartsWith(r->Get("/readyz"), "ready\n")) << r->Get("/readyz");
      EXPECT_TRUE(absl::StrContains(r->Get("/metrics"), "faceserve_gallery_store_in_step 0"));
    }

    ASSERT_TRUE(pg.Resume());
    // Through B now (its first call may meet the dead connection: retried).
    testing::AckedFaces after;
    ASSERT_TRUE(testing::WaitUntil(
        [&] {
          after = enroll_one(b, "bob");
          return !after.empty();
        },
        absl::Seconds(30)))
        << b.log();
    EXPECT_TRUE(testing::WaitUntil(
        [&] {
          v1::SearchRequest q;
          q.mutable_options()->set_gallery("people");
          *q.add_queries()->mutable_values() = {after.begin()->second.second.begin(),
                                                after.begin()->second.second.end()};
          v1::SearchResponse found;
          return Call(a, &v1::GalleryService::Stub::Search, q, &found).ok() &&
                 found.results(0).matches_size() > 0 &&
                 found.results(0).matches(0).face_id() == after.begin()->first;
        },
        absl::Seconds(10)))
        << "A never had the face enrolled through B after the restart\n" << a.log();
    for (Replica* r : {&a, &b}) {
      EXPECT_TRUE(testing::WaitUntil([&] { return r->Get("/readyz") == "ready\n"; },
                                     absl::Seconds(10)))
          << r->Get("/readyz");
      EXPECT_TRUE(absl::StrContains(r->Get("/metrics"), "faceserve_gallery_store_in_step 1"));
    }
    // Acknowledged before the stop: still there, through both.
    EXPECT_EQ(testing::FoundByBestMatch(before, "people", search_through(a)),
              static_cast<int>(before.size()));
  }
}

// `facectl gallery export` / `import` move a gallery from SQLite to
// PostgreSQL and back: the file that comes back is the file that went.
TEST(FaceserveReplicasTest, AGalleryMovesFromSqliteToPostgresAndBackUnchanged) {
  const fs::path dir = fs::temp_directory_path() / ("faceserve_move_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string first = (dir / "from-sqlite.jsonl").string();
  const std::string second = (dir / "from-postgres.jsonl").string();
  const std::string third = (dir / "back-in-sqlite.jsonl").string();
  auto facectl = [](const std::vector<std::string>& args) {
    std::ostringstream out, err;
    const int code = client::RunFacectl(args, out, err);
    EXPECT_EQ(code, 0) << err.str();
    return code;
  };
  {
    Replica sqlite((dir / "a.sqlite").string(), /*sqlite=*/true);
    ASSERT_TRUE(sqlite.ok()) << sqlite.log();
    v1::CreateGalleryRequest create;
    create.set_name("people");
    create.set_threshold(0.8f);
    v1::Gallery gallery;
    ASSERT_TRUE(Call(sqlite, &v1::GalleryService::Stub::CreateGallery, create, &gallery).ok());
    std::mt19937 rng(7);
    std::normal_distribution<float> n;
    for (int p = 0; p < 12; ++p) {
      v1::EnrollRequest r;
      r.set_gallery("people");
      r.set_subject(absl::StrCat("person-", p));
      (*r.mutable_metadata())["team"] = p % 2 ? "red" : "blue";
      for (int f = 0; f <= p % 3; ++f) {
        std::vector<float> e(128);
        for (float& v : e) v = n(rng);
        *r.add_inputs()->mutable_embedding()->mutable_values() = {e.begin(), e.end()};
      }
      v1::EnrollResponse response;
      ASSERT_TRUE(Call(sqlite, &v1::GalleryService::Stub::Enroll, r, &response).ok());
    }
    ASSERT_EQ(facectl({"--server", sqlite.address(), "gallery", "export", "people", "--out", first}), 0);
  }
  {
    PgDatabase db(TestName());
    Replica postgres(UriOf(db));
    ASSERT_TRUE(postgres.ok()) << postgres.log();
    ASSERT_EQ(facectl({"--server", postgres.address(), "gallery", "import", first}), 0);
    ASSERT_EQ(facectl({"--server", postgres.address(), "gallery", "export", "people", "--out", second}), 0);
  }
  {
    Replica sqlite((dir / "b.sqlite").string(), /*sqlite=*/true);
    ASSERT_TRUE(sqlite.ok()) << sqlite.log();
    ASSERT_EQ(facectl({"--server", sqlite.address(), "gallery", "import", second}), 0);
    ASSERT_EQ(facectl({"--server", sqlite.address(), "gallery", "export", "people", "--out", third}), 0);
  }
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  };
  const std::string original = read(first);
  EXPECT_NE(original.find("\"faces\":24"), std::string::npos) << original.substr(0, 300);
  EXPECT_EQ(read(second), original);
  EXPECT_EQ(read(third), original);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace faceserve
