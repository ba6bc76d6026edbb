// DecodePngToRgb against OpenCV's imdecode (the decoder it replaces): the same
// pixels for every colour type and bit depth, with and without tRNS
// transparency, interlaced or not, with gAMA and bKGD chunks that OpenCV
// ignores; truncated and corrupt files an error, never a crash.
#include "core/reader/png_decoder.h"

#include <csetjmp>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <png.h>

#include "tests/reader/decoder_test_util.h"

namespace faceserve {
namespace {

using testing_util::ExpectSameAsOpenCv;
using testing_util::OpenCvEncode;
using testing_util::OpenCvRgb;
using testing_util::RandomImage;

struct PngSpec {
  std::string name;
  int color_type = PNG_COLOR_TYPE_RGB;
  int bit_depth = 8;
  int palette_size = 0;    // PNG_COLOR_TYPE_PALETTE: entries written
  int palette_alphas = 0;  // tRNS entries for a palette
  bool trns_colour = false;  // tRNS single colour for grey or RGB
  bool interlaced = false;
  bool gamma = false;       // a gAMA chunk of 0.5 (OpenCV ignores it)
  bool background = false;  // a bKGD chunk (OpenCV does not blend with it)
};

int Channels(int color_type) {
  switch (color_type) {
    case PNG_COLOR_TYPE_GRAY:
    case PNG_COLOR_TYPE_PALETTE: return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    default: return 4;
  }
}

void AppendToString(png_structp png, png_bytep data, size_t length) {
  static_cast<std::string*>(png_get_io_ptr(png))->append(reinterpret_cast<char*>(data), length);
}
void NoFlush(png_structp) {}

// libpng's writer under setjmp: plain data only on this frame.
bool WritePngTo(const PngSpec* spec, int width, int height, const unsigned char* pixels,
                size_t row_bytes, std::string* out) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png)) != 0) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_set_write_fn(png, out, AppendToString, NoFlush);
  png_set_check_for_invalid_index(png, 0);  // allow the short-palette case
  png_set_IHDR(png, info, width, height, spec->bit_depth, spec->color_type,
               spec->interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_color palette[256];
  png_byte alphas[256];
  for (int i = 0; i < 256; ++i) {
    palette[i] = png_color{static_cast<png_byte>(i * 7), static_cast<png_byte>(255 - i),
                           static_cast<png_byte>(i * 13 + 5)};
    alphas[i] = static_cast<png_byte>(i * 3);
  }
  if (spec->palette_size > 0) png_set_PLTE(png, info, palette, spec->palette_size);
  const int max = (1 << spec->bit_depth) - 1;
  png_color_16 colour{0, static_cast<png_uint_16>(max / 3), static_cast<png_uint_16>(max / 2),
                      static_cast<png_uint_16>(max / 5), static_cast<png_uint_16>(max / 3)};
  if (spec->palette_alphas > 0) {
    png_set_tRNS(png, info, alphas, spec->palette_alphas, nullptr);
  } else if (spec->trns_colour) {
    png_set_tRNS(png, info, nullptr, 0, &colour);
  }
  if (spec->gamma) png_set_gAMA(png, info, 0.5);
  if (spec->background) {
    png_color_16 background{1, 0, 0, 0, 0};
    png_set_bKGD(png, info, &background);
  }
  png_write_info(png, info);
  const int passes = png_set_interlace_handling(png);
  for (int pass = 0; pass < passes; ++pass) {
    for (int y = 0; y < height; ++y) {
      png_write_row(png, const_cast<png_bytep>(pixels + row_bytes * y));
    }
  }
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return true;
}

// A PNG of `spec` with random samples (16-bit ones big-endian, as stored).
std::string MakePng(const PngSpec& spec, int width, int height, unsigned seed) {
  const size_t row_bytes =
      (size_t{static_cast<size_t>(width)} * Channels(spec.color_type) * spec.bit_depth + 7) / 8;
  std::vector<unsigned char> pixels(row_bytes * height);
  std::mt19937 rng(seed);
  for (unsigned char& p : pixels) p = static_cast<unsigned char>(rng());
  std::string out;
  EXPECT_TRUE(WritePngTo(&spec, width, height, pixels.data(), row_bytes, &out)) << spec.name;
  return out;
}

std::vector<PngSpec> EveryKindOfPng() {
  std::vector<PngSpec> specs;
  for (int depth : {1, 2, 4, 8, 16}) {
    specs.push_back({"grey" + std::to_string(depth), PNG_COLOR_TYPE_GRAY, depth});
    specs.push_back({"grey" + std::to_string(depth) + "+tRNS", PNG_COLOR_TYPE_GRAY, depth, 0, 0,
                     true});
  }
  for (int depth : {8, 16}) {
    specs.push_back({"grey-alpha" + std::to_string(depth), PNG_COLOR_TYPE_GRAY_ALPHA, depth});
    specs.push_back({"rgb" + std::to_string(depth), PNG_COLOR_TYPE_RGB, depth});
    specs.push_back({"rgb" + std::to_string(depth) + "+tRNS", PNG_COLOR_TYPE_RGB, depth, 0, 0,
                     true});
    specs.push_back({"rgba" + std::to_string(depth), PNG_COLOR_TYPE_RGB_ALPHA, depth});
  }
  for (int depth : {1, 2, 4, 8}) {
    const int entries = 1 << depth;
    specs.push_back({"palette" + std::to_string(depth), PNG_COLOR_TYPE_PALETTE, depth, entries});
    specs.push_back({"palette" + std::to_string(depth) + "+tRNS", PNG_COLOR_TYPE_PALETTE, depth,
                     entries, entries / 2 + 1});
  }
  // Indices past the palette's end (libpng: a benign error, black pixels).
  specs.push_back({"short-palette", PNG_COLOR_TYPE_PALETTE, 8, 100});
  std::vector<PngSpec> all;
  for (const PngSpec& spec : specs) {
    all.push_back(spec);
    PngSpec variant = spec;
    variant.name += " interlaced+gAMA+bKGD";
    variant.interlaced = true;
    variant.gamma = true;
    variant.background = spec.color_type != PNG_COLOR_TYPE_PALETTE;
    all.push_back(variant);
  }
  return all;
}

