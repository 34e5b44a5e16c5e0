// SPDX-License-Identifier: Apache-2.0
// ResCRNetLungSegmentation with the project's committed default model on a radiograph of the `test` split of
// ../shared/data/cxr-lungs-256 (never used for training or model selection), against its reference mask: the Dice
// must be that of a working model, not merely a number in [0, 1]. Skipped when the shared data is absent.
#include "rescrnet/cli/CommandLine.h"

#include "itkImage.h"
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkPermuteAxesImageFilter.h"

#include "RunProgram.h"

#include <sstream>

using namespace rescrnet::testing;

namespace
{

// The comma-separated fields of the row of split.csv whose first field is `id`; empty when there is none.
std::vector<std::string>
SplitRow(const std::filesystem::path & splitCsv, const std::string & id)
{
  std::istringstream lines(ReadWholeFile(splitCsv));
  for (std::string line; std::getline(lines, line);)
  {
    if (!line.empty() && line.back() == '\r') // the file has CRLF line ends
      line.pop_back();
    if (line.rfind(id + ",", 0) != 0)
      continue;
    std::vector<std::string> fields;
    std::istringstream       row(line);
    for (std::string field; std::getline(row, field, ',');)
      fields.push_back(field);
    return fields;
  }
  return {};
}

} // namespace

TEST(ResCRNetLungSegmentationRealData, DefaultModelOnATestImageGivesDiceAbove0_9)
{
  // A normal Montgomery radiograph; the default model measures Dice 0.9678 on it (the test split's mean is 0.958).
  const std::string id = "MCUCXR_0023_0";
  RESCRNET_SHARED_OR_SKIP(dataset, "data/cxr-lungs-256");
  RESCRNET_SHARED_OR_SKIP(split, "data/cxr-lungs-256/split.csv");
  // id,image,mask,source,finding,split
  const auto row = SplitRow(split, id);
  ASSERT_EQ(row.size(), 6u) << id << " not found in " << split;
  ASSERT_EQ(row[5], "test") << id << " must come from the test split";
  const auto image = dataset / row[1];
  const auto mask = dataset / row[2];
  ASSERT_TRUE(std::filesystem::is_regular_file(image)) << image;
  ASSERT_TRUE(std::filesystem::is_regular_file(mask)) << mask;
  // The application's default model, named explicitly so that $ITKRESCRNET_MODEL cannot replace it.
  const auto model = SourceDirectory() / "Data" / "Models" / "ResCRNet-lungs-default.rcn";
  ASSERT_TRUE(std::filesystem::is_regular_file(model)) << model;

  const auto dir = TemporaryDirectory();
  const auto r = RunProgram(ModulePath("ResCRNetLungSegmentation"),
                            { "--model",
                              model.string(),
                              "--reference",
                              mask.string(),
                              "--returnparameterfile",
                              (dir / "rp.txt").string(),
                              image.string(),
                              (dir / "lungs.nrrd").string() });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(dir / "lungs.nrrd"));
  const auto params = rescrnet::cli::ReadReturnParameterFile((dir / "rp.txt").string());
  ASSERT_TRUE(params.count("dice"));
  const double dice = std::stod(params.at("dice"));
  RecordProperty("dice", std::to_string(dice));
  EXPECT_GT(dice, 0.9) << id << ": " << r.out;
  EXPECT_LE(dice, 1.0);
}

TEST(ResCRNetLungSegmentationRealData, QualityScoreTellsAGoodMaskFromAFailedOne)
{
  // The same test radiograph upright (a good mask: Dice > 0.9 above) and transposed, lying on its side, where the
  // network's probability is undecided and the mask wrong: the reference-free score must tell them apart.
  const std::string id = "MCUCXR_0023_0";
  RESCRNET_SHARED_OR_SKIP(dataset, "data/cxr-lungs-256");
  const auto image = dataset / "images" / (id + ".png");
  ASSERT_TRUE(std::filesystem::is_regular_file(image)) << image;
  const auto model = SourceDirectory() / "Data" / "Models" / "ResCRNet-lungs-default.rcn";
  const auto dir = TemporaryDirectory();

  using Image = itk::Image<unsigned char, 2>;
  auto reader = itk::ImageFileReader<Image>::New();
  reader->SetFileName(image.string());
  auto transpose = itk::PermuteAxesImageFilter<Image>::New();
  transpose->SetInput(reader->GetOutput());
  itk::FixedArray<unsigned int, 2> order;
  order[0] = 1;
  order[1] = 0;
  transpose->SetOrder(order);
  auto writer = itk::ImageFileWriter<Image>::New();
  writer->SetInput(transpose->GetOutput());
  writer->SetFileName((dir / "sideways.png").string());
  writer->Update();

  const auto quality = [&](const std::filesystem::path & input, const std::string & name) {
    const auto r = RunProgram(ModulePath("ResCRNetLungSegmentation"),
                              { "--model",
                                model.string(),
                                "--returnparameterfile",
                                (dir / (name + ".txt")).string(),
                                input.string(),
                                (dir / (name + ".nrrd")).string() });
    EXPECT_EQ(r.exitCode, 0) << r.err;
    return rescrnet::cli::ReadReturnParameterFile((dir / (name + ".txt")).string());
  };
  const auto upright = quality(image, "upright");
  const auto sideways = quality(dir / "sideways.png", "sideways");
  ASSERT_TRUE(upright.count("qualityScore") && sideways.count("qualityScore"));
  RecordProperty("upright", upright.at("qualityScore"));
  RecordProperty("sideways", sideways.at("qualityScore"));
  EXPECT_GT(std::stod(upright.at("qualityScore")), 0.9);
  EXPECT_EQ(upright.at("qualityFlags").find("low_score"), std::string::npos) << upright.at("qualityFlags");
  EXPECT_LT(std::stod(sideways.at("qualityScore")), 0.5);
  EXPECT_NE(sideways.at("qualityFlags").find("low_score"), std::string::npos) << sideways.at("qualityFlags");
}
