# SPDX-License-Identifier: Apache-2.0
# rescrnet_add_cli(NAME <name> SOURCES <source>... XML <description.xml> [LIBRARIES <library>...] [NO_INSTALL]
#                  [GENERATED])
#
# Builds the Slicer-compatible command-line module <name> (no '.' allowed: Slicer only runs file names without one)
# into ${PROJECT_BINARY_DIR}/bin and installs it both to ${RESCRNET_INSTALL_CLI_DIR} (Slicer's "Additional module
# paths") and to ${CMAKE_INSTALL_BINDIR}. The XML is embedded at build time into the generated header
# "<name>XML.h", which defines
#   rescrnet::cli::module::Name   the executable's name
#   rescrnet::cli::module::XML    the description, verbatim except that @PROJECT_VERSION@ becomes the project version
# so that main() can be `return rescrnet::cli::Run(argc, argv, module::Name, module::XML, body);`.
# The XML is checked first with ResCRNetCheckDescription (Slicer's parser rules, the parser's structural rules, the
# project's conventions); a description that breaks one fails the build. Editing the XML regenerates the header and
# rebuilds the executable. The module links ResCRNetCLI and LIBRARIES,
# and gets the compile definition RESCRNET_PROJECT_VERSION="<project version>".
# NO_INSTALL (test modules) skips the install rules. GENERATED: the XML is made at build time by a custom command of
# the same directory (e.g. Applications' stage options), so it need not exist when CMake runs.
# The global property RESCRNET_CLI_MODULES lists the modules and RESCRNET_CLI_XML_FILES their XML files.
function(rescrnet_add_cli)
  cmake_parse_arguments(ARG "NO_INSTALL;GENERATED" "NAME;XML" "SOURCES;LIBRARIES" ${ARGN})
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "rescrnet_add_cli: unexpected arguments ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_NAME OR NOT ARG_SOURCES OR NOT ARG_XML)
    message(FATAL_ERROR "rescrnet_add_cli: NAME, SOURCES and XML are required")
  endif()
  if(NOT ARG_NAME MATCHES "^[A-Za-z][A-Za-z0-9_]*$")
    message(FATAL_ERROR "rescrnet_add_cli: '${ARG_NAME}' is not a valid module name (letters, digits, '_'; no '.')")
  endif()
  get_filename_component(xml ${ARG_XML} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
  if(NOT EXISTS ${xml} AND NOT ARG_GENERATED)
    message(FATAL_ERROR "rescrnet_add_cli(${ARG_NAME}): ${xml} does not exist")
  endif()

  set(cli_dir ${CMAKE_CURRENT_FUNCTION_LIST_DIR})
  set(gen_dir ${CMAKE_CURRENT_BINARY_DIR}/${ARG_NAME}_cli)
  set(header ${gen_dir}/${ARG_NAME}XML.h)
  # The description is checked first (Slicer's parser rules, the parser's and the project's): a module that Slicer
  # would refuse does not build.
  add_custom_command(OUTPUT ${header}
    COMMAND $<TARGET_FILE:ResCRNetCheckDescription> ${xml}
    COMMAND ${CMAKE_COMMAND} -DNAME=${ARG_NAME} -DXML_FILE=${xml} -DHEADER=${header}
            -DPROJECT_VERSION=${PROJECT_VERSION} -DTEMPLATE=${cli_dir}/ResCRNetCLIModule.h.in
            -P ${cli_dir}/ResCRNetCLIEmbedXML.cmake
    DEPENDS ${xml} ResCRNetCheckDescription ${cli_dir}/ResCRNetCLIModule.h.in ${cli_dir}/ResCRNetCLIEmbedXML.cmake
    COMMENT "Checking and embedding the XML description of ${ARG_NAME}"
    VERBATIM)

  add_executable(${ARG_NAME} ${ARG_SOURCES} ${header})
  target_include_directories(${ARG_NAME} PRIVATE ${gen_dir})
  target_link_libraries(${ARG_NAME} PRIVATE ResCRNetCLI ${ARG_LIBRARIES})
  target_compile_definitions(${ARG_NAME} PRIVATE RESCRNET_PROJECT_VERSION="${PROJECT_VERSION}")
  set_target_properties(${ARG_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin)
  rescrnet_project_warnings(${ARG_NAME})

  if(NOT ARG_NO_INSTALL)
    # Both places: Slicer scans the dedicated directory; bin is for the command line. CMAKE_INSTALL_RPATH
    # ($ORIGIN/../lib and $ORIGIN/../..) finds the project's libraries from either.
    install(TARGETS ${ARG_NAME} RUNTIME DESTINATION ${RESCRNET_INSTALL_CLI_DIR} COMPONENT Runtime)
    install(TARGETS ${ARG_NAME} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT Runtime)
  endif()

  set_property(GLOBAL APPEND PROPERTY RESCRNET_CLI_MODULES ${ARG_NAME})
  set_property(GLOBAL APPEND PROPERTY RESCRNET_CLI_XML_FILES ${xml})
endfunction()
