#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Synthetic chest radiographs ("phantoms") and their lung masks for the README's figures and demonstrations.

No real radiograph goes into them (the project may not redistribute the shared data): a body, two lungs with
diaphragm domes, the heart, the spine, ribs and clavicles, drawn from a few numbers and a fixed seed, smoothed, with
a little noise. Standard library only.

    python3 Utilities/Figures/make_phantoms.py OUTPUT_FOLDER

writes OUTPUT_FOLDER/phantom-NN.png (8-bit grey, 256 x 256) and OUTPUT_FOLDER/masks/phantom-NN.png (0/255).
"""
import math
import os
import random
import struct
import sys
import zlib

SIZE = 256


def write_png(path, width, height, rows):
    """An 8-bit greyscale PNG from rows of 0..255 integers."""
    raw = b"".join(b"\x00" + bytes(row) for row in rows)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    with open(path, "wb") as out:
        out.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def blur(image, radius):
    """Box blur, rows then columns."""
    n = len(image)
    out = [[0.0] * n for _ in range(n)]
    for y in range(n):
        row = image[y]
        acc = sum(row[0:radius + 1]) + row[0] * radius
        for x in range(n):
            out[y][x] = acc / (2 * radius + 1)
            acc += row[min(n - 1, x + radius + 1)] - row[max(0, x - radius)]
    result = [[0.0] * n for _ in range(n)]
    for x in range(n):
        acc = sum(out[y][x] for y in range(0, radius + 1)) + out[0][x] * radius
        for y in range(n):
            result[y][x] = acc / (2 * radius + 1)
            acc += out[min(n - 1, y + radius + 1)][x] - out[max(0, y - radius)][x]
    return result


def lung(u, v, side, p):
    """Inside the lung of `side` (-1: the viewer's left = the patient's right, +1: the other)."""
    cx = 0.5 + side * p["lung_x"]
    half_width = p["lung_w"] * (1.15 if side < 0 else 1.0)
    top, bottom = p["lung_top"], p["lung_bottom"] - (0.03 if side > 0 else 0.0)
    if v < top or v > bottom + 0.08:
        return False
    # Apex rounded, base cut by the diaphragm dome, the inner edge straighter (mediastinum).
    t = (v - top) / (bottom - top)
    width = half_width * math.sqrt(max(0.0, min(1.0, t * 1.6))) * (1.0 - 0.15 * t)
    dx = (u - cx) * side  # > 0: towards the outside
    inner = -width * (0.75 if side > 0 else 0.85)
    outer = width
    dome = bottom - 0.06 * (1.0 - ((u - cx) / (half_width + 1e-9)) ** 2)
    return inner < dx < outer and v < dome


def phantom(seed, p):
    rng = random.Random(seed)
    n = SIZE
    image = [[0.0] * n for _ in range(n)]
    mask = [[0] * n for _ in range(n)]
    for y in range(n):
        v = (y + 0.5) / n
        for x in range(n):
            u = (x + 0.5) / n
            value = 12.0
            # Body: a wide ellipse, brighter towards the abdomen.
            if ((u - 0.5) / 0.48) ** 4 + ((v - 0.6) / 0.6) ** 2 < 1.0:
                value = 150.0 + 40.0 * v
            inside = lung(u, v, -1, p) or lung(u, v, 1, p)
            if inside:
                value = 55.0 + 25.0 * v
                mask[y][x] = 255
            # Heart: on the patient's left (the viewer's right), over the lower lung.
            hx, hy = 0.5 + p["heart_x"], 0.67
            if ((u - hx) / p["heart_w"]) ** 2 + ((v - hy) / 0.16) ** 2 < 1.0:
                value = max(value, 165.0)
                mask[y][x] = 0
            # Spine and mediastinum.
            if abs(u - 0.5) < 0.045 + 0.02 * v:
                value = max(value, 185.0 - 20.0 * abs(u - 0.5) / 0.06)
            # Ribs: arcs over each side, brighter where they cross the lungs.
            for k in range(9):
                y0 = p["lung_top"] + 0.02 + k * 0.062
                for side in (-1, 1):
                    du = (u - 0.5) * side
                    if 0.04 < du < 0.45:
                        curve = y0 - 0.05 * (du - 0.05) + 0.8 * (du - 0.05) ** 2
                        if abs(v - curve) < 0.009:
                            value += 30.0 if inside else 12.0
            # Clavicles.
            for side in (-1, 1):
                du = (u - 0.5) * side
                if 0.05 < du < 0.32 and abs(v - (p["lung_top"] + 0.01 - 0.12 * (du - 0.05))) < 0.012:
                    value = max(value, 190.0)
            # An opacity (consolidation) that makes one phantom hard.
            if p.get("opacity") and ((u - p["opacity"][0]) / 0.1) ** 2 + ((v - p["opacity"][1]) / 0.12) ** 2 < 1.0:
                value = max(value, 135.0 if inside else value)
            image[y][x] = value
    image = blur(blur(image, 2), 1)
    rows = []
    for y in range(n):
        rows.append([max(0, min(255, int(round(image[y][x] + rng.uniform(-3.0, 3.0))))) for x in range(n)])
    return rows, mask


PHANTOMS = [
    dict(lung_x=0.2, lung_w=0.17, lung_top=0.16, lung_bottom=0.8, heart_x=0.07, heart_w=0.17),
    dict(lung_x=0.21, lung_w=0.16, lung_top=0.18, lung_bottom=0.76, heart_x=0.08, heart_w=0.19),
    dict(lung_x=0.19, lung_w=0.18, lung_top=0.14, lung_bottom=0.83, heart_x=0.06, heart_w=0.16, opacity=(0.3, 0.6)),
    dict(lung_x=0.22, lung_w=0.15, lung_top=0.2, lung_bottom=0.74, heart_x=0.07, heart_w=0.18),
]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_phantoms.py OUTPUT_FOLDER")
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "masks"), exist_ok=True)
    for i, p in enumerate(PHANTOMS, start=1):
        rows, mask = phantom(1000 + i, p)
        name = "phantom-%02d.png" % i
        write_png(os.path.join(out, name), SIZE, SIZE, rows)
        write_png(os.path.join(out, "masks", name), SIZE, SIZE, mask)
        print("wrote", os.path.join(out, name))


if __name__ == "__main__":
    main()
