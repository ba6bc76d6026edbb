#include "core/reader/image_header.h"

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace faceserve {
namespace {

// Bounds-checked little/big-endian reads: every caller checks `Has` first.
class Bytes {
 public:
  explicit Bytes(std::string_view b) : b_(b) {}
  size_t size() const { return b_.size(); }
  bool Has(size_t pos, size_t len) const { return pos <= b_.size() && len <= b_.size() - pos; }
  uint8_t U8(size_t pos) const { return static_cast<uint8_t>(b_[pos]); }
  uint32_t Le16(size_t p) const { return U8(p) | (U8(p + 1) << 8); }
  uint32_t Be16(size_t p) const { return (U8(p) << 8) | U8(p + 1); }
  uint32_t Le24(size_t p) const { return Le16(p) | (static_cast<uint32_t>(U8(p + 2)) << 16); }
  uint32_t Le32(size_t p) const { return Le16(p) | (Le16(p + 2) << 16); }
  uint32_t Be32(size_t p) const { return (Be16(p) << 16) | Be16(p + 2); }
  std::string_view Sub(size_t pos, size_t len) const { return b_.substr(pos, len); }

 private:
  std::string_view b_;
};

absl::Status Malformed(ImageFormat f, const std::string& why) {
  return absl::InvalidArgumentError(
      absl::StrCat("malformed ", ImageFormatName(f), " header: ", why));
}

absl::StatusOr<ImageHeader> Finish(ImageFormat f, int64_t w, int64_t h, int orientation) {
  if (w <= 0 || h <= 0) return Malformed(f, absl::StrCat("invalid size ", w, "x", h));
  if (w > std::numeric_limits<int32_t>::max() || h > std::numeric_limits<int32_t>::max()) {
    return Malformed(f, absl::StrCat("size ", w, "x", h, " out of range"));
  }
  ImageHeader header;
  header.format = f;
  header.stored_width = static_cast<int>(w);
  header.stored_height = static_cast<int>(h);
  header.orientation = orientation;
  const bool swap = orientation >= 5 && orientation <= 8;
  header.width = swap ? header.stored_height : header.stored_width;
  header.height = swap ? header.stored_width : header.stored_height;
  return header;
}

bool IsSof(uint8_t m) {
  // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

absl::StatusOr<ImageHeader> PeekJpeg(const Bytes& b) {
  constexpr ImageFormat kF = ImageFormat::kJpeg;
  int orientation = 1;
  bool have_exif = false;
  size_t pos = 2;  // after SOI
  while (true) {
    if (!b.Has(pos, 1)) return Malformed(kF, "truncated before the frame header");
    if (b.U8(pos) != 0xFF) return Malformed(kF, "expected a marker");
    while (b.Has(pos, 1) && b.U8(pos) == 0xFF) ++pos;  // fill bytes
    if (!b.Has(pos, 1)) return Malformed(kF, "truncated before the frame header");
    const uint8_t marker = b.U8(pos++);
    if (marker == 0x01 || marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7)) continue;
    if (marker == 0xD9 || marker == 0xDA) return Malformed(kF, "no frame header before the scan");
    if (!b.Has(pos, 2)) return Malformed(kF, "truncated segment length");
    const size_t len = b.Be16(pos);
    if (len < 2) return Malformed(kF, "invalid segment length");
    if (!b.Has(pos, len)) return Malformed(kF, "truncated segment");
    const size_t data = pos + 2, data_len = len - 2;
    if (IsSof(marker)) {
      if (data_len < 5) return Malformed(kF, "short frame header");
      const int64_t h = b.Be16(data + 1), w = b.Be16(data + 3);
      return Finish(kF, w, h, orientation);
    }
    if (marker == 0xE1 && !have_exif && data_len >= 6 &&
        b.Sub(data, 6) == std::string_view("Exif\0\0", 6)) {
      have_exif = true;
      orientation = ParseExifOrientation(b.Sub(data + 6, data_len - 6));
    }
    pos += len;
  }
}

absl::StatusOr<ImageHeader> PeekPng(const Bytes& b) {
  constexpr ImageFormat kF = ImageFormat::kPng;
  if (!b.Has(8, 16)) return Malformed(kF, "truncated IHDR");
  if (b.Sub(12, 4) != "IHDR") return Malformed(kF, "first chunk is not IHDR");
  return Finish(kF, b.Be32(16), b.Be32(20), 1);
}

absl::StatusOr<ImageHeader> PeekWebp(const Bytes& b) {
  constexpr ImageFormat kF = ImageFormat::kWebp;
  if (!b.Has(12, 8)) return Malformed(kF, "truncated chunk header");
  const std::string_view fourcc = b.Sub(12, 4);
  const size_t d = 20;
  if (fourcc == "VP8 ") {
    if (!b.Has(d, 10)) return Malformed(kF, "truncated VP8 header");
    if (b.U8(d + 3) != 0x9D || b.U8(d + 4) != 0x01 || b.U8(d + 5) != 0x2A) {
      return Malformed(kF, "bad VP8 start code");
    }
    return Finish(kF, b.Le16(d + 6) & 0x3FFF, b.Le16(d + 8) & 0x3FFF, 1);
  }
  if (fourcc == "VP8L") {
    if (!b.Has(d, 5)) return Malformed(kF, "truncated VP8L header");
    if (b.U8(d) != 0x2F) return Malformed(kF, "bad VP8L signature");
    const uint32_t bits = b.Le32(d + 1);
    return Finish(kF, (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, 1);
  }
  if (fourcc == "VP8X") {
    if (!b.Has(d, 10)) return Malformed(kF, "truncated VP8X header");
    return Finish(kF, int64_t{b.Le24(d + 4)} + 1, int64_t{b.Le24(d + 7)} + 1, 1);
  }
  return Malformed(kF, "unknown first chunk");
}

absl::StatusOr<ImageHeader> PeekBmp(const Bytes& b) {
  constexpr ImageFormat kF = ImageFormat::kBmp;
  if (!b.Has(14, 4)) return Malformed(kF, "truncated DIB header");
  const uint32_t dib = b.Le32(14);
  if (dib == 12) {  // BITMAPCOREHEADER: unsigned 16-bit sizes
    if (!b.Has(18, 4)) return Malformed(kF, "truncated DIB header");
    return Finish(kF, b.Le16(18), b.Le16(20), 1);
  }
  if (dib < 16) return Malformed(kF, "unsupported DIB header");
  if (!b.Has(18, 8)) return Malformed(kF, "truncated DIB header");
  const int64_t w = static_cast<int32_t>(b.Le32(18));
  const int64_t h = static_cast<int32_t>(b.Le32(22));  // negative: top-down rows
  return Finish(kF, w, std::llabs(h), 1);
}

}  // namespace

const char* ImageFormatName(ImageFormat format) {
  switch (format) {
    case ImageFormat::kJpeg: return "JPEG";
    case ImageFormat::kPng: return "PNG";
    case ImageFormat::kWebp: return "WebP";
    case ImageFormat::kBmp: return "BMP";
    case ImageFormat::kUnknown: break;
  }
  return "unknown";
}

ImageFormat DetectImageFormat(std::string_view bytes) {
  const Bytes b(bytes);
  if (b.Has(0, 3) && b.U8(0) == 0xFF && b.U8(1) == 0xD8 && b.U8(2) == 0xFF) {
    return ImageFormat::kJpeg;
  }
  if (bytes.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) return ImageFormat::kPng;
  if (b.Has(0, 12) && bytes.substr(0, 4) == "RIFF" && bytes.substr(8, 4) == "WEBP") {
    return ImageFormat::kWebp;
  }
  if (bytes.substr(0, 2) == "BM") return ImageFormat::kBmp;
  return ImageFormat::kUnknown;
}

int ParseExifOrientation(std::string_view tiff) {
  const Bytes b(tiff);
  if (!b.Has(0, 8)) return 1;
  bool le;
  if (tiff.substr(0, 2) == "II") {
    le = true;
  } else if (tiff.substr(0, 2) == "MM") {
    le = false;
  } else {
    return 1;
  }
  auto u16 = [&](size_t p) { return le ? b.Le16(p) : b.Be16(p); };
  auto u32 = [&](size_t p) { return le ? b.Le32(p) : b.Be32(p); };
  if (u16(2) != 42) return 1;
  const size_t ifd = u32(4);
  if (!b.Has(ifd, 2)) return 1;
  const size_t count = u16(ifd);
  for (size_t i = 0; i < count; ++i) {
    const size_t e = ifd + 2 + 12 * i;
    if (!b.Has(e, 12)) return 1;
    if (u16(e) != 0x0112) continue;
    if (u16(e + 2) != 3 || u32(e + 4) != 1) return 1;  // SHORT, one value
    const int v = static_cast<int>(u16(e + 8));
    return v >= 1 && v <= 8 ? v : 1;
  }
  return 1;
}

absl::StatusOr<ImageHeader> PeekImageHeader(std::string_view bytes) {
  const Bytes b(bytes);
  switch (DetectImageFormat(bytes)) {
    case ImageFormat::kJpeg: return PeekJpeg(b);
    case ImageFormat::kPng: return PeekPng(b);
    case ImageFormat::kWebp: return PeekWebp(b);
    case ImageFormat::kBmp: return PeekBmp(b);
    case ImageFormat::kUnknown: break;
  }
  return absl::InvalidArgumentError(
      "unknown image format: accepted formats are JPEG, PNG, WebP and BMP");
}

}  // namespace faceserve
