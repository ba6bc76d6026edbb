#include "server/status_mapping.h"

#include "gtest/gtest.h"

namespace faceserve {
namespace {

TEST(StatusMappingTest, OkMapsToOk) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST(StatusMappingTest, EveryCanonicalCodeMapsOneToOneAndKeepsTheMessage) {
  for (int code = 1; code <= 16; ++code) {
    const absl::Status status(static_cast<absl::StatusCode>(code), "message for the client");
    const grpc::Status mapped = ToGrpcStatus(status);
    EXPECT_EQ(static_cast<int>(mapped.error_code()), code);
    EXPECT_EQ(mapped.error_message(), "message for the client");
    EXPECT_EQ(FromGrpcStatus(mapped), status);
  }
}

TEST(StatusMappingTest, NamedCodesMatch) {
  EXPECT_EQ(ToGrpcStatus(absl::InvalidArgumentError("x")).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ToGrpcStatus(absl::ResourceExhaustedError("x")).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ToGrpcStatus(absl::UnavailableError("x")).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ToGrpcStatus(absl::DeadlineExceededError("x")).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(ToGrpcStatus(absl::FailedPreconditionError("x")).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST(StatusMappingTest, NonCanonicalCodeBecomesUnknown) {
  const absl::Status odd(static_cast<absl::StatusCode>(42), "odd");
  const grpc::Status mapped = ToGrpcStatus(odd);
  EXPECT_EQ(mapped.error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(mapped.error_message(), "odd");
}

TEST(StatusMappingTest, LongMessageIsCutToTheBound) {
  const std::string long_message(100000, 'x');
  const grpc::Status mapped = ToGrpcStatus(absl::InvalidArgumentError(long_message));
  EXPECT_EQ(mapped.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_EQ(mapped.error_message().size(), kMaxStatusMessageBytes);
  EXPECT_EQ(mapped.error_message().substr(kMaxStatusMessageBytes - 3), "...");
  EXPECT_EQ(ToGrpcStatus(absl::InvalidArgumentError(std::string(kMaxStatusMessageBytes, 'y')))
                .error_message(),
            std::string(kMaxStatusMessageBytes, 'y'));
}

TEST(StatusMappingTest, CutDoesNotSplitAUtf8Sequence) {
  // "é" is two bytes; place one across the cut.
  std::string message(kMaxStatusMessageBytes - 4, 'a');
  message += "\xc3\xa9\xc3\xa9 and more text";
  const std::string bounded = BoundedMessage(message);
  EXPECT_LE(bounded.size(), kMaxStatusMessageBytes);
  EXPECT_EQ(bounded, std::string(kMaxStatusMessageBytes - 4, 'a') + "...");
}

}  // namespace
}  // namespace faceserve
