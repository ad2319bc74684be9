"""Execute one resolved run: train a dense baseline, or compress a baseline and measure it.

The runner makes no HTTP calls: it reports metric points through ``emit(key, step, value)``
and returns the summary and the artifact files. Workers and ``squeezelab local`` call it.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from compression.batches import model_device, to_device
from compression.checkpoint import TrainState
from compression.device import resolve_device, supports_semi_structured
from compression.errors import (
    CompressionError,
    TaskContractError,
    task_code_error,
)
from compression.finish import finish, finish_quantized
from compression.guard import chance_metrics, judge, sparsity_warnings
from compression.measure import load_into, load_state
from compression.measure.semistructured import measure_semi_structured
from compression.pruning import (
    SchedulePlan,
    build_pruner,
    build_schedule,
    clear_negative_zeros,
    sensitivity_table,
)
from compression.pruning.pruner import dense_classifier
from compression.pruning.targets import output_layer
from compression.quantization import attach_fake_quant, settings_for
from compression.quantization.quantize import INT8_FILE
from compression.spec import (
    GuardSpec,
    RecipeSpec,
    RunConfig,
    RunSummary,
    TrainSpec,
    scalar,
)
from compression.tasks import Task, resolve_task
from compression.training import Emit, RunCancelledError, StepHooks, TrainConfig, train
from compression.verify import attention_widths, verify_heads, verify_runs
from compression.weights import load_pretrained
from compression.workload import Workload

log = logging.getLogger("compression.runner")

__all__ = ["Resumable", "RunCancelledError", "RunResult", "execute_run"]

WEIGHTS_FILE = "model.safetensors"


@dataclass
class RunResult:
    """What a finished run hands back: the summary (design.md's contract) and its files."""

    summary: RunSummary
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
                checkpoints: Resumable | None = None,
                resolve_weights: Callable[[str], Path] | None = None) -> RunResult:
    """Run ``config`` in ``workdir``; a compress run needs its baseline's weights file.

    Raises ``CompressionError`` for anything the user's spec caused (unknown task, impossible
    target, unsupported recipe) and ``RunCancelledError`` when ``should_stop`` says so.
    ``checkpoints`` saves the training state every epoch and resumes from a saved one.
    resolve_weights: turns a pretrained baseline's ``weights`` reference into a local file
    (the worker downloads ``upload:`` references); by default it is a path on this machine.
    """
    checkpoints = checkpoints or Resumable()
    task = resolve_task(config.task)
    device = resolve_device(config.device)
    workdir.mkdir(parents=True, exist_ok=True)
    work = Workload(task, loader=config.loader, metric=config.metric)
    if config.kind == "baseline":
        return _run_baseline(config, work, workdir, emit, should_stop, checkpoints,
                             resolve_weights or _local_weights, device)
    if baseline_weights is None:
        raise CompressionError(f"run {config.name!r} needs its baseline's weights")
    if config.recipe is None:
        raise CompressionError(f"compress run {config.name!r} has no recipe")
    dense = _build(task, config.seed)
    load_into(dense, load_state(baseline_weights))
    dense.to(device).eval()
    return _run_compress(config, config.recipe, work, dense, workdir, emit, should_stop,
                         checkpoints)


def _local_weights(ref: str) -> Path:
    if ref.startswith("upload:"):
        raise CompressionError(f"{ref} is a file uploaded to a squeezelab API: submit the sweep "
                               "there, or name the file's path here")
    return Path(ref).expanduser()


