"""Image data for the ViT and image-folder examples, made from scikit-learn's digits (no
download), and a small CNN for 32x32 RGB images.

- ``digits_rgb(seed)``: the 8x8 digits upscaled to 3x32x32, in memory, as batches of
  ``(pixel_values, labels)`` tensors (a ViT takes ``pixel_values`` as its first argument).
- ``write_image_folder(root, count)``: ``count`` PNG files in ``root/{train,val,test}/<digit>/``,
  each a digit upscaled to 32x32 and jittered (shift, contrast, noise), for the image-folder
  task and its streaming benchmark. Run ``python examples/tasks/vision.py ROOT --count N``.
- ``SmallCNN``: conv-bn-relu blocks and a linear head for 3x32x32 inputs.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

from compression.tasks import TaskData


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images.astype(np.float32) / 16.0, bunch.target.astype(np.int64)


def digits_rgb(seed: int, *, size: int = 32, **_: Any) -> TaskData:
    """The digits as ``3 x size x size`` images in [0, 1]; a 60/20/20 split picked by seed."""
    images, labels = _digits()
    x = torch.from_numpy(images)[:, None]
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    x = x.expand(-1, 3, -1, -1).contiguous()
    y = torch.from_numpy(labels)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    n_test = n_val = len(y) // 5
    test, val, train = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    return TaskData(train=TensorDataset(x[train], y[train]), val=TensorDataset(x[val], y[val]),
                    test=TensorDataset(x[test], y[test]))


class SmallCNN(nn.Sequential):
    """Three conv-bn-relu-pool blocks and a linear head, for 3x32x32 images."""

    def __init__(self, width: int = 32, classes: int = 10) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for i in range(3):
            out = width * 2 ** i
            layers += [nn.Conv2d(channels, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU(),
                       nn.MaxPool2d(2)]
            channels = out
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(channels, classes)


def write_image_folder(root: Path, count: int, *, seed: int = 0, size: int = 32) -> Path:
    """``count`` jittered digit PNGs in ``root/{train,val,test}/<digit>/`` (80/10/10)."""
    from PIL import Image

    images, labels = _digits()
    rng = np.random.default_rng(seed)
    for split in ("train", "val", "test"):
        for digit in range(10):
            (root / split / str(digit)).mkdir(parents=True, exist_ok=True)
    for i in range(count):
        k = int(rng.integers(len(labels)))
        base = Image.fromarray((images[k] * 255).astype(np.uint8)).resize(
            (size - 4, size - 4), Image.Resampling.BILINEAR)
        canvas = np.zeros((size, size), dtype=np.float32)
        dx, dy = rng.integers(0, 5, size=2)
        canvas[dy:dy + size - 4, dx:dx + size - 4] = np.asarray(base, dtype=np.float32)
        canvas = canvas * rng.uniform(0.6, 1.0) + rng.normal(0, 12, canvas.shape)
        pixels = np.clip(canvas, 0, 255).astype(np.uint8)
        rgb = np.stack([pixels, pixels, pixels], axis=-1)
        split = "test" if i % 10 == 0 else "val" if i % 10 == 1 else "train"
        Image.fromarray(rgb).save(root / split / str(int(labels[k])) / f"{i:06d}.png")
    return root


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--count", type=int, default=20_000)
    args = parser.parse_args()
    write_image_folder(args.root, args.count)
    print(f"{args.count} images in {args.root}")
