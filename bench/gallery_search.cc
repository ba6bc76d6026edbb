// gallery_search: exact 1:N search alone (core/gallery/gallery_index.h), the
// time of one Search call by gallery size and by how many queries it answers
// at once. It shows what batching the searches of concurrent requests buys:
// one pass over the gallery answers all of them.
//
//   gallery_search [--faces 1000,100000] [--dimension 128] [--queries 1,4,16]
//                  [--subjects-per-face 0.2] [--top-k 5] [--seconds 2]
//
// Prints one markdown row per (faces, queries): ms per call, ms per query,
// and queries/s on one core. Random unit vectors (search time does not depend
// on the values).
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "core/gallery/gallery_index.h"

namespace {

std::vector<int> ParseList(const std::string& text) {
  std::vector<int> out;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    int v = 0;
    if (absl::SimpleAtoi(part, &v) && v > 0) out.push_back(v);
  }
  return out;
}

std::vector<float> RandomVector(std::mt19937* rng, int dimension) {
  std::normal_distribution<float> normal;
  std::vector<float> v(dimension);
  for (float& x : v) x = normal(*rng);
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> faces = {1000, 100000}, queries = {1, 4, 16};
  int dimension = 128, top_k = 5;
  double subjects_per_face = 0.2, seconds = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--faces") faces = ParseList(value);
    else if (flag == "--queries") queries = ParseList(value);
    else if (flag == "--dimension") dimension = std::stoi(value);
    else if (flag == "--top-k") top_k = std::stoi(value);
    else if (flag == "--subjects-per-face") subjects_per_face = std::stod(value);
    else if (flag == "--seconds") seconds = std::stod(value);
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  std::printf("| faces | subjects | queries per call | ms per call | ms per query | queries/s (one core) |\n");
  std::printf("|---|---|---|---|---|---|\n");
  std::mt19937 rng(1);
  for (int n : faces) {
    faceserve::GalleryIndex index(dimension);
    const int subjects = std::max(1, static_cast<int>(n * subjects_per_face));
    for (int f = 0; f < n; ++f) {
      if (!index.Add(f, "s" + std::to_string(f % subjects), RandomVector(&rng, dimension)).ok()) {
        return 1;
      }
    }
    for (int q : queries) {
      std::vector<std::vector<float>> batch;
      for (int i = 0; i < q; ++i) batch.push_back(RandomVector(&rng, dimension));
      (void)index.Search(batch, top_k);  // warm
      int calls = 0;
      const auto start = std::chrono::steady_clock::now();
      double elapsed = 0;
      do {
        if (!index.Search(batch, top_k).ok()) return 1;
        ++calls;
        elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      } while (elapsed < seconds);
      const double ms_per_call = 1000 * elapsed / calls;
      std::printf("| %d | %d | %d | %.3f | %.3f | %.0f |\n", n, subjects, q, ms_per_call,
                  ms_per_call / q, 1000.0 * q / ms_per_call);
      std::fflush(stdout);
    }
  }
  return 0;
}
