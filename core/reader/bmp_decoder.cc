#include "core/reader/bmp_decoder.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/reader/decode_limits.h"

namespace faceserve {
namespace {

// biCompression values.
constexpr uint32_t kBiRgb = 0;
constexpr uint32_t kBiRle8 = 1;
constexpr uint32_t kBiRle4 = 2;
constexpr uint32_t kBiBitfields = 3;

// The BI_BITFIELDS masks (red, green, blue) always start at file offset 54:
// right after a 40-byte BITMAPINFOHEADER, or inside a V2..V5 header.
constexpr size_t kMasksOffset = 54;

struct Colour {
  uint8_t r = 0, g = 0, b = 0;
};
// Entries past the ones the file gives stay black, as in OpenCV.
using Palette = std::array<Colour, 256>;

absl::Status Error(const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("could not decode BMP image: ", why));
}

// Little-endian reads at a moving position; a read past the end fails (and
// so does every later one).
class ByteReader {
 public:
  ByteReader(std::string_view bytes, size_t pos) : bytes_(bytes), pos_(pos) {}

  bool Take(size_t n, const uint8_t** out) {
    if (pos_ > bytes_.size() || n > bytes_.size() - pos_) return false;
    *out = reinterpret_cast<const uint8_t*>(bytes_.data()) + pos_;
    pos_ += n;
    return true;
  }
  bool U8(uint32_t* v) {
    const uint8_t* p;
    if (!Take(1, &p)) return false;
    *v = p[0];
    return true;
  }
  bool Le16(uint32_t* v) {
    const uint8_t* p;
    if (!Take(2, &p)) return false;
    *v = p[0] | (p[1] << 8);
    return true;
  }
  bool Le32(uint32_t* v) {
    const uint8_t* p;
    if (!Take(4, &p)) return false;
    *v = p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24);
    return true;
  }

 private:
  std::string_view bytes_;
  size_t pos_;
};

struct BmpLayout {
  int width = 0;
  int height = 0;
  bool bottom_up = true;
  // Bits per pixel; 15 for 16-bit 5-5-5, 16 for 16-bit 5-6-5.
  int bpp = 0;
  uint32_t compression = kBiRgb;
  size_t pixel_offset = 0;
  Palette palette;
};

absl::Status ReadPalette(std::string_view bytes, size_t pos, int entries, int entry_size,
                         Palette* palette) {
  ByteReader reader(bytes, pos);
  const uint8_t* p;
  if (!reader.Take(static_cast<size_t>(entries) * entry_size, &p)) {
    return Error("truncated palette");
  }
  for (int i = 0; i < entries; ++i, p += entry_size) (*palette)[i] = Colour{p[2], p[1], p[0]};
  return absl::OkStatus();
}

absl::Status ReadMasks(std::string_view bytes, uint32_t* red, uint32_t* green, uint32_t* blue) {
  ByteReader reader(bytes, kMasksOffset);
  if (!reader.Le32(red) || !reader.Le32(green) || !reader.Le32(blue)) {
    return Error("truncated BI_BITFIELDS masks");
  }
  return absl::OkStatus();
}

