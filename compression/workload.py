"""A task's data, loss and metrics as one run uses them: batches, evaluation, example inputs.

Everything the engine feeds a model comes from here, and from the task's real data: training
batches, evaluation passes, the example inputs of MACs counting, ONNX export, latency and
channel-pruning traces, and static quantization's calibration batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal

import torch
from torch import nn

from compression.batches import (
    Batch,
    ModelInputs,
    batch_len,
    concat,
    forward_logits,
    model_device,
    resize,
    to_device,
)
from compression.errors import (
    CompressionError,
    TaskContractError,
    UnsupportedRecipeError,
    task_code_error,
)
from compression.spec import Goal, LoaderSpec, MetricSpec, TrainSpec
from compression.tasks import Task
from compression.tasks.loaders import as_task_data, batches, sized
from compression.tasks.metrics import goal_of, metric_factories

Split = Literal["train", "val", "test", "calibration"]
Predict = Callable[[ModelInputs], torch.Tensor]


class Workload:
    """One task's data and evaluation, set up for a run.

    split_seed: passed to the task's ``load_data``; 0 keeps the same split for every seed of
    a sweep (seeds vary initialisation and order, not which samples are tested).
    """

    def __init__(self, task: Task, *, loader: LoaderSpec | None = None,
                 metric: MetricSpec | None = None, split_seed: int = 0) -> None:
        self.task = task
        self.loader = loader or LoaderSpec()
        try:
            loaded = task.load_data(split_seed)
        except CompressionError:
            raise
        except Exception as exc:
            raise task_code_error(f"task {task.name!r}: load_data", exc) from exc
        self.data = as_task_data(loaded)
        self.factories = metric_factories(task.metrics, task.loss)
        if not self.factories:
            raise TaskContractError(f"task {task.name!r} has no metrics")
        self.goals: dict[str, Goal] = {n: goal_of(n, f) for n, f in self.factories.items()}
        self.primary = self._primary(metric)
        self._examples: ModelInputs | None = None

    def _primary(self, metric: MetricSpec | None) -> str:
        name = metric.name if metric else self.task.primary_metric or next(iter(self.factories))
        if name not in self.factories:
            raise UnsupportedRecipeError(
                f"task {self.task.name!r} does not compute {name!r}; its metrics: "
                f"{', '.join(self.factories)}")
        if metric is not None and metric.goal is not None and metric.goal != self.goals[name]:
            raise UnsupportedRecipeError(
                f"the spec says {name!r} is better when {metric.goal}imised; the task says "
                f"{self.goals[name]}")
        return name

    @property
    def goal(self) -> Goal:
        """Direction of the primary metric."""
        return self.goals[self.primary]

    # -- batches ---------------------------------------------------------------------------

    def _source(self, split: Split) -> Any:
        if split == "calibration":
            return self.data.calibration if self.data.calibration is not None else self.data.train
        return {"train": self.data.train, "val": self.data.val, "test": self.data.test}[split]

    def batches(self, split: Split, *, batch_size: int | None = None,
                generator: torch.Generator | None = None) -> Iterable[Batch]:
        """Batches of ``split``: shuffled with ``generator`` when one is given."""
        return batches(self._source(split), batch_size=batch_size or self.loader.eval_batch_size,
                       shuffle=generator is not None, generator=generator,
                       num_workers=self.loader.num_workers, collate_fn=self.data.collate_fn)

    def steps_per_epoch(self, spec: TrainSpec) -> int:
        """Optimizer steps in one epoch of ``spec``'s batch size and gradient accumulation."""
        loader = self.batches("train", batch_size=spec.batch_size,
                              generator=torch.Generator().manual_seed(0))
        return -(-sized(loader, "train") // spec.grad_accum)

    # -- evaluation ------------------------------------------------------------------------

    @torch.inference_mode()
    def evaluate_with(self, predict: Predict, split: Split = "test",
                      device: torch.device | None = None) -> dict[str, float]:
        """Every metric of the task over ``split``, computed from ``predict``'s logits."""
        metrics = {name: factory() for name, factory in self.factories.items()}
        seen = 0
        for batch in self.batches(split):
            inputs, targets = self.task.split_batch(batch)
            if device is not None:
                inputs = to_device(inputs, device)
            logits = predict(inputs)
            for metric in metrics.values():
                metric.update(logits, targets)
            seen += 1
        if not seen:
            raise TaskContractError(f"the {split} split of task {self.task.name!r} is empty")
        return {name: float(metric.compute()) for name, metric in metrics.items()}

    def evaluate(self, model: nn.Module, split: Split = "test") -> dict[str, float]:
        """Every metric of ``model`` (switched to eval mode, then restored) over ``split``."""
        was_training = model.training
        model.eval()
        try:
            return self.evaluate_with(lambda x: forward_logits(model, x), split,
                                      model_device(model))
        finally:
            model.train(was_training)

    def score(self, model: nn.Module, split: Split = "val") -> float:
        """The primary metric of ``model`` over ``split``."""
        return self.evaluate(model, split)[self.primary]

    # -- example inputs --------------------------------------------------------------------

    def example(self, batch_size: int) -> ModelInputs:
        """Inputs of ``batch_size`` real samples (test split, in order; repeated if short)."""
        if self._examples is None or batch_len(self._examples) < batch_size:
            found: list[ModelInputs] = []
            count = 0
            splits: tuple[Split, ...] = ("test", "val")
            for split in splits:
                for batch in self.batches(split):
                    inputs, _ = self.task.split_batch(batch)
                    found.append(inputs)
                    count += batch_len(inputs)
                    if count >= batch_size:
                        break
                if found:
                    break
            if not found:
                raise TaskContractError(f"task {self.task.name!r} has no test or validation "
                                        "data to take example inputs from")
            self._examples = concat(found) if len(found) > 1 else found[0]
        return resize(self._examples, batch_size)

    def calibration(self, *, count: int, batch_size: int, seed: int) -> list[ModelInputs]:
        """``count`` batches of calibration inputs in a seeded order (fewer if data runs out)."""
        out: list[ModelInputs] = []
        generator = torch.Generator().manual_seed(seed)
        for batch in self.batches("calibration", batch_size=batch_size, generator=generator):
            inputs, _ = self.task.split_batch(batch)
            out.append(inputs)
            if len(out) == count:
                break
        return out
