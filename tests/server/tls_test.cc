// TLS and mutual TLS from configuration (server.tls.*), over real gRPC on
// loopback, with certificates generated at test time by the openssl CLI
// (tests/testing/test_certificates.h): the right client is answered, every
// wrong one is refused before the pipeline sees a call. facectl's --tls-*
// flags are checked against the same server.
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/credentials.h>

#include "client/facectl.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/face_server.h"
#include "tests/server/test_harness.h"
#include "tests/testing/test_certificates.h"

namespace faceserve {
namespace {

using ::testing::HasSubstr;
using testing::ContextWithTimeout;
using testing::EncodedImage;
using testing::TestCertificates;

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { certs_ = new TestCertificates(); }
  static void TearDownTestSuite() { delete certs_; }

  void SetUp() override { ASSERT_TRUE(certs_->ok()) << certs_->error(); }

  // A server on 127.0.0.1 with TLS; mutual TLS when `client_ca` is set.
  void StartServer(const std::string& client_ca = "") {
    Config config = testing::TestConfig();
    config.server.tls.cert_file = certs_->path("server.pem");
    config.server.tls.key_file = certs_->path("server.key");
    if (!client_ca.empty()) config.server.tls.client_ca_file = certs_->path(client_ca);
    auto server = FaceServer::Start(config, &pipeline_, nullptr);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    server_->SetServing(true);
  }
  std::string Address() const { return absl::StrCat("127.0.0.1:", server_->port()); }

  // A client trusting `ca` (PEM file name; "" trusts nothing of ours: the
  // system's roots), presenting `cert` + its key when set.
  std::shared_ptr<grpc::ChannelCredentials> Tls(const std::string& ca,
                                                const std::string& client = "") {
    grpc::SslCredentialsOptions options;
    if (!ca.empty()) options.pem_root_certs = certs_->Read(ca + ".pem");
    if (!client.empty()) {
      options.pem_cert_chain = certs_->Read(client + ".pem");
      options.pem_private_key = certs_->Read(client + ".key");
    }
    return grpc::SslCredentials(options);
  }

  // One Analyze over a fresh channel with `credentials`.
  grpc::Status Analyze(const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
    // Fresh subchannels: no connection (or failure) is shared between cases.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto stub = v1::FaceService::NewStub(grpc::CreateCustomChannel(Address(), credentials, args));
    v1::AnalyzeRequest request;
    *request.mutable_image() = EncodedImage();
    v1::AnalyzeResponse response;
    grpc::Status status =
        stub->Analyze(ContextWithTimeout(absl::Seconds(10)).get(), request, &response);
    if (status.ok()) {
      EXPECT_EQ(response.faces_size(), 2);  // the canned answer, in full
    }
    return status;
  }

  int Facectl(const std::vector<std::string>& args, std::string* out_text = nullptr,
              std::string* err_text = nullptr) {
    std::ostringstream out, err;
    std::vector<std::string> full = {"--server", Address(), "--timeout-ms", "10000"};
    full.insert(full.end(), args.begin(), args.end());
    const int code = client::RunFacectl(full, out, err);
    if (out_text != nullptr) *out_text = out.str();
    if (err_text != nullptr) *err_text = err.str();
    return code;
  }

