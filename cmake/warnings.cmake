# faceserve::warnings: the warning flags of every target of ours, in one place.
# Link it PRIVATE (target_link_libraries(x PRIVATE faceserve::warnings)).
#
# With clang it also runs the thread-safety analysis over absl's
# ABSL_GUARDED_BY / ABSL_EXCLUSIVE_LOCKS_REQUIRED annotations, as an error: a
# member read without its lock does not build (scripts/sanitize.sh builds
# with clang). GCC has no such analysis and ignores the annotations.
add_library(faceserve_warnings INTERFACE)
target_compile_options(faceserve_warnings INTERFACE
  -Wall -Wextra
  $<$<CXX_COMPILER_ID:Clang>:-Wthread-safety -Werror=thread-safety>)
add_library(faceserve::warnings ALIAS faceserve_warnings)
