// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/viz/Scene.h"

#include "itkBinaryDilateImageFilter.h"
#include "itkBinaryErodeImageFilter.h"
#include "itkFlatStructuringElement.h"

#include <vtkActor.h>
#include <vtkCamera.h>
#include <vtkCornerAnnotation.h>
#include <vtkDiscreteFlyingEdges2D.h>
#include <vtkImageData.h>
#include <vtkImageProperty.h>
#include <vtkImageSlice.h>
#include <vtkImageSliceMapper.h>
#include <vtkImageStack.h>
#include <vtkLookupTable.h>
#include <vtkPolyDataMapper.h>
#include <vtkProperty.h>
#include <vtkRenderer.h>
#include <vtkScalarBarActor.h>
#include <vtkTextProperty.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

namespace rescrnet::viz
{

namespace
{

// An outline: the contour of one label value as lines, drawn in front of the image layers.
struct Outline
{
  vtkSmartPointer<vtkDiscreteFlyingEdges2D> contour = vtkSmartPointer<vtkDiscreteFlyingEdges2D>::New();
  vtkSmartPointer<vtkPolyDataMapper>        mapper = vtkSmartPointer<vtkPolyDataMapper>::New();
  vtkSmartPointer<vtkActor>                 actor = vtkSmartPointer<vtkActor>::New();

  Outline(double label, Colour colour, double depth)
  {
    contour->SetValue(0, label);
    contour->ComputeScalarsOff();
    mapper->SetInputConnection(contour->GetOutputPort());
    mapper->ScalarVisibilityOff();
    actor->SetMapper(mapper);
    actor->GetProperty()->SetColor(colour.R(), colour.G(), colour.B());
    actor->GetProperty()->LightingOff();
    actor->SetPosition(0.0, 0.0, depth); // towards the camera, which looks along +z
    actor->PickableOff();
  }
};

// A probability map replaces the lungs' fill (the two colourings would mix); the outlines stay.
bool
ShowsProbability(const ImageLayers & layers, const OverlayStyle & style)
{
  return layers.probability && style.showProbability;
}

vtkSmartPointer<vtkImageSlice>
MakeSlice(int layer, bool nearest)
{
  auto slice = vtkSmartPointer<vtkImageSlice>::New();
  auto mapper = vtkSmartPointer<vtkImageSliceMapper>::New();
  // The whole of the border pixels (VTK's default stops at their centres: half a pixel short on every side).
  mapper->BorderOn();
  slice->SetMapper(mapper);
  slice->GetProperty()->SetLayerNumber(layer);
  if (nearest)
    slice->GetProperty()->SetInterpolationTypeToNearest();
  else
    slice->GetProperty()->SetInterpolationTypeToLinear();
  return slice;
}

} // namespace

struct RadiographScene::Internals
{
  ImageLayers                  layers;
  OverlayStyle                 style;
  LungAreas                    areas;
  std::optional<double>        dice;
  std::string                  probe;
  vtkSmartPointer<vtkRenderer> renderer; // the renderer showing the scene, kept alive until the scene leaves it

  vtkSmartPointer<vtkImageStack>       stack = vtkSmartPointer<vtkImageStack>::New();
  vtkSmartPointer<vtkImageSlice>       grey = MakeSlice(0, false);
  vtkSmartPointer<vtkImageSlice>       probability = MakeSlice(1, false);
  vtkSmartPointer<vtkImageSlice>       fill = MakeSlice(2, true);
  vtkSmartPointer<vtkLookupTable>      labelTable = vtkSmartPointer<vtkLookupTable>::New();
  vtkSmartPointer<vtkLookupTable>      probabilityTable = vtkSmartPointer<vtkLookupTable>::New();
  vtkSmartPointer<vtkLookupTable>      barTable = vtkSmartPointer<vtkLookupTable>::New();
  vtkSmartPointer<vtkScalarBarActor>   bar = vtkSmartPointer<vtkScalarBarActor>::New();
  vtkSmartPointer<vtkCornerAnnotation> text = vtkSmartPointer<vtkCornerAnnotation>::New();
  Outline                              right{ 1.0, palette::RightLung, -0.5 };
  Outline                              left{ 2.0, palette::LeftLung, -0.5 };
  Outline                              reference{ 1.0, palette::Reference, -0.6 };
  std::array<std::string, 4>           corners;