// The file header and the DIB header, with OpenCV's acceptance rules
// (BmpDecoder::readHeader).
absl::StatusOr<BmpLayout> ReadLayout(std::string_view bytes) {
  ByteReader reader(bytes, 0);
  const uint8_t* magic;
  uint32_t offset = 0, header_size = 0, unused = 0;
  if (!reader.Take(2, &magic) || magic[0] != 'B' || magic[1] != 'M') return Error("not a BMP");
  if (!reader.Le32(&unused) || !reader.Le32(&unused) || !reader.Le32(&offset) ||
      !reader.Le32(&header_size)) {
    return Error("truncated file header");
  }
  if (static_cast<int32_t>(offset) < 0) return Error("negative pixel data offset");
  BmpLayout layout;
  layout.pixel_offset = offset;
  int64_t width = 0, height = 0;
  uint32_t bpp = 0;
  const size_t palette_pos = size_t{14} + header_size;
  if (header_size == 12) {  // BITMAPCOREHEADER: 16-bit unsigned sizes, RGB triples
    uint32_t w = 0, h = 0, planes = 0;
    if (!reader.Le16(&w) || !reader.Le16(&h) || !reader.Le16(&planes) || !reader.Le16(&bpp)) {
      return Error("truncated header");
    }
    width = w, height = h;
    if (width <= 0 || height == 0) return Error(absl::StrCat("invalid size ", width, "x", height));
    if (bpp != 1 && bpp != 4 && bpp != 8 && bpp != 24 && bpp != 32) {
      return Error(absl::StrCat("unsupported ", bpp, " bits per pixel"));
    }
    if (bpp <= 8) {
      absl::Status s = ReadPalette(bytes, palette_pos, 1 << bpp, 3, &layout.palette);
      if (!s.ok()) return s;
    }
  } else if (header_size >= 36 && header_size <= std::numeric_limits<int32_t>::max()) {
    uint32_t w = 0, h = 0, planes = 0, clr_used = 0;
    if (!reader.Le32(&w) || !reader.Le32(&h) || !reader.Le16(&planes) || !reader.Le16(&bpp) ||
        !reader.Le32(&layout.compression) || !reader.Le32(&unused) || !reader.Le32(&unused) ||
        !reader.Le32(&unused) || !reader.Le32(&clr_used)) {
      return Error("truncated header");
    }
    width = static_cast<int32_t>(w);
    height = static_cast<int32_t>(h);
    if (width <= 0 || height == 0) return Error(absl::StrCat("invalid size ", width, "x", height));
    const uint32_t c = layout.compression;
    const bool supported =
        ((bpp == 1 || bpp == 4 || bpp == 8 || bpp == 24 || bpp == 32) && c == kBiRgb) ||
        ((bpp == 16 || bpp == 32) && c == kBiBitfields) || (bpp == 16 && c == kBiRgb) ||
        (bpp == 4 && c == kBiRle4) || (bpp == 8 && c == kBiRle8);
    if (!supported) {
      return Error(absl::StrCat("unsupported ", bpp, " bits per pixel with compression ", c));
    }
    if (bpp <= 8) {
      const int32_t used = static_cast<int32_t>(clr_used);
      if (used < 0 || used > 256) return Error(absl::StrCat("invalid palette size ", used));
      absl::Status s =
          ReadPalette(bytes, palette_pos, used == 0 ? 1 << bpp : used, 4, &layout.palette);
      if (!s.ok()) return s;
    } else if (c == kBiBitfields) {
      uint32_t red = 0, green = 0, blue = 0;
      absl::Status s = ReadMasks(bytes, &red, &green, &blue);
      if (!s.ok()) return s;
      if (bpp == 16 && red == 0x7C00 && green == 0x03E0 && blue == 0x001F) {
        bpp = 15;
      } else if (bpp == 16 && red == 0xF800 && green == 0x07E0 && blue == 0x001F) {
        // 5-6-5: stays 16
      } else if (bpp == 32 && red == 0xFF0000 && green == 0xFF00 && blue == 0xFF) {
        // B, G, R, X bytes: the same as BI_RGB
      } else {
        return Error(absl::StrCat("unsupported ", bpp, "-bit masks ", absl::Hex(red), ", ",
                                  absl::Hex(green), ", ", absl::Hex(blue)));
      }
    } else if (bpp == 16) {
      bpp = 15;  // BI_RGB 16-bit is 5-5-5
    }
  } else {
    return Error(absl::StrCat("unsupported header size ", header_size));
  }
  const int64_t rows = height < 0 ? -height : height;
  if (absl::Status s = CheckDecodeSize("BMP", width, rows); !s.ok()) return s;
  layout.width = static_cast<int>(width);
  layout.height = static_cast<int>(rows);
  layout.bottom_up = height > 0;
  layout.bpp = static_cast<int>(bpp);
  return layout;
}

// Writes pixels in file order: row `y` of the file is image row y (top-down)
// or height-1-y (bottom-up).
class PixelSink {
 public:
  PixelSink(cv::Mat* rgb, bool bottom_up) : rgb_(rgb), bottom_up_(bottom_up) {}
  uint8_t* Row(int64_t y) {
    return rgb_->ptr<uint8_t>(static_cast<int>(bottom_up_ ? rgb_->rows - 1 - y : y));
  }
  void Put(int64_t x, int64_t y, Colour c) {
    uint8_t* p = Row(y) + 3 * x;
    p[0] = c.r, p[1] = c.g, p[2] = c.b;
  }

