// SPDX-License-Identifier: Apache-2.0
// Test data for the pipeline example's CTest tests.
//   ResCRNetFilterTestData make <directory>          writes tiny.rcn (a small random network, 48 x 40 grid) and
//                                                    cxr.png (a synthetic 64 x 56 "radiograph")
//   ResCRNetFilterTestData check <mask> <image>      checks that the mask is on the image's grid with labels 0..2
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkImageRegionConstIterator.h"
#include "itkImageRegionIteratorWithIndex.h"

#include "rescrnet/ModelFile.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

namespace
{

using ImageType = itk::Image<unsigned char, 2>;

int
Make(const std::filesystem::path & directory)
{
  std::filesystem::create_directories(directory);
  torch::manual_seed(5);
  rescrnet::NetworkConfig config = rescrnet::NetworkConfig::LungDefault();
  config.convResBlocks = 1;
  config.blockDropout = { 0.05, 0.0 };
  rescrnet::ResCRNet  network(config);
  rescrnet::ModelInfo info;
  info.architecture = config;
  info.input.width = 48;
  info.input.height = 40;
  info.provenance["kind"] = "trained";
  info.provenance["by"] = "ResCRNetFilterTestData (random weights, for tests only)";
  rescrnet::SaveModel((directory / "tiny.rcn").string(), network, info);

  // Bright background, two darker "lungs".
  auto image = ImageType::New();
  image->SetRegions(itk::Size<2>{ { 64, 56 } });
  image->Allocate();
  for (itk::ImageRegionIteratorWithIndex<ImageType> it(image, image->GetLargestPossibleRegion()); !it.IsAtEnd(); ++it)
  {
    const double x = it.GetIndex()[0];
    const double y = it.GetIndex()[1];
    const bool   lung = std::hypot((x - 18) / 10, (y - 28) / 18) < 1 || std::hypot((x - 46) / 10, (y - 28) / 18) < 1;
    it.Set(static_cast<unsigned char>(lung ? 40 + (static_cast<int>(x + y) % 20) : 180 + (static_cast<int>(x) % 40)));
  }
  auto writer = itk::ImageFileWriter<ImageType>::New();
  writer->SetInput(image);
  writer->SetFileName((directory / "cxr.png").string());
  writer->Update();
  std::cout << "Wrote " << (directory / "tiny.rcn") << " and " << (directory / "cxr.png") << std::endl;
  return EXIT_SUCCESS;
}

int
Check(const std::string & maskFile, const std::string & imageFile)
{
  auto mask = itk::ReadImage<ImageType>(maskFile);
  auto image = itk::ReadImage<ImageType>(imageFile);
  if (mask->GetLargestPossibleRegion() != image->GetLargestPossibleRegion())
  {
    std::cerr << "the mask's region " << mask->GetLargestPossibleRegion().GetSize() << " differs from the image's "
              << image->GetLargestPossibleRegion().GetSize() << std::endl;
    return EXIT_FAILURE;
  }
  for (itk::ImageRegionConstIterator<ImageType> it(mask, mask->GetLargestPossibleRegion()); !it.IsAtEnd(); ++it)
  {
    if (it.Get() > 2)
    {
      std::cerr << "unexpected label " << static_cast<int>(it.Get()) << std::endl;
      return EXIT_FAILURE;
    }
  }
  std::cout << "The mask is on the image's grid with labels 0..2" << std::endl;
  return EXIT_SUCCESS;
}

} // namespace

int
main(int argc, char * argv[])
{
  try
  {
    if (argc == 3 && std::string(argv[1]) == "make")
    {
      return Make(argv[2]);
    }
    if (argc == 4 && std::string(argv[1]) == "check")
    {
      return Check(argv[2], argv[3]);
    }
  }
  catch (const std::exception & e) // itk::ExceptionObject is a std::exception
  {
    std::cerr << "Error: " << e.what() << std::endl;
    return EXIT_FAILURE;
  }
  std::cerr << "Usage: " << argv[0] << " make <directory> | check <mask> <image>" << std::endl;
  return EXIT_FAILURE;
}
