// Galleries on PostgreSQL shared by replicas (issue 33), measured in one
// process with two Galleries over their own connections (what two faceserve
// replicas run; the RPCs around them are measured elsewhere):
//
//   pg_replicas --dsn DSN [--faces 1000000] [--faces-per-subject 2]
//               [--propagation 200] [--enroll-seconds 10] [--enroll-threads 4]
//               [--snapshot-dir DIR]
//
//   1. a gallery "big" of --faces random 128-D faces (made once: kept
//      between runs, bulk-inserted with unnest, as an import would);
//   2. replica A opens the store: the start-up load time (every gallery
//      into memory) and its resident memory;
//   3. replica B opens it too; A enrolls into gallery "live" --propagation
//      times, one at a time: how long until B's search finds each (p50,
//      p99, max);
//   4. --enroll-threads threads enroll through A for --enroll-seconds:
//      enrollments per second (each one transaction, durable at return).
// Prints one JSON object per measurement.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "core/gallery/galleries.h"
#include "core/gallery/pg_connection.h"
#include "core/gallery/pg_gallery_store.h"

namespace faceserve {
namespace {

const DescriptorModel kModel{"face_recognition@faceapi-1.7.15", 128};

struct Flags {
  std::string dsn;
  int64_t faces = 1000000;
  int faces_per_subject = 2;
  int propagation = 200;
  double enroll_seconds = 10;
  int enroll_threads = 4;
  std::string snapshot_dir;
};

int Usage() {
  std::fprintf(stderr,
               "usage: pg_replicas --dsn DSN [--faces N] [--faces-per-subject K] "
               "[--propagation N] [--enroll-seconds S] [--enroll-threads T] [--snapshot-dir D]\n");
  return 2;
}

std::vector<float> RandomFace(std::mt19937& rng) {
  std::normal_distribution<float> n;
  std::vector<float> e(static_cast<size_t>(kModel.dimension));
  for (float& v : e) v = n(rng);
  return e;
}

double PeakRssMb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

void Fail(const std::string& what, const absl::Status& s) {
  std::fprintf(stderr, "pg_replicas: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

// Gallery "big" with `faces` faces, made unless it is there already.
void EnsureBigGallery(const Flags& flags) {
  absl::StatusOr<std::unique_ptr<PgGalleryStore>> store = PgGalleryStore::Open(flags.dsn);
  if (!store.ok()) Fail("opening the store", store.status());
  absl::StatusOr<GalleryInfo> info = (*store)->GetGallery("big");
  if (info.ok() && info->faces == flags.faces) return;
  if (info.ok()) (void)(*store)->DeleteGallery("big");
  if (absl::Status s = (*store)->CreateGallery("big", kModel, 0.9f, IndexKind::kExact).status();
      !s.ok()) {
    Fail("creating gallery big", s);
  }
  absl::StatusOr<std::unique_ptr<PgConnection>> db = PgConnection::Connect(flags.dsn);
  if (!db.ok()) Fail("connecting", db.status());
  const absl::Time start = absl::Now();
  const int64_t subjects = flags.faces / flags.faces_per_subject;
  absl::StatusOr<PgResult> ids = (*db)->Exec(
      "INSERT INTO subjects (gallery_id, name, created_unix_ms) "
      "SELECT (SELECT id FROM galleries WHERE name = 'big'), 'p' || lpad(i::text, 8, '0'), 0 "
      "FROM generate_series(0, $1 - 1) i RETURNING id::int8",
      {PgParam::Int(subjects)});
  if (!ids.ok()) Fail("inserting subjects", ids.status());
  std::mt19937 rng(33);
  constexpr int kBatch = 5000;
  for (int64_t first = 0; first < flags.faces; first += kBatch) {
    std::string subject_ids = "{", embeddings = "{";
    for (int64_t f = first; f < std::min<int64_t>(flags.faces, first + kBatch); ++f) {
      const int64_t subject = std::min<int64_t>(f / flags.faces_per_subject, subjects - 1);
      absl::StrAppend(&subject_ids, f == first ? "" : ",", ids->Int(static_cast<int>(subject), 0));
      const std::vector<float> e = RandomFace(rng);
      const std::string bytes(reinterpret_cast<const char*>(e.data()), e.size() * sizeof(float));
      absl::StrAppend(&embeddings, f == first ? "" : ",", "\"\\\\x");
      static const char* kHex = "0123456789abcdef";
      for (unsigned char c : bytes) {
        embeddings.push_back(kHex[c >> 4]);
        embeddings.push_back(kHex[c & 15]);
      }
      embeddings.push_back('"');
    }
    subject_ids += "}";
    embeddings += "}";
    absl::Status s = (*db)->Run(
        "INSERT INTO faces (subject_id, descriptor_model, dimension, embedding, created_unix_ms) "
        "SELECT s, $3, $4, e, 0 FROM unnest($1::int8[], $2::bytea[]) AS t(s, e)",
        {PgParam::Text(subject_ids), PgParam::Text(embeddings), PgParam::Text(kModel.id),
         PgParam::Int(kModel.dimension)});
    if (!s.ok()) Fail("inserting faces", s);
  }
  std::printf("{\"step\": \"bulk insert\", \"faces\": %lld, \"seconds\": %.1f}\n",
              static_cast<long long>(flags.faces), absl::ToDoubleSeconds(absl::Now() - start));
  std::fflush(stdout);
}

std::unique_ptr<Galleries> OpenReplica(const Flags& flags, const std::string& name) {
  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<PgGalleryStore>> store = PgGalleryStore::Open(flags.dsn);
  if (!store.ok()) Fail("opening the store", store.status());
  IndexingOptions indexing;
  indexing.snapshot_dir = flags.snapshot_dir.empty() ? "" : flags.snapshot_dir + "/" + name;
  absl::StatusOr<std::unique_ptr<Galleries>> g =
      Galleries::Open(*std::move(store), SearchBatchingOptions{}, std::move(indexing));
  if (!g.ok()) Fail("loading the galleries", g.status());
  int64_t faces = 0;
  for (const auto& [gallery, n] : (*g)->FaceCounts()) faces += n;
  std::printf(
      "{\"step\": \"start-up load\", \"replica\": \"%s\", \"faces\": %lld, \"seconds\": %.2f, "
      "\"peak_rss_mb\": %.0f}\n",
      name.c_str(), static_cast<long long>(faces), absl::ToDoubleSeconds(absl::Now() - start),
      PeakRssMb());
  std::fflush(stdout);
  return *std::move(g);
}

std::string Best(Galleries& g, const std::vector<float>& query) {
  std::promise<std::string> answer;
  g.Search("live", kModel.id, {query}, 1, [&](absl::StatusOr<SearchBatcher::Matches> m) {
    answer.set_value(m.ok() && !m->empty() && !(*m)[0].empty() ? (*m)[0][0].subject : "");
  });
  return answer.get_future().get();
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

void MeasurePropagation(const Flags& flags, Galleries& a, Galleries& b) {
  std::mt19937 rng(7);
  std::vector<double> ms;
  for (int i = 0; i < flags.propagation; ++i) {
    const std::string subject = absl::StrCat("live-", i);
    const std::vector<float> face = RandomFace(rng);
    absl::StatusOr<std::vector<int64_t>> ids = a.AddFaces("live", subject, {}, kModel, {face}, nullptr);
    if (!ids.ok()) Fail("enrolling on A", ids.status());
    const absl::Time acked = absl::Now();
    while (Best(b, face) != subject) {
      if (absl::Now() - acked > absl::Seconds(10)) Fail("propagation", absl::DeadlineExceededError(subject));
      absl::SleepFor(absl::Microseconds(200));
    }
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - acked));
    absl::SleepFor(absl::Milliseconds(20));
  }
  std::printf(
      "{\"step\": \"propagation A->B\", \"enrollments\": %d, \"p50_ms\": %.1f, \"p99_ms\": %.1f, "
      "\"max_ms\": %.1f}\n",
      flags.propagation, Percentile(ms, 0.5), Percentile(ms, 0.99), Percentile(ms, 1.0));
  std::fflush(stdout);
}

void MeasureEnrollThroughput(const Flags& flags, Galleries& a) {
  std::atomic<int64_t> done{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < flags.enroll_threads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(100 + t));
      for (int i = 0; !stop.load(); ++i) {
        if (a.AddFaces("live", absl::StrCat("load-", t, "-", i), {}, kModel, {RandomFace(rng)},
                       nullptr)
                .ok()) {
          ++done;
        }
      }
    });
  }
  const absl::Time start = absl::Now();
  absl::SleepFor(absl::Seconds(flags.enroll_seconds));
  stop = true;
  for (std::thread& t : threads) t.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf(
      "{\"step\": \"enroll throughput\", \"threads\": %d, \"enrollments\": %lld, "
      "\"per_second\": %.0f}\n",
      flags.enroll_threads, static_cast<long long>(done.load()),
      static_cast<double>(done.load()) / seconds);
  std::fflush(stdout);
}

