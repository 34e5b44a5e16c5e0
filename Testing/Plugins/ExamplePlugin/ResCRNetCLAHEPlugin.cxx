// SPDX-License-Identifier: Apache-2.0
// An example plugin: a pipeline stage "clahe" (contrast-limited adaptive histogram equalization) on ITK's
// AdaptiveHistogramEqualizationImageFilter. Built as a MODULE library in the project's tests and, out of tree,
// against an installed ITKResCRNet (CMakeLists.txt beside this file); the README's "Write a plugin" shows it.
#include "rescrnet/plugins/PluginAPI.h"

#include "itkAdaptiveHistogramEqualizationImageFilter.h"

namespace
{

using namespace rescrnet::plugins;

class CLAHEStage : public Stage
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(CLAHEStage);
  using Self = CLAHEStage;
  using Superclass = Stage;
  using Pointer = itk::SmartPointer<Self>;
  itkNewMacro(Self);
  itkTypeMacro(CLAHEStage, Stage);

  // The name pipeline files use, one line for listings, and one declaration per parameter.
  ComponentInfo
  Describe() const override
  {
    return { "clahe",
             "Contrast-limited adaptive histogram equalization (ITK's AdaptiveHistogramEqualizationImageFilter)",
             { ParameterSpec::String("image", "image", "Image", "The image it equalizes in place"),
               ParameterSpec::Number(
                 "alpha", 0.3, 0.0, 1.0, 0.05, "Alpha", "0: classical equalization, 1: unsharp mask"),
               ParameterSpec::Number("beta", 0.3, 0.0, 1.0, 0.05, "Beta", "0: unsharp mask, 1: pass through"),
               ParameterSpec::Integer("radius", 8, 1, 256, "Radius", "Window radius in pixels") } };
  }
  // The values are validated against the declarations before this is called.
  void
  Configure(const ParameterValues & values, const StageContext &) override
  {
    m_Image = values.GetString("image");
    m_Alpha = values.GetNumber("alpha");
    m_Beta = values.GetNumber("beta");
    m_Radius = values.GetInt("radius");
  }
  std::vector<Slot>
  Inputs() const override
  {
    return { { m_Image, SlotKind::Image } };
  }
  std::vector<Slot>
  Outputs() const override
  {
    return { { m_Image, SlotKind::Image } };
  }
  void
  Execute(PipelineData & data) const override
  {
    auto filter = itk::AdaptiveHistogramEqualizationImageFilter<ImageType>::New();
    filter->SetInput(data.Get<ImageType>(m_Image));
    filter->SetAlpha(static_cast<float>(m_Alpha));
    filter->SetBeta(static_cast<float>(m_Beta));
    filter->SetRadius(static_cast<itk::SizeValueType>(m_Radius));
    filter->Update();
    ImageType::Pointer output = filter->GetOutput();
    output->DisconnectPipeline();
    data.Set(m_Image, output.GetPointer());
  }

protected:
  CLAHEStage() = default;
  ~CLAHEStage() override = default;

private:
  std::string m_Image{ "image" };
  double      m_Alpha{ 0.3 }, m_Beta{ 0.3 };
  int64_t     m_Radius{ 8 };
};

void
Register(PluginFactory & factory)
{
  factory.RegisterStage<CLAHEStage>();
}

} // namespace

// The two C entry points: rescrnetPluginABI() and rescrnetPluginFactory().
RESCRNET_PLUGIN("CLAHE stage (ITKResCRNet example plugin)", Register)
