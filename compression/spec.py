"""The sweep spec: one torch-free schema shared by the API, workers, CLI and dashboard.

A spec names a task, the seeds, the dense baseline's training and a list of recipes. A list
value on a grid-able recipe field (``final_sparsity: [0.5, 0.9]``) is a grid axis; each recipe
expands to the cartesian product of its axes, times the seeds. ``expand`` turns a spec into
resolved ``RunConfig`` objects in a deterministic order, each with a stable ``config_hash``.

This module must not import torch (an import-linter contract and a test check it).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal, Self, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from compression.errors import FieldError, InvalidSpecError

T = TypeVar("T")
# A grid-able field takes one value or a non-empty list of values (a grid axis).
Axis = Union[T, Annotated[list[T], Field(min_length=1)]]  # noqa: UP007 (needs a runtime Union)



def scalar(value: T | list[T]) -> T:
    """The value of a grid-able field of a resolved (expanded) config.

    After ``expand`` every axis holds one value; a list here means the caller skipped
    expansion, which is a bug, not a user error.
    """
    if isinstance(value, list):
        raise TypeError(f"unexpanded grid axis {value!r}: expand the spec first")
    return value


def _not_bool(value: Any) -> Any:
    """YAML's ``true`` would otherwise pass as 1 (or 1.0): a boolean is never a number here."""
    if isinstance(value, bool):
        raise ValueError("expected a number, not a boolean")
    return value


