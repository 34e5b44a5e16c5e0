// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/plugins/Pipeline.h"

#include "rescrnet/AtomicFile.h"
#include "rescrnet/CsvTable.h"
#include "rescrnet/ModelFile.h"
#include "rescrnet/TextUtilities.h"
#include "rescrnet/io/ImageFile.h"
#include "rescrnet/plugins/ParameterChecks.h"
#include "rescrnet/plugins/PluginLoader.h"

#include "itkMacro.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

namespace rescrnet::plugins
{

namespace fs = std::filesystem;

namespace
{

constexpr const char * Format = "rescrnet-pipeline";
constexpr int64_t      FormatVersion = 1;

// The parameters recorded in the effective pipeline: all but those that do not change the results
// (ParameterSpec::changesResults).
Json
RecordedParameters(const ComponentInfo & info, const ParameterValues & values)
{
  Json recorded = Json::object();
  for (const auto & [name, value] : values.AsJson().items())
    if (const ParameterSpec * spec = info.FindParameter(name); spec == nullptr || spec->changesResults)
      recorded[name] = value;
  return recorded;
}

std::string
Shown(const Json & value)
{
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  return text.size() > 60 ? text.substr(0, 57) + "..." : text;
}

std::string
Join(const std::vector<std::string> & items)
{
  std::string text;
  for (const auto & i : items)
    text += (text.empty() ? "" : ", ") + i;
  return text;
}

bool
IsWholeNumber(const Json & v)
{
  return v.is_number_integer() || (v.is_number_float() && std::isfinite(v.get<double>()) &&
                                   std::floor(v.get<double>()) == v.get<double>() && std::fabs(v.get<double>()) < 9e15);
}

// Checks a document's parts against what the pipeline format allows, naming the file and the JSON pointer.
class Validator
{
public:
  Validator(std::string source, fs::path baseFolder, std::vector<std::string> & warnings)
    : m_Source(std::move(source))
    , m_Base(std::move(baseFolder))
    , m_Warnings(warnings)
  {}

  [[noreturn]] void
  Fail(const std::string & pointer, const std::string & problem) const
  {
    throw PipelineError(m_Source + ": " + (pointer.empty() ? std::string("/") : pointer) + ": " + problem);
  }

  // Keys of `object` outside `known` ("description" and "comment" are always allowed) are reported as unused.
  void
  WarnUnusedKeys(const Json & object, const std::string & pointer, const std::vector<std::string> & known)
  {
    for (const auto & [key, value] : object.items())
    {
      (void)value;
      if (key == "description" || key == "comment" || std::find(known.begin(), known.end(), key) != known.end())
        continue;
      m_Warnings.push_back(m_Source + ": " + JsonPointer(pointer, key) + ": unused key (nothing reads it)");
    }
  }

  const Json &
  RequireObject(const Json & value, const std::string & pointer, const std::string & what) const
  {
    if (!value.is_object())
      Fail(pointer, "expected " + what + " (a JSON object), got " + Shown(value));
    return value;
  }

  std::string
  RequireString(const Json & object, const std::string & pointer, const std::string & key) const
  {
    if (!object.contains(key))
      Fail(pointer, "missing \"" + key + "\"");
    const Json & v = object.at(key);
    if (!v.is_string() || v.get<std::string>().empty())
      Fail(JsonPointer(pointer, key), "expected a non-empty string, got " + Shown(v));
    return v.get<std::string>();
  }

  std::string
  ResolvePath(const std::string & path) const
  {
    const fs::path p(path);
    return (p.is_absolute() ? p : m_Base / p).lexically_normal().string();
  }

