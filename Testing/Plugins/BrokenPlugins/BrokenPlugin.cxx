// SPDX-License-Identifier: Apache-2.0
// Test plugins, one per compile definition: the ways a plugin can be broken, a plugin that records that it was
// loaded, and one whose stage name is taken. Built by Testing/Plugins/CMakeLists.txt.
#include "rescrnet/plugins/PluginAPI.h"

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace
{

using namespace rescrnet::plugins;

// A stage that copies nothing and reads the input image.
class TestStage : public Stage
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(TestStage);
  using Self = TestStage;
  using Superclass = Stage;
  using Pointer = itk::SmartPointer<Self>;
  itkNewMacro(Self);
  itkTypeMacro(TestStage, Stage);

  ComponentInfo
  Describe() const override
  {
    return { RESCRNET_TEST_STAGE_NAME, "a test plugin's stage", {} };
  }
  void
  Configure(const ParameterValues &, const StageContext &) override
  {}
  std::vector<Slot>
  Inputs() const override
  {
    return { { "image", SlotKind::Image } };
  }
  bool
  AlwaysRuns() const override
  {
    return true;
  }
  void
  Execute(PipelineData & data) const override
  {
    data.measures["test_stage_ran"] = 1;
  }

protected:
  TestStage() = default;
  ~TestStage() override = default;
};

[[maybe_unused]] void
Register(PluginFactory & factory)
{
  factory.RegisterStage<TestStage>();
}

} // namespace

#if defined(RESCRNET_BROKEN_NO_FACTORY)
// The ABI symbol without the factory symbol.
RESCRNET_PLUGIN_EXPORT const char *
rescrnetPluginABI()
{
  return RESCRNET_PLUGIN_ABI;
}
#elif defined(RESCRNET_BROKEN_ABI)
// Built for another plugin API: the host must refuse it before calling its factory, which would abort.
RESCRNET_PLUGIN_EXPORT const char *
rescrnetPluginABI()
{
  return "rescrnet-plugin-api=999;itk=4.13.3;libtorch=0.4.0;cxx11-abi=0";
}
RESCRNET_PLUGIN_EXPORT itk::ObjectFactoryBase *
                       rescrnetPluginFactory()
{
  std::abort();
}
#elif defined(RESCRNET_BROKEN_THROWS)
namespace
{
void
Throw(PluginFactory &)
{
  throw std::runtime_error("this test plugin's registration fails on purpose");
}
} // namespace
RESCRNET_PLUGIN("throws while registering", Throw)
#elif defined(RESCRNET_MARKER)
namespace
{
// Records that the library was loaded (its static initialisers ran) in the file $RESCRNET_PLUGIN_MARKER.
struct Marker
{
  Marker()
  {
    if (const char * path = std::getenv("RESCRNET_PLUGIN_MARKER"))
      std::ofstream(path) << "loaded\n";
  }
} marker;
} // namespace
RESCRNET_PLUGIN("marks that it was loaded", Register)
#else
RESCRNET_PLUGIN("a test plugin", Register)
#endif
