"""Execute one resolved run: train a dense baseline, or compress a baseline and measure it.

The runner makes no HTTP calls: it reports metric points through ``emit(key, step, value)``
and returns the summary and the artifact files. Workers and ``squeezelab local`` call it.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from compression.checkpoint import TrainState
from compression.errors import CompressionError, UnsupportedRecipeError
from compression.measure import load_into, load_state, measure_model
from compression.measure.report import measure_int8_onnx
from compression.pruning import (
    SchedulePlan,
    build_pruner,
    build_schedule,
    clear_negative_zeros,
    prunable_layers,
    sensitivity_table,
)
from compression.quantization import (
    attach_fake_quant,
    calibration_batches,
    quantize_model,
    settings_for,
)
from compression.quantization.quantize import INT8_FILE
from compression.quantization.summary import quantization_summary
from compression.spec import QuantizeSpec, RecipeSpec, RunConfig, TrainSpec, scalar
from compression.tasks import DataSplits, Task, get_task
from compression.training import Emit, RunCancelledError, StepHooks, TrainConfig, evaluate, train

__all__ = ["Resumable", "RunCancelledError", "RunResult", "execute_run"]

WEIGHTS_FILE = "model.safetensors"


@dataclass
class RunResult:
    """What a finished run hands back: the summary (design.md's contract) and its files."""

    summary: dict[str, Any]
    artifacts: list[Path] = field(default_factory=list)

    @property
    def weights(self) -> Path:
        """The saved model: safetensors weights, or the int8 ONNX file of a quantized run."""
        for name in (WEIGHTS_FILE, INT8_FILE):
            for path in self.artifacts:
                if path.name == name:
                    return path
        raise CompressionError("this run saved no model file")


@dataclass
class Resumable:
    """Checkpointing of a run's training phase.

    resume: the newest checkpoint of an earlier attempt, or None to start afresh.
    save: called at every epoch end with the state to keep (the worker uploads it).
    """

    resume: TrainState | None = None
    save: Callable[[TrainState], None] | None = None


def execute_run(config: RunConfig, *, workdir: Path, emit: Emit,
                baseline_weights: Path | None = None,
                should_stop: Callable[[], bool] | None = None,
                checkpoints: Resumable | None = None) -> RunResult:
    """Run ``config`` in ``workdir``; a compress run needs its baseline's weights file.

    Raises ``CompressionError`` for anything the user's spec caused (unknown task, impossible
    target, unsupported recipe) and ``RunCancelledError`` when ``should_stop`` says so.
    ``checkpoints`` saves the training state every epoch and resumes from a saved one.
    """
    checkpoints = checkpoints or Resumable()
    task = get_task(config.task)
    if config.device == "cuda":
        raise UnsupportedRecipeError("device 'cuda' is not supported by this runner yet; use cpu")
    workdir.mkdir(parents=True, exist_ok=True)
    data = task.load_data(0)
    if config.kind == "baseline":
        return _run_baseline(config, task, data, workdir, emit, should_stop, checkpoints)
    if baseline_weights is None:
        raise CompressionError(f"run {config.name!r} needs its baseline's weights")
    if config.recipe is None:
        raise CompressionError(f"compress run {config.name!r} has no recipe")
    dense = _build(task, config.seed)
    load_into(dense, load_state(baseline_weights))
    dense.eval()
    return _run_compress(config, config.recipe, task, data, dense, workdir, emit, should_stop,
                         checkpoints)


def _build(task: Task, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return task.build_model()


def _example(task: Task) -> torch.Tensor:
    return torch.zeros(1, *task.input_shape)


def _run_baseline(config: RunConfig, task: Task, data: DataSplits, workdir: Path, emit: Emit,
                  should_stop: Callable[[], bool] | None, checkpoints: Resumable) -> RunResult:
    model = _build(task, config.seed)
    if checkpoints.resume is not None:
        load_into(model, checkpoints.resume.model)
    epochs = scalar(config.baseline.epochs)
    train(model, data, TrainConfig(config.baseline, epochs, config.seed), emit=emit,
          should_stop=should_stop, resume=checkpoints.resume, checkpoint=checkpoints.save)
    model.eval()
    accuracy = evaluate(model, data.x_test, data.y_test)
    return _finish(task, model, model, accuracy, accuracy, workdir, config, extra={})


def _run_compress(config: RunConfig, recipe: RecipeSpec, task: Task, data: DataSplits,
                  dense: nn.Module, workdir: Path, emit: Emit,
                  should_stop: Callable[[], bool] | None, checkpoints: Resumable) -> RunResult:
    baseline_accuracy = evaluate(dense, data.x_test, data.y_test)
    if recipe.sensitivity is not None:
        return _run_sensitivity(config, recipe, task, data, dense, baseline_accuracy, workdir)

    model, extra = compress_model(config, recipe, task, data, dense, emit=emit,
                                  should_stop=should_stop, checkpoints=checkpoints)
    model.eval()
    if recipe.quantize is not None:
        return _finish_quantized(task, data, model, dense, recipe.quantize, baseline_accuracy,
                                 workdir, config, extra)
    accuracy = evaluate(model, data.x_test, data.y_test)
    return _finish(task, model, dense, accuracy, baseline_accuracy, workdir, config, extra)


def compress_model(config: RunConfig, recipe: RecipeSpec, task: Task, data: DataSplits,
                   dense: nn.Module, *, emit: Emit,
                   should_stop: Callable[[], bool] | None = None,
                   checkpoints: Resumable | None = None,
                   ) -> tuple[nn.Module, dict[str, Any]]:
    """Prune and fine-tune a copy of ``dense`` as the recipe says; ``dense`` is left as it is.

    Returns the compressed model and what the summary records about the pruning.
    """
    checkpoints = checkpoints or Resumable()
    resume = checkpoints.resume
    model = copy.deepcopy(dense)
    model.train()
    spec, plan = _training_phase(config, recipe, len(data.y_train))
    pruner = (None if recipe.prune is None else
              build_pruner(recipe.prune, model, example_inputs=_example(task),
                           classifier=task.classifier))
    pruned_to = 0.0
    if resume is not None:
        # Channel-pruned layers take the checkpoint's shapes in place, so the pruner's
        # dependency graph (built on these modules) stays valid; masks come from the zeros.
        load_into(model, resume.model)
        pruned_to = resume.pruned_to
        if pruner is not None:
            pruner.restore(pruned_to)

    def prune_at(step: int) -> bool:
        nonlocal pruned_to
        target = None if pruner is None else plan.target_at(step)
        if pruner is None or target is None:
            return False
        changed = pruner.prune_to(target)
        pruned_to = max(pruned_to, target)
        emit("sparsity/target", step, target)
        emit("sparsity/actual", step, pruner.actual())
        return changed

    # QAT: fake quantization during the whole fine-tuning, pruning masks and all.
    fake_quant = None
    if recipe.quantize is not None and recipe.quantize.mode == "qat":
        settings = settings_for(scalar(recipe.quantize.backend))
        fake_quant = attach_fake_quant(model, reduce_range=settings.reduce_range)
    hooks = StepHooks()
    if pruner is not None:
        def epoch_sparsity(_epoch: int, step: int) -> None:
            # When a pruning step falls on this boundary, prune_at reports that step instead,
            # so each curve has one value per step.
            if plan.target_at(step) is None:
                emit("sparsity/actual", step, pruner.actual())

        hooks = StepHooks(before_step=prune_at, after_step=lambda _s: pruner.enforce(),
                          after_epoch=epoch_sparsity)
    save = checkpoints.save

    def checkpoint(state: TrainState) -> None:
        if save is not None:
            save(dataclasses.replace(state, pruned_to=pruned_to))

    train(model, data, TrainConfig(spec, plan.total_epochs, config.seed, teacher=dense,
                                   distill=recipe.distill, phase="finetune"),
          emit=emit, hooks=hooks, should_stop=should_stop, resume=resume,
          checkpoint=checkpoint)
    # A schedule that ends exactly at the end of training prunes one last time.
    prune_at(plan.total_steps)
    clear_negative_zeros(model)
    if fake_quant is not None:
        fake_quant.remove()
    extra: dict[str, Any] = {}
    if recipe.prune is not None and pruner is not None:
        extra["pruning"] = {"granularity": recipe.prune.granularity,
                            "target": _final_sparsity(recipe), "achieved": pruner.actual(),
                            "skipped_layers": pruner.skipped}
    return model, extra


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


def _finish_quantized(task: Task, data: DataSplits, model: nn.Module, dense: nn.Module,
                      spec: QuantizeSpec, baseline_accuracy: float, workdir: Path,
                      config: RunConfig, extra: dict[str, Any]) -> RunResult:
    """Quantize the (pruned, fine-tuned) fp32 model, then measure the int8 file as saved."""
    recipe = config.recipe
    batch_size = (recipe.finetune if recipe and recipe.finetune else config.baseline).batch_size
    calibration = calibration_batches(data.x_train, count=scalar(spec.calibration_batches),
                                      batch_size=batch_size, seed=config.seed)
    quantized = quantize_model(model, spec, example=_example(task), calibration=calibration,
                               out_dir=workdir)
    # Accuracy of the file as saved, loaded back by ONNX Runtime.
    accuracy = quantized.load().accuracy(data.x_test, data.y_test)
    measured, fp32_latency = measure_int8_onnx(
        model, quantized.path, dense_model=dense, prunable=list(prunable_layers(dense)),
        input_shape=task.input_shape, latency=config.measure.latency)
    int8_latency = measured.summary["latency_ms"]
    extra["quantization"] = quantization_summary(
        quantized, int8_latency=int8_latency["onnxruntime"],  # type: ignore[index]
        fp32_latency=fp32_latency, fp32_accuracy=evaluate(model, data.x_test, data.y_test))
    summary: dict[str, Any] = {
        "accuracy": accuracy,
        "baseline_accuracy": baseline_accuracy,
        "accuracy_drop": baseline_accuracy - accuracy,
        **measured.summary,
        **extra,
    }
    return RunResult(summary=summary, artifacts=measured.artifacts)


def _final_sparsity(recipe: RecipeSpec) -> float:
    prune, schedule = recipe.prune, recipe.schedule
    if prune is None:
        return 0.0
    if prune.granularity == "nm":
        return 1.0 - scalar(prune.n) / scalar(prune.m)
    if schedule is None or schedule.final_sparsity is None:  # the spec validator forbids it
        raise CompressionError(f"recipe {recipe.name!r} prunes without a final_sparsity")
    return scalar(schedule.final_sparsity)


def _training_phase(config: RunConfig, recipe: RecipeSpec, n_train: int) -> tuple[TrainSpec,
                                                                                 SchedulePlan]:
    """The fine-tuning spec and the step plan (epochs, pruning targets) of a compress run."""
    finetune = recipe.finetune
    # A schedule that trains (agp, iterative) without a finetune block uses the baseline's
    # optimizer settings.
    spec = finetune or config.baseline.model_copy(update={"epochs": 0})
    plan = build_schedule(recipe.schedule if recipe.prune is not None else None,
                          final_sparsity=_final_sparsity(recipe),
                          finetune_epochs=scalar(spec.epochs),
                          steps_per_epoch=math.ceil(n_train / spec.batch_size))
    return spec, plan


def planned_steps(config: RunConfig) -> int:
    """How many optimizer steps ``config`` will take: the length of its progress bar."""
    task = get_task(config.task)
    n_train = len(task.load_data(0).y_train)
    if config.kind == "baseline":
        spec = config.baseline
        return scalar(spec.epochs) * math.ceil(n_train / spec.batch_size)
    if config.recipe is None or config.recipe.sensitivity is not None:
        return 0
    return _training_phase(config, config.recipe, n_train)[1].total_steps
