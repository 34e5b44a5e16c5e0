# SPDX-License-Identifier: Apache-2.0
# Script mode (cmake -P), run by CTest: builds the Debian package of the build tree with cpack, lists its contents
# and checks them and the runtime dependencies its control file declares.
foreach(var BUILD_DIR WORK_DIR CPACK CLI_DIR DATA_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "DebianPackageTest.cmake: ${var} is not set")
  endif()
endforeach()
find_program(DPKG_DEB dpkg-deb REQUIRED)

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
execute_process(COMMAND ${CPACK} -G DEB --config ${BUILD_DIR}/CPackConfig.cmake -B ${WORK_DIR}
  RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "cpack -G DEB failed (${result}):\n${out}\n${err}")
endif()
file(GLOB debs ${WORK_DIR}/*.deb)
list(LENGTH debs count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "expected one .deb in ${WORK_DIR}, found ${count}:\n${out}")
endif()

execute_process(COMMAND ${DPKG_DEB} --contents ${debs} OUTPUT_VARIABLE contents RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "dpkg-deb --contents failed")
endif()
message(STATUS "${debs}:\n${contents}")
foreach(file
    usr/bin/ResCRNetLungSegmentation usr/bin/ResCRNetEvaluate usr/bin/ResCRNetTrain usr/bin/ResCRNetImportKeras
    usr/${CLI_DIR}/ResCRNetLungSegmentation usr/${DATA_DIR}/Models/ResCRNet-lungs-default.rcn
    usr/include/ITKResCRNet/itkCXRLungSegmentationImageFilter.h usr/include/rescrnet/Predictor.h
    usr/lib/cmake/ITKResCRNet/ITKResCRNetConfig.cmake usr/share/doc/ITKResCRNet/LICENSE)
  string(FIND "${contents}" "./${file}\n" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the package lacks /${file}")
  endif()
endforeach()

execute_process(COMMAND ${DPKG_DEB} --field ${debs} Package Version Depends OUTPUT_VARIABLE control)
message(STATUS "control:\n${control}")
# What the tools link (the VTK viewers are not among the installed tools).
foreach(dependency libc6 libstdc[+][+]6 libtorch libinsighttoolkit5 libdcmtk libhdf5 libpng16 libexpat1)
  if(NOT control MATCHES "Depends:.*${dependency}")
    message(FATAL_ERROR "the control file does not declare a dependency on ${dependency}:\n${control}")
  endif()
endforeach()