def _build(task: Task, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    try:
        model = task.build_model()
    except CompressionError:
        raise
    except Exception as exc:
        raise task_code_error(f"task {task.name!r}: build_model", exc) from exc
    if not isinstance(model, nn.Module):
        raise TaskContractError(f"task {task.name!r}: build_model returned a "
                                f"{type(model).__name__}, not a torch.nn.Module")
    return model


def _run_baseline(config: RunConfig, work: Workload, workdir: Path, emit: Emit,
                  should_stop: Callable[[], bool] | None, checkpoints: Resumable,
                  resolve_weights: Callable[[str], Path], device: torch.device) -> RunResult:
    model = _build(work.task, config.seed)
    weights = config.baseline.weights
    if weights is not None:
        # Pretrained: evaluated as it is; the recipes fine-tune from it.
        load_pretrained(model, resolve_weights(weights))
    elif checkpoints.resume is not None:
        load_into(model, checkpoints.resume.model)
    model.to(device)
    epochs = scalar(config.baseline.epochs)
    if weights is None and epochs > 0:
        train(model, work, TrainConfig(config.baseline, epochs, config.seed), emit=emit,
              should_stop=should_stop, resume=checkpoints.resume, checkpoint=checkpoints.save)
    model.eval()
    metrics = work.evaluate(model)
    extra: dict[str, Any] = {} if weights is None else {"pretrained": {"weights": weights}}
    summary, files = finish(work, model, model, metrics, metrics, workdir, config, extra)
    return RunResult(guarded(summary, work, model, None), files)


def _run_compress(config: RunConfig, recipe: RecipeSpec, work: Workload, dense: nn.Module,
                  workdir: Path, emit: Emit, should_stop: Callable[[], bool] | None,
                  checkpoints: Resumable) -> RunResult:
    baseline_metrics = work.evaluate(dense)
    if recipe.sensitivity is not None:
        return _run_sensitivity(config, recipe, work, dense, baseline_metrics, workdir)

    model, extra = compress_model(config, recipe, work, dense, emit=emit,
                                  should_stop=should_stop, checkpoints=checkpoints)
    model.eval()
    notes = extra.pop("warnings", [])
    if recipe.quantize is not None:
        # The int8 model runs on ONNX Runtime on the CPU: it is made, and compared with the
        # fp32 models, there.
        model, dense = model.cpu(), dense.cpu()
        summary, files = finish_quantized(work, model, dense, recipe.quantize,
                                          baseline_metrics, workdir, config, extra)
    else:
        if model_device(model).type == "cuda" and _is_2to4(recipe):
            extra["semi_structured"] = _semi_structured(model, work, config)
        summary, files = finish(work, model, dense, work.evaluate(model), baseline_metrics,
                                workdir, config, extra)
    dense_layers = extra.get("pruning", {}).get("dense_layers", [])
    notes += sparsity_warnings(summary.layer_sparsity, dense_layers)
    return RunResult(guarded(summary, work, dense, config.guard, notes), files)


def guarded(summary: RunSummary, work: Workload, dense: nn.Module, guard: GuardSpec | None,
            notes: list[str] | None = None) -> RunSummary:
    """``summary`` with its chance level, warnings, and the result guard's verdict (a
    ``failure`` the worker reports as the run's error, keeping the figures). ``guard`` is None
    for a baseline run, which is warned about but not failed."""
    chance = chance_metrics(work, dense)
    level = None if chance is None or summary.metric is None else chance.get(summary.metric.name)
    warnings, failure = ([], None) if summary.metric is None else judge(summary.metric, level,
                                                                           guard)
    warnings = [*(notes or []), *warnings]
    return summary.model_copy(update={"chance": level, "warnings": warnings or None,
                                      "failure": failure})


def classifier_of(model: nn.Module, work: Workload) -> str:
    """The task's output layer: named by the task, or found by a forward pass."""
    return work.task.classifier or output_layer(model, example_for(model, work))


def example_for(model: nn.Module, work: Workload, batch_size: int = 2) -> Any:
    """Real example inputs on the device ``model`` lives on."""
    return to_device(work.example(batch_size), model_device(model))


def compress_model(config: RunConfig, recipe: RecipeSpec, work: Workload,
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
    spec, plan = _training_phase(config, recipe, work)
    heads = attention_widths(model)
    short_recovery = None if recipe.prune is None else recovery_warning(plan)
    pruner = (None if recipe.prune is None else
              build_pruner(recipe.prune, model, example_inputs=example_for(model, work),
                           classifier=classifier_of(dense, work)))
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
        if short_recovery is not None and step == plan.events[-1][0]:
            log.warning("%s", short_recovery)
        if changed:
            verify_heads(model, heads, f"channel pruning to {target:g}")
            verify_runs(model, work, f"channel pruning to {target:g}")
        pruned_to = max(pruned_to, target)
        emit("sparsity/target", step, target)
        emit("sparsity/actual", step, pruner.actual())
        return changed

    # QAT: fake quantization during the whole fine-tuning, pruning masks and all.
    fake_quant = None
    if recipe.quantize is not None and recipe.quantize.mode == "qat":
        settings = settings_for(scalar(recipe.quantize.backend))
        fake_quant = attach_fake_quant(model, reduce_range=settings.reduce_range,
                                       example=work.example(2), exclude=recipe.quantize.exclude)
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

    train(model, work, TrainConfig(spec, plan.total_epochs, config.seed, teacher=dense,
                                   distill=recipe.distill, phase="finetune"),
          emit=emit, hooks=hooks, should_stop=should_stop, resume=resume,
          checkpoint=checkpoint)
    # A schedule that ends exactly at the end of training prunes one last time; ``train``
    # does it before its last validation, unless no epoch was left to run (no fine-tuning,
    # or a resumed attempt whose checkpoint is the last epoch's).
    no_epoch_left = plan.total_epochs == 0 or (resume is not None
                                                and resume.epoch >= plan.total_epochs)
    if no_epoch_left and plan.target_at(plan.total_steps) is not None:
        prune_at(plan.total_steps)
        # No training follows: the curves still end on the model that is reported.
        for name, value in work.evaluate(model, "val").items():
            emit(f"val/{name}", plan.total_steps, value)
    clear_negative_zeros(model)
    if fake_quant is not None:
        fake_quant.remove()
    extra: dict[str, Any] = {}
    if recipe.prune is not None and pruner is not None:
        extra["pruning"] = {"granularity": recipe.prune.granularity,
                            "target": _final_sparsity(recipe), "achieved": pruner.actual(),
                            "skipped_layers": pruner.skipped}
        if recipe.prune.granularity != "channel" and dense_classifier(
                recipe.prune, str(recipe.prune.scope)):
            extra["pruning"]["dense_layers"] = [classifier_of(dense, work)]
    if short_recovery:
        extra["warnings"] = [short_recovery]
    return model, extra


def _is_2to4(recipe: RecipeSpec) -> bool:
    prune = recipe.prune
    return (prune is not None and prune.granularity == "nm" and scalar(prune.n) == 2
            and scalar(prune.m) == 4)


def _semi_structured(model: nn.Module, work: Workload, config: RunConfig) -> dict[str, Any]:
    """The 2:4 kernels' latency on this GPU, or why they were not used."""
    device = model_device(model)
    if not supports_semi_structured(device):
        name = torch.cuda.get_device_name(device)
        return {"note": f"{name} has no 2:4 sparse tensor cores (compute capability 8.0 or "
                        "newer): the model ran dense"}
    spec = config.measure.latency
    precision = (config.recipe.finetune if config.recipe and config.recipe.finetune
                 else config.baseline).precision
    dtype = torch.float16 if precision == "fp16" else torch.bfloat16
    return measure_semi_structured(model, examples=work.example, batch_sizes=spec.batch_sizes,
                                   dtype=dtype, warmup=spec.warmup, repeats=spec.repeats)


def recovery_warning(plan: SchedulePlan) -> str | None:
    """A warning when the schedule's last pruning step leaves less than an epoch of training
    after it: the model it reports had no time to recover from that step."""
    if not plan.events or plan.total_steps == 0:
        return None
    step, target = plan.events[-1]
    left = plan.total_steps - step
    if left >= plan.steps_per_epoch:
        return None
    return (f"the last pruning step (to {target:g}) leaves {left} optimizer step(s) of "
            f"training after it, less than an epoch ({plan.steps_per_epoch}) to recover: end "
            "the schedule earlier (schedule.end_epoch) or add fine-tuning epochs")


def _run_sensitivity(config: RunConfig, recipe: RecipeSpec, work: Workload, dense: nn.Module,
                     baseline_metrics: dict[str, float], workdir: Path) -> RunResult:
    spec = recipe.sensitivity
    if spec is None:  # narrowed for mypy; the caller checked
        raise CompressionError("not a sensitivity recipe")
    table = sensitivity_table(
        dense, levels=spec.levels, granularity=spec.granularity,
        evaluate=lambda m: work.score(m, "val"), example_inputs=example_for(dense, work),
        classifier=classifier_of(dense, work), metric=work.primary, goal=work.goal)
    return RunResult(*finish(work, dense, dense, baseline_metrics, baseline_metrics, workdir,
                             config, extra={"sensitivity": table.to_dict()}))


def _final_sparsity(recipe: RecipeSpec) -> float:
    prune, schedule = recipe.prune, recipe.schedule
    if prune is None:
        return 0.0
    if prune.granularity == "nm":
        return 1.0 - scalar(prune.n) / scalar(prune.m)
    if schedule is None or schedule.final_sparsity is None:  # the spec validator forbids it
        raise CompressionError(f"recipe {recipe.name!r} prunes without a final_sparsity")
    return scalar(schedule.final_sparsity)


def _training_phase(config: RunConfig, recipe: RecipeSpec,
                    work: Workload) -> tuple[TrainSpec, SchedulePlan]:
    """The fine-tuning spec and the step plan (epochs, pruning targets) of a compress run."""
    finetune = recipe.finetune
    # A schedule that trains (agp, iterative) without a finetune block uses the baseline's
    # optimizer settings.
    spec = finetune or config.baseline.model_copy(update={"epochs": 0})
    plan = build_schedule(recipe.schedule if recipe.prune is not None else None,
                          final_sparsity=_final_sparsity(recipe),
                          finetune_epochs=scalar(spec.epochs),
                          steps_per_epoch=work.steps_per_epoch(spec))
    return spec, plan


def planned_steps(config: RunConfig) -> int:
    """How many optimizer steps ``config`` will take: the length of its progress bar."""
    if config.kind == "baseline" and (config.baseline.weights is not None
                                      or scalar(config.baseline.epochs) == 0):
        return 0
    if config.kind == "compress" and (config.recipe is None
                                      or config.recipe.sensitivity is not None):
        return 0
    work = Workload(resolve_task(config.task), loader=config.loader, metric=config.metric)
    if config.kind == "baseline":
        return scalar(config.baseline.epochs) * work.steps_per_epoch(config.baseline)
    assert config.recipe is not None  # narrowed above
    return _training_phase(config, config.recipe, work)[1].total_steps
