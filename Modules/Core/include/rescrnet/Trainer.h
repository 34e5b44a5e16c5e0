// SPDX-License-Identifier: Apache-2.0
// Training of Res-CR-Net: weighted Tanimoto loss with contour weights, Adam, Keras batch-norm momentum, seeded
// augmentation, deterministic data order, validation and a checkpoint each epoch, resume, best model by validation
// loss, early stopping, a time budget and a CSV history. Data arrive as tensors (Filters/ turns images into them with
// the same ITK filters as inference), so Core stays LibTorch-only.
//
// Data-parallel training (TrainerConfig::distributed with worldSize > 1, LibTorch's c10d with Gloo): every process
// runs a Trainer on the same data and configuration. Rank 0's initial weights and buffers are broadcast. Each step's
// global batch (batchSize samples, the same seeded order and augmentation on every rank) is cut into contiguous
// per-rank slices (RankSlice: sizes differ by at most one; a rank whose slice is empty contributes nothing). The loss
// is exactly that of the global batch: the partial sums of the weighted Tanimoto terms and of the contour weight
// normalisation are all-reduced, each rank differentiates the global loss with respect to its own slice
// (ContourTanimotoLossFromSums), and the gradients are all-reduced by SUM, so every rank holds the gradient of the
// combined batch and takes the same Adam step. Batch norm uses per-rank batch statistics in training (not
// synchronised, as the authors' two-GPU MirroredStrategy); the recalibration before validation gives each rank whole
// global batches in turn and averages the cumulative statistics over ranks, which equals the single-process result;
// without recalibration the running statistics are averaged over the ranks at the end of each epoch. Validation
// batches are split like training batches and their sums all-reduced. Recorded figures therefore do not depend on the
// world size beyond rounding (the weights do, through the per-rank batch-norm statistics of training). Dropout draws
// differ per rank. Only rank 0 writes checkpoints and best.rcn; the others keep the same state in memory, and
// resume() reads rank 0's checkpoint on every rank. worldSize 1 runs the original single-process code.
#ifndef rescrnet_Trainer_h
#define rescrnet_Trainer_h

#include "rescrnet/Augmentation.h"
#include "rescrnet/Distributed.h"
#include "rescrnet/ModelFile.h"
#include "rescrnet/ResCRNet.h"

#include <chrono>
#include <functional>
#include <filesystem>
#include <string>
#include <vector>

namespace rescrnet
{

struct TrainingData
{
  torch::Tensor            images; // [N, Cin, H, W] float in [0, 1]
  torch::Tensor            masks;  // [N, classes, H, W] one-hot float
  std::vector<std::string> ids;
  // The data source of each sample (e.g. "MC", "QUEXNC"), for sampling ratios and per-source validation; empty or
  // all equal: one source.
  std::vector<std::string> sources;

  int64_t
  size() const
  {
    return images.defined() ? images.size(0) : 0;
  }
  // Throws std::invalid_argument when shapes disagree with each other or with the network.
  void
  validate(const NetworkConfig & config, const std::string & what) const;
  // The distinct sources in order of first appearance.
  std::vector<std::string>
  sourceNames() const;
  // The samples of one source.
  TrainingData
  subset(const std::string & source) const;
};

// Relative sampling weight of each training source. An epoch draws as many samples as the training set holds; source s
// contributes round(N * w_s / sum w) of them, taken in turn from a seeded permutation of its samples that continues
// across epochs (every sample of a source is seen before any is repeated). Empty: every sample once per epoch.
using SourceWeights = std::vector<std::pair<std::string, double>>;


struct TrainerConfig
{
  int64_t            epochs{ 50 };
  int64_t            batchSize{ 8 };
  double             learningRate{ 1e-3 };
  double             adamEpsilon{ 1e-7 }; // Keras' default
  uint64_t           seed{ 1 };
  bool               shuffle{ true };
  AugmentationConfig augmentation{ AugmentationConfig::Keras() };
  SourceWeights      sourceWeights;
  // Multiply the learning rate by `learningRateDropFactor` at each of these epochs (1-based).
  std::vector<int64_t> learningRateDropEpochs;
  double               learningRateDropFactor{ 0.1 };
  double               maxMinutes{ 0.0 };          // 0: no time budget
  int64_t              earlyStoppingPatience{ 0 }; // 0: off
  double               earlyStoppingMinDelta{ 0.001 };
  // Recompute batch-norm statistics (cumulative average over this many training batches, no augmentation) before
  // each validation, so that short schedules with Keras' slow momentum still evaluate well. 0: off.
  int64_t     batchNormRecalibrationBatches{ 16 };
  int         threads{ 0 };
  std::string checkpointDirectory; // empty: no checkpoints (and no resume)
  // Processes training together (see above); worldSize 1: this process alone.
  DistributedConfig distributed;

  // Throws std::invalid_argument naming the first value outside its range (e.g. a learning rate that is not a finite
  // number in (0, 10]), so that a run refuses it before it reads data or writes a file.
  void
  validate() const;

