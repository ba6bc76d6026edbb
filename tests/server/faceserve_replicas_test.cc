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

#include "client/facectl.h"
#include "faceserve/v1/gallery_service.grpc.pb.h"
#include "gtest/gtest.h"
#include "proto/rpc_status.h"
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

// The database's libpq URI: one word, as --set takes it.
std::string UriOf(const PgDatabase& db) {
  std::smatch port;
  const std::string server = ServerDsn();
  std::regex_search(server, port, std::regex("port=(\\d+)"));
  return absl::StrCat("postgresql://faceserve@127.0.0.1:", port[1].str(), "/", db.name());
}

// A faceserve replica on the PostgreSQL database `uri` (or, with `sqlite`,
// on that SQLite file).
class Replica {
 public:
  explicit Replica(const std::string& uri, bool sqlite = false) {
    std::vector<std::string> args{
        FACESERVE_BINARY, "--config", kSourceDir + "/config/default.yaml", "--set",
        "server.listen=127.0.0.1:0", "--set", "metrics.listen=127.0.0.1:0", "--set",
        "http.listen=", "--set", "device.preheat=false", "--set",
        "models_dir=" + kSourceDir + "/models/exported", "--set",
        sqlite ? "gallery.backend=sqlite" : "gallery.backend=postgres", "--set",
        sqlite ? "gallery.sqlite.path=" + uri : "gallery.postgres.dsn=" + uri};
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
