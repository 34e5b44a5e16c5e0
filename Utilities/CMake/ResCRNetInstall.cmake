# SPDX-License-Identifier: Apache-2.0
# Installation as a CMake package: the libraries with exported targets (ResCRNet::Utilities, ResCRNet::Core,
# ResCRNet::Keras, ResCRNet::IO, ResCRNet::Visualization, ResCRNet::CLI, ResCRNet::Filters, ResCRNet::Plugins,
# ResCRNet::PluginAPI), their headers,
# ITKResCRNetConfig.cmake and its version file. A downstream project needs only
#   find_package(ITKResCRNet REQUIRED)
#   target_link_libraries(app PRIVATE ResCRNet::Filters)
# The executables and the default model are installed by Applications/ and Data/.
include(CMakePackageConfigHelpers)

set(RESCRNET_INSTALL_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/ITKResCRNet CACHE PATH "ITKResCRNetConfig.cmake")
set(RESCRNET_INSTALL_FILTERS_INCLUDE_DIR ${CMAKE_INSTALL_INCLUDEDIR}/ITKResCRNet CACHE PATH "The ITK filters' headers")
mark_as_advanced(RESCRNET_INSTALL_CMAKE_DIR RESCRNET_INSTALL_FILTERS_INCLUDE_DIR)

set(_rescrnet_targets ResCRNetUtilities ResCRNetCore)
set(_rescrnet_header_dirs Modules/Core/include)
if(NOT RESCRNET_CORE_ONLY)
  list(APPEND _rescrnet_targets ResCRNetKeras ResCRNetIO ResCRNetVisualization ResCRNetCLI ResCRNetFilters
                                ResCRNetPluginAPI ResCRNetPlugins)
  list(APPEND _rescrnet_header_dirs Modules/Keras/include Modules/IO/include Modules/Visualization/include
                                    Modules/CLI/include Modules/Plugins/include
                                    ${PROJECT_BINARY_DIR}/Modules/Plugins/include)
endif()
foreach(_target IN LISTS _rescrnet_targets)
  string(REPLACE "ResCRNet" "" _name ${_target})
  set_target_properties(${_target} PROPERTIES EXPORT_NAME ${_name})
endforeach()

install(TARGETS ${_rescrnet_targets} EXPORT ITKResCRNetTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT Development
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT Development
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} ${RESCRNET_INSTALL_FILTERS_INCLUDE_DIR})
install(EXPORT ITKResCRNetTargets NAMESPACE ResCRNet:: DESTINATION ${RESCRNET_INSTALL_CMAKE_DIR}
  COMPONENT Development)

foreach(_dir IN LISTS _rescrnet_header_dirs)
  get_filename_component(_dir ${_dir} ABSOLUTE BASE_DIR ${PROJECT_SOURCE_DIR})
  install(DIRECTORY ${_dir}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT Development
    FILES_MATCHING PATTERN "*.h")
endforeach()
if(NOT RESCRNET_CORE_ONLY)
  file(GLOB _rescrnet_filter_headers
    ${PROJECT_SOURCE_DIR}/Filters/*/itk*.h ${PROJECT_SOURCE_DIR}/Filters/*/itk*.hxx)
  install(FILES ${_rescrnet_filter_headers} DESTINATION ${RESCRNET_INSTALL_FILTERS_INCLUDE_DIR}
    COMPONENT Development)
endif()

# What the package's targets were built against, for its find_dependency() calls.
string(REPLACE ";" " " RESCRNET_CONFIG_ITK_COMPONENTS "${RESCRNET_ITK_COMPONENTS}")
string(REPLACE ";" " " RESCRNET_CONFIG_VTK_COMPONENTS "${RESCRNET_VTK_COMPONENTS}")
configure_package_config_file(${PROJECT_SOURCE_DIR}/Utilities/CMake/ITKResCRNetConfig.cmake.in
  ${PROJECT_BINARY_DIR}/ITKResCRNetConfig.cmake
  INSTALL_DESTINATION ${RESCRNET_INSTALL_CMAKE_DIR}
  PATH_VARS RESCRNET_INSTALL_DATA_DIR RESCRNET_INSTALL_CLI_DIR RESCRNET_INSTALL_PLUGIN_DIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ITKResCRNetConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/ITKResCRNetConfig.cmake ${PROJECT_BINARY_DIR}/ITKResCRNetConfigVersion.cmake
  DESTINATION ${RESCRNET_INSTALL_CMAKE_DIR} COMPONENT Development)
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/README.md
  DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/ITKResCRNet COMPONENT Runtime)