  Internals()
  {
    stack->AddImage(grey);
    stack->AddImage(probability);
    stack->AddImage(fill);
    // Window/level interaction and picking act on the radiograph, never on the labels.
    stack->SetActiveLayer(0);
    probability->PickableOff();
    fill->PickableOff();

    labelTable->SetNumberOfTableValues(3);
    labelTable->SetTableRange(0, 2);
    fill->GetProperty()->SetLookupTable(labelTable);
    fill->GetProperty()->UseLookupTableScalarRangeOn();

    probabilityTable->SetNumberOfTableValues(256);
    probabilityTable->SetTableRange(0, 1);
    barTable->SetNumberOfTableValues(256);
    barTable->SetTableRange(0, 1);
    for (int i = 0; i < 256; ++i)
    {
      const Colour c = palette::Viridis(i / 255.0);
      barTable->SetTableValue(i, c.R(), c.G(), c.B(), 1.0);
    }
    barTable->Build();
    probability->GetProperty()->SetLookupTable(probabilityTable);
    probability->GetProperty()->UseLookupTableScalarRangeOn();

    bar->SetLookupTable(barTable);
    bar->SetTitle("P(lung)");
    bar->SetNumberOfLabels(3);
    bar->SetLabelFormat("%.1f");
    bar->SetPosition(0.86, 0.15);
    bar->SetWidth(0.1);
    bar->SetHeight(0.65);
    bar->UnconstrainedFontSizeOn();
    bar->GetTitleTextProperty()->SetFontSize(12);
    bar->GetLabelTextProperty()->SetFontSize(11);
    bar->GetTitleTextProperty()->SetColor(1, 1, 1);
    bar->GetLabelTextProperty()->SetColor(1, 1, 1);
    bar->PickableOff();

    text->SetMaximumFontSize(16);
    text->SetMinimumFontSize(9);
    text->SetLinearFontScaleFactor(2.0);
    text->SetNonlinearFontScaleFactor(0.8);
    text->GetTextProperty()->SetColor(palette::Text.R(), palette::Text.G(), palette::Text.B());
    text->GetTextProperty()->ShadowOn();
    text->GetTextProperty()->SetFontFamilyToArial();
    text->PickableOff();
  }

  void
  ApplyStyle()
  {
    const bool hasLabels = static_cast<bool>(layers.labels);
    const auto labelAlpha = [&](unsigned label) { return style.ShowsLabel(label) ? 1.0 : 0.0; };
    labelTable->SetTableValue(0, 0, 0, 0, 0);
    labelTable->SetTableValue(1, palette::RightLung.R(), palette::RightLung.G(), palette::RightLung.B(), labelAlpha(1));
    labelTable->SetTableValue(2, palette::LeftLung.R(), palette::LeftLung.G(), palette::LeftLung.B(), labelAlpha(2));
    labelTable->Modified();
    fill->GetProperty()->SetOpacity(style.fillOpacity);
    fill->SetVisibility(hasLabels && style.showOverlay && style.Fill() && style.fillOpacity > 0 &&
                        !ShowsProbability(layers, style));

    for (int i = 0; i < 256; ++i)
    {
      const double t = i / 255.0;
      const Colour c = palette::Viridis(t);
      probabilityTable->SetTableValue(i, c.R(), c.G(), c.B(), std::min(1.0, 2.0 * t));
    }
    probabilityTable->Modified();
    const bool showProbability = ShowsProbability(layers, style);
    probability->SetVisibility(showProbability);
    probability->GetProperty()->SetOpacity(style.probabilityOpacity);
    bar->SetVisibility(showProbability && style.showColourBar);

    const double width = style.outlineWidth > 0 ? style.outlineWidth : 2.0;
    for (auto * o : { &right, &left })
    {
      o->actor->GetProperty()->SetLineWidth(static_cast<float>(width));
      o->actor->GetProperty()->SetOpacity(style.outlineOpacity);
    }
    right.actor->SetVisibility(hasLabels && style.Outline() && style.ShowsLabel(1) && style.outlineOpacity > 0);
    left.actor->SetVisibility(hasLabels && style.Outline() && style.ShowsLabel(2) && style.outlineOpacity > 0);
    reference.actor->GetProperty()->SetLineWidth(static_cast<float>(width));
    reference.actor->GetProperty()->SetOpacity(1.0);
    reference.actor->SetVisibility(layers.reference && style.showReference);

    if (style.hasWindowLevel)
    {
      grey->GetProperty()->SetColorWindow(style.window);
      grey->GetProperty()->SetColorLevel(style.level);
    }
    text->SetVisibility(style.showText);
    UpdateText();
  }

