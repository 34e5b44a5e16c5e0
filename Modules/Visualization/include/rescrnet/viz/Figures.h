// SPDX-License-Identifier: Apache-2.0
// Figures for people who review batches, drawn with the viewer's scene:
//  - a panel: one row per image with the radiograph, the prediction filled and outlined, the probability map and
//    the reference against the prediction as outlines (the columns without data anywhere are left out);
//  - a contact sheet: thumbnails of a whole folder, worst first by Dice against the references when there are
//    references, else by quality score (lowest first), with the file name and the score under each.
// Both need a display (Xvfb on a server); they throw RenderError without one.
#ifndef rescrnet_viz_Figures_h
#define rescrnet_viz_Figures_h

#include "rescrnet/viz/Layers.h"
#include "rescrnet/viz/Palette.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace rescrnet::viz
{

// Called with (done, total) as images are drawn.
using FigureProgress = std::function<void(size_t, size_t)>;

struct PanelOptions
{
  int          cellSize{ 256 }; // pixels, each cell square
  OverlayStyle style;           // opacities and outline width of the prediction cells
};

// One row per entry, in the given order. An image that cannot be read gets a row saying why. Returns the number of
// rows drawn from readable images. Throws RenderError (no display, cannot write) or LayerError (nothing readable).
size_t
WritePanel(const std::vector<LayerFiles> & rows,
           const std::string &             path,
           const PanelOptions &            options = {},
           const FigureProgress &          progress = {});

enum class SheetOrder
{
  Dice,    // ascending Dice against the reference (worst first)
  Quality, // ascending quality_score
  Name     // by file name (neither available)
};

struct ContactSheetOptions
{
  int          thumbnailSize{ 160 };
  int          columns{ 8 };
  size_t       maxThumbnails{ 100 }; // the worst ones; the title says how many were left out
  OverlayStyle style;
};

struct SheetEntry
{
  LayerFiles            files;
  std::optional<double> dice;  // known already (a results CSV); else computed when there is a reference
  std::string           error; // why the image cannot be shown (filled in while ranking)
};

struct ContactSheetResult
{
  SheetOrder              order{ SheetOrder::Name };
  size_t                  total{ 0 }; // entries
  size_t                  shown{ 0 }; // thumbnails drawn
  std::vector<SheetEntry> ranked;     // every entry, worst first (unreadable ones first of all)
};

// Ranks the entries (computing the Dice of those with a label map and a reference) without drawing anything.
ContactSheetResult
RankEntries(std::vector<SheetEntry> entries, const FigureProgress & progress = {});

ContactSheetResult
WriteContactSheet(std::vector<SheetEntry>     entries,
                  const std::string &         path,
                  const ContactSheetOptions & options = {},
                  const FigureProgress &      progress = {});

const char *
OrderName(SheetOrder order);

} // namespace rescrnet::viz

#endif
