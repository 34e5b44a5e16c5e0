#include "ResCRNetApplicationStartup.h"

#include "ResCRNetLungPipeline.h"

#include <stdexcept>

namespace rescrnet::app
{

namespace
{
const char * g_Argv0 = nullptr;
} // namespace

void
StartApplication(int argc, char * argv[])
{
  g_Argv0 = argc > 0 ? argv[0] : nullptr;
  ReturnLargeBuffersToTheSystem();
}

std::string
ModelPath(const std::string & requested)
{
  const std::string model = requested.empty() ? DefaultModelPath(g_Argv0) : requested;
  if (model.empty())
    throw std::runtime_error("no model: pass --model FILE (the project's default model was not found)");
  return model;
}

std::shared_ptr<const Predictor>
LoadPredictor(const std::string & model, int threads, const std::string & precision)
{
  auto predictor = std::make_shared<Predictor>(Predictor::FromFile(model, threads));
  predictor->setPrecision(ParsePrecision(precision));
  return predictor;
}

} // namespace rescrnet::app
