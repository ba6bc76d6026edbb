#include "core/thread_name.h"

#include <pthread.h>

namespace faceserve {

constexpr size_t kMaxThreadName = 15;  // TASK_COMM_LEN - 1

std::string ThreadNameFor(const std::string& base, int index) {
  const std::string suffix = "/" + std::to_string(index);
  if (suffix.size() >= kMaxThreadName) return suffix.substr(0, kMaxThreadName);
  return base.substr(0, kMaxThreadName - suffix.size()) + suffix;
}

void NameThisThread(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, kMaxThreadName).c_str());
}

}  // namespace faceserve
