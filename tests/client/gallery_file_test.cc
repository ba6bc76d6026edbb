// The gallery export file: a round trip keeps every float bit for bit, and
// what is not the format is refused with the line named.
#include "client/gallery_file.h"

#include <gtest/gtest.h>

#include <cmath>

namespace faceserve::client {
namespace {

TEST(GalleryFileTest, RoundTripsExactly) {
  GalleryFileHeader h{"staff", "face_recognition@faceapi-1.7.15", 3, 0.91f, 1, 2};
  absl::StatusOr<GalleryFileHeader> back = ParseGalleryHeader(GalleryHeaderLine(h));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->gallery, "staff");
  EXPECT_EQ(back->descriptor_model, h.descriptor_model);
  EXPECT_EQ(back->dimension, 3);
  EXPECT_FLOAT_EQ(back->threshold, 0.91f);

  GalleryFileSubject s{"ada", {{"team", "née \"red\""}},
                       {{0.1f, -0.2f, std::nextafter(0.3f, 1.0f)}, {1, 0, 0}}};
  absl::StatusOr<GalleryFileSubject> got = ParseGallerySubject(GallerySubjectLine(s), 3, 2);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->subject, "ada");
  EXPECT_EQ(got->metadata, s.metadata);
  EXPECT_EQ(got->faces, s.faces);  // bit-exact
}

TEST(GalleryFileTest, RefusesOtherFormatsWithTheLine) {
  EXPECT_FALSE(ParseGalleryHeader("{\"format\":\"x\"}").ok());
  EXPECT_FALSE(ParseGalleryHeader("{\"format\":\"faceserve-gallery\",\"version\":2}").ok());
  const GalleryFileSubject s{"a", {}, {{1, 2}}};
  const absl::Status wrong_length = ParseGallerySubject(GallerySubjectLine(s), 3, 7).status();
  EXPECT_EQ(wrong_length.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(wrong_length.message().find("line 7"), absl::string_view::npos);
  EXPECT_FALSE(ParseGallerySubject("{\"subject\":\"a\",\"faces\":[\"!!\"]}", 3, 2).ok());
}

}  // namespace
}  // namespace faceserve::client
