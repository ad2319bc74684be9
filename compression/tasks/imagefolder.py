"""Image-folder data: ``<root>/{train,val,test}/<class>/<image>`` decoded one sample at a time.

Only the file list lives in memory (a path and a label per image); DataLoader workers decode
the images of each batch as it is needed, so memory does not grow with the number of files.
Decoding uses Pillow; nothing here needs torchvision.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from compression.errors import TaskContractError
from compression.spec import ImageFolderSource
from compression.tasks.contract import TaskData


class ImageFiles(Dataset[tuple[torch.Tensor, int]]):
    """Images and class indices; each item is ``(float tensor (C, H, W) in [0, 1] or
    normalised, label)``."""

    def __init__(self, paths: list[str], labels: list[int], *, source: ImageFolderSource) -> None:
        # One numpy array of fixed-width bytes rather than a list of str objects: a list of
        # 100,000 paths costs ~10 MB of Python objects, copied into every DataLoader worker.
        self.paths = np.array([p.encode() for p in paths], dtype=np.bytes_)
        self.labels = np.array(labels, dtype=np.int64)
        self.mode = "L" if source.channels == 1 else "RGB"
        self.size = None if source.size is None else (source.size[1], source.size[0])
        channels = source.channels
        self.mean = None if source.mean is None else torch.tensor(
            _per_channel(source.mean, channels, "mean")).view(-1, 1, 1)
        self.std = None if source.std is None else torch.tensor(
            _per_channel(source.std, channels, "std")).view(-1, 1, 1)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        from PIL import Image

        path = self.paths[index].decode()
        with Image.open(path) as opened:
            image = opened.convert(self.mode)
        if self.size is not None and image.size != self.size:
            image = image.resize(self.size, Image.Resampling.BILINEAR)
        array = np.asarray(image, dtype=np.uint8)
        x = torch.from_numpy(array.copy()).float().div_(255.0)
        x = x.unsqueeze(0) if x.dim() == 2 else x.permute(2, 0, 1)
        if self.mean is not None:
            x = x - self.mean
        if self.std is not None:
            x = x / self.std
        return x, int(self.labels[index])


def _per_channel(values: list[float], channels: int, what: str) -> list[float]:
    if len(values) == channels:
        return values
    if len(values) == 1:
        return values * channels
    raise TaskContractError(f"image_folder {what} has {len(values)} values for {channels} "
                            "channels")


def _scan(folder: Path, classes: list[str], extensions: tuple[str, ...]) -> tuple[list[str],
                                                                                  list[int]]:
    paths: list[str] = []
    labels: list[int] = []
    for label, name in enumerate(classes):
        directory = folder / name
        if not directory.is_dir():
            continue
        found = sorted(e.path for e in os.scandir(directory)
                       if e.is_file() and e.name.lower().endswith(extensions))
        paths.extend(found)
        labels.extend([label] * len(found))
    return paths, labels


def image_folder_data(source: ImageFolderSource, split_seed: int) -> TaskData:
    """The train / val / test splits of an image folder (val carved from train if absent)."""
    root = Path(source.image_folder).expanduser()
    train_dir, val_dir, test_dir = root / "train", root / "val", root / "test"
    for needed in (train_dir, test_dir):
        if not needed.is_dir():
            raise TaskContractError(f"image folder {root} has no {needed.name}/ directory "
                                    "(expected <root>/train/<class>/..., <root>/test/<class>/...)")
    classes = sorted(e.name for e in os.scandir(train_dir) if e.is_dir())
    if not classes:
        raise TaskContractError(f"{train_dir} has no class folders")
    extensions = tuple(e.lower() for e in source.extensions)
    train = _scan(train_dir, classes, extensions)
    test = _scan(test_dir, classes, extensions)
    if val_dir.is_dir():
        val = _scan(val_dir, classes, extensions)
    else:
        order = np.random.default_rng(split_seed).permutation(len(train[0]))
        n_val = round(len(order) * source.val_fraction)
        pick = sorted(order[:n_val].tolist())
        rest = sorted(order[n_val:].tolist())
        val = ([train[0][i] for i in pick], [train[1][i] for i in pick])
        train = ([train[0][i] for i in rest], [train[1][i] for i in rest])
    for split, (paths, _) in (("train", train), ("val", val), ("test", test)):
        if not paths:
            raise TaskContractError(f"image folder {root}: the {split} split has no images "
                                    f"with extensions {', '.join(extensions)}")
    return TaskData(train=ImageFiles(*train, source=source), val=ImageFiles(*val, source=source),
                    test=ImageFiles(*test, source=source))