NoBool = BeforeValidator(_not_bool)
Fraction = Annotated[float, NoBool, Field(ge=0.0, lt=1.0)]
PositiveFloat = Annotated[float, NoBool, Field(gt=0.0)]
NonNegInt = Annotated[int, NoBool, Field(ge=0)]
PositiveInt = Annotated[int, NoBool, Field(gt=0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OptimizerSpec(_Model):
    """Optimizer of a training phase."""

    name: Axis[Literal["sgd", "adam", "adamw"]] = "adam"
    lr: Axis[PositiveFloat] = 1.0e-3
    momentum: Annotated[float, NoBool, Field(ge=0.0, lt=1.0)] = 0.9
    weight_decay: Annotated[float, NoBool, Field(ge=0.0)] = 0.0


class TrainSpec(_Model):
    """One training phase: the dense baseline, or a recipe's fine-tuning."""

    epochs: Axis[NonNegInt] = 10
    batch_size: PositiveInt = 64
    optimizer: OptimizerSpec = OptimizerSpec()
    lr_schedule: Literal["constant", "cosine"] = "constant"


class PruneSpec(_Model):
    """What to prune and how to rank weights.

    granularity: ``unstructured`` zeroes single weights; ``channel`` physically removes
    filters/neurons and their dependents; ``nm`` keeps ``n`` of every ``m`` consecutive input
    weights. scope: rank weights per layer or across all layers (unstructured, channel).
    exclude: module names or glob patterns never pruned. The classifier's outputs are never
    removed whatever this says.
    """

    granularity: Axis[Literal["unstructured", "channel", "nm"]] = "unstructured"
    scope: Axis[Literal["layer", "global"]] = "layer"
    criterion: Axis[Literal["l1", "l2"]] = "l1"
    n: Axis[PositiveInt] = 2
    m: Axis[PositiveInt] = 4
    exclude: list[str] = Field(default_factory=list)


ScheduleKind = Literal["one_shot", "iterative", "agp", "polynomial", "constant"]


class ScheduleSpec(_Model):
    """How the sparsity target moves during training.

    Epoch fields are converted to optimizer steps by the runner; ``frequency`` is in optimizer
    steps. ``final_sparsity`` is the fraction of weights (unstructured) or of channels
    (channel) removed; ``nm`` sparsity is fixed by n and m.
    """

    kind: Axis[ScheduleKind] = "one_shot"
    final_sparsity: Axis[Fraction] | None = None
    initial_sparsity: Axis[Fraction] = 0.0
    start_epoch: Axis[NonNegInt] = 0
    end_epoch: Axis[NonNegInt] | None = None
    frequency: Axis[PositiveInt] = 10
    power: Axis[PositiveFloat] = 3.0
    steps: Axis[PositiveInt] = 4
    epochs_per_step: Axis[NonNegInt] = 2


class QuantizeSpec(_Model):
    """Quantization after pruning (prune, then quantize)."""

    mode: Axis[Literal["ptq_dynamic", "ptq_static", "qat"]] = "ptq_dynamic"
    # x86: 7-bit weights, safe on AVX2 without VNNI (u8 x s8 pairs can saturate 16-bit sums);
    # x86_vnni: full 8-bit weights for CPUs with VNNI.
    backend: Literal["x86", "x86_vnni"] = "x86"
    calibration_batches: Axis[PositiveInt] = 16


class DistillSpec(_Model):
    """Knowledge distillation from the dense baseline during fine-tuning.

    loss = alpha * T^2 * KL(student_T || teacher_T) + (1 - alpha) * CE.
    """

    temperature: Axis[PositiveFloat] = 4.0
    alpha: Axis[Annotated[float, NoBool, Field(ge=0.0, le=1.0)]] = 0.5


class SensitivitySpec(_Model):
    """Prune each prunable layer alone at each level, without fine-tuning."""

    levels: list[Fraction] = Field(default_factory=lambda: [0.25, 0.5, 0.75, 0.9, 0.95])
    granularity: Literal["unstructured", "channel"] = "unstructured"


class RecipeSpec(_Model):
    """One recipe: a named combination of prune / schedule / quantize / distill / finetune."""

    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][\w.\-]*$")]
    prune: PruneSpec | None = None
    schedule: ScheduleSpec | None = None
    quantize: QuantizeSpec | None = None
    distill: DistillSpec | None = None
    finetune: TrainSpec | None = None
    sensitivity: SensitivitySpec | None = None


Runtime = Literal["torch", "onnxruntime"]


class LatencySpec(_Model):
    """The latency harness: warmup and timed repeats per batch size, torch threads pinned."""

    batch_sizes: Annotated[list[PositiveInt], Field(min_length=1)] = Field(
        default_factory=lambda: [1, 64]
    )
    warmup: NonNegInt = 10
    repeats: Annotated[int, NoBool, Field(ge=3)] = 50
    threads: PositiveInt = 1
    runtimes: Annotated[list[Runtime], Field(min_length=1)] = Field(
        default_factory=lambda: list[Runtime](["torch", "onnxruntime"])
    )


class MeasureSpec(_Model):
    latency: LatencySpec = LatencySpec()


class GatesSpec(_Model):
    """Pass/fail rules evaluated when a sweep ends (CI)."""

    max_accuracy_drop: Annotated[float, NoBool, Field(ge=0.0, le=1.0)] | None = None
    min_speedup: PositiveFloat | None = None
    max_stored_size: PositiveInt | None = None
    apply_to: Literal["best", "each_recipe"] = "best"


class SweepSpec(_Model):
    """A sweep: one task, seeds, the dense baseline and the recipes to try."""

    name: Annotated[str, Field(min_length=1, max_length=128)]
    task: Annotated[str, Field(min_length=1, max_length=128)]
    device: Literal["cpu", "cuda"] = "cpu"
    seeds: Annotated[list[NonNegInt], Field(min_length=1, max_length=100)] = Field(
        default_factory=lambda: [0]
    )
    baseline: TrainSpec = TrainSpec(epochs=30)
    recipes: Annotated[list[RecipeSpec], Field(max_length=100)] = Field(default_factory=list)
    measure: MeasureSpec = MeasureSpec()
    gates: GatesSpec = GatesSpec()

    @model_validator(mode="after")
    def _check_semantics(self) -> Self:
        errors = list(_semantic_errors(self))
        if errors:
            raise _SemanticErrors(errors)
        return self

    @property
    def queue(self) -> str:
        """The worker queue this sweep's runs go to."""
        return "gpu" if self.device == "cuda" else "cpu"


class _SemanticErrors(ValueError):
    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.pointer}: {e.message}" for e in errors))


def _semantic_errors(spec: SweepSpec) -> Iterator[FieldError]:
    if len(set(spec.seeds)) != len(spec.seeds):
        yield FieldError("/seeds", "seeds must be distinct")
    seen: set[str] = set()
    for i, recipe in enumerate(spec.recipes):
        at = f"/recipes/{i}"
        if recipe.name in seen or recipe.name == "baseline":
            yield FieldError(f"{at}/name", f"recipe name {recipe.name!r} is used twice or reserved")
        seen.add(recipe.name)
        for variant in expand_recipe(recipe):
            yield from _recipe_errors(variant, at)


