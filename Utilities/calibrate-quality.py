#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Fits the quality score of itk::LungMaskQualityCalculator on validation images.

usage: calibrate-quality.py EVAL_CSV [EVAL_CSV ...] [--diceLimit 0.90] [--json OUT]

Each EVAL_CSV is the --outputCSV of ResCRNetEvaluate on a `val` split (never `test`): it holds the Dice of every
image and the quality signals (columns quality_<signal>). The score is a logistic regression of the standardised
signals for "Dice >= diceLimit", L2-regularised, the strength chosen by 10-fold cross-validated AUC; the shrunken
linear score is then rescaled by an unpenalised one-variable logistic fit (Platt scaling: monotonic, so the AUC is
unchanged) so that the score reads as a probability. Prints the
C++ initialiser for LungMaskQualityCalculator::DefaultCalibration(), the cross-validated and in-sample AUC, and
quantiles of each signal on the good masks (to place the flag thresholds). Needs numpy only.
"""
import argparse
import csv
import json
import sys

import numpy as np


def read_rows(paths):
    signals, dice, source = None, [], []
    rows = []
    for path in paths:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            names = [c for c in reader.fieldnames if c.startswith("quality_") and c not in ("quality_score", "quality_flags")]
            if signals is None:
                signals = names
            elif names != signals:
                sys.exit(f"{path}: its quality signals {names} differ from {signals}")
            for r in reader:
                rows.append([float(r[c]) for c in signals])
                dice.append(float(r["dice"]))
                source.append(r["source"])
    if not rows:
        sys.exit("no rows in " + ", ".join(paths))
    return [s[len("quality_"):] for s in signals], np.array(rows), np.array(dice), np.array(source)


def auc(score, positive):
    pos, neg = score[positive], score[~positive]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return greater / (len(pos) * len(neg))


def fit_logistic(x, y, lam, iterations=200):
    """Newton's method on the L2-penalised log-likelihood (the bias is not penalised)."""
    n, d = x.shape
    a = np.hstack([np.ones((n, 1)), x])
    w = np.zeros(d + 1)
    penalty = np.full(d + 1, lam)
    penalty[0] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(a @ w)))
        gradient = a.T @ (p - y) + penalty * w
        hessian = (a * (p * (1 - p))[:, None]).T @ a + np.diag(penalty) + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return w[0], w[1:]


def standardise(x):
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-6] = 1.0
    return mean, scale


def cross_validated_auc(x, y, lam, folds=10, seed=1):
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    score = np.empty(len(y))
    for k in range(folds):
        test = order[k::folds]
        train = np.setdiff1d(order, test)
        mean, scale = standardise(x[train])
        bias, weight = fit_logistic((x[train] - mean) / scale, y[train], lam)
        score[test] = bias + ((x[test] - mean) / scale) @ weight
    return auc(score, y > 0.5)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("csv", nargs="+")
    parser.add_argument("--diceLimit", type=float, default=0.90)
    parser.add_argument("--json", help="write the calibration and figures as JSON")
    args = parser.parse_args()

    names, x, dice, source = read_rows(args.csv)
    y = (dice >= args.diceLimit).astype(float)
    print(f"{len(y)} masks, {int((1 - y).sum())} with Dice < {args.diceLimit}")
    for i, name in enumerate(names):
        single = auc(x[:, i], y > 0.5)
        print(f"  {name:20s} AUC alone {max(single, 1 - single):.3f} ({'higher' if single >= 0.5 else 'lower'} is better)")

    lams = [0.01, 0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000]
    cv = {lam: cross_validated_auc(x, y, lam) for lam in lams}
    best = max(lams, key=lambda lam: (round(cv[lam], 4), lam))
    print("cross-validated AUC by L2 strength: " + ", ".join(f"{lam}: {cv[lam]:.3f}" for lam in lams))

    mean, scale = standardise(x)
    _, direction = fit_logistic((x - mean) / scale, y, best)
    # Platt scaling of the linear score z = standardised signals . direction.
    z = ((x - mean) / scale) @ direction
    bias, (slope,) = fit_logistic(z[:, None], y, 0.0)
    weight = slope * direction
    score = 1.0 / (1.0 + np.exp(-(bias + ((x - mean) / scale) @ weight)))
    fitted = auc(score, y > 0.5)
    print(f"chosen L2 strength {best}: cross-validated AUC {cv[best]:.3f}, in-sample AUC {fitted:.3f}")
    for s in sorted(set(source)):
        m = source == s
        print(f"  {s:8s} n {m.sum():4d}, Dice < limit {int((1 - y[m]).sum()):3d}, AUC {auc(score[m], y[m] > 0.5):.3f}")

    good = y > 0.5
    print("signal quantiles on the masks with Dice >= limit (1%, 5%, 50%, 95%, 99%):")
    for i, name in enumerate(names):
        q = np.quantile(x[good, i], [0.01, 0.05, 0.5, 0.95, 0.99])
        print(f"  {name:20s} " + " ".join(f"{v:.4f}" for v in q))

    fmt = lambda v: "{ " + ", ".join(f"{a:.6g}" for a in v) + " }"
    print("\nC++ (itkLungMaskQualityCalculator.hxx, DefaultCalibration):")
    print(f"  c.mean = {fmt(mean)};")
    print(f"  c.scale = {fmt(scale)};")
    print(f"  c.weight = {fmt(weight)};")
    print(f"  c.bias = {bias:.6g};")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"signals": names, "mean": mean.tolist(), "scale": scale.tolist(), "weight": weight.tolist(),
                       "bias": bias, "l2": best, "cv_auc": cv[best], "auc": fitted, "n": int(len(y)),
                       "below_limit": int((1 - y).sum()), "dice_limit": args.diceLimit}, f, indent=2)


if __name__ == "__main__":
    main()
