// SPDX-License-Identifier: Apache-2.0
// The bad-input corpus: inputs a hostile but realistic user gives the segmentation module (truncated, corrupt, empty
// and oversized images in every format, DICOM files with patched headers, damaged model files, special files, outputs
// that are inputs), all generated here by the project's own code. Each case asserts what the README's "Bad input"
// section documents: no signal, exit code 1, one line on stderr naming the file, no file left in the output folder,
// and a bounded peak memory.
#include "ResCRNetTestData.h"
#include "RunProgram.h"
#include "SyntheticDicom.h"

#include "rescrnet/ModelFile.h"

#include "itkImage.h"
#include "itkImageFileWriter.h"
#include "itkImageRegionIterator.h"

#include <chrono>
#include <cstdlib>
#include <cmath>
#include <csignal>
#include <functional>
#include <limits>
#include <map>
#include <thread>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

using namespace rescrnet::testing;
namespace fs = std::filesystem;

namespace
{

template <typename TPixel, unsigned D = 2>
typename itk::Image<TPixel, D>::Pointer
PhantomImage(unsigned w, unsigned h, unsigned depth = 1)
{
  using ImageType = itk::Image<TPixel, D>;
  auto                         img = ImageType::New();
  typename ImageType::SizeType size;
  size.Fill(1);
  size[0] = w;
  size[1] = h;
  if constexpr (D > 2)
    size[2] = depth;
  typename ImageType::RegionType region;
  region.SetSize(size);
  img->SetRegions(region);
  img->Allocate();
  for (itk::ImageRegionIterator<ImageType> it(img, region); !it.IsAtEnd(); ++it)
  {
    const auto   idx = it.GetIndex();
    const double x = static_cast<double>(idx[0]) / w, y = static_cast<double>(idx[1]) / h;
    const bool   lung = std::pow((x - 0.3) / 0.15, 2) + std::pow((y - 0.5) / 0.3, 2) < 1 ||
                      std::pow((x - 0.7) / 0.15, 2) + std::pow((y - 0.5) / 0.3, 2) < 1;
    it.Set(static_cast<TPixel>((lung ? 60 : 200) + (idx[0] * 7 + idx[1] * 3) % 5));
  }
  return img;
}

template <typename TImage>
void
WriteWithITK(const TImage * image, const fs::path & path, bool compress = false)
{
  auto writer = itk::ImageFileWriter<TImage>::New();
  writer->SetInput(image);
  writer->SetFileName(path.string());
  writer->SetUseCompression(compress);
  writer->Update();
}

std::string
Bytes(const fs::path & p)
{
  return ReadWholeFile(p);
}

void
Put(const fs::path & p, const std::string & bytes)
{
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

// A good phantom radiograph of 64 x 56 pixels in `extension`'s format.
fs::path
GoodImage(const fs::path & dir, const std::string & stem, const std::string & extension)
{
  const fs::path p = dir / (stem + extension);
  WriteWithITK(PhantomImage<unsigned char>(64, 56).GetPointer(), p);
  return p;
}

uint32_t
Crc(const std::string & bytes)
{
  return rescrnet::Crc32(bytes.data(), bytes.size());
}

// A PNG whose IHDR declares w x h (the chunk's CRC recomputed, so that only the size is wrong).
std::string
PngDeclaring(std::string png, uint32_t w, uint32_t h)
{
  auto be32 = [](std::string & s, size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i)
      s[at + i] = static_cast<char>((v >> (24 - 8 * i)) & 0xFF);
  };
  be32(png, 16, w);
  be32(png, 20, h);
  be32(png, 29, Crc(png.substr(12, 17)));
  return png;
}

// A JPEG whose first SOF segment declares w x h.
std::string
JpegDeclaring(std::string jpeg, uint16_t w, uint16_t h)
{
  for (size_t i = 2; i + 9 < jpeg.size(); ++i)
    if (static_cast<unsigned char>(jpeg[i]) == 0xFF && (static_cast<unsigned char>(jpeg[i + 1]) & 0xF0) == 0xC0 &&
        static_cast<unsigned char>(jpeg[i + 1]) != 0xC4 && static_cast<unsigned char>(jpeg[i + 1]) != 0xC8 &&
        static_cast<unsigned char>(jpeg[i + 1]) != 0xCC)
    {
      jpeg[i + 5] = static_cast<char>(h >> 8);
      jpeg[i + 6] = static_cast<char>(h & 0xFF);
      jpeg[i + 7] = static_cast<char>(w >> 8);
      jpeg[i + 8] = static_cast<char>(w & 0xFF);
      return jpeg;
    }
  return jpeg;
}

std::string
Replace(std::string s, const std::string & from, const std::string & to)
{
  const size_t at = s.find(from);
  if (at != std::string::npos)
    s.replace(at, from.size(), to);
  return s;
}

// Rewrites the JSON header of a model file, keeping its tensor data.
std::string
ModelWithHeader(const std::string & bytes, const std::function<void(nlohmann::ordered_json &)> & edit)
{
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i)
    n |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[16 + i])) << (8 * i);
  auto header = nlohmann::ordered_json::parse(bytes.substr(24, n));
  edit(header);
  const std::string text = header.dump();
  std::string       out = bytes.substr(0, 16);
  for (int i = 0; i < 8; ++i)
    out += static_cast<char>((static_cast<uint64_t>(text.size()) >> (8 * i)) & 0xFF);
  return out + text + bytes.substr(24 + n);
}

