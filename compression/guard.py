"""The result guard: whether a finished run's figures can count as a result.

A compressed model whose primary metric fell to what a predictor that ignores its input
gets (chance level), or beyond the drop the sweep tolerates, finished without an error but
is not a result: the run fails with the reason, and keeps its figures and files for
inspection. Doubtful figures that are not failures (a baseline no better than chance, a
layer pruned empty, a pruning step with no training after it) become warnings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import nn

from compression.batches import forward_logits, model_device, to_device
from compression.errors import CompressionError
from compression.spec import GuardSpec, PrimaryMetric
from compression.spec.metrics import Goal
from compression.tasks.metrics import IGNORE_INDEX
from compression.workload import Workload

# A layer this sparse computes almost nothing: worth a warning whatever the target was.
NEAR_EMPTY = 0.99


def _lead(goal: Goal, value: float, chance: float) -> float:
    """How much better than ``chance`` a value is, in the metric's units."""
    return value - chance if goal == "max" else chance - value


@torch.inference_mode()
def chance_metrics(work: Workload, model: nn.Module, *, seed: int = 0) -> dict[str, float] | None:
    """Every metric of the best input-free predictor on the test split: the class prior
    (the majority class for accuracy, the unigram distribution for perplexity) or a uniform
    random guess (better for macro F1), whichever scores better per metric.

    None when the task's targets are not class indices, or its metrics cannot take such
    logits: there is no chance level to compare with then.
    """
    targets: list[torch.Tensor] = []
    width: int | None = None
    was_training = model.training
    model.eval()
    try:
        for batch in work.batches("test"):
            inputs, target = work.task.split_batch(batch)
            if not isinstance(target, torch.Tensor) or target.is_floating_point():
                return None
            if width is None:
                width = int(forward_logits(model, to_device(inputs, model_device(model)))
                            .shape[-1])
            targets.append(target.detach().cpu())
    finally:
        model.train(was_training)
    if width is None or width < 2:
        return None
    labels = torch.cat([t.reshape(-1) for t in targets])
    labels = labels[labels != IGNORE_INDEX]
    if labels.numel() == 0 or int(labels.min()) < 0 or int(labels.max()) >= width:
        return None
    counts = torch.bincount(labels, minlength=width).double()
    prior = torch.log((counts + 1e-3) / (counts.sum() + 1e-3 * width)).float()
    generator = torch.Generator().manual_seed(seed)
    size = width

    def prior_logits(shape: tuple[int, ...]) -> torch.Tensor:
        return prior.expand(*shape, size)

    def random_logits(shape: tuple[int, ...]) -> torch.Tensor:
        return torch.randn(*shape, size, generator=generator)

    predictors = {"prior": prior_logits, "random": random_logits}
    scores: dict[str, list[float]] = {}
    try:
        for make in predictors.values():
            metrics = {name: factory() for name, factory in work.factories.items()}
            for target in targets:
                logits = make(tuple(target.shape))
                for metric in metrics.values():
                    metric.update(logits, target)
            for name, metric in metrics.items():
                scores.setdefault(name, []).append(float(metric.compute()))
    except (CompressionError, RuntimeError, ValueError, TypeError):
        return None  # a metric of the task's own that needs something else than class logits
    return {name: (max if work.goals[name] == "max" else min)(values)
            for name, values in scores.items()}


def judge(metric: PrimaryMetric, chance: float | None, guard: GuardSpec | None,
          ) -> tuple[list[str], str | None]:
    """(warnings, failure) for a run's primary metric. ``guard`` is None for a baseline run,
    which is only warned about: it is what the other runs are judged by."""
    warnings: list[str] = []
    name, goal = metric.name, metric.goal
    baseline_lead = None if chance is None else _lead(goal, metric.baseline, chance)
    if chance is not None and baseline_lead is not None and baseline_lead <= 0:
        warnings.append(f"the baseline's {name} ({metric.baseline:.4g}) is no better than "
                        f"chance ({chance:.4g}): it learned nothing the recipes could keep")
    if guard is None:
        return warnings, None
    if (guard.at_chance and chance is not None and baseline_lead is not None
            and baseline_lead > 0
            and _lead(goal, metric.value, chance) <= guard.chance_margin * baseline_lead):
        return warnings, (f"{name} {metric.value:.4g} is at chance level ({chance:.4g}; the "
                          f"baseline has {metric.baseline:.4g}): the compressed model lost what "
                          "it learned (guard.at_chance)")
    if guard.fail_if_drop is not None and metric.drop > guard.fail_if_drop:
        return warnings, (f"{name} dropped by {metric.drop:.4g} ({metric.baseline:.4g} -> "
                          f"{metric.value:.4g}), more than guard.fail_if_drop "
                          f"{guard.fail_if_drop:g}")
    return warnings, None


def sparsity_warnings(layer_sparsity: Mapping[str, float] | None,
                      dense_layers: Iterable[str] = ()) -> list[str]:
    """A warning per layer that ended at least ``NEAR_EMPTY`` sparse."""
    dense = set(dense_layers)
    return [f"layer {name!r} ended {value:.1%} sparse: it computes almost nothing (cap it "
            "with prune.max_layer_sparsity, or exclude it)"
            for name, value in (layer_sparsity or {}).items()
            if value >= NEAR_EMPTY and name not in dense]