  static TestCertificates* certs_;
  testing::FakePipeline pipeline_;  // outlives the server
  std::unique_ptr<FaceServer> server_;
};

TestCertificates* TlsTest::certs_ = nullptr;

TEST_F(TlsTest, ClientTrustingTheServersCaIsAnswered) {
  StartServer();
  const grpc::Status status = Analyze(Tls("ca_a"));
  EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_EQ(pipeline_.num_calls(), 1);
}

TEST_F(TlsTest, HealthIsServedOverTlsToo) {
  StartServer();
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  EXPECT_EQ(testing::HealthCheck(grpc::CreateCustomChannel(Address(), Tls("ca_a"), args), ""),
            testing::kServing);
}

TEST_F(TlsTest, PlaintextClientIsRefused) {
  StartServer();
  const grpc::Status status = Analyze(grpc::InsecureChannelCredentials());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(pipeline_.num_calls(), 0);
}

TEST_F(TlsTest, ClientTrustingAnotherCaRefusesTheServer) {
  StartServer();
  const grpc::Status status = Analyze(Tls("ca_b"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(pipeline_.num_calls(), 0);
}

TEST_F(TlsTest, WithoutClientCaAClientCertificateIsNotNeeded) {
  StartServer();
  EXPECT_TRUE(Analyze(Tls("ca_a")).ok());
  EXPECT_TRUE(Analyze(Tls("ca_a", "client_b")).ok());  // not asked for, not checked
}

TEST_F(TlsTest, MutualTlsAnswersAClientWithACertificateFromTheClientCa) {
  StartServer("ca_a.pem");
  const grpc::Status status = Analyze(Tls("ca_a", "client_a"));
  EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_EQ(pipeline_.num_calls(), 1);
}

TEST_F(TlsTest, MutualTlsRefusesAClientWithoutACertificate) {
  StartServer("ca_a.pem");
  const grpc::Status status = Analyze(Tls("ca_a"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(pipeline_.num_calls(), 0);
}

TEST_F(TlsTest, MutualTlsRefusesAClientCertificateFromAnotherCa) {
  StartServer("ca_a.pem");
  const grpc::Status status = Analyze(Tls("ca_a", "client_b"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(pipeline_.num_calls(), 0);
}

TEST_F(TlsTest, MutualTlsRefusesAPlaintextClient) {
  StartServer("ca_a.pem");
  EXPECT_EQ(Analyze(grpc::InsecureChannelCredentials()).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(pipeline_.num_calls(), 0);
}

TEST_F(TlsTest, MutualTlsWithTheOtherCaAcceptsOnlyItsClients) {
  StartServer("ca_b.pem");
  EXPECT_TRUE(Analyze(Tls("ca_a", "client_b")).ok());
  EXPECT_EQ(Analyze(Tls("ca_a", "client_a")).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(pipeline_.num_calls(), 1);
}

// --- Start-up errors ---------------------------------------------------------

TEST_F(TlsTest, MissingCertificateFileFailsStartNamingTheKey) {
  Config config = testing::TestConfig();
  config.server.tls.cert_file = certs_->path("no_such.pem");
  config.server.tls.key_file = certs_->path("server.key");
  auto server = FaceServer::Start(config, &pipeline_, nullptr);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(server.status().message()), HasSubstr("server.tls.cert_file"));
  EXPECT_THAT(std::string(server.status().message()), HasSubstr("no_such.pem"));
}

TEST_F(TlsTest, MissingClientCaFileFailsStartNamingTheKey) {
  Config config = testing::TestConfig();
  config.server.tls.cert_file = certs_->path("server.pem");
  config.server.tls.key_file = certs_->path("server.key");
  config.server.tls.client_ca_file = certs_->path("no_such_ca.pem");
  auto server = FaceServer::Start(config, &pipeline_, nullptr);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(server.status().message()), HasSubstr("server.tls.client_ca_file"));
}

TEST_F(TlsTest, FileThatIsNotPemFailsStart) {
  Config config = testing::TestConfig();
  config.server.tls.cert_file = certs_->path("server.ext");  // text, not PEM
  config.server.tls.key_file = certs_->path("server.key");
  auto server = FaceServer::Start(config, &pipeline_, nullptr);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(server.status().message()), HasSubstr("not a PEM file"));
}

TEST_F(TlsTest, KeyOfAnotherCertificateFailsStart) {
  Config config = testing::TestConfig();
  config.server.tls.cert_file = certs_->path("server.pem");
  config.server.tls.key_file = certs_->path("client_a.key");
  auto server = FaceServer::Start(config, &pipeline_, nullptr);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(server.status().message()), HasSubstr("server.tls"));
}

TEST_F(TlsTest, CertificateWithoutKeyIsRejected) {
  TlsConfig tls;
  tls.cert_file = certs_->path("server.pem");
  EXPECT_EQ(MakeServerCredentials(tls).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(MakeServerCredentials(TlsConfig{}).ok());  // nothing set: plaintext
}

// --- facectl ---------------------------------------------------------------------

TEST_F(TlsTest, FacectlWithTheCaFlagTalksTls) {
  StartServer();
  std::string out, err;
  EXPECT_EQ(Facectl({"--tls-ca", certs_->path("ca_a.pem"), "health"}, &out, &err), 0) << err;
  EXPECT_EQ(out, "SERVING\n");
  // Without --tls-ca facectl speaks plaintext, which this server refuses.
  EXPECT_EQ(Facectl({"health"}, &out, &err), 1);
  EXPECT_THAT(err, HasSubstr("UNAVAILABLE"));
  // Trusting another CA: refused too (flags may also follow the subcommand).
  EXPECT_EQ(Facectl({"health", "--tls-ca", certs_->path("ca_b.pem")}, &out, &err), 1);
  EXPECT_THAT(err, HasSubstr("UNAVAILABLE"));
}

TEST_F(TlsTest, FacectlPresentsItsClientCertificateForMutualTls) {
  StartServer("ca_a.pem");
  std::string out, err;
  EXPECT_EQ(Facectl({"--tls-ca", certs_->path("ca_a.pem"), "--tls-cert",
                     certs_->path("client_a.pem"), "--tls-key", certs_->path("client_a.key"),
                     "health"},
                    &out, &err),
            0)
      << err;
  EXPECT_EQ(out, "SERVING\n");
  EXPECT_EQ(Facectl({"--tls-ca", certs_->path("ca_a.pem"), "health"}, &out, &err), 1);
  EXPECT_EQ(Facectl({"--tls-ca", certs_->path("ca_a.pem"), "--tls-cert",
                     certs_->path("client_b.pem"), "--tls-key", certs_->path("client_b.key"),
                     "health"},
                    &out, &err),
            1);
}

TEST_F(TlsTest, FacectlTlsFlagErrors) {
  StartServer();
  std::string out, err;
  EXPECT_EQ(Facectl({"--tls-cert", certs_->path("client_a.pem"), "health"}, &out, &err), 2);
  EXPECT_THAT(err, HasSubstr("--tls-cert and --tls-key go together"));
  EXPECT_EQ(Facectl({"--tls-ca", certs_->path("missing.pem"), "health"}, &out, &err), 1);
  EXPECT_THAT(err, HasSubstr("--tls-ca: cannot read"));
}

}  // namespace
}  // namespace faceserve
