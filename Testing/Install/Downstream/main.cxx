// SPDX-License-Identifier: Apache-2.0
// ResCRNetDownstream <model file>: the composite filter of an installed ITKResCRNet on a synthetic radiograph.
#include "itkCXRLungSegmentationImageFilter.h"
#include "itkImageRegionConstIterator.h"
#include "itkImageRegionIteratorWithIndex.h"

#include <cmath>
#include <cstdlib>
#include <iostream>

int
main(int argc, char * argv[])
{
  if (argc != 2)
  {
    std::cerr << "Usage: " << argv[0] << " <model file>" << std::endl;
    return EXIT_FAILURE;
  }
  using ImageType = itk::Image<float, 2>;
  auto image = ImageType::New();
  image->SetRegions(itk::Size<2>{ { 64, 56 } });
  image->Allocate();
  for (itk::ImageRegionIteratorWithIndex<ImageType> it(image, image->GetLargestPossibleRegion()); !it.IsAtEnd(); ++it)
  {
    const double x = it.GetIndex()[0];
    const double y = it.GetIndex()[1];
    const bool   lung = std::hypot((x - 18) / 10, (y - 28) / 18) < 1 || std::hypot((x - 46) / 10, (y - 28) / 18) < 1;
    it.Set(lung ? 50.0f : 200.0f);
  }

  auto segment = itk::CXRLungSegmentationImageFilter<ImageType>::New();
  segment->SetInput(image);
  segment->SetModelFileName(argv[1]);
  segment->LabelLeftRightOn();
  try
  {
    segment->Update();
  }
  catch (const itk::ExceptionObject & e)
  {
    std::cerr << "Error: " << e.GetDescription() << std::endl;
    return EXIT_FAILURE;
  }
  if (segment->GetOutput()->GetLargestPossibleRegion() != image->GetLargestPossibleRegion() ||
      segment->GetProbabilityOutput()->GetLargestPossibleRegion() != image->GetLargestPossibleRegion())
  {
    std::cerr << "Error: the outputs are not on the input's grid" << std::endl;
    return EXIT_FAILURE;
  }
  size_t lungs = 0;
  using LabelType = itk::Image<unsigned char, 2>;
  for (itk::ImageRegionConstIterator<LabelType> it(segment->GetOutput(), image->GetLargestPossibleRegion());
       !it.IsAtEnd();
       ++it)
  {
    if (it.Get() > 2)
    {
      std::cerr << "Error: label " << int(it.Get()) << std::endl;
      return EXIT_FAILURE;
    }
    lungs += it.Get() != 0;
  }
  std::cout << lungs << " lung pixels on the 64 x 56 input grid (model grid "
            << segment->GetPredictor()->info().input.width << " x " << segment->GetPredictor()->info().input.height
            << ")" << std::endl;
  return EXIT_SUCCESS;
}