 private:
  cv::Mat* rgb_;
  bool bottom_up_;
};

absl::StatusOr<cv::Mat> DecodeUncompressed(std::string_view bytes, const BmpLayout& layout) {
  const int64_t width = layout.width;
  const int bits = layout.bpp == 15 ? 16 : layout.bpp;
  // Rows are padded to 4 bytes; OpenCV reads the padding of the last row too.
  const int64_t pitch = ((width * bits + 7) / 8 + 3) & ~int64_t{3};
  if (layout.pixel_offset > bytes.size() ||
      (bytes.size() - layout.pixel_offset) / static_cast<uint64_t>(pitch) <
          static_cast<uint64_t>(layout.height)) {
    return Error(absl::StrCat("truncated pixel data (", layout.height, " rows of ", pitch,
                              " bytes from offset ", layout.pixel_offset, ", file is ",
                              bytes.size(), " bytes)"));
  }
  cv::Mat rgb(layout.height, layout.width, CV_8UC3);
  PixelSink sink(&rgb, layout.bottom_up);
  const Palette& palette = layout.palette;
  for (int64_t y = 0; y < layout.height; ++y) {
    const auto* src =
        reinterpret_cast<const uint8_t*>(bytes.data()) + layout.pixel_offset + y * pitch;
    uint8_t* out = sink.Row(y);
    for (int64_t x = 0; x < width; ++x, out += 3) {
      Colour c;
      switch (layout.bpp) {
        case 1: c = palette[(src[x >> 3] >> (7 - (x & 7))) & 1]; break;
        case 4: c = palette[(x & 1) ? src[x >> 1] & 15 : src[x >> 1] >> 4]; break;
        case 8: c = palette[src[x]]; break;
        case 15: {
          const uint32_t t = src[2 * x] | (src[2 * x + 1] << 8);
          c = Colour{static_cast<uint8_t>((t >> 7) & 0xF8), static_cast<uint8_t>((t >> 2) & 0xF8),
                     static_cast<uint8_t>((t << 3) & 0xF8)};
          break;
        }
        case 16: {
          const uint32_t t = src[2 * x] | (src[2 * x + 1] << 8);
          c = Colour{static_cast<uint8_t>((t >> 8) & 0xF8), static_cast<uint8_t>((t >> 3) & 0xFC),
                     static_cast<uint8_t>((t << 3) & 0xF8)};
          break;
        }
        case 24: c = Colour{src[3 * x + 2], src[3 * x + 1], src[3 * x]}; break;
        case 32: c = Colour{src[4 * x + 2], src[4 * x + 1], src[4 * x]}; break;
        default: return Error(absl::StrCat("unsupported ", layout.bpp, " bits per pixel"));
      }
      out[0] = c.r, out[1] = c.g, out[2] = c.b;
    }
  }
  return rgb;
}

// RLE4/RLE8 with OpenCV's reading of the stream (BmpDecoder::readData), quirks
// included, so that every file decodes to the same pixels: a run may not
// cross the end of a row; end-of-line, end-of-bitmap and delta escapes fill
// the pixels they skip with palette entry 0; in RLE8 a run that ends a row
// moves to the next one, and an end-of-line right after it is then ignored;
// in RLE4 a delta only moves along the row (wrapping) and end-of-bitmap ends
// only the current row. The bitmap must be complete: the stream may not end
// before the last row.
class RleDecoder {
 public:
  RleDecoder(std::string_view bytes, const BmpLayout& layout, cv::Mat* rgb)
      : reader_(bytes, layout.pixel_offset),
        palette_(layout.palette),
        sink_(rgb, layout.bottom_up),
        width_(layout.width),
        height_(layout.height) {}

