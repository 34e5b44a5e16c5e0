#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Makes the seed corpus of the KerasImport fuzz harness (Testing/Fuzz/corpus/KerasImport) from scratch: the Keras
# model config of a tiny Res-CR-Net (2 filters, kernels 3/3, dilations 1/2, one CONV RES block, 48 x 40 grid) written
# here, and a full "_all.h5" file with that config and deterministic weights, made by make_keras_h5.c (HDF5 C API,
# since Debian's python3 has no h5py). Nothing is taken from ../shared.
# Usage: python3 Testing/Fuzz/seeds/make_keras_seeds.py   (needs gcc and libhdf5-dev)
import json, os, subprocess, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "corpus", "KerasImport")
F, KERNELS, DILATIONS, CLASSES = 2, [3, 3], [1, 2], 2
layers, weights = [], []


def layer(name, cls, inbound, **config):
    config["name"] = name
    layers.append({"class_name": cls, "name": name, "config": config,
                   "inbound_nodes": [[[i, 0, 0, {}] for i in inbound]] if inbound else []})
    return name


def bn(name, inbound, channels):
    weights.extend((name, k, [channels]) for k in ("gamma", "beta", "moving_mean", "moving_variance"))
    return layer(name, "BatchNormalization", [inbound], epsilon=0.001, momentum=0.99)


def sep(name, inbound, cin, k, d):
    weights.extend([(name, "depthwise_kernel", [k, k, cin, 1]), (name, "pointwise_kernel", [1, 1, cin, F]),
                    (name, "bias", [F])])
    return layer(name, "SeparableConv2D", [inbound], filters=F, kernel_size=[k, k], dilation_rate=[d, d],
                 depth_multiplier=1, padding="same")


def conv(name, inbound, cin, cout):
    weights.extend([(name, "kernel", [1, 1, cin, cout]), (name, "bias", [cout])])
    return layer(name, "Conv2D", [inbound], filters=cout, kernel_size=[1, 1], padding="same")


cur = layer("input_1", "InputLayer", [], batch_input_shape=[None, 48, 40, 1])
cin = 1
for b in range(2):
    x0 = cur
    if b > 0:
        x0 = layer(f"pre_act_{b}", "LeakyReLU", [bn(f"pre_bn_{b}", cur, cin)], alpha=0.3)
    ends = []
    for i, (k, d) in enumerate(zip(KERNELS, DILATIONS)):
        s1 = sep(f"sep1_{b}_{i}", x0, cin, k, d)
        a = layer(f"act_{b}_{i}", "LeakyReLU", [bn(f"bn_{b}_{i}", s1, F)], alpha=0.3)
        ends.append(sep(f"sep2_{b}_{i}", a, F, k, d))
    cat = layer(f"concat_{b}", "Concatenate", ends, axis=-1)
    short = bn(f"shortcut_bn_{b}", conv(f"shortcut_{b}", cur, cin, F * len(KERNELS)), F * len(KERNELS))
    cur = layer(f"add_{b}", "Add", [cat, short])
    cur = layer(f"drop_{b}", "SpatialDropout2D", [cur], rate=0.05)
    cin = F * len(KERNELS)
head = conv("head", cur, cin, CLASSES)
act = layer("head_act", "LeakyReLU", [head], alpha=0.3)
layer("softmax", "Softmax", [act], axis=-1)
model = {"class_name": "Functional", "config": {"name": "tiny_rescrnet", "layers": layers,
                                                 "input_layers": [["input_1", 0, 0]],
                                                 "output_layers": [["softmax", 0, 0]]}}
text = json.dumps(model, separators=(",", ":"))
os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, "architecture.json"), "wb") as f:
    f.write(b"\x01" + text.encode())  # odd first byte: the harness takes the rest as the architecture JSON

with tempfile.TemporaryDirectory() as tmp:
    exe = os.path.join(tmp, "make_keras_h5")
    subprocess.run(["gcc", "-O1", "-o", exe, os.path.join(HERE, "make_keras_h5.c"), "-I/usr/include/hdf5/serial",
                    "-L/usr/lib/x86_64-linux-gnu/hdf5/serial", "-lhdf5"], check=True)
    spec = "".join(f"{l} {k} {len(s)} {' '.join(map(str, s))}\n" for l, k, s in weights)
    for name, vlen in (("all_fixed.h5", "0"), ("all_utf8.h5", "1")):
        h5 = os.path.join(tmp, name)
        subprocess.run([exe, h5, vlen], input=(text + "\n" + spec).encode(), check=True)
        with open(h5, "rb") as f, open(os.path.join(OUT, name), "wb") as o:
            o.write(b"\x00" + f.read())  # even first byte: the harness takes the rest as a Keras HDF5 file
print("wrote", OUT)
