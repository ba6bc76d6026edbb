// Replicas on one real PostgreSQL (issue 33): two Galleries, each with its
// own PgGalleryStore, as two faceserve processes have. What one writes, the
// other searches within a second (woken by NOTIFY: the poll is set far
// longer); an enrollment whose transaction stays open while a later one
// commits is not skipped; a replica reloads when the log was compacted past
// it; with PostgreSQL stopped searches answer from memory, writes are
// UNAVAILABLE, and once it is back the replicas catch up by themselves.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "core/gallery/galleries.h"
#include "core/gallery/pg_change_log.h"
#include "core/gallery/pg_gallery_store.h"
#include "tests/gallery/own_pg_cluster.h"
#include "tests/gallery/pg_test_database.h"

namespace faceserve {

namespace {

const DescriptorModel kModel{"face_recognition@faceapi-1.7.15", 4};

std::string TestName() { return ::testing::UnitTest::GetInstance()->current_test_info()->name(); }

// Log lines of one replica.
class LogLines {
 public:
  std::function<void(const std::string&)> sink() {
    return [this](const std::string& line) {
      absl::MutexLock lock(&mu_);
      lines_.push_back(line);
    };
  }
  bool Contains(const std::string& part) {
    absl::MutexLock lock(&mu_);
    for (const std::string& line : lines_) {
      if (absl::StrContains(line, part)) return true;
    }
    return false;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
};

// A replica: Galleries over its own connection. `poll`: how long it waits
// for a NOTIFY before reading the log anyway.
std::unique_ptr<Galleries> OpenReplica(const std::string& dsn, absl::Duration poll,
                                       LogLines* log = nullptr) {
  absl::StatusOr<std::unique_ptr<PgGalleryStore>> store = PgGalleryStore::Open(dsn);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return nullptr;
  IndexingOptions indexing;
  indexing.follow.poll = poll;
  if (log != nullptr) indexing.log = log->sink();
  absl::StatusOr<std::unique_ptr<Galleries>> galleries =
      Galleries::Open(*std::move(store), SearchBatchingOptions{}, std::move(indexing));
  EXPECT_TRUE(galleries.ok()) << galleries.status();
  return galleries.ok() ? *std::move(galleries) : nullptr;
}

// The best subject for `query` in `gallery` ("" when none; the error's
// text when the search fails).
std::string Best(Galleries& g, const std::string& gallery, std::vector<float> query) {
  std::promise<std::string> answer;
  g.Search(gallery, kModel.id, {std::move(query)}, 1,
           [&](absl::StatusOr<SearchBatcher::Matches> m) {
             if (!m.ok()) return answer.set_value(std::string(m.status().message()));
             answer.set_value(m->empty() || (*m)[0].empty() ? "" : (*m)[0][0].subject);
           });
  return answer.get_future().get();
}

// How long until `condition` holds, checked every 5 ms; nullopt after
// `limit`.
std::optional<absl::Duration> TimeUntil(const std::function<bool()>& condition,
                                        absl::Duration limit = absl::Seconds(10)) {
  const absl::Time start = absl::Now();
  while (!condition()) {
    if (absl::Now() - start > limit) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return absl::Now() - start;
}

constexpr absl::Duration kSecond = absl::Seconds(1);
const std::vector<float> kAnn{1, 0, 0, 0}, kBob{0, 1, 0, 0}, kCat{0, 0, 1, 0}, kDan{0, 0, 0, 1};

// An enrollment by hand on connection `c`, inside the caller's open
// transaction, as PgGalleryStore::AddFaces makes it: subject and face first
// (their ids taken now), the change number last (LogPgFaceChanges), then
// the caller commits. Returns {gallery row id, face id}.
absl::StatusOr<std::pair<int64_t, int64_t>> InsertFace(PgConnection* c, const std::string& subject,
                                                       const std::vector<float>& embedding) {
  absl::StatusOr<PgResult> s = c->Exec(
      "INSERT INTO subjects (gallery_id, name, created_unix_ms) "
      "SELECT id, $1, 0 FROM galleries WHERE name = 'people' RETURNING id::int8, gallery_id::int8",
      {PgParam::Text(subject)});
  if (!s.ok()) return s.status();
  absl::StatusOr<PgResult> face = c->Exec(
      "INSERT INTO faces (subject_id, descriptor_model, dimension, embedding, created_unix_ms) "
      "VALUES ($1, $2, 4, $3, 0) RETURNING id::int8",
      {PgParam::Int(s->Int(0, 0)), PgParam::Text(kModel.id), PgParam::Floats(embedding)});
  if (!face.ok()) return face.status();
  return std::make_pair(s->Int(0, 1), face->Int(0, 0));
}

TEST(PgReplicasTest, WhatOneReplicaWritesTheOtherSearchesWithinASecond) {
  PgDatabase db(TestName());
  // Polls an hour apart: only NOTIFY can make a change arrive in time.
  std::unique_ptr<Galleries> a = OpenReplica(db.dsn(), absl::Hours(1));
  std::unique_ptr<Galleries> b = OpenReplica(db.dsn(), absl::Hours(1));
  ASSERT_TRUE(a && b);

  ASSERT_TRUE(a->Create("people", kModel, 0.9f, IndexKind::kExact).ok());
  // FaceCount reads memory alone (Binding would look in the store).
  std::optional<absl::Duration> took =
      TimeUntil([&] { return b->FaceCount("people").has_value(); });
  ASSERT_TRUE(took.has_value()) << "the gallery made on A never reached B";
  EXPECT_LT(*took, kSecond);

  ASSERT_TRUE(a->AddFaces("people", "ann", {}, kModel, {kAnn}, nullptr).ok());
  took = TimeUntil([&] { return Best(*b, "people", kAnn) == "ann"; });
  ASSERT_TRUE(took.has_value()) << "ann, enrolled on A, was never found on B";
  EXPECT_LT(*took, kSecond);
  std::printf("enroll on A -> found on B: %.1f ms\n", absl::ToDoubleMilliseconds(*took));

  ASSERT_TRUE(b->AddFaces("people", "bob", {}, kModel, {kBob}, nullptr).ok());
  ASSERT_TRUE(b->DeleteSubject("people", "ann").ok());
  took = TimeUntil([&] { return Best(*a, "people", kAnn) == "bob"; });
  ASSERT_TRUE(took.has_value()) << "A still finds ann after B deleted her";
  EXPECT_LT(*took, kSecond);
  EXPECT_EQ(a->FaceCount("people"), 1);

  ASSERT_TRUE(a->Delete("people").ok());
  took = TimeUntil([&] { return !b->FaceCount("people").has_value(); });
  ASSERT_TRUE(took.has_value()) << "the gallery deleted on A stayed on B";
  EXPECT_LT(*took, kSecond);
  // Made again under the same name: B loads the new one, empty.
  ASSERT_TRUE(a->Create("people", kModel, 0.5f, IndexKind::kAuto).ok());
  ASSERT_TRUE(TimeUntil([&] { return b->FaceCount("people").has_value(); }).has_value());
  EXPECT_EQ(b->FaceCount("people"), 0);
  EXPECT_FLOAT_EQ(b->Binding("people")->threshold, 0.5f);
}

// Behind a load balancer a client creates a gallery through one replica
// and enrolls through the other at once, before any NOTIFY could arrive:
// the other replica looks the gallery up in the store.
TEST(PgReplicasTest, AGalleryMadeOnOneReplicaTakesEnrollmentsOnTheOtherAtOnce) {
  PgDatabase db(TestName());
  std::unique_ptr<Galleries> a = OpenReplica(db.dsn(), absl::Hours(1));
  std::unique_ptr<Galleries> b = OpenReplica(db.dsn(), absl::Hours(1));
  ASSERT_TRUE(a && b);
  for (int i = 0; i < 20; ++i) {
    const std::string name = absl::StrCat("g", i);
    ASSERT_TRUE(a->Create(name, kModel, 0.9f, IndexKind::kExact).ok());
    EXPECT_TRUE(b->Binding(name).ok()) << name;
    absl::StatusOr<std::vector<int64_t>> ids = b->AddFaces(name, "ann", {}, kModel, {kAnn}, nullptr);
    EXPECT_TRUE(ids.ok()) << name << ": " << ids.status();
  }
  EXPECT_EQ(b->Binding("never-made").status().code(), absl::StatusCode::kNotFound);
}

// An enrollment that inserted its face (a smaller face id) but commits
// after a later one: a log numbered at insert would let a replica that
// read the later one skip it for good.
TEST(PgReplicasTest, AnEnrollmentHeldOpenIsNotSkippedWhenALaterOneCommitsFirst) {
  PgDatabase db(TestName());
  std::unique_ptr<Galleries> a = OpenReplica(db.dsn(), absl::Hours(1));
  std::unique_ptr<Galleries> b = OpenReplica(db.dsn(), absl::Hours(1));
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->Create("people", kModel, 0.9f, IndexKind::kExact).ok());

  // The held enrollment, as PgGalleryStore::AddFaces makes it, from a third
  // connection: subject and face first, the change number last.
  absl::StatusOr<std::unique_ptr<PgConnection>> held = PgConnection::Connect(db.dsn());
  ASSERT_TRUE(held.ok()) << held.status();
  PgConnection* c = held->get();
  ASSERT_TRUE(c->Run("BEGIN").ok());
  absl::StatusOr<std::pair<int64_t, int64_t>> cat = InsertFace(c, "cat", kCat);
  ASSERT_TRUE(cat.ok()) << cat.status();

  // A later enrollment commits first, and both replicas read past it.
  ASSERT_TRUE(b->AddFaces("people", "bob", {}, kModel, {kBob}, nullptr).ok());
  ASSERT_TRUE(TimeUntil([&] { return Best(*a, "people", kBob) == "bob"; }).has_value());

  ASSERT_TRUE(LogPgFaceChanges(c, cat->first, {cat->second}, true).ok());
  ASSERT_TRUE(c->Run("COMMIT").ok());
  for (Galleries* g : {a.get(), b.get()}) {
    std::optional<absl::Duration> took = TimeUntil([&] { return Best(*g, "people", kCat) == "cat"; });
    ASSERT_TRUE(took.has_value()) << "the enrollment committed last was skipped";
    EXPECT_LT(*took, kSecond);
    EXPECT_EQ(g->FaceCount("people"), 2);
  }
}

// The log was compacted past what a replica had read (a compaction racing
// a slow replica): it reloads every gallery instead of missing changes.
TEST(PgReplicasTest, AReplicaBehindTheCompactedLogReloadsEveryGallery) {
  PgDatabase db(TestName());
  LogLines b_log;
  std::unique_ptr<Galleries> a = OpenReplica(db.dsn(), absl::Hours(1));
  std::unique_ptr<Galleries> b = OpenReplica(db.dsn(), absl::Hours(1), &b_log);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->Create("people", kModel, 0.9f, IndexKind::kExact).ok());
  ASSERT_TRUE(a->AddFaces("people", "ann", {}, kModel, {kAnn}, nullptr).ok());
  ASSERT_TRUE(TimeUntil([&] { return Best(*b, "people", kAnn) == "ann"; }).has_value());

