"""The watcher's planned epochs agree with the runner's planned optimizer steps."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from compression.runner import planned_steps
from compression.spec import expand, load_spec_text
from compression.tasks import get_task
from squeezelab.watch import planned_epochs

pytestmark = pytest.mark.unit

# The digits examples cover every schedule kind; mnist1d's data takes seconds to generate.
EXAMPLES = sorted(p for p in (Path(__file__).parents[3] / "examples").glob("*.yaml")
                  if "task: digits-" in p.read_text())
SCHEDULES = """
name: schedules
task: digits-mlp
seeds: [0]
baseline: {epochs: 4, batch_size: 128}
recipes:
  - {name: iter, prune: {granularity: channel}, finetune: {epochs: 2, batch_size: 32},
     schedule: {kind: iterative, final_sparsity: 0.5, steps: 3, epochs_per_step: 2}}
  - {name: agp-long, prune: {}, schedule: {kind: agp, final_sparsity: 0.8, end_epoch: 7}}
  - {name: poly, prune: {}, finetune: {epochs: 9},
     schedule: {kind: polynomial, final_sparsity: 0.8, end_epoch: 3, frequency: 5}}
  - {name: constant, prune: {}, finetune: {epochs: 2},
     schedule: {kind: constant, final_sparsity: 0.3}}
  - {name: qat-only, quantize: {mode: qat}, finetune: {epochs: 3}}
  - {name: ptq-only, quantize: {mode: ptq_dynamic}}
"""


@pytest.mark.parametrize("text", [*(p.read_text() for p in EXAMPLES), SCHEDULES],
                         ids=[*(p.stem for p in EXAMPLES), "schedules"])
def test_epochs_times_steps_per_epoch_is_the_runners_plan(text: str) -> None:
    for config in expand(load_spec_text(text)):
        epochs = planned_epochs(config.model_dump(mode="json"))
        steps = planned_steps(config)
        if config.recipe is not None and config.recipe.sensitivity is not None:
            assert epochs is None and steps == 0
            continue
        assert epochs is not None
        train = config.baseline if config.recipe is None else config.recipe.finetune
        batch = (train or config.baseline).batch_size
        n_train = len(get_task(config.task).load_data(0).y_train)
        assert epochs * math.ceil(n_train / batch) == steps, config.name


def test_an_unknown_config_has_no_plan() -> None:
    assert planned_epochs({"name": "x", "kind": "mystery"}) is None
