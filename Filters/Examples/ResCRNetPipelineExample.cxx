// SPDX-License-Identifier: Apache-2.0
// Chest X-ray -> lung label map (1 = right lung, 2 = left lung) with the ResCRNet ITK filters.
// Usage: ResCRNetPipelineExample <input image> <model file> <output mask>
#include "itkCXRLungSegmentationImageFilter.h"
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"

#include <cstdlib>
#include <iostream>

int
main(int argc, char * argv[])
{
  if (argc != 4)
  {
    std::cerr << "Usage: " << argv[0] << " <input image> <model file> <output mask>" << std::endl;
    return EXIT_FAILURE;
  }
  using ImageType = itk::Image<float, 2>; // any scalar image; colour files are read as their luminance
  using MaskType = itk::Image<unsigned char, 2>;
  try
  {
    auto reader = itk::ImageFileReader<ImageType>::New();
    reader->SetFileName(argv[1]);

    // Preprocessing, equalization, the network and the post-processing; the model file gives the grid.
    auto segment = itk::CXRLungSegmentationImageFilter<ImageType, MaskType>::New();
    segment->SetInput(reader->GetOutput());
    segment->SetModelFileName(argv[2]);
    segment->LabelLeftRightOn(); // 1 = right lung, 2 = left lung, on the input's grid

    itk::WriteImage(segment->GetOutput(), argv[3]);
    std::cout << "Wrote " << argv[3] << " (" << segment->GetNumberOfDetectedComponents()
              << " components before selection)" << std::endl;
  }
  catch (const itk::ExceptionObject & e)
  {
    std::cerr << "Error: " << e.GetDescription() << std::endl;
    return EXIT_FAILURE;
  }
  catch (const std::exception & e)
  {
    std::cerr << "Error: " << e.what() << std::endl;
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}
