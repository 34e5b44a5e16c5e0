// SPDX-License-Identifier: Apache-2.0
// The built-in model backends: the project's model files (rescrnet::Predictor: the fused CPU path) and TorchScript
// files exported from PyTorch (torch::jit::load). A TorchScript file is a program: it can run any operator, so it is
// loaded only when a pipeline file names it.
#include "BuiltIns.h"

#include "rescrnet/Precision.h"
#include "rescrnet/Predictor.h"
#include "rescrnet/plugins/ModelBackend.h"

#include <torch/script.h>

#include <filesystem>
#include <memory>
#include <mutex>

namespace rescrnet::plugins
{

namespace
{

ParameterSpec
ThreadsParameter()
{
  auto threads = ParameterSpec::Integer("threads", 0, 0, 256, "Threads", "Threads for the network (0 = all cores)");
  threads.changesResults = false; // the kernels give the same bits on any number of threads (tested)
  return threads;
}

// Sets LibTorch's intra-op threads, only when they change (LibTorch resizes its thread pools at each call).
void
UseThreads(int64_t threads)
{
  static std::mutex                 mutex;
  const std::lock_guard<std::mutex> lock(mutex);
  if (threads > 0 && torch::get_num_threads() != threads)
    torch::set_num_threads(static_cast<int>(threads));
}

// rescrnet-model: a Res-CR-Net model file (rescrnet::SaveModel's format).
class NativeModelBackend : public ModelBackend
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(NativeModelBackend);
  using Self = NativeModelBackend;
  using Superclass = ModelBackend;
  using Pointer = itk::SmartPointer<Self>;
  itkNewMacro(Self);
  itkTypeMacro(NativeModelBackend, ModelBackend);

  ComponentInfo
  Describe() const override
  {
    return { "rescrnet-model",
             "Res-CR-Net model files (.rcn): header with grid and classes, fused CPU inference",
             { ThreadsParameter(),
               ParameterSpec::Choice(
                 "precision",
                 "auto",
                 { "auto", "fp32", "fp16", "bf16" },
                 "Precision",
                 "Arithmetic of the network: fp32; fp16 (AVX512-FP16) or bf16 (AVX512-BF16, AMX) where the CPU reports "
                 "them; auto takes the fastest reduced precision whose self-check against fp32 on a probe image passes "
                 "for the model (masks within 0.2 % of the pixels), else fp32") } };
  }
  void
  Load(const std::string & file, const ParameterValues & values) override
  {
    auto predictor = std::make_shared<Predictor>(Predictor::FromFile(file, static_cast<int>(values.GetInt("threads"))));
    predictor->setPrecision(ParsePrecision(values.GetString("precision")));
    m_Predictor = predictor;
    m_Name = std::filesystem::path(file).filename().string();
  }
  DeclaredContract
  Declared() const override
  {
    DeclaredContract  c;
    const ModelInfo & info = m_Predictor->info();
    c.inputChannels = m_Predictor->network()->config().inputChannels;
    c.height = info.input.height;
    c.width = info.input.width;
    if (info.input.scale == "divide-255")
    {
      c.inputMinimum = 0.0;
      c.inputMaximum = 1.0;
    }
    c.classes = m_Predictor->network()->config().numClasses;
    c.classNames = info.classes;
    return c;
  }
  torch::Tensor
  Predict(const torch::Tensor & images) const override
  {
    return m_Predictor->predict(images);
  }
  std::string
  ModelName() const override
  {
    return m_Name;
  }

protected:
  NativeModelBackend() = default;
  ~NativeModelBackend() override = default;

private:
  std::shared_ptr<const Predictor> m_Predictor;
  std::string                      m_Name;
};

// torchscript: a module saved with torch.jit.trace/script (any 2-D segmentation network, NCHW float in, per-class
// out), which declares nothing about its data: the pipeline file's network_data_format gives the grid and classes.
class TorchScriptBackend : public ModelBackend
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(TorchScriptBackend);
  using Self = TorchScriptBackend;
  using Superclass = ModelBackend;
  using Pointer = itk::SmartPointer<Self>;
  itkNewMacro(Self);
  itkTypeMacro(TorchScriptBackend, ModelBackend);

  ComponentInfo
  Describe() const override
  {
    return { "torchscript",
             "TorchScript files from PyTorch (torch.jit.trace/script): NCHW float input, per-class output; a "
             "TorchScript file can run any operator, so use only files you trust",
             { ThreadsParameter(),
               ParameterSpec::Choice("activation",
                                     "none",
                                     { "none", "softmax", "sigmoid" },
                                     "Output activation",
                                     "Applied to the module's output over the class axis: \"none\" when the module "
                                     "returns probabilities") } };
  }
  void
  Load(const std::string & file, const ParameterValues & values) override
  {
    if (!std::filesystem::is_regular_file(file))
      throw std::runtime_error("the file does not exist");
    m_Module = std::make_shared<torch::jit::Module>(torch::jit::load(file, torch::kCPU));
    m_Module->eval();
    m_Threads = values.GetInt("threads");
    m_Activation = values.GetString("activation");
    m_Name = std::filesystem::path(file).filename().string();
  }
  DeclaredContract
  Declared() const override
  {
    return DeclaredContract();
  }
  torch::Tensor
  Predict(const torch::Tensor & images) const override
  {
    UseThreads(m_Threads);
    const torch::InferenceMode inference;
    torch::jit::IValue         result = m_Module->forward({ images });
    if (result.isTuple() && !result.toTupleRef().elements().empty())
      result = result.toTupleRef().elements()[0];
    if (!result.isTensor())
      throw std::runtime_error("the TorchScript module " + m_Name + " returned a " + result.tagKind() +
                               ", not a tensor");
    torch::Tensor output = result.toTensor();
    if (m_Activation == "softmax")
      output = torch::softmax(output, 1);
    else if (m_Activation == "sigmoid")
      output = torch::sigmoid(output);
    return output;
  }
  std::string
  ModelName() const override
  {
    return m_Name;
  }

protected:
  TorchScriptBackend() = default;
  ~TorchScriptBackend() override = default;

private:
  std::shared_ptr<torch::jit::Module> m_Module;
  int64_t                             m_Threads{ 0 };
  std::string                         m_Activation{ "none" };
  std::string                         m_Name;
};

} // namespace

void
RegisterBackends(PluginFactory & factory)
{
  factory.RegisterBackend<NativeModelBackend>();
  factory.RegisterBackend<TorchScriptBackend>();
}

} // namespace rescrnet::plugins
