#include "client/pairs_csv.h"

#include <gtest/gtest.h>

#include "client/image_files.h"

namespace faceserve::client {
namespace {

TEST(PairsCsvTest, ReadsColumnsByHeaderNameIgnoringExtras) {
  auto pairs = ParsePairsCsv(
      "source,same,img_b,img_a\r\n"
      "x,1,b/1.jpg,a/1.jpg\r\n"
      "\n"
      "y,false,\"b/with,comma.jpg\",a/2.jpg\n"
      "z,YES,\"b/\"\"q\"\".jpg\",a/3.jpg");
  ASSERT_TRUE(pairs.ok()) << pairs.status();
  ASSERT_EQ(pairs->size(), 3u);
  EXPECT_EQ((*pairs)[0].img_a, "a/1.jpg");
  EXPECT_EQ((*pairs)[0].img_b, "b/1.jpg");
  EXPECT_TRUE((*pairs)[0].same);
  EXPECT_EQ((*pairs)[1].img_b, "b/with,comma.jpg");
  EXPECT_FALSE((*pairs)[1].same);
  EXPECT_EQ((*pairs)[2].img_b, "b/\"q\".jpg");
  EXPECT_TRUE((*pairs)[2].same);
}

TEST(PairsCsvTest, ErrorsNameTheProblem) {
  EXPECT_FALSE(ParsePairsCsv("a,b,same\nx,y,1\n").ok());              // no img_a column
  auto bad_same = ParsePairsCsv("img_a,img_b,same\nx,y,maybe\n");
  EXPECT_FALSE(bad_same.ok());
  EXPECT_NE(bad_same.status().message().find("line 2"), std::string::npos);
  EXPECT_FALSE(ParsePairsCsv("img_a,img_b,same\nx,y\n").ok());        // short row
  EXPECT_FALSE(ParsePairsCsv("img_a,img_b,same\n\"x,y,1\n").ok());    // unclosed quote
  auto empty = ParsePairsCsv("img_a,img_b,same\n");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(ImageFilesTest, IndexedPathInsertsBeforeTheExtension) {
  EXPECT_EQ(IndexedPath("out.jpg", 3), "out_3.jpg");
  EXPECT_EQ(IndexedPath("dir/out", 0), "dir/out_0");
  EXPECT_EQ(IndexedPath("a.b/out", 1), "a.b/out_1");
  EXPECT_EQ(IndexedPath("dir/.hidden", 2), "dir/.hidden_2");
  EXPECT_EQ(FileStem("a/b/img.01.jpg"), "img.01");
  EXPECT_EQ(JoinPath("d/", "f"), "d/f");
  EXPECT_EQ(JoinPath("d", "f"), "d/f");
  EXPECT_EQ(JoinPath("", "f"), "f");
}

TEST(ImageFilesTest, ReadMissingFileIsNotFound) {
  EXPECT_EQ(ReadFileBytes("/nonexistent/file").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ReadFileBytes("/").status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace faceserve::client
