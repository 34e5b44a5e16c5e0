# SPDX-License-Identifier: Apache-2.0
# Script mode (cmake -P), run by CTest: installs the build tree into PREFIX, then configures, builds and runs the
# downstream project SOURCE_DIR against it, runs the installed Slicer module with its installed default model, and
# builds the example plugin PLUGIN_SOURCE_DIR out of tree against the prefix and has the installed ResCRNetPipeline
# load it from ITKRESCRNET_PLUGIN_PATH.
foreach(var BUILD_DIR PREFIX WORK_DIR SOURCE_DIR PLUGIN_SOURCE_DIR GENERATOR TEST_DATA CLI_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "DownstreamTest.cmake: ${var} is not set")
  endif()
endforeach()

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "${what} failed (${result}):\n${out}\n${err}")
  endif()
  set(output "${out}${err}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${PREFIX} ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
run("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX})
foreach(file
    lib/cmake/ITKResCRNet/ITKResCRNetConfig.cmake lib/cmake/ITKResCRNet/ITKResCRNetConfigVersion.cmake
    lib/cmake/ITKResCRNet/ITKResCRNetTargets.cmake include/rescrnet/ModelFile.h include/rescrnet/io/ImageFile.h
    include/rescrnet/cli/CommandLine.h include/ITKResCRNet/itkCXRLungSegmentationImageFilter.h
    share/ITKResCRNet/Models/ResCRNet-lungs-default.rcn share/ITKResCRNet/Pipelines/lung-segmentation.json
    include/rescrnet/plugins/PluginAPI.h include/rescrnet/plugins/PluginABI.h bin/ResCRNetPipeline
    bin/ResCRNetLungSegmentation ${CLI_DIR}/ResCRNetEvaluate)
  if(NOT EXISTS ${PREFIX}/${file})
    message(FATAL_ERROR "the installation lacks ${file}")
  endif()
endforeach()

# A tiny random model (48 x 40 grid) and a synthetic 64 x 56 radiograph.
run("test data" ${TEST_DATA} make ${WORK_DIR}/data)

set(launcher "")
if(COMPILER_LAUNCHER)
  set(launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${COMPILER_LAUNCHER})
endif()
run("configuring the downstream project" ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build -G ${GENERATOR}
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${PREFIX} ${launcher})
if(NOT output MATCHES "ITKResCRNet ([0-9.]+) found in ([^\n]*)")
  message(FATAL_ERROR "the downstream project did not report the package:\n${output}")
endif()
string(FIND "${CMAKE_MATCH_2}" "${PREFIX}" at)
if(NOT at EQUAL 0)
  message(FATAL_ERROR "ITKResCRNet was found in ${CMAKE_MATCH_2}, not in the install prefix ${PREFIX}")
endif()
run("building the downstream project" ${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run("running the downstream program" ${WORK_DIR}/build/ResCRNetDownstream ${WORK_DIR}/data/tiny.rcn)
message(STATUS "${output}")
if(NOT output MATCHES "lung pixels on the 64 x 56 input grid")
  message(FATAL_ERROR "unexpected output of the downstream program:\n${output}")
endif()

# The installed Slicer module finds the installed default model relative to itself (no --model).
set(module ${PREFIX}/${CLI_DIR}/ResCRNetLungSegmentation)
run("${module} --xml" ${module} --xml)
string(FIND "${output}" "<?xml " at)
if(NOT at EQUAL 0)
  message(FATAL_ERROR "--xml does not begin with '<?xml ': ${output}")
endif()
run("the installed module with its default model"
  ${CMAKE_COMMAND} -E env --unset=ITKRESCRNET_MODEL ${module} ${WORK_DIR}/data/cxr.png ${WORK_DIR}/lungs.nrrd)
if(NOT EXISTS ${WORK_DIR}/lungs.nrrd OR NOT output MATCHES "Lungs: [0-9]+ pixels")
  message(FATAL_ERROR "the installed module wrote no label map:\n${output}")
endif()
message(STATUS "installed module: ${output}")

# An out-of-tree plugin: the example CLAHE plugin built against the install prefix (ResCRNet::PluginAPI only), then
# loaded by the installed ResCRNetPipeline from ITKRESCRNET_PLUGIN_PATH and run inside a pipeline file.
run("configuring the out-of-tree plugin" ${CMAKE_COMMAND} -S ${PLUGIN_SOURCE_DIR} -B ${WORK_DIR}/plugin -G ${GENERATOR}
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${PREFIX} ${launcher})
run("building the out-of-tree plugin" ${CMAKE_COMMAND} --build ${WORK_DIR}/plugin)
run("listing the plugin" ${CMAKE_COMMAND} -E env ITKRESCRNET_PLUGIN_PATH=${WORK_DIR}/plugin
  ${PREFIX}/bin/ResCRNetPipeline --listPlugins)
if(NOT output MATCHES "clahe  \\[${WORK_DIR}/plugin/librescrnet-clahe.so\\]")
  message(FATAL_ERROR "the installed ResCRNetPipeline does not list the out-of-tree plugin's stage:\n${output}")
endif()
file(READ ${PREFIX}/share/ITKResCRNet/Pipelines/lung-segmentation.json pipeline)
string(REPLACE "../Models/ResCRNet-lungs-default.rcn" "${WORK_DIR}/data/tiny.rcn" pipeline "${pipeline}")
string(REPLACE "{ \"stage\": \"cxr-preprocess\" }" "{ \"stage\": \"clahe\", \"parameters\": { \"radius\": 4 } }, { \"stage\": \"cxr-preprocess\" }" pipeline "${pipeline}")
file(WRITE ${WORK_DIR}/clahe.json "${pipeline}")
run("the installed ResCRNetPipeline with the plugin's stage" ${CMAKE_COMMAND} -E env
  ITKRESCRNET_PLUGIN_PATH=${WORK_DIR}/plugin ${PREFIX}/bin/ResCRNetPipeline --echo ${WORK_DIR}/clahe.json
  ${WORK_DIR}/data/cxr.png ${WORK_DIR}/clahe-lungs.nrrd)
if(NOT EXISTS ${WORK_DIR}/clahe-lungs.nrrd OR NOT output MATCHES "\"library\": \"${WORK_DIR}/plugin/librescrnet-clahe.so\"")
  message(FATAL_ERROR "the pipeline with the out-of-tree plugin's stage did not run:\n${output}")
endif()
message(STATUS "out-of-tree plugin: ${output}")
