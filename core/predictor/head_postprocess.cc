#include "core/predictor/head_postprocess.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace faceserve {

std::vector<float> Softmax(const std::vector<float>& logits) {
  std::vector<float> p(logits.size());
  if (logits.empty()) return p;
  const float m = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    p[i] = std::exp(logits[i] - m);
    sum += p[i];
  }
  for (float& v : p) v = static_cast<float>(v / sum);
  return p;
}

void L2Normalize(std::vector<float>* v) {
  double sum = 0;
  for (float x : *v) sum += static_cast<double>(x) * x;
  if (sum <= 0) return;
  const float inv = static_cast<float>(1.0 / std::sqrt(sum));
  for (float& x : *v) x *= inv;
}

float CosineSimilarity(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  if (na <= 0 || nb <= 0) return 0;
  return static_cast<float>(dot / std::sqrt(na * nb));
}

absl::StatusOr<HeadResult> PostprocessHead(const HeadConfig& head, const Tensor& output,
                                           const CropToImage& m, int crop_size) {
  HeadResult r;
  r.name = head.name;
  r.kind = head.kind;
  const std::vector<float>& v = output.data;
  for (float x : v) {
    if (!std::isfinite(x)) {
      return absl::InternalError(absl::StrCat("head '", head.name, "': model output is not finite"));
    }
  }
  auto check_labels = [&]() -> absl::Status {
    if (head.labels.size() != v.size()) {
      return absl::InternalError(absl::StrCat("head '", head.name, "' has ", head.labels.size(),
                                              " labels but the model output has ", v.size(),
                                              " values"));
    }
    return absl::OkStatus();
  };
  // Landmark coordinates in crop pixels.
  const float unit =
      head.units == HeadConfig::Units::kCropPixels ? 1.0f : static_cast<float>(crop_size);
  switch (head.kind) {
    case HeadKind::kClassification: {
      if (absl::Status s = check_labels(); !s.ok()) return s;
      const std::vector<float> p = head.apply_softmax ? Softmax(v) : v;
      size_t best = 0;
      for (size_t i = 0; i < p.size(); ++i) {
        r.scores.push_back(ClassScore{head.labels[i], p[i]});
        if (p[i] > p[best]) best = i;
      }
      if (!p.empty()) {
        r.label = head.labels[best];
        r.label_score = p[best];
      }
      break;
    }
    case HeadKind::kMultiLabel: {
      if (absl::Status s = check_labels(); !s.ok()) return s;
      r.threshold = head.threshold;
      for (size_t i = 0; i < v.size(); ++i) {
        const float p = 1.0f / (1.0f + std::exp(-v[i]));
        r.scores.push_back(ClassScore{head.labels[i], p});
        if (p >= head.threshold) r.active_labels.push_back(head.labels[i]);
      }
      break;
    }
    case HeadKind::kRegression: {
      if (head.value_names.size() != v.size()) {
        return absl::InternalError(absl::StrCat("head '", head.name, "' names ",
                                                head.value_names.size(), " values but the model outputs ",
                                                v.size()));
      }
      for (size_t i = 0; i < v.size(); ++i) {
        r.values.emplace_back(head.value_names[i], v[i] * head.value_scale + head.value_offset);
      }
      break;
    }
    case HeadKind::kEmbedding: {
      r.embedding = v;
      L2Normalize(&r.embedding);
      break;
    }
    case HeadKind::kLandmarks: {
      if (v.size() % 2 != 0) {
        return absl::InternalError(
            absl::StrCat("head '", head.name, "': landmark output has an odd size ", v.size()));
      }
      for (size_t i = 0; i + 1 < v.size(); i += 2) {
        const float x = v[i] * unit, y = v[i + 1] * unit;
        r.points.push_back(Point{m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]});
      }
      break;
    }
    case HeadKind::kLandmarks3d: {
      if (v.size() % 3 != 0) {
        return absl::InternalError(absl::StrCat(
            "head '", head.name, "': 3D landmark output size ", v.size(), " is not a multiple of 3"));
      }
      // Depth is in crop units like x and y; the crop-to-image map scales
      // lengths by sqrt(|det|) (it is a similarity or an axis-aligned scale).
      const float image_per_crop = std::sqrt(std::fabs(m[0] * m[4] - m[1] * m[3]));
      for (size_t i = 0; i + 2 < v.size(); i += 3) {
        const float x = v[i] * unit, y = v[i + 1] * unit;
        r.points.push_back(Point{m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]});
        r.depths.push_back(v[i + 2] * unit * image_per_crop);
      }
      break;
    }
  }
  return r;
}

}  // namespace faceserve
