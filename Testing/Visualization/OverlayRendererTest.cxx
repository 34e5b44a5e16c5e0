// SPDX-License-Identifier: Apache-2.0
// VTK rendering through X (Xvfb in the test script): skipped with the reason when no display is available.
#include "rescrnet/OverlayRenderer.h"

#include "ResCRNetTestSupport.h"

#include "itkImageFileReader.h"
#include "itkRGBPixel.h"

#include <vtkImageData.h>

namespace
{
template <typename TPixel>
typename itk::Image<TPixel, 2>::Pointer
Make(unsigned w, unsigned h, TPixel value)
{
  auto                                       img = itk::Image<TPixel, 2>::New();
  typename itk::Image<TPixel, 2>::RegionType region;
  region.SetSize({ { w, h } });
  img->SetRegions(region);
  img->Allocate();
  img->FillBuffer(value);
  return img;
}
} // namespace

TEST(Visualization, DeepCopyKeepsValuesAndGeometry)
{
  auto grey = Make<float>(5, 4, 0.0f);
  grey->SetPixel({ { 3, 2 } }, 42.0f);
  itk::Image<float, 2>::SpacingType spacing;
  spacing[0] = 0.5;
  spacing[1] = 2.0;
  grey->SetSpacing(spacing);
  auto vtk = rescrnet::viz::ToVTK(grey.GetPointer());
  int  dims[3];
  vtk->GetDimensions(dims);
  EXPECT_EQ(dims[0], 5);
  EXPECT_EQ(dims[1], 4);
  EXPECT_DOUBLE_EQ(vtk->GetSpacing()[1], 2.0);
  EXPECT_FLOAT_EQ(vtk->GetScalarComponentAsFloat(3, 2, 0, 0), 42.0f);
}

TEST(Visualization, RendersOverlayToPNG)
{
  if (!rescrnet::viz::CanRender())
  {
    GTEST_SKIP() << "no X display: run the tests under xvfb-run (Utilities/test.sh does)";
  }
  auto grey = Make<float>(80, 60, 100.0f);
  for (unsigned x = 0; x < 80; ++x)
    grey->SetPixel({ { x, 0 } }, 0.0f); // a range for the window
  auto labels = Make<unsigned char>(80, 60, 0);
  for (unsigned y = 10; y < 30; ++y)
    for (unsigned x = 10; x < 30; ++x)
      labels->SetPixel({ { x, y } }, 1);
  const auto path = rescrnet::testing::TemporaryDirectory() / "overlay.png";
  rescrnet::viz::RenderOverlayPNG(grey.GetPointer(), labels.GetPointer(), path.string(), 0.5);
  using RGBImage = itk::Image<itk::RGBPixel<unsigned char>, 2>;
  auto reader = itk::ImageFileReader<RGBImage>::New();
  reader->SetFileName(path.string());
  reader->Update();
  const auto * png = reader->GetOutput();
  ASSERT_EQ(png->GetLargestPossibleRegion().GetSize()[0], 80u);
  // Inside the label: red dominates; outside: grey (equal channels).
  const auto inside = png->GetPixel({ { 20, 20 } });
  const auto outside = png->GetPixel({ { 60, 45 } });
  EXPECT_GT(inside[0], inside[1] + 40) << static_cast<int>(inside[0]) << "," << static_cast<int>(inside[1]);
  EXPECT_NEAR(outside[0], outside[1], 2);
  EXPECT_GT(outside[0], 100);
}
