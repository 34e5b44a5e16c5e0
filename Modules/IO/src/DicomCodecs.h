// SPDX-License-Identifier: Apache-2.0
// DCMTK's decoders (JPEG, JPEG-LS, RLE), registered once per process and cleaned up at exit; DCMTK's own log is
// limited to errors (the reader reports its warnings itself), unless $RESCRNET_DCMTK_LOG is set.
#ifndef rescrnet_io_DicomCodecs_h
#define rescrnet_io_DicomCodecs_h

namespace rescrnet::io
{

void
RegisterDecoders();

} // namespace rescrnet::io

#endif
