// ServerProcess: the real faceserve binary as a child process, its stderr
// collected by a thread; the ports it logs, its memory from /proc, and its
// exit status. For tests of the process as a whole (signals, overload).
#ifndef FACESERVE_TESTS_TESTING_SERVER_PROCESS_H_
#define FACESERVE_TESTS_TESTING_SERVER_PROCESS_H_

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <mutex>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace faceserve {
namespace testing {

class ServerProcess {
 public:
  explicit ServerProcess(const std::vector<std::string>& args) {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDERR_FILENO);
      close(fds[0]);
      close(fds[1]);
      std::vector<char*> argv;
      for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    reader_ = std::thread([this, fd = fds[0]] {
      char buf[4096];
      for (;;) {
        const ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0) break;
        std::lock_guard<std::mutex> lock(mu_);
        log_.append(buf, static_cast<size_t>(n));
      }
      close(fd);
    });
  }
  ~ServerProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      int status;
      waitpid(pid_, &status, 0);
    }
    if (reader_.joinable()) reader_.join();
  }

  pid_t pid() const { return pid_; }
  std::string log() {
    std::lock_guard<std::mutex> lock(mu_);
    return log_;
  }

  // The gRPC port from the "gRPC listening on ... (port N, ..." line; 0 if
  // it does not appear within `timeout`.
  int WaitForPort(absl::Duration timeout) {
    return WaitForLogNumber(std::regex("gRPC listening on \\S+ \\(port (\\d+)"), timeout);
  }

  // The metrics port from the "metrics on ... (port N)" line; 0 if it does
  // not appear within `timeout`.
  int WaitForMetricsPort(absl::Duration timeout) {
    return WaitForLogNumber(std::regex("metrics on \\S+ \\(port (\\d+)"), timeout);
  }

  // A "Vm..." field of /proc/<pid>/status in bytes ("VmRSS": resident now,
  // "VmHWM": the peak resident size so far); -1 when unreadable.
  int64_t MemoryBytes(const std::string& field) const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(field + ":", 0) == 0) {
        std::istringstream values(line.substr(field.size() + 1));
        int64_t kib = -1;
        values >> kib;
        return kib < 0 ? -1 : kib * 1024;
      }
    }
    return -1;
  }

  // Waits up to `timeout` for the process to exit; true when it did.
  bool Exited(absl::Duration timeout) {
    if (exited_) return true;
    const absl::Time limit = absl::Now() + timeout;
    do {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        status_ = status;
        // The exit closed the pipe: the reader ends at its EOF, so log()
        // holds everything the process wrote, its last lines included.
        if (reader_.joinable()) reader_.join();
        return true;
      }
      absl::SleepFor(absl::Milliseconds(10));
    } while (absl::Now() < limit);
    return false;
  }
  int wait_status() const { return status_; }
  // "exit status N" or "killed by signal N (name)", for failure messages.
  std::string DescribeExit() const {
    if (WIFEXITED(status_)) return "exit status " + std::to_string(WEXITSTATUS(status_));
    if (WIFSIGNALED(status_)) {
      return "killed by signal " + std::to_string(WTERMSIG(status_)) + " (" +
             strsignal(WTERMSIG(status_)) + ")";
    }
    return "wait status " + std::to_string(status_);
  }

  // The first group of `pattern` in the log as a number, once it appears;
  // 0 if it does not within `timeout`.
  int WaitForLogNumber(const std::regex& pattern, absl::Duration timeout) {
    const absl::Time limit = absl::Now() + timeout;
    while (absl::Now() < limit) {
      std::smatch m;
      const std::string text = log();
      if (std::regex_search(text, m, pattern)) return std::stoi(m[1]);
      if (Exited(absl::ZeroDuration())) return 0;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return 0;
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
  std::thread reader_;
  std::mutex mu_;
  std::string log_;
};

}  // namespace testing
}  // namespace faceserve

#endif  // FACESERVE_TESTS_TESTING_SERVER_PROCESS_H_
