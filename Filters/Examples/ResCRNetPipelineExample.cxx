// Chest X-ray -> lung label map (1 = right lung, 2 = left lung) with the ResCRNet ITK filters.
// Usage: ResCRNetPipelineExample <input image> <model file> <output mask>
#include "itkCXRPreprocessImageFilter.h"
#include "itkHistogramEqualizationImageFilter.h"
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkLungMaskPostprocessImageFilter.h"
#include "itkResCRNetSegmentationImageFilter.h"

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

    // The model file says which grid the network was trained on (340 x 300 for the lung model).
    auto segment = itk::ResCRNetSegmentationImageFilter<ImageType>::New();
    segment->SetModelFileName(argv[2]);
    const rescrnet::ModelInfo & info = segment->GetPredictor()->info();

    auto preprocess = itk::CXRPreprocessImageFilter<ImageType>::New(); // min-max, resize, round to 0..255
    preprocess->SetInput(reader->GetOutput());
    preprocess->SetGridSize(info.input.width, info.input.height);

    auto equalize = itk::HistogramEqualizationImageFilter<ImageType>::New(); // cv2.equalizeHist
    equalize->SetInput(preprocess->GetOutput());
    segment->SetInput(equalize->GetOutput()); // divides by 255, runs the network

    auto postprocess = itk::LungMaskPostprocessImageFilter<ImageType, MaskType>::New();
    postprocess->SetInput(segment->GetProbabilityOutput()); // class 0 = lungs
    postprocess->SetReferenceImage(reader->GetOutput());    // back onto the input's grid
    postprocess->LabelLeftRightOn();

    auto writer = itk::ImageFileWriter<MaskType>::New();
    writer->SetInput(postprocess->GetOutput());
    writer->SetFileName(argv[3]);
    writer->Update();
    std::cout << "Wrote " << argv[3] << " (" << postprocess->GetNumberOfDetectedComponents()
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
