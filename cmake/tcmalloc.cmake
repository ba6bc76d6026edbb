# faceserve_use_tcmalloc(<target>): link gperftools' tcmalloc (the minimal
# one, malloc only) into an executable, when it is there and allowed.
#
# Why: glibc's malloc hands the large activation buffers of a forward pass
# back to the kernel (mmap/munmap) and takes them again on the next pass, so
# every pass pays page faults; tcmalloc keeps them. Measured on the 2-core
# CPU machine (bench/results/cpu-*.md): SSD at 512 px 45 -> 36 ms per image,
# the server's kernel time 0.14 -> 0.02 cores at concurrency 16. The server
# and bench/model_limit both link it, so the raw model limit they are
# compared with gets the same allocator.
#
# Skipped under the sanitizers and the fuzzers (they bring their own
# allocator), and with -DFACESERVE_TCMALLOC=OFF. Debian package:
# libtcmalloc-minimal4 (scripts/bootstrap.sh); a deps kit (deploy/gpu/)
# carries the library when the packing build linked it.
option(FACESERVE_TCMALLOC "Link tcmalloc_minimal into the server and benchmarks" ON)

set(_faceserve_tcmalloc "")
if(FACESERVE_TCMALLOC AND NOT FACESERVE_BUILD_FUZZERS
   AND NOT CMAKE_CXX_FLAGS MATCHES "-fsanitize")
  set(_hints)
  if(FACESERVE_DEPS_KIT)
    list(APPEND _hints "${FACESERVE_DEPS_KIT}/lib")
  endif()
  # The runtime package has no libtcmalloc_minimal.so link: name the soname.
  find_library(FACESERVE_TCMALLOC_LIBRARY
               NAMES tcmalloc_minimal libtcmalloc_minimal.so.4 HINTS ${_hints})
  if(FACESERVE_TCMALLOC_LIBRARY)
    set(_faceserve_tcmalloc "${FACESERVE_TCMALLOC_LIBRARY}")
    message(STATUS "faceserve: tcmalloc ${FACESERVE_TCMALLOC_LIBRARY}")
  else()
    message(STATUS "faceserve: no tcmalloc_minimal found; glibc malloc "
                   "(install libtcmalloc-minimal4 for faster CPU inference)")
  endif()
endif()

function(faceserve_use_tcmalloc target)
  if(_faceserve_tcmalloc)
    # No symbol of it is referenced: keep it needed even where the linker
    # defaults to --as-needed, so that it loads and its malloc interposes
    # glibc's. (Link options precede the libraries on the command line.)
    target_link_options(${target} PRIVATE "LINKER:--no-as-needed")
    target_link_libraries(${target} PRIVATE "${_faceserve_tcmalloc}")
  endif()
endfunction()
