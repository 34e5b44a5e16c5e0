# SPDX-License-Identifier: Apache-2.0
# Script mode (cmake -P), run by rescrnet_add_cli() at build time: embeds XML_FILE into HEADER via TEMPLATE.
# Inputs: NAME, XML_FILE, HEADER, TEMPLATE, PROJECT_VERSION.
cmake_minimum_required(VERSION 3.18) # new policies in script mode: "@VAR@" in arguments stays literal (CMP0053)
foreach(var NAME XML_FILE HEADER TEMPLATE PROJECT_VERSION)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "ResCRNetCLIEmbedXML.cmake: ${var} is not set")
  endif()
endforeach()

file(READ ${XML_FILE} RESCRNET_CLI_XML)
string(REPLACE "@PROJECT_VERSION@" "${PROJECT_VERSION}" RESCRNET_CLI_XML "${RESCRNET_CLI_XML}")
string(FIND "${RESCRNET_CLI_XML}" "<?xml" start)
if(NOT start EQUAL 0)
  message(FATAL_ERROR "${XML_FILE}: the description must begin with '<?xml' (Slicer ignores what comes before it)")
endif()
string(FIND "${RESCRNET_CLI_XML}" ")rescrnet_xml\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${XML_FILE} contains the raw-string delimiter ')rescrnet_xml\"'")
endif()
configure_file(${TEMPLATE} ${HEADER} @ONLY)
# configure_file keeps an unchanged file's time stamp; touch it so the build sees the command's output as new.
file(TOUCH ${HEADER})
