#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Exports a Res-CR-Net model file (.rcn) to TorchScript with torch.jit.trace, through the PyTorch port of the
benchmark (Utilities/Benchmarks/pytorch_eager.py). Used by the TorchScript test; the output goes to the build tree.
Usage: export_torchscript.py MODEL.rcn OUT.pt HEIGHT WIDTH
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Utilities", "Benchmarks"))
from pytorch_eager import ResCRNet, read_model  # noqa: E402


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    model, out, height, width = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    header, tensors = read_model(model)
    net = ResCRNet(header["architecture"])
    state = net.state_dict()
    missing = [k for k in state if not k.endswith("num_batches_tracked") and k not in tensors]
    if missing:
        sys.exit(f"export_torchscript.py: tensors missing from the model file: {missing[:3]}")
    net.load_state_dict({k: tensors.get(k, state[k]) for k in state})
    net.eval()
    with torch.no_grad():
        traced = torch.jit.trace(net, torch.rand(1, 1, height, width))
    traced.save(out)
    print(f"traced {model} ({height} x {width}) to {out}")


if __name__ == "__main__":
    main()
