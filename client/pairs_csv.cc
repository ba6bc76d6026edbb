#include "client/pairs_csv.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace faceserve::client {
namespace {

// Splits one CSV record starting at `pos`, advancing it past the record's
// line end. Quoted fields may span lines.
absl::StatusOr<std::vector<std::string>> NextRecord(std::string_view text, size_t& pos,
                                                    int line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  while (pos < text.size()) {
    const char c = text[pos++];
    if (quoted) {
      if (c == '"') {
        if (pos < text.size() && text[pos] == '"') {
          fields.back() += '"';
          ++pos;
        } else {
          quoted = false;
        }
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c == '\n') {
      break;
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  if (quoted) return absl::InvalidArgumentError(absl::StrCat("line ", line, ": unclosed quote"));
  return fields;
}

bool IsBlank(const std::vector<std::string>& fields) {
  return fields.size() == 1 && absl::StripAsciiWhitespace(fields[0]).empty();
}

}  // namespace

absl::StatusOr<std::vector<ImagePair>> ParsePairsCsv(std::string_view text) {
  size_t pos = 0;
  int line = 0;
  std::vector<std::string> header;
  while (pos < text.size() && header.empty()) {
    ++line;
    auto record = NextRecord(text, pos, line);
    if (!record.ok()) return record.status();
    if (!IsBlank(*record)) header = *std::move(record);
  }
  int col_a = -1, col_b = -1, col_same = -1;
  for (size_t i = 0; i < header.size(); ++i) {
    const std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(header[i]));
    if (name == "img_a") col_a = static_cast<int>(i);
    if (name == "img_b") col_b = static_cast<int>(i);
    if (name == "same") col_same = static_cast<int>(i);
  }
  if (col_a < 0 || col_b < 0 || col_same < 0) {
    return absl::InvalidArgumentError(
        "the header must name the columns img_a, img_b and same");
  }
  const size_t needed = static_cast<size_t>(std::max(col_a, std::max(col_b, col_same))) + 1;
  std::vector<ImagePair> pairs;
  while (pos < text.size()) {
    ++line;
    auto record = NextRecord(text, pos, line);
    if (!record.ok()) return record.status();
    if (IsBlank(*record)) continue;
    if (record->size() < needed) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line, ": expected at least ", needed, " fields, got ",
                       record->size()));
    }
    ImagePair pair;
    pair.img_a = std::string(absl::StripAsciiWhitespace((*record)[col_a]));
    pair.img_b = std::string(absl::StripAsciiWhitespace((*record)[col_b]));
    const std::string same = absl::AsciiStrToLower(absl::StripAsciiWhitespace((*record)[col_same]));
    if (same == "1" || same == "true" || same == "yes") {
      pair.same = true;
    } else if (same == "0" || same == "false" || same == "no") {
      pair.same = false;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line, ": 'same' must be 1/0, true/false or yes/no, got '",
                       (*record)[col_same], "'"));
    }
    if (pair.img_a.empty() || pair.img_b.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("line ", line, ": empty image path"));
    }
    pairs.push_back(std::move(pair));
  }
  return pairs;
}

}  // namespace faceserve::client
