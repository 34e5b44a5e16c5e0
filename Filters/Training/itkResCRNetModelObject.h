// SPDX-License-Identifier: Apache-2.0
// A Res-CR-Net model (network + self-describing header) as an ITK data object, the output of ResCRNetTrainer.
#ifndef itkResCRNetModelObject_h
#define itkResCRNetModelObject_h

#include "itkDataObject.h"
#include "itkObjectFactory.h"

#include "rescrnet/ModelFile.h"
#include "rescrnet/Predictor.h"

namespace itk
{

/** \class ResCRNetModelObject
 * \brief Holds a rescrnet::ResCRNet network and its rescrnet::ModelInfo so that a trained model can travel through
 * an ITK pipeline (e.g. from ResCRNetTrainer to a writer or to ResCRNetSegmentationImageFilter via MakePredictor()).
 * \ingroup ResCRNetFilters
 */
class ResCRNetModelObject : public DataObject
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(ResCRNetModelObject);
  using Self = ResCRNetModelObject;
  using Superclass = DataObject;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;
  itkNewMacro(Self);
  itkTypeMacro(ResCRNetModelObject, DataObject);

  void
  SetModel(const rescrnet::ResCRNet & network, const rescrnet::ModelInfo & info)
  {
    m_Network = network;
    m_Info = info;
    this->Modified();
  }
  const rescrnet::ResCRNet &
  GetNetwork() const
  {
    return m_Network;
  }
  const rescrnet::ModelInfo &
  GetInfo() const
  {
    return m_Info;
  }
  bool
  HasModel() const
  {
    return !m_Network.is_empty();
  }
  /** Writes the model file (atomically); throws ExceptionObject on failure. */
  void
  Write(const std::string & fileName) const
  {
    if (!HasModel())
    {
      itkExceptionMacro(<< "no model to write to " << fileName);
    }
    try
    {
      rescrnet::SaveModel(fileName, m_Network, m_Info);
    }
    catch (const std::exception & e)
    {
      itkExceptionMacro(<< e.what());
    }
  }
  /** A predictor over a copy-free view of the network, for ResCRNetSegmentationImageFilter::SetPredictor(). */
  std::shared_ptr<const rescrnet::Predictor>
  MakePredictor(int threads = 0) const
  {
    return std::make_shared<rescrnet::Predictor>(m_Network, m_Info, threads);
  }

  void
  Initialize() override
  {
    m_Network = rescrnet::ResCRNet(nullptr);
    m_Info = rescrnet::ModelInfo{};
    Superclass::Initialize();
  }
  void
  Graft(const DataObject * data) override
  {
    if (const auto * other = dynamic_cast<const Self *>(data))
    {
      m_Network = other->m_Network;
      m_Info = other->m_Info;
    }
  }

protected:
  ResCRNetModelObject() = default;
  ~ResCRNetModelObject() override = default;
  void
  PrintSelf(std::ostream & os, Indent indent) const override
  {
    Superclass::PrintSelf(os, indent);
    os << indent << "HasModel: " << (HasModel() ? "yes" : "no") << std::endl;
    if (HasModel())
    {
      os << indent << "Architecture: " << rescrnet::DumpJson(m_Info.architecture.toJson()) << std::endl;
      os << indent << "Grid: " << m_Info.input.width << " x " << m_Info.input.height << std::endl;
    }
  }

private:
  rescrnet::ResCRNet  m_Network{ nullptr };
  rescrnet::ModelInfo m_Info;
};

} // namespace itk

#endif
