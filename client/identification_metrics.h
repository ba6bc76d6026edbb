// Identification accuracy (facectl eval-identify): closed-set rank-k on
// mated probes (whose identity is enrolled) and open-set TPIR at a fixed
// FPIR (ISO/IEC 19795-1, NIST FRVT 1:N terms). Pure maths, no gRPC.
//
//   FPIR(t) = share of non-mated probes whose best match scores >= t
//   TPIR(t) = share of mated probes whose best match is their own identity
//             and scores >= t
// The threshold for a target FPIR is the lowest t with FPIR(t) <= target,
// measurable only with at least 1 / target non-mated probes.
#ifndef FACESERVE_CLIENT_IDENTIFICATION_METRICS_H_
#define FACESERVE_CLIENT_IDENTIFICATION_METRICS_H_

#include <optional>
#include <string>
#include <vector>

namespace faceserve::client {

// One probe's answer: its true identity ("" unknown to the gallery's
// enrolled set is decided by `mated`) and the ranked candidates.
struct ProbeResult {
  std::string truth;
  bool mated = false;                    // truth is enrolled
  std::vector<std::string> candidates;   // best first, distinct
  std::vector<float> scores;             // same order
};

struct OpenSetPoint {
  double target_fpir = 0;
  std::optional<float> threshold;  // nullopt: too few non-mated probes
  std::optional<double> tpir;
  double fpir = 0;                 // measured at the threshold
};

// Share of mated probes whose identity is among the first `k` candidates;
// nullopt with no mated probe.
std::optional<double> RankK(const std::vector<ProbeResult>& probes, int k);

// TPIR at the threshold that keeps FPIR at or under `target_fpir`.
OpenSetPoint TpirAtFpir(const std::vector<ProbeResult>& probes, double target_fpir);

// TPIR and FPIR at a given threshold (the gallery's).
struct OperatingPoint {
  double tpir = 0, fpir = 0;
  int mated = 0, non_mated = 0;
};
OperatingPoint AtThreshold(const std::vector<ProbeResult>& probes, float threshold);

}  // namespace faceserve::client

#endif  // FACESERVE_CLIENT_IDENTIFICATION_METRICS_H_
