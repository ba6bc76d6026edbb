// TestCertificates: a throw-away PKI made at test time with the `openssl`
// command-line tool, in a fresh temporary directory (removed by the
// destructor). Two independent CAs; CA "a" signs a server certificate for
// localhost / 127.0.0.1 / ::1 and a client certificate; CA "b" signs a
// client certificate of its own (a client the server must not trust).
// P-256 keys, valid for two days.
//
// Files (PEM): ca_a.pem, server.pem + server.key, client_a.pem +
// client_a.key, ca_b.pem, client_b.pem + client_b.key. path("x") is the path
// of file x; Read("x") its contents.
//
// Not thread-safe; create it in a test or SetUpTestSuite. ok() is false (and
// error() says why) when openssl is missing or failed.
#ifndef FACESERVE_TESTS_TESTING_TEST_CERTIFICATES_H_
#define FACESERVE_TESTS_TESTING_TEST_CERTIFICATES_H_

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"

namespace faceserve {
namespace testing {

class TestCertificates {
 public:
  TestCertificates() {
    static std::atomic<int> counter{0};
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("faceserve_certs_", ::getpid(), "_", counter++);
    std::filesystem::create_directories(dir_);
    Make();
  }
  ~TestCertificates() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  TestCertificates(const TestCertificates&) = delete;
  TestCertificates& operator=(const TestCertificates&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string Read(const std::string& name) const {
    std::ifstream in(path(name), std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  // Runs one openssl command in dir_; records the first failure.
  void Openssl(const std::string& args) {
    if (!error_.empty()) return;
    const std::string log = path("openssl.log");
    const std::string command =
        absl::StrCat("cd '", dir_.string(), "' && openssl ", args, " >>'", log, "' 2>&1");
    if (std::system(command.c_str()) != 0) {
      error_ = absl::StrCat("failed: openssl ", args, "\n", Read("openssl.log"));
    }
  }

  void WriteFile(const std::string& name, const std::string& text) {
    std::ofstream(path(name)) << text;
  }

  void MakeCa(const std::string& name) {
    Openssl(absl::StrCat(
        "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2",
        " -subj /CN=faceserve-test-", name, " -keyout ", name, ".key -out ", name, ".pem",
        " -addext basicConstraints=critical,CA:TRUE",
        " -addext keyUsage=critical,keyCertSign,cRLSign"));
  }

  void MakeLeaf(const std::string& name, const std::string& ca, const std::string& cn,
                const std::string& ext_file) {
    Openssl(absl::StrCat("req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes",
                         " -subj /CN=", cn, " -keyout ", name, ".key -out ", name, ".csr"));
    Openssl(absl::StrCat("x509 -req -days 2 -in ", name, ".csr -CA ", ca, ".pem -CAkey ", ca,
                         ".key -CAcreateserial -out ", name, ".pem -extfile ", ext_file));
  }

  void Make() {
    WriteFile("server.ext",
              "basicConstraints=CA:FALSE\n"
              "keyUsage=critical,digitalSignature,keyEncipherment\n"
              "extendedKeyUsage=serverAuth\n"
              "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n");
    WriteFile("client.ext",
              "basicConstraints=CA:FALSE\n"
              "keyUsage=critical,digitalSignature,keyEncipherment\n"
              "extendedKeyUsage=clientAuth\n");
    MakeCa("ca_a");
    MakeCa("ca_b");
    MakeLeaf("server", "ca_a", "localhost", "server.ext");
    MakeLeaf("client_a", "ca_a", "client-a", "client.ext");
    MakeLeaf("client_b", "ca_b", "client-b", "client.ext");
  }

  std::filesystem::path dir_;
  std::string error_;
};

}  // namespace testing
}  // namespace faceserve

#endif  // FACESERVE_TESTS_TESTING_TEST_CERTIFICATES_H_
