// A FaceServer on loopback (port 0) in front of a FakePipeline, with a
// metrics endpoint on a free port and a client stub, plus generic-call
// helpers for the health and reflection services (their generated code is
// not installed, so requests are encoded by hand).
#ifndef FACESERVE_TESTS_SERVER_TEST_HARNESS_H_
#define FACESERVE_TESTS_SERVER_TEST_HARNESS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <google/protobuf/unknown_field_set.h>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/config/config.h"
#include "faceserve/v1/face_service.grpc.pb.h"
#include "gtest/gtest.h"
#include "server/face_server.h"
#include "server/metrics.h"
#include "tests/testing/fake_pipeline.h"

namespace faceserve {
namespace testing {

inline Config TestConfig() {
  Config config;
  config.server.listen = "127.0.0.1:0";
  config.metrics.listen = "";  // the probes are tested apart (probe_server_test)
  return config;
}

struct Harness {
  explicit Harness(Config c = TestConfig()) : config(std::move(c)) {
    metrics = Metrics::Create();
    auto s = FaceServer::Start(config, &pipeline, metrics.get());
    EXPECT_TRUE(s.ok()) << s.status();
    server = *std::move(s);
    channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server->port()),
                                  grpc::InsecureChannelCredentials());
    stub = v1::FaceService::NewStub(channel);
  }

  Config config;
  FakePipeline pipeline;           // outlives the server
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<FaceServer> server;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::FaceService::Stub> stub;
};

// Polls `condition` until it holds or `timeout` passes; returns it.
inline bool WaitUntil(const std::function<bool()>& condition,
                      absl::Duration timeout = absl::Seconds(5)) {
  const absl::Time limit = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() > limit) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

inline std::unique_ptr<grpc::ClientContext> ContextWithTimeout(
    absl::Duration timeout = absl::Seconds(10)) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return ctx;
}

inline v1::Image EncodedImage(const std::string& bytes = "\xff\xd8\xff fake jpeg") {
  v1::Image image;
  image.set_encoded(bytes);
  return image;
}

// An RPC started with the client's callback API, to have several in flight.
template <typename Response>
struct AsyncCall {
  std::unique_ptr<grpc::ClientContext> ctx = ContextWithTimeout();
  Response response;
  grpc::Status status;
  absl::Notification done;
  std::function<void(grpc::Status)> Callback() {
    return [this](grpc::Status s) {
      status = std::move(s);
      done.Notify();
    };
  }
  bool Wait(absl::Duration timeout = absl::Seconds(10)) {
    return done.WaitForNotificationWithTimeout(timeout);
  }
};

inline std::string ToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const grpc::Slice& s : slices) {
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return out;
}

inline grpc::ByteBuffer ToByteBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// grpc.health.v1.Health/Check. Returns the HealthCheckResponse.ServingStatus
// (1 SERVING, 2 NOT_SERVING), or -1 with `status` set on an RPC error.
inline int HealthCheck(const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
                       grpc::Status* status = nullptr) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  // HealthCheckRequest { string service = 1; }
  std::string request;
  if (!service.empty()) {
    request.push_back('\x0a');
    request.push_back(static_cast<char>(service.size()));
    request += service;
  }
  grpc::ByteBuffer req = ToByteBuffer(request), resp;
  grpc::Status result;
  absl::Notification done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &req, &resp,
                 [&](grpc::Status s) {
                   result = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (status != nullptr) *status = result;
  if (!result.ok()) return -1;
  // HealthCheckResponse { ServingStatus status = 1; }
  google::protobuf::UnknownFieldSet fields;
  if (!fields.ParseFromString(ToString(resp))) return -1;
  for (int i = 0; i < fields.field_count(); ++i) {
    if (fields.field(i).number() == 1) return static_cast<int>(fields.field(i).varint());
  }
  return 0;  // UNKNOWN (the default value is not on the wire)
}

constexpr int kServing = 1;
constexpr int kNotServing = 2;

// grpc.reflection.v1alpha.ServerReflection: the names of every service.
inline std::vector<std::string> ReflectionListServices(
    const std::shared_ptr<grpc::Channel>& channel) {
  std::vector<std::string> names;
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  grpc::CompletionQueue cq;
  auto call = stub.PrepareCall(
      &ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  auto step = [&cq](intptr_t tag) {
    void* got = nullptr;
    bool ok = false;
    return cq.Next(&got, &ok) && got == reinterpret_cast<void*>(tag) && ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  if (!step(1)) return names;
  // ServerReflectionRequest { string list_services = 7; }
  call->Write(ToByteBuffer(std::string("\x3a\x01*", 3)), reinterpret_cast<void*>(2));
  if (!step(2)) return names;
  call->WritesDone(reinterpret_cast<void*>(3));
  if (!step(3)) return names;
  grpc::ByteBuffer resp;
  call->Read(&resp, reinterpret_cast<void*>(4));
  const bool read = step(4);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  step(5);
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
  if (!read) return names;
  // ServerReflectionResponse { ListServiceResponse list_services_response = 6; }
  // ListServiceResponse { repeated ServiceResponse service = 1; }
  // ServiceResponse { string name = 1; }
  google::protobuf::UnknownFieldSet response;
  if (!response.ParseFromString(ToString(resp))) return names;
  for (int i = 0; i < response.field_count(); ++i) {
    if (response.field(i).number() != 6) continue;
    google::protobuf::UnknownFieldSet list;
    list.ParseFromString(response.field(i).length_delimited());
    for (int j = 0; j < list.field_count(); ++j) {
      if (list.field(j).number() != 1) continue;
      google::protobuf::UnknownFieldSet service;
      service.ParseFromString(list.field(j).length_delimited());
      for (int k = 0; k < service.field_count(); ++k) {
        if (service.field(k).number() == 1) names.push_back(service.field(k).length_delimited());
      }
    }
  }
  return names;
}

}  // namespace testing
}  // namespace faceserve

#endif  // FACESERVE_TESTS_SERVER_TEST_HARNESS_H_
