// SPDX-License-Identifier: Apache-2.0
// The shipped pipeline on radiographs of the shared data's test split: masks bit-identical to
// itk::CXRLungSegmentationImageFilter and to ResCRNetLungSegmentation; and the authors' model exported to TorchScript
// (python3-torch, torch.jit.trace, into the build tree) run through a pipeline file gives the native model's mask.
// Skipped, with the reason, without ../shared or python3-torch.
#include "PluginTestSupport.h"

#include "itkCXRLungSegmentationImageFilter.h"
#include "rescrnet/ModelFile.h"
#include "rescrnet/io/ImageFile.h"
#include "rescrnet/plugins/Pipeline.h"

#include <sstream>

using namespace rescrnet::testing;
using rescrnet::plugins::Json;
namespace fs = std::filesystem;

namespace
{

using FloatImage = itk::Image<float, 2>;

// The images of the first `n` rows of split.csv's test split.
std::vector<fs::path>
TestImages(const fs::path & dataset, size_t n)
{
  std::istringstream    lines(ReadWholeFile(dataset / "split.csv"));
  std::vector<fs::path> images;
  for (std::string line; images.size() < n && std::getline(lines, line);)
  {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    std::vector<std::string> fields;
    std::istringstream       row(line);
    for (std::string field; std::getline(row, field, ',');)
      fields.push_back(field);
    if (fields.size() == 6 && fields[5] == "test")
      images.push_back(dataset / fields[1]);
  }
  return images;
}

LabelImage::Pointer
CompositeFilterMask(const fs::path & image, const fs::path & model)
{
  rescrnet::io::ReadOptions options;
  options.fixNegativeChest = true; // as the shipped pipeline's read-image stage
  auto filter = itk::CXRLungSegmentationImageFilter<FloatImage, LabelImage>::New();
  filter->SetInput(rescrnet::io::ReadImage<FloatImage>(image.string(), options));
  filter->SetModelFileName(model.string());
  filter->Update();
  return filter->GetOutput();
}

bool
SameLabels(const LabelImage * a, const LabelImage * b)
{
  if (a->GetLargestPossibleRegion() != b->GetLargestPossibleRegion())
    return false;
  const size_t n = a->GetLargestPossibleRegion().GetNumberOfPixels();
  return std::equal(a->GetBufferPointer(), a->GetBufferPointer() + n, b->GetBufferPointer());
}

double
Dice(const LabelImage * a, const LabelImage * b)
{
  const size_t n = a->GetLargestPossibleRegion().GetNumberOfPixels();
  size_t       both = 0, sum = 0;
  for (size_t k = 0; k < n; ++k)
  {
    const bool x = a->GetBufferPointer()[k] != 0, y = b->GetBufferPointer()[k] != 0;
    both += x && y;
    sum += x + y;
  }
  return sum == 0 ? 1.0 : 2.0 * static_cast<double>(both) / static_cast<double>(sum);
}

} // namespace

TEST(PipelineRealData, ShippedPipelineGivesTheCompositeFiltersAndTheCommandsMasksBitForBit)
{
  RESCRNET_SHARED_OR_SKIP(dataset, "data/cxr-lungs-256");
  const auto pipelineFile = SourceDirectory() / "Data" / "Pipelines" / "lung-segmentation.json";
  const auto model = SourceDirectory() / "Data" / "Models" / "ResCRNet-lungs-default.rcn";
  ASSERT_TRUE(fs::is_regular_file(model)) << model;
  ::unsetenv("ITKRESCRNET_MODEL"); // the command's default pipeline must use its own model
  rescrnet::plugins::PipelineRequest request;
  request.file = pipelineFile.string();
  const auto pipeline = rescrnet::plugins::Pipeline::Load(request);
  ASSERT_EQ(pipeline->Effective()["model"]["file"], fs::weakly_canonical(model).string());

  const auto dir = TemporaryDirectory();
  const auto images = TestImages(dataset, 3);
  ASSERT_EQ(images.size(), 3u);
  for (const auto & image : images)
  {
    const auto viaPipeline = dir / (image.stem().string() + "_pipeline.nrrd");
    pipeline->Run({ { "input", image.string() }, { "output", viaPipeline.string() } });
    const auto viaCommand = dir / (image.stem().string() + "_command.nrrd");
    const auto r = RunProgram(ModulePath("ResCRNetLungSegmentation"), { image.string(), viaCommand.string() });
    ASSERT_EQ(r.exitCode, 0) << r.err;

    const auto composite = CompositeFilterMask(image, model);
    const auto a = ReadLabels(viaPipeline);
    const auto b = ReadLabels(viaCommand);
    EXPECT_TRUE(SameLabels(a, composite)) << image << ": the pipeline's mask differs from the composite filter's";
    EXPECT_TRUE(SameLabels(b, composite)) << image << ": the command's mask differs from the composite filter's";
    const size_t n = composite->GetLargestPossibleRegion().GetNumberOfPixels();
    EXPECT_GT(std::count(composite->GetBufferPointer(), composite->GetBufferPointer() + n, 1),
              static_cast<long>(n / 10))
      << image << ": hardly any lung: the comparison would prove little";
  }
}