def _trains(recipe: RecipeSpec) -> bool:
    """Whether a resolved recipe runs any optimizer steps (fine-tuning or a training schedule)."""
    if recipe.finetune is not None and scalar(recipe.finetune.epochs) > 0:
        return True
    schedule = recipe.schedule
    if schedule is None:
        return False
    if schedule.kind in ("agp", "polynomial"):
        return bool(schedule.end_epoch)
    return schedule.kind == "iterative" and scalar(schedule.epochs_per_step) > 0


def _recipe_errors(recipe: RecipeSpec, at: str) -> Iterator[FieldError]:
    """Check one resolved (axis-free) recipe; pointers lead to the field in the submitted spec."""
    prune, schedule = recipe.prune, recipe.schedule
    if recipe.sensitivity is not None:
        others = [k for k in ("prune", "schedule", "quantize", "distill", "finetune")
                  if getattr(recipe, k) is not None]
        if others:
            yield FieldError(f"{at}/sensitivity", f"a sensitivity recipe takes no {others[0]!r}")
        return
    if prune is None and recipe.quantize is None and recipe.distill is None:
        yield FieldError(at, "a recipe needs at least one of prune, quantize, distill, sensitivity")
    if not _trains(recipe):
        if recipe.distill is not None:
            yield FieldError(f"{at}/finetune", "distill needs training: finetune with epochs > 0")
        if recipe.quantize is not None and recipe.quantize.mode == "qat":
            yield FieldError(f"{at}/finetune", "qat needs training: finetune with epochs > 0")
    if schedule is not None and prune is None:
        yield FieldError(f"{at}/schedule", "a schedule needs a prune block")
    if prune is None:
        return
    if prune.granularity == "nm":
        if scalar(prune.n) >= scalar(prune.m):
            yield FieldError(f"{at}/prune/n", f"N:M needs n < m, got {prune.n}:{prune.m}")
        if schedule is not None and schedule.final_sparsity is not None:
            yield FieldError(f"{at}/schedule/final_sparsity",
                             "N:M sparsity is fixed by n and m; leave final_sparsity out")
        if schedule is not None and schedule.kind not in ("one_shot", "constant"):
            yield FieldError(f"{at}/schedule/kind", "N:M takes a one_shot or constant schedule")
        return
    if schedule is None or schedule.final_sparsity is None:
        yield FieldError(f"{at}/schedule/final_sparsity", "pruning needs a final_sparsity")
        return
    if scalar(schedule.initial_sparsity) > scalar(schedule.final_sparsity):
        yield FieldError(f"{at}/schedule/initial_sparsity", "must not exceed final_sparsity")
    if schedule.kind in ("agp", "polynomial"):
        end = None if schedule.end_epoch is None else scalar(schedule.end_epoch)
        if end is None:
            yield FieldError(f"{at}/schedule/end_epoch", f"{schedule.kind} needs an end_epoch")
        elif end <= scalar(schedule.start_epoch):
            yield FieldError(f"{at}/schedule/end_epoch", "must be after start_epoch")
        elif recipe.finetune is not None and scalar(recipe.finetune.epochs) < end:
            yield FieldError(f"{at}/finetune/epochs",
                             f"fine-tuning must last at least until end_epoch ({end})")


def _is_axis(annotation: Any) -> bool:
    """True for a field annotated ``Axis[...]``: a union with a list member."""
    args = get_args(annotation)
    if get_origin(annotation) is not Union:
        return False
    return any(get_origin(a) is list or get_origin(get_args(a)[0] if get_args(a) else a) is list
               for a in args)


def _axes(model: BaseModel,
          prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], list[Any]]]:
    """Yield (path, values) for every grid axis in ``model``, in field declaration order."""
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            yield from _axes(value, (*prefix, name))
        elif isinstance(value, list) and _is_axis(info.annotation):
            yield (*prefix, name), value


