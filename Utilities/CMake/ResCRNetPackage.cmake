# SPDX-License-Identifier: Apache-2.0
# A Debian package of the installation (cpack -G DEB in the build folder): the tools (also as Slicer modules), the
# default model, the libraries, headers and CMake package. dpkg-shlibdeps reads the executables and declares their
# runtime dependencies (LibTorch, ITK, DCMTK, VTK, ...) in the control file; building against the package needs
# the -dev packages it suggests.
set(CPACK_PACKAGE_NAME itkrescrnet)
set(CPACK_PACKAGE_VENDOR "ITKResCRNet")
set(CPACK_PACKAGE_CONTACT "ITKResCRNet maintainers <itkrescrnet@users.noreply.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS
  "libtorch-dev, libinsighttoolkit5-dev, libvtk9-dev, libdcmtk-dev, libhdf5-dev, nlohmann-json3-dev, libexpat1-dev, libpng-dev")
# gzip: a fraction of xz's time for a package that is mostly executables.
set(CPACK_DEBIAN_COMPRESSION_TYPE gzip)
set(CPACK_THREADS 0)
include(CPack)
