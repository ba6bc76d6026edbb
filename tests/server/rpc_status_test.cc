// proto/rpc_status.h: codes, bounded messages, and the google.rpc.ErrorInfo
// every failure carries, both ways.
#include "proto/rpc_status.h"

#include "core/error_reason.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

#include <set>
#include <string>

namespace faceserve {
namespace {

TEST(RpcStatusTest, OkMapsToOk) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST(RpcStatusTest, EveryCanonicalCodeMapsOneToOneAndKeepsTheMessage) {
  for (int code = 1; code <= 16; ++code) {
    const absl::Status status(static_cast<absl::StatusCode>(code), "message for the client");
    const grpc::Status mapped = ToGrpcStatus(status);
    EXPECT_EQ(static_cast<int>(mapped.error_code()), code);
    EXPECT_EQ(mapped.error_message(), "message for the client");
    const absl::Status back = FromGrpcStatus(mapped);
    EXPECT_EQ(back.code(), status.code());
    EXPECT_EQ(back.message(), status.message());
  }
}

TEST(RpcStatusTest, NamedCodesMatch) {
  EXPECT_EQ(ToGrpcStatus(absl::InvalidArgumentError("x")).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ToGrpcStatus(absl::ResourceExhaustedError("x")).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ToGrpcStatus(absl::UnavailableError("x")).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ToGrpcStatus(absl::DeadlineExceededError("x")).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(ToGrpcStatus(absl::FailedPreconditionError("x")).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST(RpcStatusTest, NonCanonicalCodeBecomesUnknown) {
  const absl::Status odd(static_cast<absl::StatusCode>(42), "odd");
  const grpc::Status mapped = ToGrpcStatus(odd);
  EXPECT_EQ(mapped.error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(mapped.error_message(), "odd");
}

TEST(RpcStatusTest, LongMessageIsCutToTheBound) {
  const std::string long_message(100000, 'x');
  const grpc::Status mapped = ToGrpcStatus(absl::InvalidArgumentError(long_message));
  EXPECT_EQ(mapped.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_EQ(mapped.error_message().size(), kMaxStatusMessageBytes);
  EXPECT_EQ(mapped.error_message().substr(kMaxStatusMessageBytes - 3), "...");
  EXPECT_EQ(ToGrpcStatus(absl::InvalidArgumentError(std::string(kMaxStatusMessageBytes, 'y')))
                .error_message(),
            std::string(kMaxStatusMessageBytes, 'y'));
}

TEST(RpcStatusTest, CutDoesNotSplitAUtf8Sequence) {
  // "é" is two bytes; place one across the cut.
  std::string message(kMaxStatusMessageBytes - 4, 'a');
  message += "\xc3\xa9\xc3\xa9 and more text";
  const std::string bounded = BoundedMessage(message);
  EXPECT_LE(bounded.size(), kMaxStatusMessageBytes);
  EXPECT_EQ(bounded, std::string(kMaxStatusMessageBytes - 4, 'a') + "...");
}

// The wire form a client of any language reads: google.rpc.Status in the
// details, with one ErrorInfo of domain "faceserve".
google::rpc::ErrorInfo ErrorInfoOf(const grpc::Status& status) {
  google::rpc::Status details;
  EXPECT_TRUE(details.ParseFromString(status.error_details()));
  EXPECT_EQ(details.code(), static_cast<int>(status.error_code()));
  EXPECT_EQ(details.message(), status.error_message());
  google::rpc::ErrorInfo info;
  EXPECT_EQ(details.details_size(), 1);
  if (details.details_size() != 1) return info;
  EXPECT_EQ(details.details(0).type_url(), "type.googleapis.com/google.rpc.ErrorInfo");
  EXPECT_TRUE(info.ParseFromString(details.details(0).value()));
  return info;
}

TEST(RpcStatusTest, TheReasonAndItsMetadataTravelAsErrorInfo) {
  const absl::Status status =
      WithReason(absl::InvalidArgumentError("image.raw.width: must be positive"),
                 ErrorReason::kInvalidField, {{"field", "image.raw.width"}});
  const grpc::Status wire = ToGrpcStatus(status);
  const google::rpc::ErrorInfo info = ErrorInfoOf(wire);
  EXPECT_EQ(info.reason(), "INVALID_FIELD");
  EXPECT_EQ(info.domain(), "faceserve");
  EXPECT_EQ(info.metadata().at("field"), "image.raw.width");

  const absl::Status back = FromGrpcStatus(wire);
  EXPECT_EQ(back.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(back), ErrorReason::kInvalidField);
  EXPECT_EQ(MetadataOf(back).at("field"), "image.raw.width");
}

TEST(RpcStatusTest, AFailureWithoutAReasonGetsTheDefaultForItsCode) {
  EXPECT_EQ(ErrorInfoOf(ToGrpcStatus(absl::DeadlineExceededError("late"))).reason(),
            "DEADLINE_EXCEEDED");
  EXPECT_EQ(ErrorInfoOf(ToGrpcStatus(absl::CancelledError("gone"))).reason(), "CANCELLED");
  EXPECT_EQ(ErrorInfoOf(ToGrpcStatus(absl::InternalError("bug"))).reason(), "INTERNAL");
}

TEST(RpcStatusTest, AReasonThisBuildDoesNotKnowIsKeptByName) {
  google::rpc::ErrorInfo info;
  info.set_reason("SOMETHING_NEWER");
  info.set_domain("faceserve");
  google::rpc::Status details;
  details.set_code(grpc::StatusCode::FAILED_PRECONDITION);
  details.set_message("m");
  details.add_details()->PackFrom(info);
  const absl::Status back = FromGrpcStatus(
      grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "m", details.SerializeAsString()));
  EXPECT_EQ(ReasonNameOf(back), "SOMETHING_NEWER");
  EXPECT_EQ(ReasonOf(back), ErrorReason::kInternal);
}

TEST(RpcStatusTest, AStatusFromAnotherServerWithoutDetailsHasNoReason) {
  const absl::Status back = FromGrpcStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"));
  EXPECT_EQ(back.code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(HasReason(back));
}

TEST(RpcStatusTest, EveryReasonHasADistinctNameThatMapsBack) {
  std::set<std::string> names;
  for (int r = 0; r <= static_cast<int>(ErrorReason::kInternal); ++r) {
    const auto reason = static_cast<ErrorReason>(r);
    const std::string name(ReasonName(reason));
    EXPECT_TRUE(names.insert(name).second) << name;
    EXPECT_EQ(ReasonFromName(name), reason) << name;
  }
}

}  // namespace
}  // namespace faceserve
