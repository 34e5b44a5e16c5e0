#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The same Res-CR-Net in PyTorch eager (Debian's python3-torch), for side-by-side benchmarks with the project.

Loads the weights of a project model file (.rcn: magic, version, JSON header, float32 tensors) into an nn.Module
whose parameter names match the C++ port, then times inference and a training step (contour-weighted Tanimoto loss,
Adam) and prints one JSON object. Usage:
    pytorch_eager.py MODEL.rcn --threads 2 [--width 340 --height 300 --train-width 128 --train-height 128]
"""
import argparse
import json
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_model(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"RESCRNET":
        sys.exit(f"{path}: not a Res-CR-Net model file")
    (header_len,) = struct.unpack("<Q", data[16:24])
    header = json.loads(data[24:24 + header_len])
    base = 24 + header_len
    tensors = {}
    for t in header["tensors"]:
        raw = np.frombuffer(data, dtype="<f4", count=int(np.prod(t["shape"])) if t["shape"] else 1,
                            offset=base + t["offset"])
        tensors[t["name"]] = torch.from_numpy(raw.copy()).reshape(t["shape"])
    return header, tensors


class SepConv(nn.Module):
    def __init__(self, cin, cout, k, d):
        super().__init__()
        self.depthwise = nn.Conv2d(cin, cin, k, groups=cin, dilation=d, padding=d * (k - 1) // 2, bias=False)
        self.pointwise = nn.Conv2d(cin, cout, 1)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


class Branch(nn.Module):
    def __init__(self, cin, cfg, i):
        super().__init__()
        k, d, f = cfg["kernels"][i], cfg["dilations"][i], cfg["filters"]
        self.sep1 = SepConv(cin, f, k, d)
        self.bn = nn.BatchNorm2d(f, eps=cfg["batch_norm_epsilon"], momentum=cfg["batch_norm_momentum"])
        self.sep2 = SepConv(f, f, k, d)
        self.slope = cfg["leaky_slope"]

    def forward(self, x):
        return self.sep2(F.leaky_relu(self.bn(self.sep1(x)), self.slope))


class Block(nn.Module):
    def __init__(self, cin, cfg, stem):
        super().__init__()
        ch = cfg["filters"] * len(cfg["kernels"])
        self.stem = stem
        if not stem:
            self.pre_bn = nn.BatchNorm2d(cin, eps=cfg["batch_norm_epsilon"], momentum=cfg["batch_norm_momentum"])
        self.branches = nn.ModuleList([Branch(cin, cfg, i) for i in range(len(cfg["kernels"]))])
        self.shortcut = nn.Conv2d(cin, ch, 1)
        self.shortcut_bn = nn.BatchNorm2d(ch, eps=cfg["batch_norm_epsilon"], momentum=cfg["batch_norm_momentum"])
        self.slope = cfg["leaky_slope"]

    def forward(self, x):
        x0 = x if self.stem else F.leaky_relu(self.pre_bn(x), self.slope)
        return self.shortcut_bn(self.shortcut(x)) + torch.cat([b(x0) for b in self.branches], 1)


class ResCRNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        if cfg.get("lstm_blocks", 0):
            sys.exit("pytorch_eager.py: LSTM blocks are not part of the benchmark")
        ch = cfg["filters"] * len(cfg["kernels"])
        self.blocks = nn.ModuleList([Block(cfg["input_channels"], cfg, True)] +
                                    [Block(ch, cfg, False) for _ in range(cfg["conv_res_blocks"])])
        self.dropout = cfg["block_dropout"]
        self.head = nn.Conv2d(ch, cfg["num_classes"], 1)
        self.slope = cfg["leaky_slope"]

    def forward(self, x):
        for b, p in zip(self.blocks, self.dropout):
            x = b(x)
            if p > 0:
                x = F.dropout2d(x, p, self.training)
        return torch.softmax(F.leaky_relu(self.head(x), self.slope), 1)


def contour_tanimoto_loss(p, t):
    window = 11 if min(t.shape[2:]) <= 150 else 21 if min(t.shape[2:]) <= 300 else 31 if min(t.shape[2:]) <= 600 else 41
    with torch.no_grad():
        avg = F.avg_pool2d(t, window, 1, window // 2, count_include_pad=False)
        w = 1 + 2 * ((avg > 0.005) & (avg < 0.995)).float()
        w = w * (w.numel() / w.sum())
        w = w * w
    pc, tc = 1 - p, 1 - t
    td = ((w * t * p).sum() + 1) / ((w * (t * t + p * p - t * p)).sum() + 1)
    tcomp = ((w * tc * pc).sum() + 1) / ((w * (tc * tc + pc * pc - tc * pc)).sum() + 1)
    return 1 - 0.5 * (td + tcomp)


def timed(fn, repeats):
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--width", type=int, default=340)
    ap.add_argument("--height", type=int, default=300)
    ap.add_argument("--train-width", type=int, default=128)
    ap.add_argument("--train-height", type=int, default=128)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-train", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    header, tensors = read_model(a.model)
    net = ResCRNet(header["architecture"])
    state = net.state_dict()
    missing = [k for k in state if not k.endswith("num_batches_tracked") and k not in tensors]
    if missing:
        sys.exit(f"pytorch_eager.py: tensors missing from the model file: {missing[:3]}")
    net.load_state_dict({k: tensors.get(k, state[k]) for k in state})
    net.eval()
    out = {"tool": "PyTorch eager " + torch.__version__, "threads": a.threads}
    x1 = torch.rand(1, 1, a.height, a.width)
    with torch.no_grad():
        out["inference_ms_per_image_batch1"] = 1000 * timed(lambda: net(x1), a.repeats)
    if not a.skip_train:
        net.train()
        opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
        xb = torch.rand(a.batch, 1, a.train_height, a.train_width)
        m = (torch.rand(a.batch, 1, a.train_height, a.train_width) > 0.5).float()
        tb = torch.cat([m, 1 - m], 1)

        def step():
            opt.zero_grad()
            loss = contour_tanimoto_loss(net(xb), tb)
            loss.backward()
            opt.step()

        out["train_ms_per_image"] = 1000 * timed(step, max(1, a.repeats - 1)) / a.batch
        out["train_size"] = [a.train_width, a.train_height]
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(out))


if __name__ == "__main__":
    main()