  void
  UpdateText()
  {
    const double       window = grey->GetProperty()->GetColorWindow();
    const double       level = grey->GetProperty()->GetColorLevel();
    std::ostringstream ul, ur, ll;
    ul << layers.name << "\nW/L " << FormatShort(window) << " / " << FormatShort(level);
    if (!layers.presentation.source.empty())
      ul << "\n(initial: " << layers.presentation.source << ")";
    if (layers.labels)
    {
      if (areas.leftRight)
        ur << "R " << FormatFixed(areas.right, 1) << " cm2  L " << FormatFixed(areas.left, 1) << " cm2\n";
      ur << "lungs " << FormatFixed(areas.total, 1) << " cm2";
    }
    if (dice)
      ur << "\nDice " << FormatFixed(*dice, 3) << " vs reference";
    if (layers.qualityScore)
      ll << "quality " << FormatFixed(*layers.qualityScore, 2) << "\n";
    if (!layers.qualityFlags.empty())
    {
      ll << "flags:";
      for (const auto & f : layers.qualityFlags)
        ll << ' ' << f;
      ll << "\n";
    }
    if (layers.labels)
    {
      ll << (style.showOverlay ? ModeName(style.mode) : "overlay off");
      if (style.showOverlay && !(style.showRight && style.showLeft))
        ll << (style.showRight ? " (right only)" : style.showLeft ? " (left only)" : " (no lung)");
      if (ShowsProbability(layers, style))
        ll << ", probability map";
      else if (style.showOverlay && style.Fill())
        ll << ", fill " << FormatFixed(style.fillOpacity, 2);
    }
    corners = { ll.str(), probe, ul.str(), ur.str() };
    for (int c = 0; c < 4; ++c)
      text->SetText(c, corners[static_cast<size_t>(c)].c_str());
  }
};

RadiographScene::RadiographScene()
  : m_Internals(std::make_unique<Internals>())
{}

RadiographScene::~RadiographScene()
{
  if (m_Internals->renderer)
    RemoveFrom(m_Internals->renderer);
}

void
RadiographScene::SetLayers(ImageLayers layers)
{
  auto & in = *m_Internals;
  if (!layers.grey)
    throw RenderError("no radiograph to show");
  in.layers = std::move(layers);
  in.areas = MeasureAreas(in.layers);
  in.dice = Dice(in.layers.labels, in.layers.reference);
  in.probe.clear();

  auto greyData = ToVTK(in.layers.grey);
  static_cast<vtkImageSliceMapper *>(in.grey->GetMapper())->SetInputData(greyData);
  in.grey->GetProperty()->SetColorWindow(in.layers.presentation.window);
  in.grey->GetProperty()->SetColorLevel(in.layers.presentation.level);

  // Layers that are absent get a 1-pixel placeholder and stay hidden.
  const auto placeholder = [&](int type) {
    auto d = vtkSmartPointer<vtkImageData>::New();
    d->SetDimensions(1, 1, 1);
    d->AllocateScalars(type, 1);
    std::memset(d->GetScalarPointer(), 0, static_cast<size_t>(d->GetScalarSize()));
    return d;
  };
  auto labels = in.layers.labels ? ToVTK(in.layers.labels) : placeholder(VTK_UNSIGNED_CHAR);
  static_cast<vtkImageSliceMapper *>(in.fill->GetMapper())->SetInputData(labels);
  in.right.contour->SetInputData(labels);
  in.left.contour->SetInputData(labels);
  auto reference = in.layers.reference ? ToVTK(in.layers.reference) : placeholder(VTK_UNSIGNED_CHAR);
  in.reference.contour->SetInputData(reference);
  auto probability = in.layers.probability ? ToVTK(in.layers.probability) : placeholder(VTK_FLOAT);
  static_cast<vtkImageSliceMapper *>(in.probability->GetMapper())->SetInputData(probability);
  in.ApplyStyle();
}

const ImageLayers &
RadiographScene::Layers() const
{
  return m_Internals->layers;
}

void
RadiographScene::SetStyle(const OverlayStyle & style)
{
  m_Internals->style = style;
  m_Internals->ApplyStyle();
}

const OverlayStyle &
RadiographScene::Style() const
{
  return m_Internals->style;
}

std::optional<double>
RadiographScene::DiceValue() const
{
  return m_Internals->dice;
}

void
RadiographScene::AddTo(vtkRenderer * renderer)
{
  auto & in = *m_Internals;
  if (in.renderer == renderer)
    return;
  if (in.renderer)
    RemoveFrom(in.renderer);
  renderer->AddViewProp(in.stack);
  renderer->AddViewProp(in.right.actor);
  renderer->AddViewProp(in.left.actor);
  renderer->AddViewProp(in.reference.actor);
  renderer->AddViewProp(in.bar);
  renderer->AddViewProp(in.text);
  renderer->SetBackground(palette::Background.R(), palette::Background.G(), palette::Background.B());
  in.renderer = renderer;
}

void
RadiographScene::RemoveFrom(vtkRenderer * renderer)
{
  auto & in = *m_Internals;
  renderer->RemoveViewProp(in.stack);
  renderer->RemoveViewProp(in.right.actor);
  renderer->RemoveViewProp(in.left.actor);
  renderer->RemoveViewProp(in.reference.actor);
  renderer->RemoveViewProp(in.bar);
  renderer->RemoveViewProp(in.text);
  if (in.renderer == renderer)
    in.renderer = nullptr;
}

void
RadiographScene::ResetCamera(vtkRenderer * renderer, int width, int height) const
{
  const auto & grey = m_Internals->layers.grey;
  const auto   size = grey->GetLargestPossibleRegion().GetSize();
  const double sx = grey->GetSpacing()[0], sy = grey->GetSpacing()[1];
  const double extentX = static_cast<double>(size[0]) * sx, extentY = static_cast<double>(size[1]) * sy;
  const double cx = 0.5 * static_cast<double>(size[0] - 1) * sx, cy = 0.5 * static_cast<double>(size[1] - 1) * sy;
  const double distance = 10.0 * std::max(extentX, extentY) + 10.0;
  auto *       camera = renderer->GetActiveCamera();
  camera->ParallelProjectionOn();
  camera->SetFocalPoint(cx, cy, 0.0);
  camera->SetPosition(cx, cy, -distance);
  camera->SetViewUp(0.0, -1.0, 0.0);
  const double aspect = height > 0 ? static_cast<double>(width) / height : 1.0;
  camera->SetParallelScale(0.5 * std::max(extentY, extentX / std::max(aspect, 1e-6)));
  renderer->ResetCameraClippingRange();
}

vtkImageProperty *
RadiographScene::GreyProperty() const
{
  return m_Internals->grey->GetProperty();
}

vtkImageStack *
RadiographScene::Stack() const
{
  return m_Internals->stack;
}

double
RadiographScene::Window() const
{
  return m_Internals->grey->GetProperty()->GetColorWindow();
}

double
RadiographScene::Level() const
{
  return m_Internals->grey->GetProperty()->GetColorLevel();
}

std::string
RadiographScene::CornerText(int corner) const
{
  return corner >= 0 && corner < 4 ? m_Internals->corners[static_cast<size_t>(corner)] : std::string();
}

void
RadiographScene::SetProbeText(const std::string & text)
{
  m_Internals->probe = text;
  m_Internals->UpdateText();
}

void
RadiographScene::UpdateText()
{
  m_Internals->UpdateText();
}

vtkSmartPointer<vtkImageData>
RadiographScene::Render(OffscreenWindow & window, int width, int height, int maxSide)
{
  RenderSize(m_Internals->layers, width, height, maxSide);
  // A scene shown elsewhere (the viewer) goes back there afterwards.
  vtkSmartPointer<vtkRenderer> previous = m_Internals->renderer;
  auto *                       renderer = window.Renderer();
  renderer->RemoveAllViewProps();
  AddTo(renderer);
  ResetCamera(renderer, width, height);
  auto image = window.Capture(width, height);
  RemoveFrom(renderer);
  if (previous && previous != renderer)
    AddTo(previous);
  return image;
}

void
RenderSize(const ImageLayers & layers, int & width, int & height, int maxSide)
{
  const auto   size = layers.grey->GetLargestPossibleRegion().GetSize();
  const double sx = layers.grey->GetSpacing()[0], sy = layers.grey->GetSpacing()[1];
  // The image's physical aspect ratio, at its pixel count along x.
  const double w = static_cast<double>(size[0]);
  const double h = sx > 0 ? static_cast<double>(size[1]) * sy / sx : static_cast<double>(size[1]);
  if (width <= 0 && height <= 0)
  {
    double scale = 1.0;
    if (maxSide > 0 && std::max(w, h) > maxSide)
      scale = maxSide / std::max(w, h);
    width = static_cast<int>(std::lround(w * scale));
    height = static_cast<int>(std::lround(h * scale));
  }
  else if (width <= 0)
    width = static_cast<int>(std::lround(height * w / h));
  else if (height <= 0)
    height = static_cast<int>(std::lround(width * h / w));
  width = std::max(width, 1);
  height = std::max(height, 1);
}

// ---------------------------------------------------------------------------------------------------------------
// The ITK picture

namespace
{

void
Blend(itk::RGBPixel<unsigned char> & p, Colour c, double alpha)
{
  p[0] = static_cast<unsigned char>(std::lround((1.0 - alpha) * p[0] + alpha * c.r));
  p[1] = static_cast<unsigned char>(std::lround((1.0 - alpha) * p[1] + alpha * c.g));
  p[2] = static_cast<unsigned char>(std::lround((1.0 - alpha) * p[2] + alpha * c.b));
}

// Another image object over the same pixels, with spacing 1.
template <typename TImage>
typename TImage::Pointer
WithUnitSpacing(TImage * image)
{
  if (!image)
    return nullptr;
  auto out = TImage::New();
  out->SetRegions(image->GetLargestPossibleRegion());
  out->SetPixelContainer(image->GetPixelContainer());
  return out;
}

// The band of pixels within `radius` of the boundary of `label`: inside pixels next to the outside and outside
// pixels next to the inside, as a line of that width centred on the boundary covers them.
LabelImage::Pointer
OutlineBand(const LabelImage * labels, unsigned char label, unsigned radius)
{
  using SE = itk::FlatStructuringElement<2>;
  SE::RadiusType r;
  r.Fill(radius);
  const SE ball = SE::Ball(r);
  auto     dilate = itk::BinaryDilateImageFilter<LabelImage, LabelImage, SE>::New();
  dilate->SetInput(labels);
  dilate->SetKernel(ball);
  dilate->SetForegroundValue(label);
  dilate->SetBackgroundValue(0);
  auto erode = itk::BinaryErodeImageFilter<LabelImage, LabelImage, SE>::New();
  erode->SetInput(labels);
  erode->SetKernel(ball);
  erode->SetForegroundValue(label);
  erode->SetBackgroundValue(0);
  erode->SetBoundaryToForeground(true);
  dilate->Update();
  erode->Update();
  LabelImage::Pointer band = dilate->GetOutput();
  band->DisconnectPipeline();
  const unsigned char * e = erode->GetOutput()->GetBufferPointer();
  unsigned char *       b = band->GetBufferPointer();
  for (size_t i = 0; i < band->GetPixelContainer()->Size(); ++i)
    b[i] = (b[i] == label && e[i] != label) ? 1 : 0;
  return band;
}

} // namespace

RGBImage::Pointer
FallbackOverlay(const ImageLayers & layers, const OverlayStyle & style)
{
  const GreyImage * grey = layers.grey;
  auto              out = RGBImage::New();
  out->SetRegions(grey->GetLargestPossibleRegion());
  out->Allocate();
  const double  window = style.hasWindowLevel ? style.window : layers.presentation.window;
  const double  level = style.hasWindowLevel ? style.level : layers.presentation.level;
  const double  lo = level - 0.5 * window;
  const size_t  n = grey->GetPixelContainer()->Size();
  auto *        rgb = out->GetBufferPointer();
  const float * g = grey->GetBufferPointer();
  for (size_t i = 0; i < n; ++i)
  {
    const double t = window > 0 ? (g[i] - lo) / window : (g[i] >= level ? 1.0 : 0.0);
    const auto   v = static_cast<unsigned char>(std::lround(255.0 * std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0)));
    rgb[i].Set(v, v, v);
  }
  if (ShowsProbability(layers, style))
  {
    const float * p = layers.probability->GetBufferPointer();
    for (size_t i = 0; i < n; ++i)
    {
      // The table's 256 entries, as VTK looks them up.
      const double t = std::round(std::clamp(static_cast<double>(p[i]), 0.0, 1.0) * 255.0) / 255.0;
      Blend(rgb[i], palette::Viridis(t), style.probabilityOpacity * std::min(1.0, 2.0 * t));
    }
  }
  const double width = style.outlineWidth > 0 ? style.outlineWidth : 2.0;
  const auto   radius = static_cast<unsigned>(std::max(1.0, std::round(width / 2.0)));
  if (layers.labels)
  {
    const unsigned char * l = layers.labels->GetBufferPointer();
    if (style.showOverlay && style.Fill() && style.fillOpacity > 0 && !ShowsProbability(layers, style))
      for (size_t i = 0; i < n; ++i)
        if (l[i] != 0 && style.ShowsLabel(l[i]))
          Blend(rgb[i], palette::Label(l[i]), style.fillOpacity);
    if (style.showOverlay && style.Outline() && style.outlineOpacity > 0)
      for (unsigned char label : { 1, 2 })
      {
        if (!style.ShowsLabel(label))
          continue;
        auto                  band = OutlineBand(layers.labels, label, radius);
        const unsigned char * b = band->GetBufferPointer();
        for (size_t i = 0; i < n; ++i)
          if (b[i])
            Blend(rgb[i], palette::Label(label), style.outlineOpacity);
      }
  }
  if (layers.reference && style.showReference)
  {
    auto                  band = OutlineBand(layers.reference, 1, radius);
    const unsigned char * b = band->GetBufferPointer();
    for (size_t i = 0; i < n; ++i)
      if (b[i])
        Blend(rgb[i], palette::Reference, 1.0);
  }
  return out;
}