struct Outcome
{
  int         exitCode{ -1 };
  int         signal{ 0 };
  bool        timedOut{ false };
  long        maxRssKiB{ 0 };
  std::string err;
};

// Runs `program` with `args`, stdout and stderr to files, killed after `seconds`; reports the peak memory.
Outcome
RunChild(const fs::path & program, const std::vector<std::string> & args, const fs::path & scratch, int seconds = 120)
{
  const fs::path out = scratch / "stdout.txt", err = scratch / "stderr.txt";
  const pid_t    pid = ::fork();
  if (pid == 0)
  {
    std::FILE * o = std::freopen(out.c_str(), "w", stdout);
    std::FILE * e = std::freopen(err.c_str(), "w", stderr);
    if (!o || !e)
      ::_exit(127);
    std::vector<std::string> all{ program.string() };
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char *> argv;
    for (auto & a : all)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(program.c_str(), argv.data());
    ::_exit(127);
  }
  Outcome       o;
  int           status = 0;
  struct rusage usage
  {};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (::wait4(pid, &status, WNOHANG, &usage) == 0)
  {
    if (std::chrono::steady_clock::now() > deadline)
    {
      o.timedOut = true;
      ::kill(pid, SIGKILL);
      ::wait4(pid, &status, 0, &usage);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (WIFEXITED(status))
    o.exitCode = WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    o.signal = WTERMSIG(status);
  o.maxRssKiB = usage.ru_maxrss;
  o.err = ReadWholeFile(err);
  fs::remove(out);
  fs::remove(err);
  return o;
}

struct Case
{
  std::string              category;
  std::string              name;
  std::vector<std::string> args;     // the module's arguments
  std::string              named;    // what the message must name (the bad file, or the flag)
  fs::path                 preserve; // a file that must be unchanged afterwards (output = input)
};

} // namespace

TEST(BadInputCorpus, EveryCaseFailsCleanly)
{
  const fs::path root = TemporaryDirectory();
  const fs::path in = root / "in", out = root / "out", scratch = root / "scratch";
  fs::create_directories(in);
  fs::create_directories(out);
  fs::create_directories(scratch);
  const fs::path    model = WriteTinyLungModel(root);
  const std::string modelBytes = Bytes(model);
  std::vector<Case> cases;
  // A segmentation of `input` into the output folder.
  auto segment = [&](const std::string &      category,
                     const std::string &      name,
                     const fs::path &         input,
                     std::vector<std::string> extra = {}) {
    std::vector<std::string> args{ "--model", model.string() };
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(input.string());
    args.push_back((out / "lungs.nrrd").string());
    cases.push_back({ category, name, args, input.string(), {} });
  };

  // 1. Truncated images, every format (ITK 5.2 crashes on JPEG, zero-fills MetaImage, NIfTI and NRRD).
  const std::vector<std::string> formats{ ".png", ".jpg", ".tif", ".nrrd", ".mha", ".nii" };
  for (const auto & ext : formats)
  {
    const std::string good = Bytes(GoodImage(scratch, "good", ext));
    for (size_t keep : { size_t{ 2 }, size_t{ 200 }, good.size() / 2, good.size() - 16 })
    {
      const fs::path p = in / ("truncated-" + std::to_string(keep) + ext);
      Put(p, good.substr(0, keep));
      segment("truncated", p.filename().string(), p);
    }
  }
  // 2. Not an image, or empty, under an image's name.
  for (const auto & ext : formats)
  {
    std::string noise(3000, '\0');
    for (size_t i = 0; i < noise.size(); ++i)
      noise[i] = static_cast<char>((i * 2654435761u) >> 13);
    Put(in / ("noise" + ext), noise);
    segment("corrupt", "noise" + ext, in / ("noise" + ext));
    Put(in / ("empty" + ext), "");
    segment("corrupt", "empty" + ext, in / ("empty" + ext));
  }
  {
    std::string png = Bytes(GoodImage(scratch, "good", ".png"));
    png[png.size() / 2] = static_cast<char>(png[png.size() / 2] ^ 0x5A); // a CRC error inside IDAT
    Put(in / "bitflip.png", png);
    segment("corrupt", "bitflip.png", in / "bitflip.png");
  }
  // 3. Oversized: headers that declare more pixels than the budget (checked before decoding).
  Put(in / "huge.png", PngDeclaring(Bytes(GoodImage(scratch, "good", ".png")), 20000, 20000));
  segment("oversized", "huge.png", in / "huge.png");
  Put(in / "huge.jpg", JpegDeclaring(Bytes(GoodImage(scratch, "good", ".jpg")), 65500, 65500));
  segment("oversized", "huge.jpg", in / "huge.jpg");
  Put(in / "huge.nrrd", Replace(Bytes(GoodImage(scratch, "good", ".nrrd")), "sizes: 64 56", "sizes: 20000 20000"));
  segment("oversized", "huge.nrrd", in / "huge.nrrd");
  Put(in / "huge.mha", Replace(Bytes(GoodImage(scratch, "good", ".mha")), "DimSize = 64 56", "DimSize = 20000 20000"));
  segment("oversized", "huge.mha", in / "huge.mha");
  for (const auto & ext : formats)
    segment("oversized", "maxPixels" + ext, GoodImage(in, "small", ext), { "--maxPixels", "1000" });
  // 4. NaN and infinite pixels, non-finite or absurd spacing.
  // (ITK's NIfTI reader turns NaN into 0: NIfTI files are checked before it, compressed ones too.)
  for (const auto & ext : { std::string(".nrrd"), std::string(".mha"), std::string(".nii"), std::string(".nii.gz") })
  {
    auto nan = PhantomImage<float>(64, 56);
    nan->GetBufferPointer()[100] = std::numeric_limits<float>::quiet_NaN();
    WriteWithITK(nan.GetPointer(), in / ("nan" + ext));
    segment("non-finite", "nan" + ext, in / ("nan" + ext));
    auto inf = PhantomImage<float>(64, 56);
    inf->GetBufferPointer()[7] = -std::numeric_limits<float>::infinity();
    WriteWithITK(inf.GetPointer(), in / ("inf" + ext));
    segment("non-finite", "inf" + ext, in / ("inf" + ext));
  }
  for (const std::string spacing : { "1e308", "nan", "0" })
  {
    const fs::path p = in / ("spacing-" + spacing + ".mha");
    Put(p,
        Replace(Bytes(GoodImage(scratch, "s", ".mha")), "ElementSpacing = 1 1", "ElementSpacing = " + spacing + " 1"));
    segment("non-finite", p.filename().string(), p);
  }
  // 5. Wrong dimensions or components.
  WriteWithITK(PhantomImage<unsigned char, 3>(64, 56, 5).GetPointer(), in / "volume.nrrd");
  segment("dimensions", "volume.nrrd", in / "volume.nrrd");
  WriteWithITK(PhantomImage<unsigned char>(6, 5).GetPointer(), in / "tiny.png");
  segment("dimensions", "tiny.png", in / "tiny.png");
  {
    using Vector2 = itk::Image<itk::Vector<float, 2>, 2>;
    auto v = Vector2::New();
    v->SetRegions(PhantomImage<unsigned char>(64, 56)->GetLargestPossibleRegion());
    v->Allocate(true);
    WriteWithITK(v.GetPointer(), in / "twocomponents.nrrd");
    segment("dimensions", "twocomponents.nrrd", in / "twocomponents.nrrd");
  }
  // 6. DICOM files with patched headers.
  auto dicom = [&](const std::string & name, const std::function<void(SyntheticRadiograph &)> & edit) {
    SyntheticRadiograph r;
    edit(r);
    WriteSyntheticRadiograph(r, in / name);
    segment("dicom", name, in / name);
  };
  dicom("rows-beyond-data.dcm",
        [](SyntheticRadiograph & r) { r.edit = [](DcmDataset & ds) { ds.putAndInsertUint16(DCM_Rows, 80); }; });
  dicom("data-beyond-rows.dcm",
        [](SyntheticRadiograph & r) { r.edit = [](DcmDataset & ds) { ds.putAndInsertUint16(DCM_Rows, 20); }; });
  dicom("rows-65535.dcm", [](SyntheticRadiograph & r) {
    r.edit = [](DcmDataset & ds) {
      ds.putAndInsertUint16(DCM_Rows, 65535);
      ds.putAndInsertUint16(DCM_Columns, 65535);
    };
  });
  for (const std::string s : { "1e308\\1e308", "nan\\0.2", "inf\\inf", "0.2\\1e300" })
    dicom("spacing-" + std::to_string(cases.size()) + ".dcm", [s](SyntheticRadiograph & r) {
      r.edit = [s](DcmDataset & ds) { ds.putAndInsertString(DCM_PixelSpacing, s.c_str()); };
    });
  dicom("imager-spacing.dcm", [](SyntheticRadiograph & r) {
    r.edit = [](DcmDataset & ds) { ds.putAndInsertString(DCM_ImagerPixelSpacing, "1e308\\1e308"); };
  });
  dicom("ct.dcm", [](SyntheticRadiograph & r) { r.modality = "CT"; });
  dicom("header-only.dcm", [](SyntheticRadiograph & r) { r.pixelData = false; });
  dicom("frames.dcm", [](SyntheticRadiograph & r) {
    r.edit = [](DcmDataset & ds) { ds.putAndInsertString(DCM_NumberOfFrames, "3"); };
  });
  dicom("rgb.dcm", [](SyntheticRadiograph & r) {
    r.edit = [](DcmDataset & ds) {
      ds.putAndInsertString(DCM_PhotometricInterpretation, "RGB");
      ds.putAndInsertUint16(DCM_SamplesPerPixel, 3);
    };
  });
  {
    SyntheticRadiograph r;
    WriteSyntheticRadiograph(r, scratch / "good.dcm");
    const std::string good = Bytes(scratch / "good.dcm");
    for (size_t keep : { size_t{ 200 }, good.size() / 2, good.size() - 10 })
    {
      const fs::path p = in / ("truncated-" + std::to_string(keep) + ".dcm");
      Put(p, good.substr(0, keep));
      segment("dicom", p.filename().string(), p);
    }
  }
  // 7. Damaged model files (--model).
  auto badModel = [&](const std::string & name, const std::string & bytes) {
    const fs::path p = in / name;
    Put(p, bytes);
    const fs::path image = GoodImage(scratch, "cxr", ".png");
    cases.push_back(
      { "model", name, { "--model", p.string(), image.string(), (out / "lungs.nrrd").string() }, p.string(), {} });
  };
  using Json = nlohmann::ordered_json;
  badModel("truncated-10.rcn", modelBytes.substr(0, 10));
  badModel("truncated-header.rcn", modelBytes.substr(0, 100));
  badModel("truncated-data.rcn", modelBytes.substr(0, modelBytes.size() - 100));
  badModel("empty.rcn", "");
  badModel("noise.rcn", std::string(5000, 'x'));
  badModel("negative-offset.rcn", ModelWithHeader(modelBytes, [](Json & h) { h["tensors"][0]["offset"] = -4; }));
  badModel("wrapping-size.rcn", ModelWithHeader(modelBytes, [](Json & h) {
             h["tensors"][0]["offset"] = 8;
             h["tensors"][0]["nbytes"] = std::numeric_limits<int64_t>::max();
           }));
  badModel("duplicate.rcn",
           ModelWithHeader(modelBytes, [](Json & h) { h["tensors"][1]["name"] = h["tensors"][0]["name"]; }));
  badModel("missing.rcn", ModelWithHeader(modelBytes, [](Json & h) { h["tensors"].erase(h["tensors"].size() - 1); }));
  badModel("slope.rcn", ModelWithHeader(modelBytes, [](Json & h) { h["architecture"]["leaky_slope"] = 1e300; }));
  badModel("filters.rcn", ModelWithHeader(modelBytes, [](Json & h) { h["architecture"]["filters"] = 1 << 24; }));
  badModel("dilation.rcn", ModelWithHeader(modelBytes, [](Json & h) { h["architecture"]["dilations"][0] = 1 << 20; }));
  badModel("grid.rcn", ModelWithHeader(modelBytes, [](Json & h) { h["input"]["width"] = 4294967360ll; }));
  badModel("crc.rcn", Replace(modelBytes, modelBytes.substr(modelBytes.size() - 8), std::string(8, '\x7f')));
  // 8. Special files and paths.
  {
    const fs::path fifo = in / "fifo.png";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    segment("special", "fifo.png", fifo);
    segment("special", "dev-zero", "/dev/zero");
    fs::create_directories(in / "folder.png");
    cases.push_back({ "special",
                      "folder-as-output",
                      { "--model", model.string(), GoodImage(in, "a", ".png").string(), (in / "folder.png").string() },
                      (in / "folder.png").string(),
                      {} });
    const fs::path loop = in / "loop.png";
    fs::create_symlink(loop, loop);
    segment("special", "loop.png", loop);
    segment("special", "missing.png", in / "missing.png");
    const fs::path model2 = in / "fifo.rcn";
    ASSERT_EQ(::mkfifo(model2.c_str(), 0600), 0);
    cases.push_back(
      { "special",
        "fifo-model",
        { "--model", model2.string(), GoodImage(in, "b", ".png").string(), (out / "lungs.nrrd").string() },
        model2.string(),
        {} });
  }
  // 9. Outputs that would destroy data or cannot be written.
  {
    const fs::path self = GoodImage(in, "self", ".nrrd");
    cases.push_back({ "output",
                      "output-is-input",
                      { "--model", model.string(), self.string(), self.string() },
                      self.string(),
                      self });
    const fs::path link = in / "link.nrrd";
    fs::create_symlink(self, link);
    cases.push_back({ "output",
                      "output-is-input-by-link",
                      { "--model", model.string(), self.string(), link.string() },
                      link.string(),
                      self });
    cases.push_back({ "output",
                      "output-is-model",
                      { "--model", model.string(), self.string(), model.string() },
                      model.string(),
                      model });
    cases.push_back({ "output",
                      "missing-folder",
                      { "--model", model.string(), self.string(), (out / "no" / "lungs.nrrd").string() },
                      (out / "no" / "lungs.nrrd").string(),
                      {} });
    const std::string longName = (out / (std::string(260, 'n') + ".nrrd")).string();
    cases.push_back(
      { "output", "name-too-long", { "--model", model.string(), self.string(), longName }, longName, {} });
    cases.push_back(
      { "output",
        "overlay-is-input",
        { "--model", model.string(), "--overlay", self.string(), self.string(), (out / "lungs.nrrd").string() },
        self.string(),
        self });
  }
  // 10. Numbers that do not fit.
  segment("arguments", "threads-overflow", GoodImage(in, "c", ".png"), { "--threads", "4294967360" });
  cases.back().named = "--threads";
  segment("arguments", "maxPixels-overflow", GoodImage(in, "d", ".png"), { "--maxPixels", "99999999999" });
  cases.back().named = "--maxPixels";

  std::map<std::string, int> perCategory;
  long                       peak = 0;
  for (const Case & c : cases)
  {
    SCOPED_TRACE(c.category + "/" + c.name);
    const std::string before = c.preserve.empty() ? std::string() : Bytes(c.preserve);
    const Outcome     o = RunChild(ModulePath("ResCRNetLungSegmentation"), c.args, scratch);
    EXPECT_FALSE(o.timedOut) << "hangs";
    EXPECT_EQ(o.signal, 0) << "killed by signal " << o.signal << "; stderr: " << o.err;
    EXPECT_EQ(o.exitCode, 1) << o.err;
    EXPECT_FALSE(o.err.empty());
    EXPECT_EQ(o.err.find('\n'), o.err.size() - 1) << "not one line: " << o.err;
    EXPECT_NE(o.err.find(c.named), std::string::npos) << "does not name " << c.named << ": " << o.err;
    EXPECT_TRUE(fs::is_empty(out)) << "left a file behind";
    EXPECT_LT(o.maxRssKiB, 2L * 1024 * 1024) << "peak memory " << o.maxRssKiB << " KiB";
    if (!c.preserve.empty())
    {
      EXPECT_EQ(Bytes(c.preserve), before) << "overwrote " << c.preserve;
    }
    for (const auto & e : fs::directory_iterator(out))
      fs::remove_all(e.path());
    ++perCategory[c.category];
    peak = std::max(peak, o.maxRssKiB);
  }
  std::string summary;
  for (const auto & [category, n] : perCategory)
    summary += " " + category + "=" + std::to_string(n);
  std::cout << cases.size() << " bad inputs:" << summary << "; peak memory " << peak / 1024 << " MiB" << std::endl;
  EXPECT_GE(cases.size(), 80u);
  // The generated files seed the image and model-file fuzz corpora (Testing/Fuzz, Utilities/fuzz.sh).
  if (const char * keep = std::getenv("RESCRNET_KEEP_CORPUS"); keep && *keep)
  {
    fs::create_directories(keep);
    for (const fs::path & folder : { in, scratch })
      for (const auto & e : fs::directory_iterator(folder))
        if (std::error_code ec; !e.is_symlink(ec) && e.is_regular_file(ec))
          fs::copy_file(e.path(), fs::path(keep) / e.path().filename(), fs::copy_options::overwrite_existing);
    fs::copy_file(model, fs::path(keep) / "tiny.rcn", fs::copy_options::overwrite_existing);
  }
}
