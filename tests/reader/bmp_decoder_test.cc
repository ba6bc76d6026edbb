// DecodeBmpToRgb against OpenCV's imdecode (the decoder it replaces): the
// same pixels for every bit depth, header kind and row order, RLE4 and RLE8
// included (random streams agree with OpenCV's quirks too); malformed,
// unsupported and truncated files an error, never a crash.
#include "core/reader/bmp_decoder.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tests/reader/decoder_test_util.h"

namespace faceserve {
namespace {

using testing_util::ExpectSameAsOpenCv;
using testing_util::OpenCvEncode;
using testing_util::OpenCvRgb;
using testing_util::RandomImage;

constexpr uint32_t kBiRgb = 0, kBiRle8 = 1, kBiRle4 = 2, kBiBitfields = 3;

struct BmpSpec {
  BmpSpec(int width, int height, int bpp, uint32_t compression = kBiRgb, int header_size = 40,
          int palette_entries = 0, uint32_t clr_used = 0, std::vector<uint32_t> masks = {})
      : width(width),
        height(height),
        bpp(bpp),
        compression(compression),
        header_size(header_size),
        palette_entries(palette_entries),
        clr_used(clr_used),
        masks(std::move(masks)) {}

  int width;
  int height;  // negative: top-down
  int bpp;
  uint32_t compression;
  int header_size;      // 12 (OS/2 core), 40, 108 (V4), 124 (V5)
  int palette_entries;  // written after the header
  uint32_t clr_used;
  std::vector<uint32_t> masks;  // red, green, blue: at offset 54

