# SPDX-License-Identifier: Apache-2.0
# Helpers shared by the project's CMake files.

# -Wall -Wextra on the project's own targets (third-party headers are included as SYSTEM).
function(rescrnet_project_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra)
  endif()
endfunction()

# UseITK.cmake adds ITK's include directories as ordinary ones; re-add them as SYSTEM so that warnings from ITK's
# headers do not drown the project's own.
macro(rescrnet_make_directory_includes_system)
  get_directory_property(_rescrnet_dirs INCLUDE_DIRECTORIES)
  set_directory_properties(PROPERTIES INCLUDE_DIRECTORIES "")
  include_directories(SYSTEM ${_rescrnet_dirs})
endmacro()

# Fails the configure step when the Core library links ITK, VTK, DCMTK, HDF5 or GDCM: Core links LibTorch, OpenMP (as
# LibTorch does), zlib (already in LibTorch's process), the header-only nlohmann_json and ResCRNet::Utilities.
function(rescrnet_check_core_dependencies target)
  get_target_property(_libs ${target} LINK_LIBRARIES)
  foreach(_lib IN LISTS _libs)
    if(_lib MATCHES "ITK|itk|vtk|VTK|dcmtk|DCMTK|hdf5|HDF5|gdcm")
      message(FATAL_ERROR "${target} must link against LibTorch alone, but links ${_lib}")
    endif()
  endforeach()
endfunction()

# A GoogleTest executable registered with CTest, labelled; tests that call GTEST_SKIP() are reported as skipped.
function(rescrnet_add_gtest name)
  cmake_parse_arguments(ARG "" "LABEL;TIMEOUT" "SOURCES;LIBRARIES" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBRARIES} ResCRNetTestSupport GTest::gtest GTest::gtest_main)
  rescrnet_project_warnings(${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  gtest_discover_tests(${name}
    WORKING_DIRECTORY ${PROJECT_BINARY_DIR}
    DISCOVERY_TIMEOUT 60
    PROPERTIES LABELS "${ARG_LABEL}" TIMEOUT ${ARG_TIMEOUT} SKIP_REGULAR_EXPRESSION "\\[  SKIPPED \\]"
               ENVIRONMENT "RESCRNET_SOURCE_DIR=${PROJECT_SOURCE_DIR};RESCRNET_BINARY_DIR=${PROJECT_BINARY_DIR}")
endfunction()