TEST(PipelineRealData, TorchScriptExportOfTheAuthorsModelGivesTheNativeMask)
{
  RESCRNET_SHARED_OR_SKIP(weights, "models/cxr-net/model_16F_5R1_0R2_2020-10-02_13_50_weights.h5");
  RESCRNET_SHARED_OR_SKIP(dataset, "data/cxr-lungs-256");
  if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "python3-torch is not installed (/usr/bin/python3 cannot import torch): apt install python3-torch";

  // Into the build tree, never the source tree: the files hold the authors' weights.
  const fs::path work = RESCRNET_TORCHSCRIPT_WORK_DIR;
  fs::create_directories(work);
  const auto native = work / "authors.rcn";
  const auto traced = work / "authors.pt";
  auto       r = RunProgram(ModulePath("ResCRNetImportKeras"), { weights.string(), native.string() });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const auto info = rescrnet::LoadModel(native.string()).info;
  const auto height = info.input.height, width = info.input.width;
  r = RunProgram(
    "/usr/bin/python3",
    { RESCRNET_EXPORT_SCRIPT, native.string(), traced.string(), std::to_string(height), std::to_string(width) });
  ASSERT_EQ(r.exitCode, 0) << r.out << r.err;

  const auto dir = TemporaryDirectory();
  Json       nativeDoc = ShippedPipeline(native);
  Json       scriptDoc = ShippedPipeline(traced);
  scriptDoc["model"]["backend"] = "torchscript";
  scriptDoc["model"]["parameters"] = { { "activation", "none" } }; // the port ends with a softmax
  // A TorchScript file declares nothing: the pipeline file gives the grid.
  scriptDoc["model"]["network_data_format"]["inputs"]["image"]["spatial_shape"] = { height, width };
  const auto nativeFile = WritePipeline(dir / "native.json", nativeDoc);
  const auto scriptFile = WritePipeline(dir / "torchscript.json", scriptDoc);

  for (const auto & image : TestImages(dataset, 2))
  {
    const auto a = dir / (image.stem().string() + "_native.nrrd");
    const auto b = dir / (image.stem().string() + "_torchscript.nrrd");
    r = RunProgram(ModulePath("ResCRNetPipeline"), { nativeFile.string(), image.string(), a.string() });
    ASSERT_EQ(r.exitCode, 0) << r.err;
    r = RunProgram(ModulePath("ResCRNetPipeline"), { "--echo", scriptFile.string(), image.string(), b.string() });
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.out.find("\"backend\": \"torchscript\""), std::string::npos) << r.out;
    const auto   x = ReadLabels(a), y = ReadLabels(b);
    const double dice = Dice(x, y);
    std::cout << image.filename().string() << ": Dice(native, TorchScript) = " << dice << std::endl;
    EXPECT_GE(dice, 0.999) << image;
    const size_t n = x->GetLargestPossibleRegion().GetNumberOfPixels();
    EXPECT_GT(std::count(x->GetBufferPointer(), x->GetBufferPointer() + n, 1), static_cast<long>(n / 10)) << image;
  }
}