  absl::Status DecodeRle8() {
    bool run_ended_row = false;
    while (true) {
      uint32_t count = 0, value = 0;
      if (!reader_.U8(&count) || !reader_.U8(&value)) return Truncated();
      if (count != 0) {  // a run of `count` pixels of colour `value`
        if (x_ + count > width_) return RunPastRowEnd();
        const int64_t row = y_;
        Fill(count, palette_[value]);
        run_ended_row = y_ != row;
        if (y_ >= height_) return absl::OkStatus();
      } else if (value > 2) {  // `value` literal pixels, padded to 2 bytes
        const uint8_t* src;
        if (x_ + value > width_) return RunPastRowEnd();
        if (!reader_.Take((value + 1) & ~1u, &src)) return Truncated();
        for (uint32_t i = 0; i < value; ++i) sink_.Put(x_ + i, y_, palette_[src[i]]);
        x_ += value;
        run_ended_row = false;
      } else {  // 0: end of line, 1: end of bitmap, 2: delta (dx, dy)
        int64_t skip = width_ - x_;
        int64_t rows = height_ - y_;
        if (value != 0 || !run_ended_row || x_ > 0) {
          if (value == 2) {
            uint32_t dx = 0, dy = 0;
            if (!reader_.U8(&dx) || !reader_.U8(&dy)) return Truncated();
            skip = dx, rows = dy;
          }
          if (value != 0) skip += rows * width_;
          Fill(skip, palette_[0]);
        }
        run_ended_row = false;
        if (y_ >= height_) return absl::OkStatus();
      }
    }
  }

  absl::Status DecodeRle4() {
    while (true) {
      uint32_t count = 0, value = 0;
      if (!reader_.U8(&count) || !reader_.U8(&value)) return Truncated();
      if (count != 0) {  // `count` pixels alternating the two nibbles of `value`
        if (x_ + count > width_) return RunPastRowEnd();
        const Colour pair[2] = {palette_[value >> 4], palette_[value & 15]};
        for (uint32_t i = 0; i < count; ++i) sink_.Put(x_ + i, y_, pair[i & 1]);
        x_ += count;
      } else if (value > 2) {  // `value` literal nibbles, padded to 2 bytes
        const uint8_t* src;
        if (x_ + value > width_) return RunPastRowEnd();
        if (!reader_.Take((((value + 1) >> 1) + 1) & ~1u, &src)) return Truncated();
        for (uint32_t i = 0; i < value; ++i) {
          const uint8_t pair = src[i >> 1];
          sink_.Put(x_ + i, y_, palette_[(i & 1) ? pair & 15 : pair >> 4]);
        }
        x_ += value;
      } else {  // 0: end of line, 1: end of bitmap (of this row), 2: delta
        int64_t skip = width_ - x_;
        if (value == 2) {
          uint32_t dx = 0, dy = 0;
          if (!reader_.U8(&dx) || !reader_.U8(&dy)) return Truncated();
          skip = dx;  // dy is ignored, as in OpenCV
        }
        Fill(skip, palette_[0]);
        if (y_ >= height_) return absl::OkStatus();
      }
    }
  }

 private:
  // OpenCV's FillUniColor: `count` pixels of `c` from the cursor, wrapping to
  // the next row; reaching the end of a row moves the cursor to the next one.
  void Fill(int64_t count, Colour c) {
    do {
      const int64_t end = std::min(x_ + count, width_);
      count -= end - x_;
      for (; x_ < end; ++x_) sink_.Put(x_, y_, c);
      if (x_ >= width_) {
        x_ = 0;
        if (++y_ >= height_) break;
      }
    } while (count > 0);
  }

  absl::Status Truncated() const {
    return Error(absl::StrCat("RLE data ends at row ", y_, " of ", height_));
  }
  absl::Status RunPastRowEnd() const {
    return Error(absl::StrCat("RLE run crosses the end of row ", y_));
  }

  ByteReader reader_;
  const Palette& palette_;
  PixelSink sink_;
  const int64_t width_, height_;
  int64_t x_ = 0, y_ = 0;  // cursor, in file order
};

}  // namespace

absl::StatusOr<cv::Mat> DecodeBmpToRgb(std::string_view bytes) {
  absl::StatusOr<BmpLayout> layout = ReadLayout(bytes);
  if (!layout.ok()) return layout.status();
  if (layout->compression == kBiRle4 || layout->compression == kBiRle8) {
    // Zeroed: a failed decode never exposes uninitialised memory, even to us.
    cv::Mat rgb = cv::Mat::zeros(layout->height, layout->width, CV_8UC3);
    RleDecoder decoder(bytes, *layout, &rgb);
    absl::Status s =
        layout->compression == kBiRle8 ? decoder.DecodeRle8() : decoder.DecodeRle4();
    if (!s.ok()) return s;
    return rgb;
  }
  return DecodeUncompressed(bytes, *layout);
}

}  // namespace faceserve
