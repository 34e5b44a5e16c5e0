// SPDX-License-Identifier: Apache-2.0
#include "DicomCodecs.h"

#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>

#include <cstdlib>

#include <mutex>

namespace rescrnet::io
{

namespace
{
struct Decoders
{
  Decoders()
  {
    if (!std::getenv("RESCRNET_DCMTK_LOG"))
      OFLog::getLogger("dcmtk").setLogLevel(OFLogger::FATAL_LOG_LEVEL); // errors reach the user as our one line
    DcmRLEDecoderRegistration::registerCodecs();
    DJDecoderRegistration::registerCodecs();
    DJLSDecoderRegistration::registerCodecs();
  }
  ~Decoders()
  {
    DJLSDecoderRegistration::cleanup();
    DJDecoderRegistration::cleanup();
    DcmRLEDecoderRegistration::cleanup();
  }
};
} // namespace

void
RegisterDecoders()
{
  // A function-local static: registered on first use (thread-safe), cleaned up at exit.
  static Decoders decoders;
  (void)decoders;
}

} // namespace rescrnet::io
