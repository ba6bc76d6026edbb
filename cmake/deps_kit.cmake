# Dependencies from a carried kit instead of the system's packages.
#
# A GPU machine with PyTorch but no package registry cannot install gRPC,
# protobuf, Abseil, yaml-cpp, prometheus-cpp, OpenCV (core, imgproc, calib3d)
# or the image codecs. deploy/gpu/pack_kit.sh gathers their headers and shared
# libraries (those `ldd` names, nothing of LibTorch) from this Debian machine
# into one folder; configuring with -DFACESERVE_DEPS_KIT=<that folder> defines
# here the same imported targets the find_package calls of the top-level
# CMakeLists.txt would, pointing into the kit. LibTorch still comes from
# find_package(Torch) (the machine's own PyTorch).
#
# Kit layout: include/ (headers), lib/ (libX.so.N plus libX.so links),
# bin/protoc and bin/grpc_cpp_plugin (wrappers that run the carried compilers
# against lib/).

set(_kit "${FACESERVE_DEPS_KIT}")
foreach(_sub include lib bin/protoc bin/grpc_cpp_plugin)
  if(NOT EXISTS "${_kit}/${_sub}")
    message(FATAL_ERROR "FACESERVE_DEPS_KIT=${_kit} has no ${_sub}: make it with deploy/gpu/pack_kit.sh")
  endif()
endforeach()
message(STATUS "faceserve: dependencies from the kit ${_kit}")

# The carried libraries need each other at link time and at run time. The
# old-style DT_RPATH (--disable-new-dtags), unlike DT_RUNPATH, also applies to
# the libraries' own dependencies (libgrpc++ -> libgrpc -> libupb ...), which
# carry no search path of their own. LibTorch's libraries keep their own
# RUNPATH, which takes precedence for theirs.
add_link_options("LINKER:-rpath-link,${_kit}/lib" "LINKER:-rpath,${_kit}/lib"
                 "LINKER:--disable-new-dtags")

# kit_library(<target> <libname>... [DEPS <target>...]): an imported target
# linking lib<libname>.so from the kit, with the kit's headers.
function(kit_library target)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  set(_files)
  foreach(_name ${ARG_UNPARSED_ARGUMENTS})
    set(_file "${_kit}/lib/lib${_name}.so")
    if(NOT EXISTS "${_file}")
      message(FATAL_ERROR "the kit has no lib${_name}.so (needed for ${target})")
    endif()
    list(APPEND _files "${_file}")
  endforeach()
  add_library(${target} INTERFACE IMPORTED GLOBAL)
  set_target_properties(${target} PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${_kit}/include"
    INTERFACE_LINK_LIBRARIES "${_files};${ARG_DEPS}")
endfunction()

find_package(Threads REQUIRED)

# Abseil: every library of the kit behind each target we use (the kit holds
# only those our binaries need).
file(GLOB _absl_files "${_kit}/lib/libabsl_*.so")
if(NOT _absl_files)
  message(FATAL_ERROR "the kit has no libabsl_*.so")
endif()
add_library(faceserve_kit_absl INTERFACE IMPORTED GLOBAL)
set_target_properties(faceserve_kit_absl PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES "${_kit}/include"
  INTERFACE_LINK_LIBRARIES "${_absl_files};Threads::Threads")
foreach(_t status statusor strings str_format synchronization time)
  add_library(absl::${_t} ALIAS faceserve_kit_absl)
endforeach()

kit_library(protobuf::libprotobuf protobuf DEPS faceserve_kit_absl)
kit_library(gRPC::grpc++ grpc++ grpc gpr DEPS protobuf::libprotobuf faceserve_kit_absl)
kit_library(gRPC::grpc++_reflection grpc++_reflection DEPS gRPC::grpc++)
kit_library(yaml-cpp yaml-cpp)
kit_library(OpenSSL::Crypto crypto)  # core/auth (libgrpc loads it anyway)
kit_library(prometheus-cpp::core prometheus-cpp-core)
kit_library(opencv_core opencv_core)
kit_library(opencv_imgproc opencv_imgproc DEPS opencv_core)
kit_library(opencv_calib3d opencv_calib3d DEPS opencv_imgproc)
kit_library(JPEG::JPEG jpeg)
kit_library(PNG::PNG png16)
kit_library(PkgConfig::WEBP webp)
kit_library(PkgConfig::HTTPLIB cpp-httplib)
# The flags Debian's cpp-httplib.pc gives: its classes' layout depends on them.
set_property(TARGET PkgConfig::HTTPLIB APPEND PROPERTY INTERFACE_COMPILE_DEFINITIONS
  CPPHTTPLIB_OPENSSL_SUPPORT CPPHTTPLIB_ZLIB_SUPPORT CPPHTTPLIB_BROTLI_SUPPORT)
add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED GLOBAL)
set_target_properties(nlohmann_json::nlohmann_json PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES "${_kit}/include")
set(nlohmann_json_FOUND TRUE)

add_executable(protobuf::protoc IMPORTED GLOBAL)
set_target_properties(protobuf::protoc PROPERTIES IMPORTED_LOCATION "${_kit}/bin/protoc")
add_executable(gRPC::grpc_cpp_plugin IMPORTED GLOBAL)
set_target_properties(gRPC::grpc_cpp_plugin PROPERTIES
  IMPORTED_LOCATION "${_kit}/bin/grpc_cpp_plugin")
