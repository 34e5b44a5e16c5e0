// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/io/DicomSegmentation.h"

#include "rescrnet/AtomicFile.h"

#include "DicomCodecs.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcvr.h>
#include <dcmtk/dcmfg/fgderimg.h>
#include <dcmtk/dcmfg/fgfracon.h>
#include <dcmtk/dcmfg/fgseg.h>
#include <dcmtk/dcmiod/iodmacro.h>
#include <dcmtk/dcmiod/iodreferences.h>
#include <dcmtk/dcmiod/iodrules.h>
#include <dcmtk/dcmseg/segdoc.h>
#include <dcmtk/dcmseg/segment.h>
#include <dcmtk/dcmseg/segutils.h>

#include <algorithm>
#include <memory>

#ifndef RESCRNET_PROJECT_VERSION
#  define RESCRNET_PROJECT_VERSION "0"
#endif

namespace rescrnet::io
{

namespace
{

std::string
GetString(DcmItem & ds, const DcmTagKey & key, long pos = 0)
{
  OFString value;
  if (ds.findAndGetOFString(key, value, pos).good())
    return std::string(value.c_str());
  return std::string();
}

std::string
GetAll(DcmItem & ds, const DcmTagKey & key)
{
  OFString value;
  if (ds.findAndGetOFStringArray(key, value).good())
    return std::string(value.c_str());
  return std::string();
}

void
Check(const OFCondition & status, const std::string & what)
{
  if (status.bad())
    throw DicomError("cannot write the DICOM SEG: " + what + ": " + std::string(status.text()));
}

// Characters in a UTF-8 (or single-byte) string: continuation bytes are not counted.
size_t
Characters(const std::string & s)
{
  return static_cast<size_t>(
    std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// dcmiod refuses to write values that violate their VR, which real sources carry (hashes in a DA or an overlong
// SH): blank them (the patient and study attributes are type 2, so an empty value is valid).
// Without Specific Character Set only ASCII is allowed: other bytes (a mis-encoded name) become '?'.
void
BlankInvalidValues(DcmItem & item)
{
  OFString   charset;
  const bool defaultRepertoire =
    item.findAndGetOFStringArray(DCM_SpecificCharacterSet, charset).bad() || charset.empty();
  for (unsigned long i = 0; i < item.card(); ++i)
  {
    DcmElement * element = item.getElement(i);
    if (!element)
      continue;
    const DcmVR vr(element->getVR());
    if (!vr.isaString() || element->getLength() == 0)
      continue;
    if (defaultRepertoire && vr.isAffectedBySpecificCharacterSet())
    {
      OFString raw;
      if (element->getOFStringArray(raw).good())
      {
        std::string value(raw.c_str());
        bool        changed = false;
        for (char & c : value)
          if (static_cast<unsigned char>(c) >= 0x80)
          {
            c = '?';
            changed = true;
          }
        if (changed)
          element->putString(value.c_str());
      }
    }
    bool                valid = element->checkValue("1-n", OFFalse).good();
    const unsigned long maxLength = vr.getMaxValueLength();
    const DcmEVR        evr = element->getVR();
    if (valid && maxLength > 0 && evr != EVR_UT && evr != EVR_UR && evr != EVR_UC && evr != EVR_LT && evr != EVR_ST)
    {
      OFString all;
      if (element->getOFStringArray(all).good())
      {
        std::string values(all.c_str());
        size_t      start = 0;
        while (valid && start <= values.size())
        {
          const size_t end = std::min(values.find('\\', start), values.size());
          if (Characters(values.substr(start, end - start)) > maxLength)
            valid = false;
          start = end + 1;
        }
      }
    }
    if (!valid)
      element->clear();
  }
}

// dcmseg 3.6.7 packs the last byte of a binary frame wrongly (DCMTK issue #1132, fixed in 3.6.9) whenever
// rows * columns is not a multiple of 8: pack all frames here, contiguously, first pixel in the least significant
// bit, padded to an even length.
void
ReplacePixelData(DcmItem & dataset, const std::vector<std::vector<Uint8>> & frames)
{
  size_t bits = 0;
  for (const auto & f : frames)
    bits += f.size();
  std::vector<Uint8> packed(((bits + 7) / 8 + 1) / 2 * 2, 0);
  size_t             bit = 0;
  for (const auto & f : frames)
    for (Uint8 v : f)
    {
      if (v)
        packed[bit / 8] = static_cast<Uint8>(packed[bit / 8] | (1u << (bit % 8)));
      ++bit;
    }
  Check(dataset.putAndInsertUint8Array(DCM_PixelData, packed.data(), static_cast<unsigned long>(packed.size())),
        "pixel data");
}

struct SegmentSpec
{
  std::string   label, code, meaning;
  unsigned char value; // the label value in the label map (0: every nonzero value)
};

} // namespace

void
WriteLungSegmentation(const std::string &                  path,
                      const itk::Image<unsigned char, 2> * labels,
                      const std::string &                  sourceDicom,
                      const SegWriterOptions &             options)
{
  RegisterDecoders();
  if (!labels)
    throw DicomError("cannot write " + path + ": no label map");
  auto         header = ReadDicomHeader(sourceDicom);
  DcmDataset & src = *header->getDataset();
  Uint16       rows = 0, columns = 0;
  src.findAndGetUint16(DCM_Rows, rows);
  src.findAndGetUint16(DCM_Columns, columns);
  const auto size = labels->GetLargestPossibleRegion().GetSize();
  if (size[0] != columns || size[1] != rows)
    throw DicomError("cannot write " + path + ": the label map is " + std::to_string(size[0]) + "x" +
                     std::to_string(size[1]) + " but the DICOM source " + sourceDicom + " is " +
                     std::to_string(columns) + "x" + std::to_string(rows));
  const std::string sopClass = GetString(src, DCM_SOPClassUID), sopInstance = GetString(src, DCM_SOPInstanceUID);
  const std::string studyUID = GetString(src, DCM_StudyInstanceUID), seriesUID = GetString(src, DCM_SeriesInstanceUID);
  if (sopClass.empty() || sopInstance.empty() || studyUID.empty() || seriesUID.empty())
    throw DicomError("cannot write " + path + ": the DICOM source " + sourceDicom +
                     " lacks its SOP class, SOP instance, study or series UID");
  try
  {
    CheckWritableFolder(path);
  }
  catch (const AtomicFileError & e)
  {
    throw DicomError(e.what());
  }

  const std::string version =
    options.algorithmVersion.empty() ? std::string(RESCRNET_PROJECT_VERSION) : options.algorithmVersion;
  std::string parameters = options.modelName.empty() ? std::string() : "model=" + options.modelName;
  if (!options.algorithmParameters.empty())
    parameters += (parameters.empty() ? "" : "; ") + options.algorithmParameters;
  if (parameters.size() > 10240)
    throw DicomError("cannot write the DICOM SEG " + path + ": the algorithm parameters exceed 10240 characters");
  DcmSegmentation * rawSeg = nullptr;
  Check(DcmSegmentation::createBinarySegmentation(
          rawSeg,
          rows,
          columns,
          IODGeneralEquipmentModule::EquipmentInfo(
            options.manufacturer.c_str(), options.algorithmName.c_str(), "1", version.c_str()),
          ContentIdentificationMacro("1", "LUNGS", "Automatic lung segmentation", "")),
        "creating the segmentation");
  std::unique_ptr<DcmSegmentation> seg(rawSeg);

  // Patient and study from the source (its Frame of Reference too, if it had one, which radiographs do not).
  Check(seg->importFromSourceImage(src), "importing patient and study from " + sourceDicom);
  BlankInvalidValues(*seg->getData());
  const bool hasFrameOfReference = !GetString(src, DCM_FrameOfReferenceUID).empty();
  if (!hasFrameOfReference)
  {
    // dcmiod always writes the Frame of Reference module as type 1; without a FoR the Derivation Image functional
    // group references the source instead, and the module is left out.
    seg->getRules()->deleteRule(DCM_FrameOfReferenceUID);
    seg->getRules()->deleteRule(DCM_PositionReferenceIndicator);
  }
  // Patient Orientation is required (2C) without Plane Orientation: copy the source's, written even when empty.
  seg->getRules()->addRule(new IODRule(DCM_PatientOrientation, "2", "2", "GeneralImageModule", DcmIODTypes::IE_IMAGE),
                           OFTrue);
  const std::string orientation = GetAll(src, DCM_PatientOrientation);
  Check(seg->getGeneralImage().setPatientOrientation(orientation.c_str(), !orientation.empty()), "patient orientation");
  Check(seg->getSeries().setSeriesNumber(options.seriesNumber.c_str()), "series number");
  Check(seg->getSeries().setSeriesDescription(options.seriesDescription.c_str()), "series description");

  std::vector<SegmentSpec> specs;
  if (options.leftRight)
  {
    specs.push_back({ "Right lung", "3341006", "Right lung", 1 });
    specs.push_back({ "Left lung", "44029006", "Left lung", 2 });
  }
  else
    specs.push_back({ "Lung", "39607008", "Lung", 0 });

  const std::string                segDescription = "Automatic lung segmentation";
  ImageSOPInstanceReferenceMacro * reference = nullptr;
  Check(ImageSOPInstanceReferenceMacro::create(sopClass.c_str(), sopInstance.c_str(), OFVector<Uint16>(), reference),
        "source image reference");
  std::unique_ptr<ImageSOPInstanceReferenceMacro> referenceOwner(reference);
  OFVector<ImageSOPInstanceReferenceMacro>        derivationImages;
  derivationImages.push_back(*reference);
  std::unique_ptr<FGDerivationImage> derivation(
    DcmSegmentation::createDerivationImageFG(derivationImages, segDescription.c_str()));
  if (!derivation)
    throw DicomError("cannot write the DICOM SEG: derivation image functional group");

  char dimensionUID[100];
  dcmGenerateUniqueIdentifier(dimensionUID, SITE_INSTANCE_UID_ROOT);
  Check(seg->getDimensions().addDimensionIndex(
          DCM_ReferencedSegmentNumber, dimensionUID, DCM_SegmentIdentificationSequence, "Segment Number"),
        "dimension index");

  const size_t                    n = static_cast<size_t>(rows) * columns;
  std::vector<std::vector<Uint8>> frames;
  const unsigned char *           pixels = labels->GetBufferPointer();
  for (const auto & spec : specs)
  {
    DcmSegment * segment = nullptr;
    Check(DcmSegment::create(segment,
                             spec.label.c_str(),
                             CodeSequenceMacro("123037004", "SCT", "Anatomical Structure"),
                             CodeSequenceMacro(spec.code.c_str(), "SCT", spec.meaning.c_str()),
                             DcmSegTypes::SAT_AUTOMATIC,
                             options.algorithmName.c_str()),
          "segment " + spec.label);
    std::unique_ptr<DcmSegment>  segmentOwner(segment);
    AlgorithmIdentificationMacro algorithm;
    Check(algorithm.getAlgorithmFamilyCode().set("123110", "DCM", "Artificial Intelligence"), "algorithm family");
    Check(algorithm.setAlgorithmName(options.algorithmName.c_str()), "algorithm name");
    Check(algorithm.setAlgorithmVersion(version.c_str()), "algorithm version");
    if (!parameters.empty())
      Check(algorithm.setAlgorithmParameters(parameters.c_str()), "algorithm parameters");
    Check(segment->setSegmentationAlgorithmIdentification(algorithm), "algorithm identification");
    Check(segment->setSegmentDescription(("Automatic segmentation: " + spec.label).c_str()), "segment description");
    Uint16 segmentNumber = 0;
    Check(seg->addSegment(segment, segmentNumber), "adding segment " + spec.label);
    segmentOwner.release(); // owned by the segmentation now

    std::vector<Uint8> mask(n);
    for (size_t i = 0; i < n; ++i)
      mask[i] = spec.value == 0 ? (pixels[i] != 0) : (pixels[i] == spec.value);
    FGFrameContent content;
    Check(content.setDimensionIndexValues(segmentNumber, 0), "dimension index values");
    OFVector<FGBase *> perFrame;
    perFrame.push_back(&content);
    perFrame.push_back(derivation.get());
    Check(seg->addFrame(mask.data(), segmentNumber, perFrame), "adding the frame of " + spec.label);
    frames.push_back(std::move(mask));
  }

  // Common Instance Reference: the source series and instance (dcmseg does not fill it from the derivation group).
  IODReferences references;
  references.add(new IODImageReference(
    GetString(src, DCM_PatientID).c_str(), studyUID.c_str(), seriesUID.c_str(), sopInstance.c_str(), sopClass.c_str()));
  if (seg->getCommonInstanceReference().addReferences(references, studyUID.c_str()) == 0)
    throw DicomError("cannot write the DICOM SEG: common instance reference");

  DcmFileFormat out;
  Check(seg->writeDataset(*out.getDataset()), "writing the dataset");
  DcmDataset & ds = *out.getDataset();
  // dcmseg always writes Lossy Image Compression 00; a SEG derived from a lossy image is itself lossy.
  const std::string lossy = GetString(src, DCM_LossyImageCompression);
  if (lossy == "01")
  {
    Check(ds.putAndInsertOFStringArray(DCM_LossyImageCompression, "01"), "lossy image compression");
    const std::string ratio = GetAll(src, DCM_LossyImageCompressionRatio);
    const std::string method = GetAll(src, DCM_LossyImageCompressionMethod);
    if (!ratio.empty())
      Check(ds.putAndInsertOFStringArray(DCM_LossyImageCompressionRatio, ratio.c_str()), "compression ratio");
    if (!method.empty())
      Check(ds.putAndInsertOFStringArray(DCM_LossyImageCompressionMethod, method.c_str()), "compression method");
  }
  ReplacePixelData(ds, frames);

  try
  {
    AtomicFile        file(path);
    const OFCondition saved = out.saveFile(file.temporaryPath().c_str(), EXS_LittleEndianExplicit);
    if (saved.bad())
      throw DicomError("cannot write " + path + ": " + std::string(saved.text()));
    file.commit();
  }
  catch (const AtomicFileError & e)
  {
    throw DicomError(e.what());
  }
}

SegmentationRead
ReadLungSegmentation(const std::string & path)
{
  RegisterDecoders();
  DcmSegmentation * raw = nullptr;
  const OFCondition status = DcmSegmentation::loadFile(path.c_str(), raw);
  if (status.bad() || !raw)
    throw DicomError("cannot read " + path + " as a DICOM SEG: " + std::string(status.text()));
  std::unique_ptr<DcmSegmentation> seg(raw);
  SegmentationRead                 result;
  // The pixel data, unpacked here: dcmseg 3.6.7 mis-extracts frames that do not start on a byte boundary.
  DcmFileFormat file;
  if (file.loadFile(path.c_str()).bad())
    throw DicomError("cannot read " + path);
  DcmDataset & ds = *file.getDataset();
  Uint16       rows = 0, columns = 0;
  ds.findAndGetUint16(DCM_Rows, rows);
  ds.findAndGetUint16(DCM_Columns, columns);
  result.rows = rows;
  result.columns = columns;
  result.studyInstanceUID = GetString(ds, DCM_StudyInstanceUID);
  result.patientID = GetString(ds, DCM_PatientID);
  const Uint8 * packed = nullptr;
  unsigned long packedLength = 0;
  if (ds.findAndGetUint8Array(DCM_PixelData, packed, &packedLength).bad())
    throw DicomError("cannot read " + path + ": no pixel data");
  const size_t n = static_cast<size_t>(rows) * columns;

  auto & seriesItems = seg->getCommonInstanceReference().getReferencedSeriesItems();
  if (!seriesItems.empty())
  {
    OFString uid;
    seriesItems[0]->getSeriesInstanceUID(uid);
    result.referencedSeriesInstanceUID = uid.c_str();
    auto & instances = seriesItems[0]->getReferencedInstanceItems();
    if (!instances.empty())
    {
      instances[0]->getReferencedSOPInstanceUID(uid);
      result.referencedSOPInstanceUID = uid.c_str();
    }
  }

  const size_t frames = seg->getNumberOfFrames();
  for (size_t f = 0; f < frames; ++f)
  {
    SegmentRead segment;
    auto *      identification = OFstatic_cast(
      FGSegmentation *, seg->getFunctionalGroups().get(static_cast<Uint32>(f), DcmFGTypes::EFG_SEGMENTATION));
    Uint16 number = 0;
    if (identification)
      identification->getReferencedSegmentNumber(number);
    segment.number = number;
    if (DcmSegment * s = seg->getSegment(number))
    {
      OFString value;
      s->getSegmentLabel(value);
      segment.label = value.c_str();
      s->getSegmentedPropertyTypeCode().getCodeValue(value);
      segment.propertyTypeCode = value.c_str();
    }
    auto * derivation = OFstatic_cast(
      FGDerivationImage *, seg->getFunctionalGroups().get(static_cast<Uint32>(f), DcmFGTypes::EFG_DERIVATIONIMAGE));
    if (derivation && !derivation->getDerivationImageItems().empty() &&
        !derivation->getDerivationImageItems()[0]->getSourceImageItems().empty())
    {
      OFString uid;
      derivation->getDerivationImageItems()[0]
        ->getSourceImageItems()[0]
        ->getImageSOPInstanceReference()
        .getReferencedSOPInstanceUID(uid);
      segment.referencedSOPInstanceUID = uid.c_str();
    }
    segment.mask.resize(n);
    for (size_t i = 0; i < n; ++i)
    {
      const size_t bit = f * n + i;
      if (bit / 8 >= packedLength)
        throw DicomError("cannot read " + path + ": pixel data too short");
      segment.mask[i] = (packed[bit / 8] >> (bit % 8)) & 1u;
    }
    result.segments.push_back(std::move(segment));
  }
  return result;
}

} // namespace rescrnet::io
