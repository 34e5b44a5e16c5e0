// Losses and metrics of Res-CR-Net (rescrnet-spec section 5). All reductions are global sums over the whole batch
// tensor [B, C, H, W] (all classes together), as in the authors' code.
#ifndef rescrnet_Losses_h
#define rescrnet_Losses_h

#include <torch/torch.h>

namespace rescrnet {

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

// Unweighted Tanimoto with complement (the Keras compile metric tani_coeff), smoothing 1.
torch::Tensor
TanimotoCoefficient(const torch::Tensor & probabilities, const torch::Tensor & target, double smooth = 1.0);

// Soft Dice (2 sum t p + s) / (sum t + sum p + s), global and unweighted, smoothing 1.
torch::Tensor
DiceCoefficient(const torch::Tensor & probabilities, const torch::Tensor & target, double smooth = 1.0);

} // namespace rescrnet

#endif