int Run(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    bool ok = true;
    if (key == "--dsn") {
      flags.dsn = value;
    } else if (key == "--faces") {
      ok = absl::SimpleAtoi(value, &flags.faces);
    } else if (key == "--faces-per-subject") {
      ok = absl::SimpleAtoi(value, &flags.faces_per_subject);
    } else if (key == "--propagation") {
      ok = absl::SimpleAtoi(value, &flags.propagation);
    } else if (key == "--enroll-seconds") {
      ok = absl::SimpleAtod(value, &flags.enroll_seconds);
    } else if (key == "--enroll-threads") {
      ok = absl::SimpleAtoi(value, &flags.enroll_threads);
    } else if (key == "--snapshot-dir") {
      flags.snapshot_dir = value;
    } else {
      ok = false;
    }
    if (!ok) return Usage();
  }
  if (flags.dsn.empty() || flags.faces_per_subject < 1 || argc % 2 == 0) return Usage();
  EnsureBigGallery(flags);
  std::unique_ptr<Galleries> a = OpenReplica(flags, "A");
  std::unique_ptr<Galleries> b = OpenReplica(flags, "B");
  if (!a->Binding("live").ok()) {
    if (absl::Status s = a->Create("live", kModel, 0.9f, IndexKind::kExact).status(); !s.ok()) {
      Fail("creating gallery live", s);
    }
  }
  while (!b->Binding("live").ok()) absl::SleepFor(absl::Milliseconds(1));
  MeasurePropagation(flags, *a, *b);
  MeasureEnrollThroughput(flags, *a);
  (void)a->Delete("live");
  return 0;
}

}  // namespace
}  // namespace faceserve

int main(int argc, char** argv) { return faceserve::Run(argc, argv); }
