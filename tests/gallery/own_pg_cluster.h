// A PostgreSQL cluster of one test's own (scripts/throwaway_postgres.sh), for
// the fault tests that stop it under the replicas and start it again: Halt()
// stops the server and keeps its data, Resume() starts it on the same port.
// Stopped and removed when the object goes.
#ifndef FACESERVE_TESTS_GALLERY_OWN_PG_CLUSTER_H_
#define FACESERVE_TESTS_GALLERY_OWN_PG_CLUSTER_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace faceserve {

class OwnPgCluster {
 public:
  // `tag` names its folder under the test's temporary directory.
  explicit OwnPgCluster(const std::string& tag)
      : dir_(::testing::TempDir() + "/" + tag + "-" + std::to_string(::getpid())) {
    if (Run("start") != 0) return;
    std::ifstream in(dir_ + "/dsn");
    std::getline(in, dsn_);
  }
  ~OwnPgCluster() { Run("stop"); }
  OwnPgCluster(const OwnPgCluster&) = delete;
  OwnPgCluster& operator=(const OwnPgCluster&) = delete;

  // Its connection string ("" when it did not start).
  const std::string& dsn() const { return dsn_; }
  bool Halt() { return Run("halt") == 0; }
  bool Resume() { return Run("resume") == 0; }

 private:
  int Run(const std::string& command) {
    return std::system((std::string(FACESERVE_SOURCE_DIR) + "/scripts/throwaway_postgres.sh " +
                        command + " " + dir_ + " >/dev/null")
                           .c_str());
  }

  std::string dir_;
  std::string dsn_;
};

}  // namespace faceserve

#endif  // FACESERVE_TESTS_GALLERY_OWN_PG_CLUSTER_H_
