#include "core/reader/image_reader.h"

#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/reader/image_header.h"

namespace faceserve {
namespace {

using ::testing::HasSubstr;

constexpr ReaderLimits kLimits{20 << 20, 40000000};

std::string DataPath(const std::string& rel) {
  return std::string(FACESERVE_SOURCE_DIR) + "/../shared/data/faces/" + rel;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// An RGB test image with large flat blocks (survives JPEG), w x h.
cv::Mat Synthetic(int w, int h) {
  cv::Mat rgb(h, w, CV_8UC3, cv::Scalar(0, 0, 0));
  cv::rectangle(rgb, cv::Rect(0, 0, w / 2, h / 2), cv::Scalar(255, 0, 0), cv::FILLED);
  cv::rectangle(rgb, cv::Rect(w / 2, 0, w - w / 2, h / 2), cv::Scalar(0, 255, 0), cv::FILLED);
  cv::rectangle(rgb, cv::Rect(0, h / 2, w / 2, h - h / 2), cv::Scalar(0, 0, 255), cv::FILLED);
  cv::rectangle(rgb, cv::Rect(w / 2, h / 2, w - w / 2, h - h / 2), cv::Scalar(255, 255, 255),
                cv::FILLED);
  return rgb;
}

std::string Encode(const cv::Mat& rgb, const std::string& ext, std::vector<int> params = {}) {
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<uchar> buf;
  EXPECT_TRUE(cv::imencode(ext, bgr, buf, params));
  return std::string(buf.begin(), buf.end());
}

ImageInput Encoded(std::string bytes) {
  ImageInput in;
  in.encoded = std::move(bytes);
  return in;
}

double MaxAbsDiff(const cv::Mat& a, const cv::Mat& b) {
  if (a.size() != b.size() || a.type() != b.type()) return 1e9;
  return cv::norm(a, b, cv::NORM_INF);
}

// A JPEG with an APP1 EXIF segment holding only the orientation tag, inserted
// right after SOI. `big_endian`: "MM" TIFF byte order.
std::string WithExifOrientation(const std::string& jpeg, int orientation,
                                bool big_endian = false) {
  std::string tiff;
  auto u16 = [&](int v) {
    if (big_endian) {
      tiff += static_cast<char>(v >> 8), tiff += static_cast<char>(v & 0xFF);
    } else {
      tiff += static_cast<char>(v & 0xFF), tiff += static_cast<char>(v >> 8);
    }
  };
  auto u32 = [&](int v) {
    if (big_endian) {
      u16(v >> 16), u16(v & 0xFFFF);
    } else {
      u16(v & 0xFFFF), u16(v >> 16);
    }
  };
  tiff += big_endian ? "MM" : "II";
  u16(42);
  u32(8);    // IFD0 offset
  u16(1);    // one entry
  u16(0x0112), u16(3), u32(1);  // Orientation, SHORT, count 1
  u16(orientation), u16(0);     // value, padding
  u32(0);                       // no next IFD
  const std::string payload = std::string("Exif\0\0", 6) + tiff;
  const size_t len = payload.size() + 2;
  std::string app1 = "\xFF\xE1";
  app1 += static_cast<char>(len >> 8);
  app1 += static_cast<char>(len & 0xFF);
  app1 += payload;
  return jpeg.substr(0, 2) + app1 + jpeg.substr(2);
}

// ---------------------------------------------------------------------------
// Header

TEST(PeekImageHeaderTest, ReadsSizeOfEveryFormat) {
  const cv::Mat img = Synthetic(37, 23);
  struct Case {
    std::string ext;
    ImageFormat format;
    std::vector<int> params;
  };
  for (const Case& c : {Case{".jpg", ImageFormat::kJpeg, {}}, Case{".png", ImageFormat::kPng, {}},
                        Case{".bmp", ImageFormat::kBmp, {}},
                        Case{".webp", ImageFormat::kWebp, {cv::IMWRITE_WEBP_QUALITY, 90}},
                        Case{".webp", ImageFormat::kWebp, {cv::IMWRITE_WEBP_QUALITY, 101}}}) {
    SCOPED_TRACE(c.ext);
    absl::StatusOr<ImageHeader> h = PeekImageHeader(Encode(img, c.ext, c.params));
    ASSERT_TRUE(h.ok()) << h.status();
    EXPECT_EQ(h->format, c.format);
    EXPECT_EQ(h->width, 37);
    EXPECT_EQ(h->height, 23);
    EXPECT_EQ(h->orientation, 1);
  }
}

TEST(PeekImageHeaderTest, ReadsWebpExtendedHeader) {
  // RIFF....WEBPVP8X: flags(4) then 24-bit width-1 and height-1.
  std::string b = std::string("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00", 20);
  b += std::string(4, '\0');
  b += std::string("\x3f\x01\x00", 3);  // 320 - 1 = 0x13f
  b += std::string("\xef\x00\x00", 3);  // 240 - 1 = 0xef
  absl::StatusOr<ImageHeader> h = PeekImageHeader(b);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->width, 320);
  EXPECT_EQ(h->height, 240);
}

TEST(PeekImageHeaderTest, ExifOrientationSwapsSizeForRotations) {
  const std::string jpeg = Encode(Synthetic(40, 20), ".jpg");
  for (int o = 1; o <= 8; ++o) {
    for (bool be : {false, true}) {
      absl::StatusOr<ImageHeader> h = PeekImageHeader(WithExifOrientation(jpeg, o, be));
      ASSERT_TRUE(h.ok()) << h.status();
      EXPECT_EQ(h->orientation, o);
      EXPECT_EQ(h->stored_width, 40);
      EXPECT_EQ(h->width, o >= 5 ? 20 : 40) << o;
      EXPECT_EQ(h->height, o >= 5 ? 40 : 20) << o;
    }
  }
  absl::StatusOr<ImageHeader> bad = PeekImageHeader(WithExifOrientation(jpeg, 9));
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->orientation, 1);
}

TEST(PeekImageHeaderTest, ExifParserRejectsMalformedTiff) {
  EXPECT_EQ(ParseExifOrientation(""), 1);
  EXPECT_EQ(ParseExifOrientation("II*\0"), 1);
  EXPECT_EQ(ParseExifOrientation(std::string("II\x2a\x00\xff\xff\xff\xff", 8)), 1);
  EXPECT_EQ(ParseExifOrientation(std::string("XX\x2a\x00\x08\x00\x00\x00", 8)), 1);
  // Entry count claims more entries than there are bytes.
  EXPECT_EQ(ParseExifOrientation(std::string("II\x2a\x00\x08\x00\x00\x00\xff\xff", 10)), 1);
}

TEST(PeekImageHeaderTest, UnknownFormatNamesAcceptedFormats) {
  absl::StatusOr<ImageHeader> h = PeekImageHeader("GIF89a......");
  EXPECT_EQ(h.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(h.status().message(), HasSubstr("JPEG, PNG, WebP and BMP"));
}

TEST(PeekImageHeaderTest, NeverCrashesOnAnyPrefixOfRealFiles) {
  std::vector<std::string> files;
  const std::string photo = ReadFile(DataPath("detect/images/2008_001322.jpg"));
  if (!photo.empty()) files.push_back(photo);
  const cv::Mat img = Synthetic(64, 48);
  files.push_back(Encode(img, ".jpg"));
  files.push_back(WithExifOrientation(Encode(img, ".jpg"), 6));
  files.push_back(Encode(img, ".png"));
  files.push_back(Encode(img, ".bmp"));
  files.push_back(Encode(img, ".webp"));
  files.push_back(Encode(img, ".webp", {cv::IMWRITE_WEBP_QUALITY, 101}));
  for (const std::string& f : files) {
    absl::StatusOr<ImageHeader> full = PeekImageHeader(f);
    ASSERT_TRUE(full.ok()) << full.status();
    bool seen_ok = false;
    for (size_t n = 0; n < f.size(); ++n) {
      // A copy of exactly n bytes so that ASan would see an over-read.
      const std::string prefix = f.substr(0, n);
      absl::StatusOr<ImageHeader> h = PeekImageHeader(prefix);
      if (h.ok()) {
        seen_ok = true;
        EXPECT_EQ(h->width, full->width);
        EXPECT_EQ(h->height, full->height);
      } else {
        EXPECT_FALSE(seen_ok) << "error after success at prefix " << n;
        EXPECT_EQ(h.status().code(), absl::StatusCode::kInvalidArgument);
      }
    }
  }
}

TEST(PeekImageHeaderTest, RandomBytesNeverCrash) {
  std::mt19937 rng(42);
  const std::vector<std::string> magics = {"", "\xFF\xD8\xFF", "\x89PNG\r\n\x1a\n", "BM",
                                           "RIFF\x10\x00\x00\x00WEBPVP8 ",
                                           "RIFF\x10\x00\x00\x00WEBPVP8L"};
  for (int i = 0; i < 20000; ++i) {
    std::string b = magics[i % magics.size()];
    const int n = rng() % 64;
    for (int k = 0; k < n; ++k) b += static_cast<char>(rng() & 0xFF);
    absl::StatusOr<ImageHeader> h = PeekImageHeader(b);
    if (h.ok()) {
      EXPECT_GT(h->width, 0);
      EXPECT_GT(h->height, 0);
    }
  }
}

// ---------------------------------------------------------------------------
// ReadImage: encoded

TEST(ReadImageTest, DecodesEveryFormatToRgb) {
  const cv::Mat img = Synthetic(37, 23);
  struct Case {
    std::string ext;
    std::vector<int> params;
    double tolerance;
  };
  for (const Case& c : {Case{".png", {}, 0}, Case{".bmp", {}, 0},
                        Case{".webp", {cv::IMWRITE_WEBP_QUALITY, 101}, 0},
                        Case{".jpg", {cv::IMWRITE_JPEG_QUALITY, 100}, 12},
                        Case{".webp", {cv::IMWRITE_WEBP_QUALITY, 95}, 12}}) {
    SCOPED_TRACE(c.ext);
    absl::StatusOr<cv::Mat> m = ReadImage(Encoded(Encode(img, c.ext, c.params)), kLimits);
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_EQ(m->type(), CV_8UC3);
    EXPECT_TRUE(m->isContinuous());
    if (c.tolerance == 0) {
      EXPECT_EQ(MaxAbsDiff(*m, img), 0);
    } else {  // lossy: mean error (block edges ring)
      EXPECT_LE(cv::norm(*m, img, cv::NORM_L1) / m->total() / 3, c.tolerance);
    }
    // Channel order: the top-left block is red.
    const cv::Vec3b p = m->at<cv::Vec3b>(3, 3);
    EXPECT_GT(p[0], 200);
    EXPECT_LT(p[2], 60);
  }
}

TEST(ReadImageTest, DecodesRealPhotos) {
  for (const char* rel : {"detect/images/2008_001322.jpg", "attributes/images/faceapi_happy.jpg"}) {
    const std::string bytes = ReadFile(DataPath(rel));
    if (bytes.empty()) GTEST_SKIP() << "missing " << DataPath(rel);
    absl::StatusOr<cv::Mat> m = ReadImage(Encoded(bytes), kLimits);
    ASSERT_TRUE(m.ok()) << rel << ": " << m.status();
    absl::StatusOr<ImageHeader> h = PeekImageHeader(bytes);
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(m->cols, h->width);
    EXPECT_EQ(m->rows, h->height);
    // Same pixels as OpenCV's own decoder, channels swapped.
    cv::Mat bgr = cv::imread(DataPath(rel), cv::IMREAD_COLOR), rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    EXPECT_EQ(MaxAbsDiff(*m, rgb), 0);
  }
}

TEST(ReadImageTest, AppliesEveryExifOrientationOnce) {
  const std::string jpeg = Encode(Synthetic(40, 20), ".jpg", {cv::IMWRITE_JPEG_QUALITY, 100});
  absl::StatusOr<cv::Mat> stored = ReadImage(Encoded(jpeg), kLimits);
  ASSERT_TRUE(stored.ok());
  auto expected = [&](int o) {
    cv::Mat out, t;
    switch (o) {
      case 2: cv::flip(*stored, out, 1); break;
      case 3: cv::rotate(*stored, out, cv::ROTATE_180); break;
      case 4: cv::flip(*stored, out, 0); break;
      case 5: cv::transpose(*stored, out); break;
      case 6: cv::rotate(*stored, out, cv::ROTATE_90_CLOCKWISE); break;
      case 7: cv::transpose(*stored, t), cv::rotate(t, out, cv::ROTATE_180); break;
      case 8: cv::rotate(*stored, out, cv::ROTATE_90_COUNTERCLOCKWISE); break;
      default: out = *stored;
    }
    return out;
  };
  for (int o = 1; o <= 8; ++o) {
    absl::StatusOr<cv::Mat> m = ReadImage(Encoded(WithExifOrientation(jpeg, o)), kLimits);
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_EQ(MaxAbsDiff(*m, expected(o)), 0) << "orientation " << o;
  }
}

// Documents what OpenCV 4.6 does by itself, which is why the decoder tests
// compare with imdecode(IMREAD_IGNORE_ORIENTATION): the decoders leave the
// orientation alone and ReadImage rotates once from its own header parse.
TEST(ReadImageTest, OpenCvImdecodeAppliesExifOrientationByItself) {
  const std::string jpeg = WithExifOrientation(Encode(Synthetic(40, 20), ".jpg"), 6);
  const cv::Mat buf(1, static_cast<int>(jpeg.size()), CV_8U, const_cast<char*>(jpeg.data()));
  const cv::Mat plain = cv::imdecode(buf, cv::IMREAD_COLOR);
  const cv::Mat ignored = cv::imdecode(buf, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
  EXPECT_EQ(plain.size(), cv::Size(20, 40));
  EXPECT_EQ(ignored.size(), cv::Size(40, 20));
}

TEST(ReadImageTest, EmptyIsInvalidArgument) {
  absl::StatusOr<cv::Mat> m = ReadImage(Encoded(""), kLimits);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(m.status().message(), "image is empty");
}

TEST(ReadImageTest, TooManyBytesIsResourceExhausted) {
  const std::string png = Encode(Synthetic(64, 64), ".png");
  absl::StatusOr<cv::Mat> m = ReadImage(Encoded(png), ReaderLimits{100, 40000000});
  EXPECT_EQ(m.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(m.status().message(), HasSubstr(std::to_string(png.size())));
  EXPECT_THAT(m.status().message(), HasSubstr("100"));
}

TEST(ReadImageTest, UnknownFormatIsInvalidArgumentNamingFormats) {
  absl::StatusOr<cv::Mat> m = ReadImage(Encoded("GIF89a\x01\x00\x01\x00"), kLimits);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(m.status().message(), HasSubstr("JPEG, PNG, WebP and BMP"));
}

TEST(ReadImageTest, TooManyPixelsIsRejectedBeforeDecoding) {
  for (const char* ext : {".jpg", ".png", ".bmp", ".webp"}) {
    std::string bytes = Encode(Synthetic(100, 50), ext);
    absl::StatusOr<cv::Mat> m = ReadImage(Encoded(bytes), ReaderLimits{20 << 20, 4999});
    EXPECT_EQ(m.status().code(), absl::StatusCode::kResourceExhausted) << ext;
    EXPECT_THAT(m.status().message(), HasSubstr("5000 pixels")) << ext;
    EXPECT_TRUE(ReadImage(Encoded(bytes), ReaderLimits{20 << 20, 5000}).ok()) << ext;
  }
  // A PNG header claiming 100000 x 100000 with no data: refused from the
  // header alone (a decoder would try to allocate 30 GB).
  std::string png = Encode(Synthetic(8, 8), ".png");
  png[16] = 0, png[17] = 1, png[18] = static_cast<char>(0x86), png[19] = static_cast<char>(0xA0);
  png[20] = 0, png[21] = 1, png[22] = static_cast<char>(0x86), png[23] = static_cast<char>(0xA0);
  absl::StatusOr<cv::Mat> m = ReadImage(Encoded(png.substr(0, 40)), kLimits);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(ReadImageTest, TruncatedFilesAreInvalidArgument) {
  const cv::Mat img = Synthetic(64, 48);
  struct Case {
    std::string ext, name;
  };
  for (const Case& c : {Case{".jpg", "JPEG"}, Case{".png", "PNG"}, Case{".webp", "WebP"},
                        Case{".bmp", "BMP"}}) {
    const std::string bytes = Encode(img, c.ext);
    for (size_t n : {bytes.size() / 2, bytes.size() - 2}) {
      absl::StatusOr<cv::Mat> m = ReadImage(Encoded(bytes.substr(0, n)), kLimits);
      EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument) << c.ext << " " << n;
      EXPECT_THAT(m.status().message(), HasSubstr("could not decode " + c.name + " image"))
          << c.ext << " " << n;
    }
  }
}

TEST(ReadImageTest, TruncatedRealJpegIsRejected) {
  const std::string bytes = ReadFile(DataPath("detect/images/2008_001322.jpg"));
  if (bytes.empty()) GTEST_SKIP() << "missing " << DataPath("detect/images/2008_001322.jpg");
  absl::StatusOr<cv::Mat> m = ReadImage(Encoded(bytes.substr(0, bytes.size() * 3 / 4)), kLimits);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(m.status().message(), HasSubstr("could not decode JPEG image"));
}

TEST(ReadImageTest, CorruptJpegBodyIsInvalidArgumentOrDecodes) {
  // Garbage between the header and EOI: must not crash; any error is
  // INVALID_ARGUMENT.
  std::string bytes = Encode(Synthetic(64, 48), ".jpg");
  const size_t sos = bytes.find("\xFF\xDA");
  ASSERT_NE(sos, std::string::npos);
  std::mt19937 rng(7);
  for (size_t i = sos + 20; i + 2 < bytes.size(); ++i) bytes[i] = static_cast<char>(rng() & 0x7F);
  absl::StatusOr<cv::Mat> m = ReadImage(Encoded(bytes), kLimits);
  if (!m.ok()) {
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(ReadImageTest, RandomBytesAreInvalidArgument) {
  std::mt19937 rng(1);
  for (const std::string& magic : {std::string(""), std::string("\xFF\xD8\xFF"),
                                  std::string("\x89PNG\r\n\x1a\n"), std::string("BM")}) {
    for (int i = 0; i < 50; ++i) {
      std::string b = magic;
      const int n = 1 + rng() % 2000;
      for (int k = 0; k < n; ++k) b += static_cast<char>(rng() & 0xFF);
      absl::StatusOr<cv::Mat> m = ReadImage(Encoded(b), kLimits);
      if (!m.ok()) {
        EXPECT_TRUE(m.status().code() == absl::StatusCode::kInvalidArgument ||
                    m.status().code() == absl::StatusCode::kResourceExhausted)
            << m.status();
      }
    }
  }
}

// ---------------------------------------------------------------------------
// ReadImage: raw

ImageInput Raw(int w, int h, ChannelOrder order, std::string pixels, int stride = 0) {
  ImageInput in;
  in.is_raw = true;
  in.width = w;
  in.height = h;
  in.channel_order = order;
  in.pixels = std::move(pixels);
  in.stride_bytes = stride;
  return in;
}

TEST(ReadImageRawTest, ConvertsEveryChannelOrderToRgb) {
  // One pixel with R=10, G=20, B=30 (gray: 77).
  struct Case {
    ChannelOrder order;
    std::string px;
    cv::Vec3b rgb;
  };
  for (const Case& c : {Case{ChannelOrder::kRgb, "\x0a\x14\x1e", {10, 20, 30}},
                        Case{ChannelOrder::kBgr, "\x1e\x14\x0a", {10, 20, 30}},
                        Case{ChannelOrder::kRgba, "\x0a\x14\x1e\x80", {10, 20, 30}},
                        Case{ChannelOrder::kBgra, "\x1e\x14\x0a\x80", {10, 20, 30}},
                        Case{ChannelOrder::kGray, "\x4d", {77, 77, 77}}}) {
    std::string pixels;
    for (int i = 0; i < 6; ++i) pixels += c.px;
    absl::StatusOr<cv::Mat> m = ReadImage(Raw(3, 2, c.order, pixels), kLimits);
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_EQ(m->type(), CV_8UC3);
    EXPECT_EQ(m->size(), cv::Size(3, 2));
    EXPECT_TRUE(m->isContinuous());
    EXPECT_EQ(m->at<cv::Vec3b>(1, 2), c.rgb);
  }
}

TEST(ReadImageRawTest, HonoursStrideAndShortLastRow) {
  // 2x2 RGB, stride 8 (2 bytes of padding per row), last row unpadded.
  const std::string px = std::string("\x01\x02\x03\x04\x05\x06", 6) + "xx" +
                         std::string("\x07\x08\x09\x0a\x0b\x0c", 6);
  absl::StatusOr<cv::Mat> m = ReadImage(Raw(2, 2, ChannelOrder::kRgb, px, 8), kLimits);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->at<cv::Vec3b>(1, 0), cv::Vec3b(7, 8, 9));
  EXPECT_EQ(m->at<cv::Vec3b>(1, 1), cv::Vec3b(10, 11, 12));
}

TEST(ReadImageRawTest, RejectsBadGeometryWithExactCodes) {
  const std::string px(12, '\0');
  EXPECT_EQ(ReadImage(Raw(0, 2, ChannelOrder::kRgb, px), kLimits).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadImage(Raw(2, -1, ChannelOrder::kRgb, px), kLimits).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::Status unspecified =
      ReadImage(Raw(2, 2, ChannelOrder::kUnspecified, px), kLimits).status();
  EXPECT_EQ(unspecified.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unspecified.message(), HasSubstr("channel order"));
  absl::Status stride = ReadImage(Raw(2, 2, ChannelOrder::kRgb, px, 5), kLimits).status();
  EXPECT_EQ(stride.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(stride.message(), HasSubstr("stride"));
  absl::Status short_px = ReadImage(Raw(2, 2, ChannelOrder::kRgb, px.substr(0, 11)), kLimits)
                              .status();
  EXPECT_EQ(short_px.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(short_px.message(), HasSubstr("at least 12 bytes, got 11"));
  absl::Status short_strided =
      ReadImage(Raw(2, 2, ChannelOrder::kRgb, std::string(13, '\0'), 8), kLimits).status();
  EXPECT_THAT(short_strided.message(), HasSubstr("at least 14 bytes, got 13"));
}

TEST(ReadImageRawTest, RejectsOverLimitsAsResourceExhausted) {
  const std::string px(300, '\0');
  EXPECT_EQ(ReadImage(Raw(10, 10, ChannelOrder::kRgb, px), ReaderLimits{299, 1000})
                .status()
                .code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReadImage(Raw(10, 10, ChannelOrder::kRgb, px), ReaderLimits{1000, 99})
                .status()
                .code(),
            absl::StatusCode::kResourceExhausted);
  // Huge claimed size with few bytes: a limit error, no allocation.
  EXPECT_EQ(ReadImage(Raw(1 << 30, 1 << 30, ChannelOrder::kRgb, px), kLimits).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(ReadImage(Raw(10, 10, ChannelOrder::kRgb, px), ReaderLimits{300, 100}).ok());
}

}  // namespace
}  // namespace faceserve