  nlohmann::ordered_json
  toJson() const;
};

struct EpochRecord
{
  int64_t epoch{ 0 };
  double  loss{ 0 };
  double  tanimoto{ 0 };
  double  valLoss{ 0 };
  double  valTanimoto{ 0 };
  double  valDice{ 0 }; // mean per-image Dice of class 0 (lungs) at p > 0.5
  // valDice of each validation source when the validation data hold more than one source.
  std::vector<std::pair<std::string, double>> valDiceBySource;
  double                                      seconds{ 0 };
  double                                      learningRate{ 0 };
};

struct StepProgress
{
  int64_t epoch{ 0 };
  int64_t epochs{ 0 };
  int64_t step{ 0 };
  int64_t steps{ 0 };
  double  loss{ 0 };
  double  imagesPerSecond{ 0 };
  double  etaSeconds{ 0 }; // whole run
};

class Trainer
{
public:
  Trainer(ResCRNet network, ModelInfo info, TrainerConfig config);

  void
  setTrainingData(TrainingData data);
  void
  setValidationData(TrainingData data);

  // Continues from the checkpoint in the checkpoint directory, if there is one. Returns whether it did.
  bool
  resume();

  // Trains until the epochs are done, early stopping fires, the time budget runs out or shouldStop returns true.
  void
  run();

  std::function<void(const StepProgress &)> onStep;
  std::function<void(const EpochRecord &)>  onEpoch;
  std::function<bool()>                     shouldStop;

  const std::vector<EpochRecord> &
  history() const
  {
    return m_History;
  }
  // Why run() returned: "completed", "early stopping", "time budget", "stopped".
  const std::string &
  stopReason() const
  {
    return m_StopReason;
  }
  // The network with the best validation loss so far (the last one without validation data).
  ResCRNet
  bestNetwork() const;
  const ResCRNet &
  network() const
  {
    return m_Network;
  }
  ModelInfo &
  info()
  {
    return m_Info;
  }
  const TrainerConfig &
  config() const
  {
    return m_Config;
  }

  // The history so far as WriteTrainingHistoryCsv writes it.
  void
  writeHistoryCsv(const std::string & path) const;

  // Recomputes batch-norm running statistics as a cumulative average over `batches` batches of `data`. With a
  // process group, the ranks take the batches in turn and average their statistics (all ranks end up with the
  // single-process result, to rounding); every rank must call it with the same arguments.
  static void
  RecalibrateBatchNorm(ResCRNet &           network,
                       const TrainingData & data,
                       int64_t              batches,
                       int64_t              batchSize,
                       ProcessGroup *       group = nullptr);

  // Loss, Tanimoto and mean per-image lung Dice of `network` on `data` in eval mode. With a process group, each
  // batch is split over the ranks and the sums are all-reduced (the same figures on all ranks); every rank must
  // call it with the same arguments.
  static EpochRecord
  Evaluate(ResCRNet & network, const TrainingData & data, int64_t batchSize, ProcessGroup * group = nullptr);

  // The training samples of `epoch` (1-based) in order: a seeded shuffle of all `size` samples, or, with source
  // weights, each source's share of them (see SourceWeights). `sources` holds each sample's source.
  static std::vector<int64_t>
  SampleOrder(const std::vector<std::string> & sources, int64_t size, const TrainerConfig & config, int64_t epoch);

  // The process group of a distributed run (null with worldSize 1).
  ProcessGroup *
  processGroup() const
  {
    return m_Group.get();
  }

private:
  // Where a run stands, for progress, ETA and the time budget.
  struct RunTiming
  {
    std::chrono::steady_clock::time_point start;
    double                                budgetSeconds{ 0 };
    double                                lastEpochSeconds{ 0 };
    int64_t                               samplesPerEpoch{ 0 };
    int64_t                               stepsPerEpoch{ 0 };
    int64_t                               stepsDone{ 0 };
  };
  // The steps of one epoch; false when training has to stop within it (m_StopReason says why).
  bool
  trainEpoch(int64_t epoch, RunTiming & timing, EpochRecord & record);
  // One single-process step on the samples idx; returns the batch's loss and Tanimoto.
  std::pair<double, double>
  localStep(const std::vector<int64_t> & idx, int64_t epoch);
  // After an epoch: batch-norm recalibration, validation (per source too), history, best model; returns whether
  // early stopping fires.
  bool
  concludeEpoch(EpochRecord & record);
  void
  saveCheckpoint() const;
  void
  writeCheckpoint(const std::filesystem::path & dir) const;
  std::vector<int64_t>
  epochOrder(int64_t epoch) const;
  double
  learningRateFor(int64_t epoch) const;
  bool
  writesFiles() const
  {
    return m_Config.distributed.rank == 0;
  }
  void
  synchronizeState();
  // One distributed step on this rank's slice of the global batch `idx`; returns the global loss and Tanimoto.
  std::pair<double, double>
  distributedStep(const std::vector<int64_t> & idx, int64_t epoch);
  bool
  anyRank(bool flag);

  ResCRNet                            m_Network;
  ModelInfo                           m_Info;
  TrainerConfig                       m_Config;
  TrainingData                        m_Train;
  TrainingData                        m_Val;
  std::unique_ptr<torch::optim::Adam> m_Optimizer;
  std::vector<EpochRecord>            m_History;
  std::vector<torch::Tensor>          m_BestState;
  double                              m_BestValLoss{ 1e300 };
  int64_t                             m_EpochsWithoutImprovement{ 0 };
  std::string                         m_StopReason;
  std::unique_ptr<ProcessGroup>       m_Group;
};

// epoch,loss,tanimoto,val_loss,val_tanimoto,val_dice,seconds,learning_rate, then val_dice_<source> for each
// validation source of the first record that has them; one row per epoch (written atomically).
void
WriteTrainingHistoryCsv(const std::vector<EpochRecord> & history, const std::string & path);

} // namespace rescrnet

#endif