  // The values of `info`'s parameters from `given` (an object or null): unknown keys, missing required parameters
  // and values of the wrong type or out of range are errors; defaults fill the rest.
  ParameterValues
  Parameters(const ComponentInfo & info, const char * kind, const Json * given, const std::string & pointer) const
  {
    if (given && !given->is_object())
      Fail(pointer, "expected an object of parameters, got " + Shown(*given));
    if (given)
      for (const auto & [key, value] : given->items())
      {
        const ParameterSpec * spec = info.FindParameter(key);
        if (!spec)
        {
          std::vector<std::string> names;
          for (const auto & p : info.parameters)
            names.push_back(p.name);
          Fail(JsonPointer(pointer, key),
               std::string("unknown parameter \"") + key + "\" of the " + kind + " \"" + info.name + "\" (" +
                 (names.empty() ? std::string("it has none") : "its parameters: " + Join(names)) + ")");
        }
        const std::string problem = CheckParameterValue(*spec, value);
        if (!problem.empty())
          Fail(JsonPointer(pointer, key), problem);
      }
    Json values = Json::object();
    for (const auto & spec : info.parameters)
    {
      if (given && given->contains(spec.name))
      {
        Json v = given->at(spec.name);
        if (spec.type == ParameterType::Integer && v.is_number_float())
          v = static_cast<int64_t>(v.get<double>());
        if (spec.type == ParameterType::File)
          v = ResolvePath(v.get<std::string>());
        values[spec.name] = v;
      }
      else if (spec.Required())
        Fail(pointer,
             std::string("missing parameter \"") + spec.name + "\" of the " + kind + " \"" + info.name + "\" (" +
               DescribeType(spec) + ": " + spec.description + ")");
      else
        values[spec.name] = spec.defaultValue;
    }
    return ParameterValues(values);
  }

private:
  std::string                m_Source;
  fs::path                   m_Base;
  std::vector<std::string> & m_Warnings;
};

// The only entry of `object` (network_data_format's "inputs" or "outputs").
std::pair<std::string, const Json *>
SingleEntry(const Validator & v, const Json & object, const std::string & pointer)
{
  v.RequireObject(object, pointer, "an object with one entry");
  if (object.size() != 1)
    v.Fail(pointer,
           "expected exactly one entry (this pipeline's models have one input and one output), got " +
             std::to_string(object.size()));
  return { object.begin().key(), &object.begin().value() };
}

// [minimum, maximum] of a "value_range".
std::pair<double, double>
ValueRange(const Validator & v, const Json & range, const std::string & pointer)
{
  if (!range.is_array() || range.size() != 2 || !range[0].is_number() || !range[1].is_number() ||
      !(range[0].get<double>() < range[1].get<double>()))
    v.Fail(pointer, "expected [minimum, maximum], got " + Shown(range));
  return { range[0].get<double>(), range[1].get<double>() };
}

// The model's data contract: the file's network_data_format (any part may be left out) checked against what the
// model declares, and completed by it.
ModelContract
ResolveContract(Validator &              v,
                const Json *             format,
                const DeclaredContract & declared,
                const std::string &      pointer,
                std::string &            inputName,
                std::string &            outputName)
{
  ModelContract c;
  inputName = "image";
  outputName = "pred";
  std::optional<int64_t>                   height, width, classes;
  std::optional<std::pair<double, double>> range;
  std::vector<std::string>                 names;
  std::string                              gridPointer = pointer, classesPointer = pointer, rangePointer = pointer;
  const auto                               mismatch =
    [&](const std::string & at, const std::string & what, const std::string & file, const std::string & model) {
      v.Fail(at,
             "the model does not fit the pipeline: the file declares " + what + " " + file + ", the model file " +
               model);
    };
  if (format)
  {
    v.RequireObject(*format, pointer, "the model's data format");
    v.WarnUnusedKeys(*format, pointer, { "inputs", "outputs" });
    if (format->contains("inputs"))
    {
      const std::string inputs = JsonPointer(pointer, "inputs");
      const auto [name, input] = SingleEntry(v, format->at("inputs"), inputs);
      inputName = name;
      const std::string at = JsonPointer(inputs, name);
      v.RequireObject(*input, at, "the input's description");
      v.WarnUnusedKeys(*input,
                       at,
                       { "type",
                         "format",
                         "modality",
                         "num_channels",
                         "spatial_shape",
                         "dtype",
                         "value_range",
                         "is_patch_data",
                         "channel_def" });
      if (input->contains("num_channels"))
      {
        const Json & n = input->at("num_channels");
        if (!IsWholeNumber(n) || n.get<double>() < 1)
          v.Fail(JsonPointer(at, "num_channels"), "expected a positive integer, got " + Shown(n));
        if (n.get<double>() != 1)
          v.Fail(JsonPointer(at, "num_channels"), "the stages feed the network grey images: only 1 channel");
      }
      if (declared.inputChannels && *declared.inputChannels != 1)
        mismatch(JsonPointer(at, "num_channels"), "input channels", "1", std::to_string(*declared.inputChannels));
      if (input->contains("spatial_shape"))
      {
        gridPointer = JsonPointer(at, "spatial_shape");
        const Json & s = input->at("spatial_shape");
        if (!s.is_array() || s.size() != 2)
          v.Fail(gridPointer, "expected [height, width] (integers, or \"*\" for the model's own), got " + Shown(s));
        std::optional<int64_t> hw[2];
        for (size_t k = 0; k < 2; ++k)
        {
          if (s[k].is_string() && s[k].get<std::string>() == "*")
            continue;
          if (!IsWholeNumber(s[k]) || s[k].get<double>() < 1 || s[k].get<double>() > 65535)
            v.Fail(gridPointer, "expected [height, width] (integers in [1, 65535], or \"*\"), got " + Shown(s));
          hw[k] = static_cast<int64_t>(s[k].get<double>());
        }
        height = hw[0];
        width = hw[1];
      }
      if (input->contains("dtype") && input->at("dtype") != "float32")
        v.Fail(JsonPointer(at, "dtype"), "only \"float32\" inputs are supported, got " + Shown(input->at("dtype")));
      if (input->contains("value_range"))
      {
        rangePointer = JsonPointer(at, "value_range");
        range = ValueRange(v, input->at("value_range"), rangePointer);
        if (*range != std::make_pair(0.0, 1.0) && *range != std::make_pair(0.0, 255.0))
          v.Fail(rangePointer, "supported: [0, 1] (levels / 255) and [0, 255], got " + Shown(input->at("value_range")));
      }
    }
    if (format->contains("outputs"))
    {
      const std::string outputs = JsonPointer(pointer, "outputs");
      const auto [name, output] = SingleEntry(v, format->at("outputs"), outputs);
      outputName = name;
      const std::string at = JsonPointer(outputs, name);
      classesPointer = at;
      v.RequireObject(*output, at, "the output's description");
      v.WarnUnusedKeys(
        *output,
        at,
        { "type", "format", "num_channels", "spatial_shape", "dtype", "value_range", "is_patch_data", "channel_def" });
      if (output->contains("num_channels"))
      {
        const Json & n = output->at("num_channels");
        if (!IsWholeNumber(n) || n.get<double>() < 1 || n.get<double>() > 1000)
          v.Fail(JsonPointer(at, "num_channels"), "expected a positive integer, got " + Shown(n));
        classes = static_cast<int64_t>(n.get<double>());
      }
      if (output->contains("channel_def"))
      {
        const std::string def = JsonPointer(at, "channel_def");
        const Json &      d = v.RequireObject(output->at("channel_def"), def, "{\"0\": class name, ...}");
        names.resize(d.size());
        for (const auto & [key, value] : d.items())
        {
          size_t index = d.size();
          if (!key.empty() && key.find_first_not_of("0123456789") == std::string::npos && key.size() < 5)
            index = std::stoul(key);
          if (index >= d.size() || !names[index].empty())
            v.Fail(JsonPointer(def, key),
                   "expected the channels \"0\" to \"" + std::to_string(d.size() - 1) + "\", each once");
          if (!value.is_string() || value.get<std::string>().empty())
            v.Fail(JsonPointer(def, key), "expected a class name, got " + Shown(value));
          names[index] = value.get<std::string>();
        }
        if (classes && static_cast<size_t>(*classes) != names.size())
          v.Fail(def,
                 std::to_string(names.size()) + " channels defined, but num_channels is " + std::to_string(*classes));
        classes = static_cast<int64_t>(names.size());
      }
      if (output->contains("dtype") && output->at("dtype") != "float32")
        v.Fail(JsonPointer(at, "dtype"), "only \"float32\" outputs are supported, got " + Shown(output->at("dtype")));
      if (output->contains("value_range"))
        ValueRange(v, output->at("value_range"), JsonPointer(at, "value_range"));
    }
  }

  // Against the model file.
  const auto grid = [](std::optional<int64_t> h, std::optional<int64_t> w) {
    return "[" + (h ? std::to_string(*h) : std::string("\"*\"")) + ", " +
           (w ? std::to_string(*w) : std::string("\"*\"")) + "]";
  };
  if ((height && declared.height && *height != *declared.height) ||
      (width && declared.width && *width != *declared.width))
    mismatch(
      gridPointer, "the grid (height, width)", grid(height, width), "says " + grid(declared.height, declared.width));
  if (classes && declared.classes && *classes != *declared.classes)
    mismatch(JsonPointer(classesPointer, "num_channels"),
             "output channels",
             std::to_string(*classes),
             "has " + std::to_string(*declared.classes));
  if (!names.empty() && !declared.classNames.empty() && names != declared.classNames)
    mismatch(JsonPointer(classesPointer, "channel_def"),
             "the classes",
             "[" + Join(names) + "]",
             "has [" + Join(declared.classNames) + "]");
  if (range && declared.inputMinimum && declared.inputMaximum &&
      *range != std::make_pair(*declared.inputMinimum, *declared.inputMaximum))
    mismatch(rangePointer,
             "the input value range",
             "[" + Shown(range->first) + ", " + Shown(range->second) + "]",
             "expects [" + Shown(*declared.inputMinimum) + ", " + Shown(*declared.inputMaximum) + "]");

  // Completed by the model file.
  if (!height)
    height = declared.height;
  if (!width)
    width = declared.width;
  if (!height || !width)
    v.Fail(gridPointer,
           "the model file does not declare its grid: give \"spatial_shape\": [height, width] in "
           "network_data_format's input");
  if (!classes)
    classes = declared.classes;
  if (names.empty())
    names = declared.classNames;
  if (!classes)
    v.Fail(classesPointer,
           "the model file does not declare its classes: give network_data_format's output "
           "\"num_channels\" and \"channel_def\"");
  if (names.empty())
    for (int64_t k = 0; k < *classes; ++k)
      names.push_back(std::to_string(k));
  if (!range && declared.inputMinimum && declared.inputMaximum)
    range = std::make_pair(*declared.inputMinimum, *declared.inputMaximum);
  c.inputChannels = 1;
  c.height = *height;
  c.width = *width;
  c.inputMinimum = range ? range->first : 0.0;
  c.inputMaximum = range ? range->second : 1.0;
  c.classNames = names;
  return c;
}

void
ApplyStageSettings(Json & document, const std::vector<ParameterSetting> & settings, const std::string & source)
{
  for (const auto & s : settings)
  {
    if (s.kind != ComponentKind::Stage)
      continue;
    bool found = false;
    if (document.is_object() && document.contains("stages") && document["stages"].is_array())
      for (auto & entry : document["stages"])
        if (entry.is_object() && entry.contains("stage") && entry["stage"] == s.component)
        {
          if (!entry.contains("parameters"))
            entry["parameters"] = Json::object();
          if (entry["parameters"].is_object())
            entry["parameters"][s.parameter] = s.value;
          found = true;
        }
    if (!found)
      throw PipelineError(source + ": " + s.origin + " sets \"" + s.parameter + "\" of the stage \"" + s.component +
                          "\", which the pipeline does not have");
  }
}

// Loads plugins when `name` is not registered, and tries again.
template <typename TCreate>
auto
CreateOnDemand(const std::string & name, TCreate create)
{
  auto object = create(name);
  if (!object && PluginLoader::Instance().LoadAll() > 0)
    object = create(name);
  return object;
}

std::string
Hex(uint32_t value)
{
  char text[9];
  std::snprintf(text, sizeof(text), "%08x", value);
  return text;
}

} // namespace

std::shared_ptr<const Pipeline>
Pipeline::Load(const PipelineRequest & request)
{
  RegisterBuiltIns();
  auto        pipeline = std::shared_ptr<Pipeline>(new Pipeline());
  Json        doc = ReadJsonDocument(request.file);
  std::string source = request.file;
  if (!request.overrides.empty())
  {
    doc = MergeOverrides(std::move(doc), ReadJsonDocument(request.overrides), request.overrides);
    source += " (with " + request.overrides + ")";
  }
  ApplyStageSettings(doc, request.settings, source);
  std::error_code ec;
  const fs::path  file = fs::absolute(request.file, ec);
  Validator       v(source, file.parent_path(), pipeline->m_Warnings);

  // The document.
  v.RequireObject(doc, "", "a pipeline");
  v.WarnUnusedKeys(doc, "", { "format", "version", "name", "model", "stages" });
  if (!doc.contains("format") || doc["format"] != Format)
    v.Fail("/format",
           std::string("expected \"") + Format + "\" (a pipeline file begins with \"format\": \"" + Format +
             "\", \"version\": " + std::to_string(FormatVersion) + ")" +
             (doc.contains("format") ? ", got " + Shown(doc["format"]) : std::string()));
  if (!doc.contains("version") || !doc["version"].is_number_integer())
    v.Fail("/version", "expected the format version, an integer (" + std::to_string(FormatVersion) + ")");
  if (doc["version"].get<int64_t>() > FormatVersion)
    v.Fail("/version",
           "the file is written for version " + std::to_string(doc["version"].get<int64_t>()) +
             " of the pipeline format; this program reads version " + std::to_string(FormatVersion));
  if (doc["version"].get<int64_t>() < 1)
    v.Fail("/version", "expected a version >= 1");
  pipeline->m_Name = file.stem().string();
  if (doc.contains("name"))
  {
    if (!doc["name"].is_string() || doc["name"].get<std::string>().empty())
      v.Fail("/name", "expected a non-empty string, got " + Shown(doc["name"]));
    pipeline->m_Name = doc["name"].get<std::string>();
  }
  if (!doc.contains("stages"))
    v.Fail("/stages", "missing: a pipeline lists its stages in order");
  if (!doc["stages"].is_array() || doc["stages"].empty())
    v.Fail("/stages", "expected a non-empty list of stages, got " + Shown(doc["stages"]));

  Json effective = Json::object();
  effective["format"] = Format;
  effective["version"] = FormatVersion;
  effective["name"] = pipeline->m_Name;
  if (doc.contains("description"))
    effective["description"] = doc["description"];

  // The model.
  StageContext context;
  context.pipelineFile = file.string();
  if (doc.contains("model"))
  {
    if (!request.model.empty() && doc["model"].is_object())
      doc["model"]["file"] = fs::absolute(request.model, ec).lexically_normal().string();
    const Json & model = v.RequireObject(doc["model"], "/model", "the model");
    v.WarnUnusedKeys(model, "/model", { "backend", "file", "parameters", "network_data_format" });
    const std::string backendName = v.RequireString(model, "/model", "backend");
    auto              backend = CreateOnDemand(backendName, [](const std::string & n) { return CreateBackend(n); });
    if (!backend)
      v.Fail("/model/backend",
             "unknown model backend \"" + backendName + "\"; registered: " + RegisteredNames(ComponentKind::Backend) +
               " (" + PluginLoader::Instance().Report() + ")");
    const std::string   modelFile = v.ResolvePath(v.RequireString(model, "/model", "file"));
    Json                parameters = model.contains("parameters") ? model["parameters"] : Json::object();
    const ComponentInfo info = backend->Describe();
    for (const auto & s : request.settings)
    {
      if (s.kind != ComponentKind::Backend || (!s.component.empty() && s.component != backendName))
        continue;
      if (!info.FindParameter(s.parameter))
        v.Fail("/model/parameters",
               s.origin + " does not apply to the model backend \"" + backendName + "\" (it has no parameter \"" +
                 s.parameter + "\")");
      if (parameters.is_object())
        parameters[s.parameter] = s.value;
    }
    const ParameterValues values = v.Parameters(info, "model backend", &parameters, "/model/parameters");
    try
    {
      backend->Load(modelFile, values);
    }
    catch (const c10::Error & e)
    {
      v.Fail("/model/file", "cannot load the model " + modelFile + ": " + OneLine(e.what_without_backtrace()));
    }
    catch (const std::exception & e)
    {
      v.Fail("/model/file", "cannot load the model " + modelFile + ": " + OneLine(e.what()));
    }
    std::string inputName, outputName;
    pipeline->m_Contract =
      ResolveContract(v,
                      model.contains("network_data_format") ? &model["network_data_format"] : nullptr,
                      backend->Declared(),
                      "/model/network_data_format",
                      inputName,
                      outputName);
    pipeline->m_Model = backend;
    context.model = backend.GetPointer();
    context.contract = pipeline->m_Contract;

    const ModelContract & c = pipeline->m_Contract;
    Json                  m = Json::object();
    m["backend"] = backendName;
    const std::string library = LibraryOf(ComponentKind::Backend, backendName);
    if (library != "built-in")
      m["library"] = library;
    m["file"] = modelFile;
    m["parameters"] = RecordedParameters(info, values);
    Json channels = Json::object();
    for (size_t k = 0; k < c.classNames.size(); ++k)
      channels[std::to_string(k)] = c.classNames[k];
    m["network_data_format"] = { { "inputs",
                                   { { inputName,
                                       { { "num_channels", 1 },
                                         { "spatial_shape", { c.height, c.width } },
                                         { "dtype", "float32" },
                                         { "value_range", { c.inputMinimum, c.inputMaximum } } } } } },
                                 { "outputs",
                                   { { outputName,
                                       { { "num_channels", static_cast<int64_t>(c.classNames.size()) },
                                         { "dtype", "float32" },
                                         { "channel_def", channels } } } } } };
    effective["model"] = m;
  }
  else if (!request.model.empty())
    throw PipelineError(source + ": --model replaces the pipeline's model, and the pipeline has none");
  else
    for (const auto & s : request.settings)
      if (s.kind == ComponentKind::Backend)
        throw PipelineError(source + ": " + s.origin + " applies to the model, and the pipeline has none");

  // The stages.
  Json                                                    stages = Json::array();
  std::map<std::string, std::string>                      explicitIds;
  std::map<std::string, std::pair<SlotKind, std::string>> images; // slot -> kind, the stage that writes it
  for (size_t i = 0; i < doc["stages"].size(); ++i)
  {
    const std::string pointer = "/stages/" + std::to_string(i);
    const Json &      entry = v.RequireObject(doc["stages"][i], pointer, "a stage");
    v.WarnUnusedKeys(entry, pointer, { "stage", "id", "parameters" });
    const std::string name = v.RequireString(entry, pointer, "stage");
    std::string       id = name;
    if (entry.contains("id"))
    {
      id = v.RequireString(entry, pointer, "id");
      if (explicitIds.count(id))
        v.Fail(JsonPointer(pointer, "id"), "duplicate stage id \"" + id + "\" (also " + explicitIds[id] + ")");
      explicitIds[id] = pointer;
    }
    auto stage = CreateOnDemand(name, [](const std::string & n) { return CreateStage(n); });
    if (!stage)
      v.Fail(JsonPointer(pointer, "stage"),
             "unknown stage \"" + name + "\"; registered: " + RegisteredNames(ComponentKind::Stage) + " (" +
               PluginLoader::Instance().Report() + ")");
    const ComponentInfo   info = stage->Describe();
    const std::string     parametersPointer = JsonPointer(pointer, "parameters");
    const ParameterValues values =
      v.Parameters(info, "stage", entry.contains("parameters") ? &entry["parameters"] : nullptr, parametersPointer);
    try
    {
      stage->Configure(values, context);
    }
    catch (const StageError & e)
    {
      v.Fail(e.Parameter().empty() ? pointer : JsonPointer(parametersPointer, e.Parameter()), OneLine(e.what()));
    }
    catch (const std::exception & e)
    {
      v.Fail(pointer, "stage \"" + name + "\" cannot be configured: " + OneLine(e.what()));
    }
    for (const auto & in : stage->Inputs())
    {
      const auto found = images.find(in.name);
      if (found == images.end())
      {
        std::vector<std::string> available;
        for (const auto & kv : images)
          available.push_back(kv.first);
        v.Fail(pointer,
               "stage \"" + name + "\" reads the " + SlotKindName(in.kind) + " \"" + in.name +
                 "\", which no earlier stage writes (" +
                 (available.empty() ? std::string("none writes any image yet") : "written so far: " + Join(available)) +
                 ")");
      }
      if (in.kind != SlotKind::Any && found->second.first != in.kind)
        v.Fail(pointer,
               "stage \"" + name + "\" reads \"" + in.name + "\" as a " + SlotKindName(in.kind) + ", but " +
                 found->second.second + " writes a " + SlotKindName(found->second.first));
    }
    for (const auto & out : stage->Outputs())
      images[out.name] = { out.kind, pointer + " (" + name + ")" };

    Json e = Json::object();
    e["stage"] = name;
    e["id"] = id;
    e["parameters"] = RecordedParameters(info, values);
    const std::string library = LibraryOf(ComponentKind::Stage, name);
    if (library != "built-in")
      e["library"] = library;
    stages.push_back(e);
    pipeline->m_Stages.push_back({ id, name, pointer, stage, values });
  }
  effective["stages"] = stages;

  const std::string compact = effective.dump(-1, ' ', false, Json::error_handler_t::replace);
  pipeline->m_Id = pipeline->m_Name + "@" + Hex(Crc32(compact.data(), compact.size()));
  effective["id"] = pipeline->m_Id;
  Json sources = { { "file", file.lexically_normal().string() } };
  if (!request.overrides.empty())
    sources["overrides"] = fs::absolute(request.overrides, ec).lexically_normal().string();
  effective["source"] = sources;
  pipeline->m_Effective = effective;
  return pipeline;
}

std::vector<bool>
Pipeline::ActiveStages(const std::set<std::string> & roles) const
{
  std::vector<bool>     active(m_Stages.size(), false);
  std::set<std::string> needed;
  for (size_t k = m_Stages.size(); k-- > 0;)
  {
    const Stage &     s = *m_Stages[k].stage;
    const std::string role = s.FileRole();
    bool              run = false;
    if (!role.empty())
      run = roles.count(role) != 0;
    else if (!s.Measures().empty() || s.AlwaysRuns())
      run = true;
    else
      for (const auto & out : s.Outputs())
        run = run || needed.count(out.name) != 0;
    if (!run)
      continue;
    active[k] = true;
    for (const auto & out : s.Outputs())
      needed.erase(out.name);
    for (const auto & in : s.Inputs())
      needed.insert(in.name);
  }
  return active;
}

bool
Pipeline::UsesFile(const std::string & role) const
{
  for (const auto & s : m_Stages)
    if (s.stage->FileRole() == role)
      return true;
  return false;
}

std::vector<std::string>
Pipeline::MeasureNames(const std::set<std::string> & roles) const
{
  std::set<std::string> all = roles;
  all.insert("input");
  const auto               active = ActiveStages(all);
  std::vector<std::string> names;
  for (size_t k = 0; k < m_Stages.size(); ++k)
    if (active[k])
      for (const auto & m : m_Stages[k].stage->Measures())
        if (std::find(names.begin(), names.end(), m) == names.end())
          names.push_back(m);
  return names;
}

std::string
Pipeline::FolderFileName(const std::string & role, const std::string & stem) const
{
  std::string pattern = "{stem}_" + role + ".nrrd";
  for (const auto & s : m_Stages)
    if (s.stage->FileRole() == role && s.values.AsJson().contains("folderFileName"))
      pattern = s.values.GetString("folderFileName");
  for (const auto & [key, value] : { std::pair<std::string, std::string>{ "{stem}", stem }, { "{destination}", role } })
    for (auto at = pattern.find(key); at != std::string::npos; at = pattern.find(key, at + value.size()))
      pattern.replace(at, key.size(), value);
  return pattern;
}

PipelineResult
Pipeline::Run(const RunFiles & files, const std::function<void(double)> & progress) const
{
  const auto            start = std::chrono::steady_clock::now();
  std::set<std::string> roles;
  for (const auto & [role, path] : files)
    if (!path.empty())
      roles.insert(role);
  const auto active = ActiveStages(roles);

  PipelineData data;
  data.files = files;
  data.provenance = m_Effective;
  data.pipelineId = m_Id;
  double total = 0;
  for (size_t k = 0; k < m_Stages.size(); ++k)
    if (active[k])
      total += std::max(0.0, m_Stages[k].stage->RelativeCost());
  double     done = 0;
  const auto report = [&](double f) {
    if (progress)
      progress(total > 0 ? std::min(1.0, f / total) : 1.0);
  };
  const StageEntry * current = nullptr;
  const auto         who = [&] { return current ? "stage \"" + current->id + "\": " : std::string(); };
  try
  {
    for (size_t k = 0; k < m_Stages.size(); ++k)
      if (active[k])
      {
        current = &m_Stages[k];
        current->stage->Prepare(data);
      }
    for (size_t k = 0; k < m_Stages.size(); ++k)
    {
      if (!active[k])
        continue;
      current = &m_Stages[k];
      const double cost = std::max(0.0, current->stage->RelativeCost());
      data.stageProgress = [&](double f) { report(done + cost * std::clamp(f, 0.0, 1.0)); };
      current->stage->Execute(data);
      done += cost;
      report(done);
    }
  }
  catch (const StageError & e)
  {
    throw RunError(OneLine(e.what()));
  }
  catch (const io::ImageFileError & e)
  {
    throw RunError(OneLine(e.what()));
  }
  catch (const AtomicFileError & e)
  {
    throw RunError(OneLine(e.what()));
  }
  catch (const itk::ExceptionObject & e)
  {
    throw RunError(who() + OneLine(e.GetDescription()));
  }
  catch (const c10::Error & e)
  {
    throw RunError(who() + OneLine(e.what_without_backtrace()));
  }
  catch (const std::exception & e)
  {
    throw RunError(who() + OneLine(e.what()));
  }
  PipelineResult result;
  result.measures = data.measures;
  result.warnings = data.warnings;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

std::string
MeasureCell(const Json & value)
{
  if (value.is_number_integer())
    return value.dump();
  if (value.is_number())
    return CsvTable::number(value.get<double>());
  if (value.is_string())
    return value.get<std::string>();
  if (value.is_null())
    return std::string();
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

} // namespace rescrnet::plugins