std::string
WriteOverlayPNG(const ImageLayers &  layers,
                const OverlayStyle & style,
                const std::string &  path,
                OverlayBackend       backend)
{
  const auto size = layers.grey->GetLargestPossibleRegion().GetSize();
  // A picture of the image at its own size, without text (the fallback has none either).
  OverlayStyle s = style;
  s.showText = false;
  s.showColourBar = false;
  if (s.outlineWidth <= 0)
    s.outlineWidth = OutlineWidthFor(static_cast<double>(std::max(size[0], size[1])));
  if (backend == OverlayBackend::Automatic)
    backend = CanRender() ? OverlayBackend::VTK : OverlayBackend::ITK;
  if (backend == OverlayBackend::ITK)
  {
    WritePNG(FallbackOverlay(layers, s), path);
    return "itk";
  }
  // The picture of the pixel grid, as the fallback draws it: unit spacing (the same pixels, no copy).
  ImageLayers grid = layers;
  grid.grey = WithUnitSpacing(layers.grey.GetPointer());
  grid.labels = WithUnitSpacing(layers.labels.GetPointer());
  grid.reference = WithUnitSpacing(layers.reference.GetPointer());
  grid.probability = WithUnitSpacing(layers.probability.GetPointer());
  RadiographScene scene;
  scene.SetLayers(grid);
  scene.SetStyle(s);
  OffscreenWindow window;
  WritePNG(scene.Render(window, static_cast<int>(size[0]), static_cast<int>(size[1])), path);
  return "vtk";
}

} // namespace rescrnet::viz
