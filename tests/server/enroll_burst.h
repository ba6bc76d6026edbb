// A burst of concurrent enrollments for the kill -9 tests (issue 27 on one
// server, issue 33 across replicas): `clients` threads enroll random 128-D
// embeddings, one new subject each call, until Stop(), which returns what
// was acknowledged; FoundByBestMatch() then searches for each.
#ifndef FACESERVE_TESTS_SERVER_ENROLL_BURST_H_
#define FACESERVE_TESTS_SERVER_ENROLL_BURST_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "faceserve/v1/gallery_service.grpc.pb.h"
#include "gtest/gtest.h"

namespace faceserve::testing {

// Face id -> subject and embedding.
using AckedFaces = std::map<int64_t, std::pair<std::string, std::vector<float>>>;

class EnrollBurst {
 public:
  // True when the call was acknowledged.
  using Enroll = std::function<bool(const v1::EnrollRequest&, v1::EnrollResponse*)>;

  EnrollBurst(const std::string& gallery, int clients, Enroll enroll) {
    for (int t = 0; t < clients; ++t) {
      clients_.emplace_back([this, gallery, enroll, t] {
        std::mt19937 rng(static_cast<unsigned>(t));
        std::normal_distribution<float> n;
        for (int i = 0; !stop_.load(); ++i) {
          v1::EnrollRequest r;
          r.set_gallery(gallery);
          r.set_subject(absl::StrCat("s", t, "_", i));
          std::vector<float> e(128);
          for (float& v : e) v = n(rng);
          *r.add_inputs()->mutable_embedding()->mutable_values() = {e.begin(), e.end()};
          v1::EnrollResponse response;
          if (enroll(r, &response)) {
            std::lock_guard<std::mutex> lock(mu_);
            acked_[response.results(0).face_id()] = {r.subject(), e};
          }
        }
      });
    }
  }
  ~EnrollBurst() { Stop(); }

  AckedFaces Stop() {
    stop_.store(true);
    for (std::thread& c : clients_) {
      if (c.joinable()) c.join();
    }
    std::lock_guard<std::mutex> lock(mu_);
    return acked_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  AckedFaces acked_;
  std::vector<std::thread> clients_;
};

// How many of `acked` a Search of `gallery` finds as its best match, the
// same face and subject at similarity 1 (each miss is a test failure).
// `search` returns false when the call failed.
inline int FoundByBestMatch(
    const AckedFaces& acked, const std::string& gallery,
    const std::function<bool(const v1::SearchRequest&, v1::SearchResponse*)>& search) {
  int found = 0;
  for (const auto& [face_id, subject_and_embedding] : acked) {
    v1::SearchRequest request;
    request.mutable_options()->set_gallery(gallery);
    *request.add_queries()->mutable_values() = {subject_and_embedding.second.begin(),
                                                subject_and_embedding.second.end()};
    v1::SearchResponse response;
    if (!search(request, &response) || response.results(0).matches_size() == 0) {
      ADD_FAILURE() << "searching for face " << face_id << " failed";
      continue;
    }
    const v1::SubjectMatch& best = response.results(0).matches(0);
    EXPECT_EQ(best.face_id(), face_id);
    EXPECT_EQ(best.subject(), subject_and_embedding.first);
    EXPECT_NEAR(best.similarity(), 1.0f, 1e-4);
    found += best.face_id() == face_id;
  }
  return found;
}

}  // namespace faceserve::testing

#endif  // FACESERVE_TESTS_SERVER_ENROLL_BURST_H_