TEST(PngDecoderTest, SamePixelsAsOpenCvForEveryColourTypeAndBitDepth) {
  unsigned seed = 1;
  for (const PngSpec& spec : EveryKindOfPng()) {
    for (const cv::Size size : {cv::Size(37, 23), cv::Size(1, 1), cv::Size(9, 2)}) {
      const std::string png = MakePng(spec, size.width, size.height, seed++);
      ExpectSameAsOpenCv(DecodePngToRgb(png), png,
                         spec.name + " " + std::to_string(size.width) + "x" +
                             std::to_string(size.height));
    }
  }
}

TEST(PngDecoderTest, SamePixelsAsOpenCvForOpenCvsOwnPngs) {
  for (int type : {CV_8UC1, CV_8UC3, CV_8UC4, CV_16UC1, CV_16UC3, CV_16UC4}) {
    const cv::Mat image = RandomImage(45, 31, type, type);
    for (int level : {1, 9}) {
      const std::string png = OpenCvEncode(image, ".png", {cv::IMWRITE_PNG_COMPRESSION, level});
      ExpectSameAsOpenCv(DecodePngToRgb(png), png, "OpenCV type " + std::to_string(type));
    }
  }
}

// What OpenCV does, spelt out: 16-bit samples keep their high byte (no
// rounding), alpha is dropped without blending, palettes are looked up.
TEST(PngDecoderTest, SixteenBitKeepsHighByteAndAlphaIsDropped) {
  cv::Mat bgra16(1, 2, CV_16UC4);
  bgra16.at<cv::Vec4w>(0, 0) = cv::Vec4w(0x12FF, 0x3480, 0x567F, 0);       // transparent
  bgra16.at<cv::Vec4w>(0, 1) = cv::Vec4w(0xFFFF, 0x0001, 0x8000, 0x8000);  // half
  const std::string png = OpenCvEncode(bgra16, ".png");
  absl::StatusOr<cv::Mat> rgb = DecodePngToRgb(png);
  ASSERT_TRUE(rgb.ok()) << rgb.status();
  EXPECT_EQ(rgb->at<cv::Vec3b>(0, 0), cv::Vec3b(0x56, 0x34, 0x12));
  EXPECT_EQ(rgb->at<cv::Vec3b>(0, 1), cv::Vec3b(0x80, 0x00, 0xFF));
  ExpectSameAsOpenCv(rgb, png, "16-bit BGRA");
}

std::vector<std::string> SamplePngs() {
  std::vector<std::string> pngs;
  for (const PngSpec& spec : EveryKindOfPng()) {
    if (spec.bit_depth >= 8 || spec.color_type == PNG_COLOR_TYPE_PALETTE) {
      pngs.push_back(MakePng(spec, 29, 17, 99));
    }
  }
  return pngs;
}

TEST(PngDecoderTest, EveryTruncationIsInvalidArgument) {
  for (const std::string& png : SamplePngs()) {
    ASSERT_TRUE(DecodePngToRgb(png).ok());
    for (size_t n = 0; n < png.size(); n += (n < 64 || n + 16 > png.size()) ? 1 : 7) {
      // A copy of exactly n bytes so that ASan would see an over-read.
      const std::string prefix = png.substr(0, n);
      absl::StatusOr<cv::Mat> r = DecodePngToRgb(prefix);
      ASSERT_FALSE(r.ok()) << "prefix of " << n << " of " << png.size() << " bytes";
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_EQ(r.status().message().rfind("could not decode PNG image: ", 0), 0)
          << r.status();
    }
  }
}

// Corrupt bytes anywhere: never a crash, and the same verdict and pixels as
// OpenCV (both drive libpng the same way).
TEST(PngDecoderTest, CorruptFilesAgreeWithOpenCv) {
  std::mt19937 rng(5);
  int rejected = 0;
  for (const std::string& png : SamplePngs()) {
    for (int trial = 0; trial < 12; ++trial) {
      std::string bad = png;
      const int flips = 1 + trial % 3;
      for (int i = 0; i < flips; ++i) bad[8 + rng() % (bad.size() - 8)] ^= 1 << (rng() % 8);
      absl::StatusOr<cv::Mat> ours = DecodePngToRgb(bad);
      const cv::Mat theirs = OpenCvRgb(bad);
      ASSERT_EQ(ours.ok(), !theirs.empty()) << ours.status();
      if (ours.ok()) {  // a flip in an ancillary chunk: a warning only
        EXPECT_EQ(cv::norm(*ours, theirs, cv::NORM_INF), 0);
      } else {
        ++rejected;
        EXPECT_EQ(ours.status().code(), absl::StatusCode::kInvalidArgument);
      }
    }
  }
  EXPECT_GT(rejected, 0);
}

TEST(PngDecoderTest, GarbageIsInvalidArgument) {
  for (const std::string& bytes :
       {std::string(), std::string("\x89PNG\r\n\x1a\n", 8), std::string("not a png at all"),
        std::string("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x00", 20)}) {
    absl::StatusOr<cv::Mat> r = DecodePngToRgb(bytes);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  }
}

}  // namespace
}  // namespace faceserve
