// The approximate index against exact search on face-like data (issue 28),
// in process: build time, memory, snapshot size, save and load times,
// per-query latency, and how often the two agree, for each ef_search given.
//
//   gallery_ann --data DIR [--ef 64,128,256] [--threads 2] [--threshold 0.925]
//               [--snapshot DIR] [--m 32] [--ef-construction 200]
//               [--precision half|single] [--keep FILE]
//
// --keep FILE: the graph is loaded from FILE when it exists (no build time
// then), else built and saved there: to compare searches on one graph.
//
// DIR: made by bench/make_face_like_data.py. Prints one JSON object.
// Agreement: for mated probes, whether the best subject is the same; for
// every probe, whether the identified/unknown decision at the threshold is.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/gallery/gallery_index.h"
#include "core/gallery/hnsw_index.h"

namespace {

using faceserve::GalleryIndex;
using faceserve::HnswIndex;
using faceserve::HnswOptions;
using faceserve::IndexedFace;
using faceserve::SubjectMatch;
using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

template <typename T>
std::vector<T> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::exit(1);
  }
  std::vector<T> v(static_cast<size_t>(in.tellg()) / sizeof(T));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(T)));
  return v;
}

// Resident memory now, in MB (/proc/self/statm).
double ResidentMb() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1e6;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

