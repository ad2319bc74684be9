"""The sweep spec: one torch-free schema shared by the API, workers, CLI and dashboard.

A spec names a task, the seeds, the dense baseline's training and a list of recipes. A list
value on a grid-able recipe field (``final_sparsity: [0.5, 0.9]``) is a grid axis; each recipe
expands to the cartesian product of its axes, times the seeds. ``expand`` turns a spec into
resolved ``RunConfig`` objects in a deterministic order, each with a stable ``config_hash``.

This module must not import torch (an import-linter contract and a test check it).
"""

from compression.spec.grid import expand_recipe, recipe_axes
from compression.spec.limits import DEFAULT_MAX_RUNS, check_run_count, run_count
from compression.spec.metrics import Goal, MetricSpec, builtin_goal, metric_drop
from compression.spec.models import (
    SPEC_VERSION,
    BaselineSpec,
    DistillSpec,
    GatesSpec,
    GuardSpec,
    LatencySpec,
    MeasureSpec,
    OptimizerSpec,
    PruneSpec,
    QuantizeSpec,
    RecipeSpec,
    Runtime,
    ScheduleKind,
    ScheduleSpec,
    SensitivitySpec,
    SweepSpec,
    TrainSpec,
)
from compression.spec.parse import load_spec_text, parse_spec
from compression.spec.runs import RunConfig, expand, iter_runs
from compression.spec.stored import StoredConfigError, load_run_config
from compression.spec.summary import PrimaryMetric, RunSummary
from compression.spec.task import (
    HFModelSource,
    ImageFolderSource,
    LoaderSpec,
    PythonDataSource,
    PythonModelSource,
    TaskSpec,
)
from compression.spec.types import Axis, scalar

__all__ = [
    "DEFAULT_MAX_RUNS", "SPEC_VERSION", "Axis", "BaselineSpec", "DistillSpec", "GatesSpec",
    "Goal", "GuardSpec", "HFModelSource", "ImageFolderSource", "LatencySpec", "LoaderSpec",
    "MeasureSpec", "MetricSpec", "OptimizerSpec", "PrimaryMetric", "PruneSpec",
    "PythonDataSource", "PythonModelSource", "QuantizeSpec", "RecipeSpec", "RunConfig",
    "RunSummary", "Runtime", "ScheduleKind", "ScheduleSpec", "SensitivitySpec",
    "StoredConfigError", "SweepSpec", "TaskSpec", "TrainSpec", "builtin_goal",
    "check_run_count", "expand", "expand_recipe", "iter_runs", "load_run_config",
    "load_spec_text", "metric_drop", "parse_spec", "recipe_axes", "run_count", "scalar",
]
