// A store on a database of one test's own, for the store contract
// (gallery_store_contract_tests.h) and the PostgreSQL tests' helpers.
#ifndef FACESERVE_TESTS_GALLERY_STORE_UNDER_TEST_H_
#define FACESERVE_TESTS_GALLERY_STORE_UNDER_TEST_H_

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "core/gallery/gallery_store.h"

namespace faceserve {

// One database for one test: Open() (again) gives a store on it; the
// database goes with this object.
class StoreUnderTest {
 public:
  virtual ~StoreUnderTest() = default;
  virtual absl::StatusOr<std::unique_ptr<GalleryStore>> Open() = 0;
};

struct StoreBackend {
  std::string name;  // the instantiation's suffix
  std::function<std::unique_ptr<StoreUnderTest>(const std::string& test_name)> make;
};

// gtest prints a parameter's bytes unless told otherwise.
inline void PrintTo(const StoreBackend& backend, std::ostream* os) { *os << backend.name; }

}  // namespace faceserve

#endif  // FACESERVE_TESTS_GALLERY_STORE_UNDER_TEST_H_
