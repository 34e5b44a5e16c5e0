// SPDX-License-Identifier: Apache-2.0
// A model backend: an itk::Object registered with ITK's object factory as an override of "rescrnetBackend". It loads
// a model file named by a pipeline file and runs it on a batch of single-channel images. Built in: "rescrnet-model"
// (the project's model files, fused CPU inference) and "torchscript" (TorchScript files exported from PyTorch).
// Header-only: plugins compile against it.
#ifndef rescrnet_plugins_ModelBackend_h
#define rescrnet_plugins_ModelBackend_h

#include "rescrnet/plugins/Parameters.h"

#include "itkObject.h"

#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

namespace rescrnet::plugins
{

// What a model file declares about its data; nullopt/empty where it declares nothing (a TorchScript file).
struct DeclaredContract
{
  std::optional<int64_t>   inputChannels;
  std::optional<int64_t>   height, width;
  std::optional<double>    inputMinimum, inputMaximum;
  std::optional<int64_t>   classes;
  std::vector<std::string> classNames;
};

class ModelBackend : public itk::Object
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(ModelBackend);
  using Self = ModelBackend;
  using Superclass = itk::Object;
  using Pointer = itk::SmartPointer<Self>;
  using ConstPointer = itk::SmartPointer<const Self>;
  itkTypeMacro(ModelBackend, Object);

  // Name, one-line summary and the declarations of the parameters under "model": {"parameters": ...}.
  virtual ComponentInfo
  Describe() const = 0;

  // Loads `file` (an absolute path) with the validated parameters. Throws std::exception with a one-line message.
  virtual void
  Load(const std::string & file, const ParameterValues & values) = 0;

  // What the loaded file declares about its data; the pipeline checks the pipeline file's contract against it.
  virtual DeclaredContract
  Declared() const = 0;

  // Runs the network on `images` [N, C, H, W] float32 (values in the contract's input range) and returns the
  // per-class output [N, classes, H, W]. Safe to call from several threads unless the backend says otherwise.
  virtual torch::Tensor
  Predict(const torch::Tensor & images) const = 0;

  // A short name for provenance (e.g. the model file's name).
  virtual std::string
  ModelName() const = 0;

protected:
  ModelBackend() = default;
  ~ModelBackend() override = default;
};

} // namespace rescrnet::plugins

#endif