std::string Arg(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == "--" + name) return argv[i + 1];
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = Arg(argc, argv, "data", "");
  if (dir.empty()) {
    std::fprintf(stderr, "usage: gallery_ann --data DIR [--ef 64,128,256] [--threads N] ...\n");
    return 2;
  }
  int threads = 2, m = 32, ef_construction = 200;
  double threshold = 0.925;
  (void)absl::SimpleAtoi(Arg(argc, argv, "threads", "2"), &threads);
  (void)absl::SimpleAtoi(Arg(argc, argv, "m", "32"), &m);
  const std::string precision = Arg(argc, argv, "precision", "half");
  if (precision != "half" && precision != "single") {
    std::fprintf(stderr, "--precision: half or single\n");
    return 2;
  }
  (void)absl::SimpleAtoi(Arg(argc, argv, "ef-construction", "200"), &ef_construction);
  (void)absl::SimpleAtod(Arg(argc, argv, "threshold", "0.925"), &threshold);
  std::vector<int> efs;
  for (absl::string_view e : absl::StrSplit(Arg(argc, argv, "ef", "64,128,256"), ',')) {
    int v = 0;
    if (absl::SimpleAtoi(e, &v)) efs.push_back(v);
  }
  const std::string snapshot_dir =
      Arg(argc, argv, "snapshot", std::filesystem::temp_directory_path().string());

  const std::vector<float> gallery = ReadAll<float>(dir + "/gallery.f32");
  const std::vector<float> probes_flat = ReadAll<float>(dir + "/probes.f32");
  const std::vector<int32_t> mated_of = ReadAll<int32_t>(dir + "/probes_mated.i32");
  const size_t n_probes = mated_of.size();
  const int dim = static_cast<int>(probes_flat.size() / n_probes);
  const size_t n = gallery.size() / static_cast<size_t>(dim);
  std::vector<std::vector<float>> probes(n_probes);
  for (size_t i = 0; i < n_probes; ++i) {
    probes[i].assign(probes_flat.begin() + static_cast<long>(i * dim),
                     probes_flat.begin() + static_cast<long>((i + 1) * dim));
  }
  std::fprintf(stderr, "%zu faces, %zu probes, %d dimensions\n", n, n_probes, dim);

  // Exact: the reference answers, 64 queries per pass (as the batcher does).
  std::vector<IndexedFace> faces(n);
  GalleryIndex exact(dim);
  for (size_t i = 0; i < n; ++i) {
    faces[i].face_id = static_cast<int64_t>(i) + 1;
    faces[i].subject = absl::StrCat("s", i);
    faces[i].embedding.assign(gallery.begin() + static_cast<long>(i * dim),
                              gallery.begin() + static_cast<long>((i + 1) * dim));
    (void)exact.Add(faces[i].face_id, faces[i].subject, faces[i].embedding);
  }
  std::vector<SubjectMatch> want(n_probes);
  Clock::time_point t = Clock::now();
  for (size_t start = 0; start < n_probes; start += 64) {
    std::vector<std::vector<float>> batch(probes.begin() + static_cast<long>(start),
                                          probes.begin() + static_cast<long>(std::min(n_probes, start + 64)));
    auto r = exact.Search(batch, 1);
    for (size_t i = 0; i < batch.size(); ++i) want[start + i] = (*r)[i][0];
  }
  const double exact_ms_per_query = Since(t) * 1e3 / static_cast<double>(n_probes);

  const HnswOptions options{m, ef_construction, 128, precision == "half"};
  absl::flat_hash_map<int64_t, std::string> subject_of;
  for (size_t i = 0; i < n; ++i) subject_of[static_cast<int64_t>(i) + 1] = absl::StrCat("s", i);
  const std::string keep = Arg(argc, argv, "keep", "");
  const bool reuse = !keep.empty() && std::filesystem::exists(keep);
  const double rss_before = ResidentMb();
  t = Clock::now();
  auto index = reuse ? HnswIndex::Load(keep, dim, options, subject_of, 0)
                     : HnswIndex::Build(dim, options, std::move(faces), 0, threads);
  if (!index.ok()) {
    std::fprintf(stderr, "%s\n", std::string(index.status().message()).c_str());
    return 1;
  }
  const double build_s = reuse ? 0 : Since(t);
  const double index_mb = ResidentMb() - rss_before;

  const std::string path =
      keep.empty() ? snapshot_dir + "/gallery_ann_" + std::to_string(::getpid()) + ".hnsw" : keep;
  double save_s = 0;
  if (!reuse) {
    t = Clock::now();
    (void)(*index)->Save(path);
    save_s = Since(t);
  }
  const double snapshot_mb = static_cast<double>(std::filesystem::file_size(path)) / 1e6;
  t = Clock::now();
  auto loaded = HnswIndex::Load(path, dim, options, subject_of, 0);
  const double load_warm_s = Since(t);
  if (keep.empty()) std::filesystem::remove(path);
  loaded->reset();

  std::string rows;
  for (int ef : efs) {
    int mated = 0, rank1_agree = 0, decision_agree = 0, exact_hits = 0, approx_hits = 0;
    double similarity_error = 0;  // largest, where both found the same face
    std::vector<double> ms;
    for (size_t i = 0; i < n_probes; ++i) {
      t = Clock::now();
      auto r = (*index)->Search({probes[i]}, 1, ef);
      ms.push_back(Since(t) * 1e3);
      const SubjectMatch got = (*r)[0].empty() ? SubjectMatch{"", 0, -2} : (*r)[0][0];
      decision_agree += (got.similarity >= threshold) == (want[i].similarity >= threshold);
      if (got.face_id == want[i].face_id) {
        similarity_error = std::max(similarity_error,
                                    std::abs(static_cast<double>(got.similarity - want[i].similarity)));
      }
      if (mated_of[i] >= 0) {
        ++mated;
        rank1_agree += got.subject == want[i].subject;
        const std::string truth = absl::StrCat("s", mated_of[i]);
        exact_hits += want[i].subject == truth && want[i].similarity >= threshold;
        approx_hits += got.subject == truth && got.similarity >= threshold;
      }
    }
    rows += absl::StrFormat(
        "%s{\"ef_search\": %d, \"rank1_agreement\": %.5f, \"decision_agreement\": %.5f, "
        "\"identified_exact\": %.5f, \"identified_approximate\": %.5f, "
        "\"similarity_error_max\": %.6f, \"ms_per_query_p50\": %.4f, \"ms_per_query_p99\": %.4f}",
        rows.empty() ? "" : ", ", ef, static_cast<double>(rank1_agree) / mated,
        static_cast<double>(decision_agree) / static_cast<double>(n_probes),
        static_cast<double>(exact_hits) / mated, static_cast<double>(approx_hits) / mated,
        similarity_error, Percentile(ms, 0.5), Percentile(ms, 0.99));
  }
  std::cout << absl::StrFormat(
                   "{\"faces\": %d, \"probes\": %d, \"dimension\": %d, \"threshold\": %.4f, "
                   "\"m\": %d, \"ef_construction\": %d, \"precision\": \"%s\", \"threads\": %d, "
                   "\"build_s\": %.2f, "
                   "\"index_mb\": %.1f, \"snapshot_mb\": %.1f, \"save_s\": %.3f, "
                   "\"load_warm_s\": %.3f, \"exact_ms_per_query\": %.3f, \"by_ef\": [%s]}",
                   n, n_probes, dim, threshold, m, ef_construction, precision, threads, build_s, index_mb,
                   snapshot_mb, save_s, load_warm_s, exact_ms_per_query, rows)
            << std::endl;
  return 0;
}
