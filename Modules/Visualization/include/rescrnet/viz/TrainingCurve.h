// SPDX-License-Identifier: Apache-2.0
// Training curves drawn with vtkChartXY from the trainer's history CSV: loss on the left, Tanimoto and Dice on the
// right, training and validation, per-source validation Dice (val_dice_<SOURCE> columns) when present, and the best
// epoch (lowest validation loss) marked. The same code serves `ResCRNetView --curve` and the trainer.
#ifndef rescrnet_viz_TrainingCurve_h
#define rescrnet_viz_TrainingCurve_h

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace rescrnet::viz
{

// The columns of a history CSV, found by their header names; values that are empty or not numbers are NaN.
struct TrainingHistory
{
  std::vector<std::string>         names;  // header order
  std::vector<std::vector<double>> values; // values[column][row]
  std::vector<double>              epoch;  // the "epoch" column (rows without a finite epoch are dropped)

  // The column `name`, or nullptr when there is none.
  const std::vector<double> *
  Column(const std::string & name) const;
  // The per-source validation Dice columns (val_dice_<SOURCE>), in header order.
  std::vector<std::string>
  SourceDiceColumns() const;
};

// Throws std::runtime_error (one line naming the file) when it cannot be read or has no "epoch" column.
TrainingHistory
ReadTrainingHistory(const std::string & path);

// The row of the best epoch: the lowest finite val_loss, else the lowest finite loss; nullopt when there is none.
std::optional<size_t>
BestEpochRow(const TrainingHistory & history);

// Draws the curves into a width x height PNG (written atomically). Needs a display: throws RenderError without one,
// and std::runtime_error when the history has no rows.
void
WriteTrainingCurvePNG(const TrainingHistory & history, const std::string & path, int width = 1100, int height = 440);

// ReadTrainingHistory + WriteTrainingCurvePNG.
void
WriteTrainingCurvePNG(const std::string & historyCSV, const std::string & path);

} // namespace rescrnet::viz

#endif
