// SPDX-License-Identifier: Apache-2.0
// Grey value of a chest X-ray pixel: scalars as they are, colour pixels as Rec. 601 luma.
#ifndef itkCXRGrayValue_h
#define itkCXRGrayValue_h

#include "itkRGBAPixel.h"
#include "itkRGBPixel.h"

namespace itk
{

/** \class CXRGrayValue
 * \brief Converts a pixel to the grey value, in double precision, that the CXR preprocessing works on.
 *
 * Scalars (8/16-bit, float, ...) are converted as they are. RGB and RGBA pixels become
 * 0.299 R + 0.587 G + 0.114 B (Rec. 601 luma, the weights OpenCV uses for IMREAD_GRAYSCALE and
 * COLOR_BGR2GRAY); the alpha channel is ignored. Unlike OpenCV the luma is not rounded to 8 bits: the
 * min-max scaling that follows works in double precision anyway.
 *
 * Specialize this struct for other pixel types.
 *
 * \ingroup ResCRNetFilters
 */
template <typename TPixel>
struct CXRGrayValue
{
  static double
  Convert(const TPixel & pixel)
  {
    return static_cast<double>(pixel);
  }
};

template <typename TComponent>
struct CXRGrayValue<RGBPixel<TComponent>>
{
  static double
  Convert(const RGBPixel<TComponent> & pixel)
  {
    return 0.299 * static_cast<double>(pixel[0]) + 0.587 * static_cast<double>(pixel[1]) +
           0.114 * static_cast<double>(pixel[2]);
  }
};

template <typename TComponent>
struct CXRGrayValue<RGBAPixel<TComponent>>
{
  static double
  Convert(const RGBAPixel<TComponent> & pixel)
  {
    return 0.299 * static_cast<double>(pixel[0]) + 0.587 * static_cast<double>(pixel[1]) +
           0.114 * static_cast<double>(pixel[2]);
  }
};

} // namespace itk

#endif