  std::string Name() const {
    return std::to_string(width) + "x" + std::to_string(height) + " " + std::to_string(bpp) +
           "bpp compression " + std::to_string(compression) + " header " +
           std::to_string(header_size) + " palette " + std::to_string(palette_entries);
  }
  int64_t Pitch() const { return ((int64_t{width} * bpp + 7) / 8 + 3) & ~3; }
};

void PutLe(std::string* s, size_t pos, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) (*s)[pos + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

// The file: file header, DIB header, masks (after a 40-byte header; inside a
// longer one), palette, then `pixels`.
std::string BuildBmp(const BmpSpec& spec, const std::string& pixels) {
  // Fields written in full, then cut to the header size (a short header is
  // one of the malformed cases).
  std::string info(std::max(spec.header_size, 40), '\0');
  PutLe(&info, 0, spec.header_size, 4);
  if (spec.header_size == 12) {
    PutLe(&info, 4, spec.width, 2);
    PutLe(&info, 6, spec.height, 2);
    PutLe(&info, 8, 1, 2);
    PutLe(&info, 10, spec.bpp, 2);
  } else {
    PutLe(&info, 4, spec.width, 4);
    PutLe(&info, 8, static_cast<uint32_t>(spec.height), 4);
    PutLe(&info, 12, 1, 2);
    PutLe(&info, 14, spec.bpp, 2);
    PutLe(&info, 16, spec.compression, 4);
    PutLe(&info, 20, static_cast<uint32_t>(pixels.size()), 4);
    PutLe(&info, 24, 2835, 4);
    PutLe(&info, 28, 2835, 4);
    PutLe(&info, 32, spec.clr_used, 4);
  }
  info.resize(spec.header_size);
  std::string masks;
  for (uint32_t m : spec.masks) {
    std::string le(4, '\0');
    PutLe(&le, 0, m, 4);
    masks += le;
  }
  if (spec.header_size >= 52) {
    info.replace(40, masks.size(), masks);
    masks.clear();
  }
  std::string palette;
  const int entry = spec.header_size == 12 ? 3 : 4;
  for (int i = 0; i < spec.palette_entries; ++i) {
    palette.push_back(static_cast<char>(i * 37 + 11));   // blue
    palette.push_back(static_cast<char>(255 - i * 5));   // green
    palette.push_back(static_cast<char>(i * 101 + 50));  // red
    if (entry == 4) palette.push_back('\0');
  }
  const size_t offset = 14 + info.size() + masks.size() + palette.size();
  std::string file(14, '\0');
  file[0] = 'B', file[1] = 'M';
  PutLe(&file, 2, static_cast<uint32_t>(offset + pixels.size()), 4);
  PutLe(&file, 10, static_cast<uint32_t>(offset), 4);
  return file + info + masks + palette + pixels;
}

std::string RandomPixels(const BmpSpec& spec, unsigned seed) {
  std::mt19937 rng(seed);
  std::string pixels(spec.Pitch() * std::abs(spec.height), '\0');
  for (char& c : pixels) c = static_cast<char>(rng());
  return pixels;
}

// Every uncompressed variant OpenCV reads, at widths that exercise partial
// bytes and row padding.
std::vector<BmpSpec> UncompressedSpecs() {
  std::vector<BmpSpec> specs;
  for (int width : {1, 2, 3, 5, 8, 9, 17, 33}) {
    for (int height : {7, -7, 1}) {
      auto add = [&](BmpSpec s) {
        if (s.header_size == 12 && height < 0) return;  // OS/2: unsigned height
        s.width = width, s.height = height;
        specs.push_back(s);
      };
      for (int bpp : {1, 4, 8}) {
        add({0, 0, bpp, kBiRgb, 40, 1 << bpp});
        add({0, 0, bpp, kBiRgb, 12, 1 << bpp});
      }
      add({0, 0, 8, kBiRgb, 40, 100, 100});  // short palette: indices past it are black
      add({0, 0, 4, kBiRgb, 40, 256, 256});  // longer palette than needed
      add({0, 0, 8, kBiRgb, 124, 256});
      add({0, 0, 24});
      add({0, 0, 24, kBiRgb, 12});
      add({0, 0, 24, kBiRgb, 108});
      add({0, 0, 24, kBiRgb, 124});
      add({0, 0, 32});
      add({0, 0, 32, kBiRgb, 124});
      add({0, 0, 32, kBiRgb, 12});
      add({0, 0, 16});  // BI_RGB: 5-5-5
      add({0, 0, 16, kBiBitfields, 40, 0, 0, {0x7C00, 0x03E0, 0x001F}});
      add({0, 0, 16, kBiBitfields, 40, 0, 0, {0xF800, 0x07E0, 0x001F}});
      add({0, 0, 32, kBiBitfields, 40, 0, 0, {0xFF0000, 0xFF00, 0xFF}});
    }
  }
  return specs;
}

TEST(BmpDecoderTest, SamePixelsAsOpenCvForEveryUncompressedVariant) {
  unsigned seed = 0;
  for (const BmpSpec& spec : UncompressedSpecs()) {
    const std::string bmp = BuildBmp(spec, RandomPixels(spec, ++seed));
    ExpectSameAsOpenCv(DecodeBmpToRgb(bmp), bmp, spec.Name());
  }
}

TEST(BmpDecoderTest, SamePixelsAsOpenCvForOpenCvsOwnBmps) {
  for (int type : {CV_8UC1, CV_8UC3, CV_8UC4}) {
    for (int width : {1, 3, 37}) {
      const std::string bmp = OpenCvEncode(RandomImage(width, 23, type, width), ".bmp");
      ExpectSameAsOpenCv(DecodeBmpToRgb(bmp), bmp, "OpenCV type " + std::to_string(type));
    }
  }
}

// OpenCV looks for the BI_BITFIELDS masks after the header, where a V4/V5
// header has none; here they are read from the header, so such a file decodes
// like the same pixels with a 40-byte header (which OpenCV reads correctly).
TEST(BmpDecoderTest, BitfieldsMasksInsideAV5Header) {
  for (const std::vector<uint32_t>& masks : std::vector<std::vector<uint32_t>>{
           {0xF800, 0x07E0, 0x001F}, {0x7C00, 0x03E0, 0x001F}}) {
    BmpSpec spec{13, -5, 16, kBiBitfields, 40, 0, 0, masks};
    const std::string pixels = RandomPixels(spec, 42);
    const std::string v3 = BuildBmp(spec, pixels);
    spec.header_size = 124;
    absl::StatusOr<cv::Mat> v5 = DecodeBmpToRgb(BuildBmp(spec, pixels));
    ExpectSameAsOpenCv(v5, v3, "V5 " + std::to_string(masks[0]));
  }
}

// 5-5-5 and 5-6-5 fields are shifted up, their low bits left zero, as in OpenCV.
TEST(BmpDecoderTest, SixteenBitFieldsAreShiftedNotReplicated) {
  std::string white(4, '\xFF');
  absl::StatusOr<cv::Mat> rgb555 = DecodeBmpToRgb(BuildBmp({1, 1, 16}, white));
  ASSERT_TRUE(rgb555.ok()) << rgb555.status();
  EXPECT_EQ(rgb555->at<cv::Vec3b>(0, 0), cv::Vec3b(0xF8, 0xF8, 0xF8));
  absl::StatusOr<cv::Mat> rgb565 = DecodeBmpToRgb(
      BuildBmp({1, 1, 16, kBiBitfields, 40, 0, 0, {0xF800, 0x07E0, 0x001F}}, white));
  ASSERT_TRUE(rgb565.ok()) << rgb565.status();
  EXPECT_EQ(rgb565->at<cv::Vec3b>(0, 0), cv::Vec3b(0xF8, 0xFC, 0xF8));
}

// --- RLE -------------------------------------------------------------------

std::string Bytes(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s.push_back(static_cast<char>(b));
  return s;
}

TEST(BmpDecoderTest, SamePixelsAsOpenCvForHandWrittenRle) {
  // 6x4 RLE8: a run, literal pixels (odd count: padded), end of line, a
  // delta, a run ending its row exactly then an end of line (ignored), end
  // of bitmap filling the rest.
  const std::string rle8 =
      Bytes({3, 5, 0, 3, 1, 2, 3, 0, 0, 0}) + Bytes({2, 7, 0, 2, 2, 1, 2, 9}) +
      Bytes({6, 4, 0, 0}) + Bytes({0, 1});
  // 7x3 RLE4: a run of two colours, literal nibbles (odd count), end of
  // line, a delta, end of line, a full row, end of bitmap.
  const std::string rle4 = Bytes({3, 0x12, 0, 3, 0x34, 0x50, 0, 0}) +
                           Bytes({0, 2, 3, 0, 2, 0x77, 0, 0}) + Bytes({7, 0xAB, 0, 1});
  for (int sign : {1, -1}) {
    const BmpSpec s8{6, 4 * sign, 8, kBiRle8, 40, 256};
    const std::string bmp8 = BuildBmp(s8, rle8);
    ExpectSameAsOpenCv(DecodeBmpToRgb(bmp8), bmp8, "RLE8 " + s8.Name());
    const BmpSpec s4{7, 3 * sign, 4, kBiRle4, 40, 16};
    const std::string bmp4 = BuildBmp(s4, rle4);
    ExpectSameAsOpenCv(DecodeBmpToRgb(bmp4), bmp4, "RLE4 " + s4.Name());
  }
}

// A random but mostly plausible RLE stream: runs, literals, end of line,
// deltas, some too long for their row, sometimes ending early.
std::string RandomRle(std::mt19937& rng, int width, bool rle4) {
  std::string s;
  const int commands = 1 + rng() % 40;
  for (int i = 0; i < commands; ++i) {
    const int kind = rng() % 10;
    if (kind < 4) {
      s += Bytes({1 + static_cast<int>(rng() % (width + 1)), static_cast<int>(rng() & 0xFF)});
    } else if (kind < 6 && width >= 3) {
      const int n = 3 + rng() % (width - 2);
      s += Bytes({0, n});
      const int bytes = rle4 ? ((((n + 1) >> 1) + 1) & ~1) : ((n + 1) & ~1);
      for (int k = 0; k < bytes; ++k) s.push_back(static_cast<char>(rng()));
    } else if (kind < 8) {
      s += Bytes({0, 0});
    } else if (kind < 9) {
      s += Bytes({0, 2, static_cast<int>(rng() % (width + 2)), static_cast<int>(rng() % 3)});
    } else {
      s += Bytes({0, 1});
    }
  }
  if (rng() % 2) s += Bytes({0, 1});
  return s;
}

TEST(BmpDecoderTest, RandomRleStreamsAgreeWithOpenCv) {
  std::mt19937 rng(11);
  int decoded = 0, rejected = 0;
  for (int trial = 0; trial < 600; ++trial) {
    const bool rle4 = trial % 2;
    const int width = 1 + rng() % 12, height = (1 + rng() % 6) * (trial % 3 ? 1 : -1);
    const BmpSpec spec{width, height, rle4 ? 4 : 8, rle4 ? kBiRle4 : kBiRle8, 40,
                       rle4 ? 16 : 256};
    const std::string bmp = BuildBmp(spec, RandomRle(rng, width, rle4));
    absl::StatusOr<cv::Mat> ours = DecodeBmpToRgb(bmp);
    const cv::Mat theirs = OpenCvRgb(bmp);
    ASSERT_EQ(ours.ok(), !theirs.empty()) << spec.Name() << ": " << ours.status();
    if (ours.ok()) {
      ++decoded;
      ASSERT_EQ(cv::norm(*ours, theirs, cv::NORM_INF), 0) << spec.Name();
    } else {
      ++rejected;
      EXPECT_EQ(ours.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
  EXPECT_GT(decoded, 50);
  EXPECT_GT(rejected, 50);
}

// --- Errors ----------------------------------------------------------------

TEST(BmpDecoderTest, EveryTruncationIsInvalidArgument) {
  for (const BmpSpec& spec : {BmpSpec{9, 7, 24}, BmpSpec{9, -7, 8, kBiRgb, 40, 256},
                              BmpSpec{9, 7, 4, kBiRgb, 12, 16}, BmpSpec{5, 3, 32}}) {
    const std::string bmp = BuildBmp(spec, RandomPixels(spec, 1));
    ASSERT_TRUE(DecodeBmpToRgb(bmp).ok()) << spec.Name();
    for (size_t n = 0; n < bmp.size(); ++n) {
      const std::string prefix = bmp.substr(0, n);  // exactly n bytes, for ASan
      absl::StatusOr<cv::Mat> r = DecodeBmpToRgb(prefix);
      ASSERT_FALSE(r.ok()) << spec.Name() << ": prefix of " << n;
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_EQ(r.status().message().rfind("could not decode BMP image: ", 0), 0) << r.status();
    }
  }
  const std::string rle = BuildBmp({6, 4, 8, kBiRle8, 40, 256}, Bytes({6, 1, 0, 0, 6, 2, 0, 0}));
  absl::StatusOr<cv::Mat> r = DecodeBmpToRgb(rle);  // two rows of four
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(OpenCvRgb(rle).empty());
}

TEST(BmpDecoderTest, UnsupportedVariantsAreInvalidArgument) {
  const std::vector<std::pair<std::string, BmpSpec>> cases = {
      {"2 bpp", {4, 4, 2, kBiRgb, 40, 4}},
      {"64 bpp", {4, 4, 64}},
      {"BI_JPEG", {4, 4, 24, 4}},
      {"BI_PNG", {4, 4, 24, 5}},
      {"RLE8 at 4 bpp", {4, 4, 4, kBiRle8, 40, 16}},
      {"header of 20 bytes", {4, 4, 24, kBiRgb, 20}},
      {"palette of 300", {4, 4, 8, kBiRgb, 40, 256, 300}},
      {"zero width", {0, 4, 24}},
      {"zero height", {4, 0, 24}},
      {"16-bit 4-4-4 masks", {4, 4, 16, kBiBitfields, 40, 0, 0, {0xF00, 0xF0, 0xF}}},
      {"32-bit RGBX masks", {4, 4, 32, kBiBitfields, 40, 0, 0, {0xFF, 0xFF00, 0xFF0000}}},
  };
  for (const auto& [name, spec] : cases) {
    BmpSpec sized = spec;
    if (sized.width == 0) sized.width = 1;  // pixels for a plausible file
    const std::string bmp = BuildBmp(spec, RandomPixels(sized, 3));
    absl::StatusOr<cv::Mat> r = DecodeBmpToRgb(bmp);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << name;
  }
  std::string negative_offset = BuildBmp({2, 2, 24}, std::string(16, '\0'));
  PutLe(&negative_offset, 10, 0xFFFFFFF0u, 4);
  EXPECT_EQ(DecodeBmpToRgb(negative_offset).status().code(), absl::StatusCode::kInvalidArgument);
}

// Random bytes in a valid file: never a crash or an over-read; where the
// header survives, the same verdict and pixels as OpenCV.
TEST(BmpDecoderTest, CorruptFilesNeverCrash) {
  std::mt19937 rng(9);
  const std::vector<BmpSpec> specs = UncompressedSpecs();
  for (int trial = 0; trial < 3000; ++trial) {
    const BmpSpec& spec = specs[rng() % specs.size()];
    std::string bmp = BuildBmp(spec, RandomPixels(spec, trial));
    const bool header_only = trial % 2;
    const int flips = 1 + rng() % 4;
    for (int i = 0; i < flips; ++i) {
      const size_t pos =
          header_only ? rng() % std::min<size_t>(bmp.size(), 70) : rng() % bmp.size();
      bmp[pos] = static_cast<char>(rng());
    }
    const std::string copy = bmp.substr(0, bmp.size() - (rng() % 3 == 0 ? rng() % 8 : 0));
    absl::StatusOr<cv::Mat> r = DecodeBmpToRgb(copy);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace faceserve
