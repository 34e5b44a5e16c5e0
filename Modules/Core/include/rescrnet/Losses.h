// SPDX-License-Identifier: Apache-2.0
// Losses and metrics of Res-CR-Net (rescrnet-spec section 5). All reductions are global sums over the whole batch
// tensor [B, C, H, W] (all classes together), as in the authors' code.
#ifndef rescrnet_Losses_h
#define rescrnet_Losses_h

#include <torch/torch.h>

namespace rescrnet
{

// Averaging window of the contour weight map for an image whose short side is `shortSide` pixels:
// <= 150 -> 11, <= 300 -> 21, <= 600 -> 31, else 41.
int64_t
ContourWindowSize(int64_t shortSide);

// The "contour" weight map computed from the one-hot target: average-pool (window by image size, stride 1, padding
// excluded from the mean), border = 0.005 < avg < 0.995, w = 1 + 2 border, normalised so that its mean is 1 over the
// whole batch tensor, then squared. `window` 0 picks the window from the image size.
torch::Tensor
ContourWeightMap(const torch::Tensor & target, int64_t window = 0);

// Weighted Tanimoto with complement: 1 - (T(t, p) + T(1 - t, 1 - p)) / 2 with
// T = (sum w t p + s) / (sum w (t^2 + p^2 - t p) + s).
torch::Tensor
WeightedTanimotoLoss(const torch::Tensor & probabilities,
                     const torch::Tensor & target,
                     const torch::Tensor & weights,
                     double                smooth = 1.0);

// The training loss of the lung model: weighted Tanimoto with the contour weight map, smoothing 1.
torch::Tensor
ContourTanimotoLoss(const torch::Tensor & probabilities, const torch::Tensor & target);

// Data-parallel form of ContourTanimotoLoss. The loss is a ratio of sums over the whole batch tensor (and so is the
// weight normalisation), so a loss per slice of the batch is not the loss of the batch. Instead each process takes
// the partial sums of its slice [b, C, H, W] (b may be 0):
//   [0] element count N, [1] sum of 1 + 2 border, [2] sum v t p, [3] sum v (t^2 + p^2 - t p),
//   [4] sum v (1-t)(1-p), [5] sum v ((1-t)^2 + (1-p)^2 - (1-t)(1-p)),  v = (1 + 2 border)^2,
// float64, differentiable in `probabilities` through [2..5]. The sums of all slices give those of the batch (the
// normalised, squared weights are v (N / S)^2 with S = sum of 1 + 2 border, a global constant factor).
torch::Tensor
ContourTanimotoPartialSums(const torch::Tensor & probabilities, const torch::Tensor & target);

// The loss from a slice's partial sums `local` and the batch's `global` sums (all slices added, any autograd history
// ignored): the value is ContourTanimotoLoss of the whole batch (to rounding), computed from
// local + (global - local).detach(), so its gradient is the whole batch loss's gradient restricted to this slice's
// elements; summing the slices' gradients gives the gradient of the whole batch loss.
torch::Tensor
ContourTanimotoLossFromSums(const torch::Tensor & local, const torch::Tensor & global, double smooth = 1.0);

// Partial sums of TanimotoCoefficient for the same purpose, float64 without gradient:
// [0] sum t p, [1] sum (t^2 + p^2 - t p), [2] and [3] the same for the complements.
torch::Tensor
TanimotoPartialSums(const torch::Tensor & probabilities, const torch::Tensor & target);
// TanimotoCoefficient of the batch from the added partial sums.
double
TanimotoCoefficientFromSums(const torch::Tensor & sums, double smooth = 1.0);

// Unweighted Tanimoto with complement (the Keras compile metric tani_coeff), smoothing 1.
torch::Tensor
TanimotoCoefficient(const torch::Tensor & probabilities, const torch::Tensor & target, double smooth = 1.0);

// Soft Dice (2 sum t p + s) / (sum t + sum p + s), global and unweighted, smoothing 1.
torch::Tensor
DiceCoefficient(const torch::Tensor & probabilities, const torch::Tensor & target, double smooth = 1.0);

} // namespace rescrnet

#endif
