"""Execute one resolved run: train a dense baseline, or compress a baseline and measure it.

The runner makes no HTTP calls: it reports metric points through ``emit(key, step, value)``
and returns the summary and the artifact files. Workers and ``squeezelab local`` call it.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from compression.errors import CompressionError, UnsupportedRecipeError
from compression.measure import load_into, load_state, measure_model
from compression.pruning import build_pruner, build_schedule, prunable_layers, sensitivity_table
from compression.spec import RecipeSpec, RunConfig
from compression.tasks import DataSplits, Task, get_task
from compression.training import Emit, RunCancelledError, StepHooks, TrainConfig, evaluate, train

__all__ = ["RunCancelledError", "RunResult", "execute_run"]

WEIGHTS_FILE = "model.safetensors"


@dataclass
class RunResult:
    """What a finished run hands back: the summary (design.md's contract) and its files."""

    summary: dict[str, Any]
    artifacts: list[Path] = field(default_factory=list)

    @property
    def weights(self) -> Path:
        """The saved model weights (safetensors)."""
        return next(p for p in self.artifacts if p.name == WEIGHTS_FILE)


def execute_run(config: RunConfig, *, workdir: Path, emit: Emit,
                baseline_weights: Path | None = None,
                should_stop: Callable[[], bool] | None = None) -> RunResult:
    """Run ``config`` in ``workdir``; a compress run needs its baseline's weights file.

    Raises ``CompressionError`` for anything the user's spec caused (unknown task, impossible
    target, unsupported recipe) and ``RunCancelledError`` when ``should_stop`` says so.
    """
    task = get_task(config.task)
    if config.device == "cuda":
        raise UnsupportedRecipeError("device 'cuda' is not supported by this runner yet; use cpu")
    workdir.mkdir(parents=True, exist_ok=True)
    data = task.load_data(0)
    if config.kind == "baseline":
        return _run_baseline(config, task, data, workdir, emit, should_stop)
    if baseline_weights is None:
        raise CompressionError(f"run {config.name!r} needs its baseline's weights")
    if config.recipe is None:
        raise CompressionError(f"compress run {config.name!r} has no recipe")
    dense = _build(task, config.seed)
    load_into(dense, load_state(baseline_weights))
    dense.eval()
    return _run_compress(config, config.recipe, task, data, dense, workdir, emit, should_stop)


def _build(task: Task, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return task.build_model()


def _example(task: Task) -> torch.Tensor:
    return torch.zeros(1, *task.input_shape)


def _run_baseline(config: RunConfig, task: Task, data: DataSplits, workdir: Path, emit: Emit,
                  should_stop: Callable[[], bool] | None) -> RunResult:
    model = _build(task, config.seed)
    epochs = int(config.baseline.epochs)  # type: ignore[call-overload]
    train(model, data, TrainConfig(config.baseline, epochs, config.seed), emit=emit,
          should_stop=should_stop)
    model.eval()
    accuracy = evaluate(model, data.x_test, data.y_test)
    return _finish(task, model, model, accuracy, accuracy, workdir, config, extra={})


def _run_compress(config: RunConfig, recipe: RecipeSpec, task: Task, data: DataSplits,
                  dense: nn.Module, workdir: Path, emit: Emit,
                  should_stop: Callable[[], bool] | None) -> RunResult:
    baseline_accuracy = evaluate(dense, data.x_test, data.y_test)
    if recipe.quantize is not None:
        raise UnsupportedRecipeError(
            f"recipe {recipe.name!r}: quantization is not available in this engine version")
    if recipe.sensitivity is not None:
        return _run_sensitivity(config, recipe, task, data, dense, baseline_accuracy, workdir)

    model = copy.deepcopy(dense)
    model.train()
    finetune = recipe.finetune
    finetune_epochs = int(finetune.epochs) if finetune is not None else 0  # type: ignore[call-overload]
    spec = finetune or config.baseline.model_copy(update={"epochs": 0})
    steps_per_epoch = math.ceil(len(data.y_train) / spec.batch_size)
    hooks = StepHooks()
    extra: dict[str, Any] = {}
    epochs = finetune_epochs
    if recipe.prune is not None:
        prune = recipe.prune
        pruner = build_pruner(prune, model, example_inputs=_example(task),
                              classifier=task.classifier)
        final = (1.0 - int(prune.n) / int(prune.m) if prune.granularity == "nm"  # type: ignore[call-overload]
                 else float(recipe.schedule.final_sparsity))  # type: ignore[union-attr,arg-type]
        plan = build_schedule(recipe.schedule, final_sparsity=final,
                              finetune_epochs=finetune_epochs, steps_per_epoch=steps_per_epoch)
        epochs = plan.total_epochs

        def before_step(step: int) -> bool:
            target = plan.target_at(step)
            if target is None:
                return False
            changed = pruner.prune_to(target)
            emit("sparsity/target", step, target)
            emit("sparsity/actual", step, pruner.actual())
            return changed

        def after_epoch(epoch: int, step: int) -> None:
            emit("sparsity/actual", step, pruner.actual())

        hooks = StepHooks(before_step=before_step, after_step=lambda _s: pruner.enforce(),
                          after_epoch=after_epoch)
        train(model, data, TrainConfig(spec, epochs, config.seed, teacher=dense,
                                       distill=recipe.distill),
              emit=emit, hooks=hooks, should_stop=should_stop)
        # A schedule that ends exactly at the end of training prunes one last time.
        last = plan.total_steps
        if (target := plan.target_at(last)) is not None:
            pruner.prune_to(target)
            emit("sparsity/target", last, target)
            emit("sparsity/actual", last, pruner.actual())
        extra["pruning"] = {"granularity": prune.granularity, "target": final,
                            "achieved": pruner.actual(), "skipped_layers": pruner.skipped}
    else:
        train(model, data, TrainConfig(spec, epochs, config.seed, teacher=dense,
                                       distill=recipe.distill),
              emit=emit, hooks=hooks, should_stop=should_stop)
    model.eval()
    accuracy = evaluate(model, data.x_test, data.y_test)
    return _finish(task, model, dense, accuracy, baseline_accuracy, workdir, config, extra)


def _run_sensitivity(config: RunConfig, recipe: RecipeSpec, task: Task, data: DataSplits,
                     dense: nn.Module, baseline_accuracy: float, workdir: Path) -> RunResult:
    spec = recipe.sensitivity
    if spec is None:  # narrowed for mypy; the caller checked
        raise CompressionError("not a sensitivity recipe")
    table = sensitivity_table(
        dense, levels=spec.levels, granularity=spec.granularity,
        evaluate=lambda m: evaluate(m, data.x_val, data.y_val),
        example_inputs=_example(task), classifier=task.classifier)
    return _finish(task, dense, dense, baseline_accuracy, baseline_accuracy, workdir, config,
                   extra={"sensitivity": table.to_dict()})


def _finish(task: Task, model: nn.Module, dense: nn.Module, accuracy: float,
            baseline_accuracy: float, workdir: Path, config: RunConfig,
            extra: dict[str, Any]) -> RunResult:
    measured = measure_model(model, dense_model=dense, prunable=list(prunable_layers(dense)),
                             input_shape=task.input_shape, latency=config.measure.latency,
                             out_dir=workdir)
    summary: dict[str, Any] = {
        "accuracy": accuracy,
        "baseline_accuracy": baseline_accuracy,
        "accuracy_drop": baseline_accuracy - accuracy,
        **measured.summary,
        **extra,
    }
    return RunResult(summary=summary, artifacts=measured.artifacts)


def planned_steps(config: RunConfig) -> int:
    """How many optimizer steps ``config`` will take: the length of its progress bar."""
    task = get_task(config.task)
    n_train = len(task.load_data(0).y_train)
    if config.kind == "baseline":
        spec = config.baseline
        return int(spec.epochs) * math.ceil(n_train / spec.batch_size)  # type: ignore[call-overload]
    recipe = config.recipe
    if recipe is None or recipe.sensitivity is not None:
        return 0
    spec = recipe.finetune or config.baseline
    steps_per_epoch = math.ceil(n_train / spec.batch_size)
    epochs = int(recipe.finetune.epochs) if recipe.finetune is not None else 0  # type: ignore[call-overload]
    if recipe.prune is not None and recipe.prune.granularity != "nm":
        final = float(recipe.schedule.final_sparsity)  # type: ignore[union-attr,arg-type]
        epochs = build_schedule(recipe.schedule, final_sparsity=final, finetune_epochs=epochs,
                                steps_per_epoch=steps_per_epoch).total_epochs
    return epochs * steps_per_epoch