def _with_value(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


def recipe_axes(recipe: RecipeSpec) -> list[tuple[str, list[Any]]]:
    """The grid axes of a recipe as (dotted path, values)."""
    return [(".".join(path), values) for path, values in _axes(recipe)]


def expand_recipe(recipe: RecipeSpec) -> Iterator[RecipeSpec]:
    """Every grid point of a recipe, as an axis-free recipe, in a deterministic order."""
    axes = list(_axes(recipe))
    if not axes:
        yield recipe
        return
    for point in itertools.product(*(values for _, values in axes)):
        data = recipe.model_dump()
        for (path, _), value in zip(axes, point, strict=True):
            _with_value(data, path, value)
        yield RecipeSpec.model_validate(data)


class RunConfig(_Model):
    """One resolved run: a grid point and a seed. This is what a worker executes."""

    name: str
    kind: Literal["baseline", "compress"]
    task: str
    seed: NonNegInt
    device: Literal["cpu", "cuda"]
    baseline: TrainSpec
    recipe: RecipeSpec | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    measure: MeasureSpec = MeasureSpec()

    @property
    def config_hash(self) -> str:
        """A stable hash of what determines the run's result (not its display name)."""
        return _stable_hash(self.model_dump(mode="json", exclude={"name", "params"}))

    @property
    def baseline_key(self) -> str:
        """Runs with the same key share one dense baseline: (task, seed, baseline config)."""
        return _stable_hash({"task": self.task, "seed": self.seed, "device": self.device,
                             "baseline": self.baseline.model_dump(mode="json")})

    @property
    def queue(self) -> str:
        return "gpu" if self.device == "cuda" else "cpu"


def _stable_hash(data: Mapping[str, Any]) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _format_value(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def expand(spec: SweepSpec) -> list[RunConfig]:
    """Resolve a sweep into runs: the baselines (one per seed), then each recipe's grid × seeds."""
    common = {"task": spec.task, "device": spec.device, "baseline": spec.baseline,
              "measure": spec.measure}
    runs = [RunConfig(name=f"baseline@seed{seed}", kind="baseline", seed=seed, **common)
            for seed in spec.seeds]
    for recipe in spec.recipes:
        axes = recipe_axes(recipe)
        for variant in expand_recipe(recipe):
            params = {path: _lookup(variant, path) for path, _ in axes}
            label = ",".join(f"{p.rsplit('.', 1)[-1]}={_format_value(v)}"
                             for p, v in params.items())
            base = f"{recipe.name}[{label}]" if label else recipe.name
            runs.extend(
                RunConfig(name=f"{base}@seed{seed}", kind="compress", seed=seed, recipe=variant,
                          params=params, **common)
                for seed in spec.seeds
            )
    return runs


def _lookup(model: BaseModel, dotted: str) -> Any:
    value: Any = model
    for key in dotted.split("."):
        value = getattr(value, key)
    return value


def _pointer(loc: tuple[int | str, ...]) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in loc]
    return "/" + "/".join(parts) if parts else ""


_UNION_TAGS = {"float", "int", "str", "bool", "list", "none", "literal"}


def _is_union_tag(part: int | str) -> bool:
    """Union members add their type ('list[constrained-float]') to an error's location."""
    return isinstance(part, str) and ("[" in part or "-" in part or part in _UNION_TAGS)


def _field_errors(exc: ValidationError) -> list[FieldError]:
    found: list[tuple[FieldError, bool]] = []
    for err in exc.errors():
        ctx_error = err.get("ctx", {}).get("error")
        if isinstance(ctx_error, _SemanticErrors):
            found.extend((e, False) for e in ctx_error.errors)
            continue
        loc = tuple(p for p in err["loc"] if not _is_union_tag(p))
        found.append((FieldError(_pointer(loc), err["msg"]), len(loc) != len(err["loc"])))
    # For an axis, the scalar branch's complaint about a list says less than the list
    # branch's complaint about one element: keep the deepest pointer.
    pointers = [e.pointer for e, _ in found]
    errors: list[FieldError] = []
    for e, from_union in found:
        deeper = any(p.startswith(e.pointer + "/") for p in pointers)
        # Each union branch complains about the same field: the first complaint is enough.
        said = any(e.pointer == kept.pointer for kept in errors)
        if (from_union and (deeper or said)) or e in errors:
            continue
        errors.append(e)
    return errors


def parse_spec(data: Mapping[str, Any]) -> SweepSpec:
    """Validate a decoded spec; raise ``InvalidSpecError`` with a JSON pointer per bad field."""
    try:
        return SweepSpec.model_validate(data)
    except ValidationError as exc:
        raise InvalidSpecError(_field_errors(exc)) from None


def load_spec_text(text: str) -> SweepSpec:
    """Parse a YAML or JSON spec (JSON is YAML)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidSpecError([FieldError("", f"not valid YAML or JSON: {exc}")]) from None
    if not isinstance(data, dict):
        raise InvalidSpecError([FieldError("", "the spec must be a mapping")])
    return parse_spec(data)
