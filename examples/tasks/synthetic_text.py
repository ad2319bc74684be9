"""Token data for the BERT example, generated here (no download): a sequence classification
task a small transformer learns in a few epochs.

Each class owns a few keyword tokens. A sequence is noise tokens with 2-4 keywords of its
class and one keyword of another class mixed in, padded to a fixed length; its length
varies, so the attention mask matters. Batches are dicts of int64 tensors, as a Hugging
Face tokenizer gives them: ``input_ids``, ``attention_mask`` and ``labels``.

Used by examples/bert-textcls.yaml as ``python: examples/tasks/synthetic_text.py:splits``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import Dataset

from compression.tasks import TaskData

PAD, FIRST_TOKEN = 0, 4  # ids 1-3 stand for special tokens, as in a real vocabulary


class TokenDataset(Dataset[dict[str, torch.Tensor]]):
    """Sequences of one split, generated once from a seed."""

    def __init__(self, count: int, *, seed: int, seq_len: int, vocab: int, classes: int,
                 keywords: int) -> None:
        g = torch.Generator().manual_seed(seed)
        owned = torch.arange(FIRST_TOKEN, FIRST_TOKEN + classes * keywords).view(classes,
                                                                                 keywords)
        noise_low = FIRST_TOKEN + classes * keywords
        self.labels = torch.randint(0, classes, (count,), generator=g)
        self.ids = torch.randint(noise_low, vocab, (count, seq_len), generator=g)
        lengths = torch.randint(seq_len // 2, seq_len + 1, (count,), generator=g)
        self.mask = (torch.arange(seq_len)[None, :] < lengths[:, None]).long()
        for i in range(count):
            n = int(lengths[i])
            label = int(self.labels[i])
            hits = int(torch.randint(2, 5, (1,), generator=g))
            other = (label + int(torch.randint(1, classes, (1,), generator=g))) % classes
            picks = [owned[label, int(k)] for k in torch.randint(0, keywords, (hits,),
                                                                  generator=g)]
            picks.append(owned[other, int(torch.randint(0, keywords, (1,), generator=g))])
            where = torch.randperm(n, generator=g)[:len(picks)]
            self.ids[i, where] = torch.stack(picks)
        self.ids[self.mask == 0] = PAD

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.ids[i], "attention_mask": self.mask[i],
                "labels": self.labels[i]}


def splits(seed: int, *, train: int = 1600, val: int = 400, test: int = 400, seq_len: int = 24,
           vocab: int = 96, classes: int = 4, keywords: int = 3, **_: Any) -> TaskData:
    """Train / validation / test sets; ``seed`` picks the split, as for built-in tasks."""
    common = {"seq_len": seq_len, "vocab": vocab, "classes": classes, "keywords": keywords}
    base = 1000 * (seed + 1)
    return TaskData(train=TokenDataset(train, seed=base, **common),
                    val=TokenDataset(val, seed=base + 1, **common),
                    test=TokenDataset(test, seed=base + 2, **common))