  // One transaction enrolls dan and compacts the whole log, his change too:
  // B wakes to a log that starts past where it stopped.
  absl::StatusOr<std::unique_ptr<PgConnection>> other = PgConnection::Connect(db.dsn());
  ASSERT_TRUE(other.ok()) << other.status();
  PgConnection* c = other->get();
  ASSERT_TRUE(c->Run("BEGIN").ok());
  absl::StatusOr<std::pair<int64_t, int64_t>> dan = InsertFace(c, "dan", kDan);
  ASSERT_TRUE(dan.ok()) << dan.status();
  ASSERT_TRUE(LogPgFaceChanges(c, dan->first, {dan->second}, true).ok());
  absl::StatusOr<int64_t> gone =
      CompactPgChanges(c, absl::ToUnixMillis(absl::Now() + absl::Minutes(1)));
  ASSERT_TRUE(gone.ok()) << gone.status();
  EXPECT_GE(*gone, 3);  // the gallery's creation, ann's and dan's faces
  ASSERT_TRUE(c->Run("COMMIT").ok());

  std::optional<absl::Duration> took = TimeUntil([&] { return Best(*b, "people", kDan) == "dan"; });
  ASSERT_TRUE(took.has_value()) << "B never reloaded";
  EXPECT_LT(*took, kSecond);
  EXPECT_TRUE(b_log.Contains("reloading every gallery"));
  EXPECT_EQ(Best(*b, "people", kAnn), "ann");
  // And it follows again from there.
  ASSERT_TRUE(a->AddFaces("people", "bob", {}, kModel, {kBob}, nullptr).ok());
  EXPECT_TRUE(TimeUntil([&] { return Best(*b, "people", kBob) == "bob"; }).has_value());
}

// PostgreSQL stops (a cluster of this test's own, halted and resumed):
// searches answer from memory, writes are UNAVAILABLE and say why, the
// follower says it is out of step; once it is back, both replicas catch up
// by themselves, and nothing acknowledged was lost.
TEST(PgReplicasTest, WithPostgresStoppedSearchesAnswerWritesFailAndTheReplicasCatchUp) {
  OwnPgCluster pg("pg-fault");
  ASSERT_FALSE(pg.dsn().empty());
  const std::string& server_dsn = pg.dsn();
  {
    PgDatabase db(TestName(), server_dsn);
    LogLines a_log;
    // Short polls: a replica notices the server away (and back) quickly.
    std::unique_ptr<Galleries> a = OpenReplica(db.dsn(), absl::Milliseconds(200), &a_log);
    std::unique_ptr<Galleries> b = OpenReplica(db.dsn(), absl::Milliseconds(200));
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(a->Create("people", kModel, 0.9f, IndexKind::kExact).ok());
    ASSERT_TRUE(a->AddFaces("people", "ann", {}, kModel, {kAnn}, nullptr).ok());
    ASSERT_TRUE(TimeUntil([&] { return Best(*b, "people", kAnn) == "ann"; }).has_value());

    ASSERT_TRUE(pg.Halt());
    EXPECT_EQ(Best(*a, "people", kAnn), "ann");
    EXPECT_EQ(Best(*b, "people", kAnn), "ann");
    absl::StatusOr<std::vector<int64_t>> refused =
        a->AddFaces("people", "bob", {}, kModel, {kBob}, nullptr);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
    EXPECT_TRUE(absl::StrContains(refused.status().message(), "PostgreSQL")) << refused.status();
    EXPECT_EQ(b->DeleteSubject("people", "ann").code(), absl::StatusCode::kUnavailable);
    ASSERT_TRUE(TimeUntil([&] { return !a->follow_state().in_step; }).has_value());
    EXPECT_FALSE(a->follow_state().error.empty());
    EXPECT_TRUE(a_log.Contains("may be stale"));
    EXPECT_EQ(Best(*a, "people", kAnn), "ann");  // still, from memory

    ASSERT_TRUE(pg.Resume());
    // The first call after the restart may meet the dead connection.
    absl::StatusOr<std::vector<int64_t>> bob;
    ASSERT_TRUE(TimeUntil([&] {
                  bob = b->AddFaces("people", "bob", {}, kModel, {kBob}, nullptr);
                  return bob.ok();
                }).has_value())
        << bob.status();
    std::optional<absl::Duration> took =
        TimeUntil([&] { return Best(*a, "people", kBob) == "bob"; });
    ASSERT_TRUE(took.has_value()) << "A never caught up after the restart";
    ASSERT_TRUE(TimeUntil([&] { return a->follow_state().in_step; }).has_value());
    EXPECT_TRUE(a_log.Contains("following the gallery store again"));
    EXPECT_EQ(Best(*a, "people", kAnn), "ann");  // acknowledged before the stop: kept
    EXPECT_EQ(a->FaceCount("people"), 2);
  }
}

}  // namespace
}  // namespace faceserve
