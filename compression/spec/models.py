"""The sweep spec's models: recipes (prune, schedule, quantize, distill), measurement, gates."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self

from pydantic import (
    Discriminator,
    Field,
    StrictBool,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from compression.spec.checks import SemanticErrors, semantic_errors
from compression.spec.limits import DEFAULT_MAX_RUNS
from compression.spec.metrics import MetricSpec
from compression.spec.task import PYTHON_REF, TASK_NAME, LoaderSpec, TaskSpec
from compression.spec.types import (
    INT32_MAX,
    INT64_MAX,
    WORD,
    Axis,
    Fraction,
    NoBool,
    NonNegInt,
    PositiveFloat,
    PositiveInt,
    SpecModel,
)

# The spec format. 2: inline tasks, metric, loader, pretrained baseline weights, grad_accum,
# grad_clip and precision (1 is read as it is: every version-1 spec is a version-2 spec).
SPEC_VERSION = 2


class OptimizerSpec(SpecModel):
    """Optimizer of a training phase."""

    name: Axis[Literal["sgd", "adam", "adamw"]] = "adam"
    lr: Axis[PositiveFloat] = 1.0e-3
    momentum: Annotated[float, NoBool, Field(ge=0.0, lt=1.0)] = 0.9
    weight_decay: Annotated[float, NoBool, Field(ge=0.0)] = 0.0


Precision = Literal["fp32", "bf16", "fp16", "auto"]


class TrainSpec(SpecModel):
    """One training phase: the dense baseline, or a recipe's fine-tuning.

    batch_size: samples per forward pass. grad_accum: forward passes per optimizer step (the
    effective batch is their product; steps, schedules and curves count optimizer steps).
    grad_clip: clip the gradients' global L2 norm to this before each optimizer step.
    precision: autocast dtype of forward passes: ``bf16`` (CPU and recent GPUs), ``fp16``
    (CUDA only, with loss scaling), ``auto`` (the default: fp32 on CPUs; on CUDA, bf16 where
    the GPU supports it, else fp16 with loss scaling), ``fp32`` (no autocast).
    """

    epochs: Axis[NonNegInt] = 10
    batch_size: Annotated[PositiveInt, Field(le=65536)] = 64
    optimizer: OptimizerSpec = OptimizerSpec()
    lr_schedule: Literal["constant", "cosine"] = "constant"
    grad_accum: Annotated[PositiveInt, Field(le=1024)] = 1
    grad_clip: PositiveFloat | None = None
    precision: Precision = "auto"


# Pretrained weights: ``upload:<sha256>`` (a file uploaded to the API) or a path on the worker.
WEIGHTS_REF = r"^(upload:[0-9a-f]{64}|[^\x00]+)$"


class BaselineSpec(TrainSpec):
    """The dense baseline: trained from scratch, or pretrained weights evaluated as they are.

    weights: ``upload:<sha256>`` (``squeezelab upload``, or ``POST /api/v1/uploads``) or a
    path on the worker's disk; safetensors, or a PyTorch state dict (loaded with
    ``weights_only=True``). A pretrained baseline trains no epoch; recipes fine-tune from it.
    """

    weights: Annotated[str, Field(min_length=1, max_length=1024, pattern=WEIGHTS_REF)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _pretrained_trains_nothing(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("weights") is not None and "epochs" not in data:
            return {**data, "epochs": 0}
        return data

    @field_validator("weights")
    @classmethod
    def _upload_ref(cls, weights: str | None) -> str | None:
        if weights is not None and weights.startswith("upload:") and not re.fullmatch(
                r"upload:[0-9a-f]{64}", weights):
            raise ValueError("an uploaded file is named upload:<sha256>, 64 hex digits")
        return weights


class PruneSpec(SpecModel):
    """What to prune and how to rank weights.

    granularity: ``unstructured`` zeroes single weights; ``channel`` physically removes
    filters/neurons and their dependents; ``nm`` keeps ``n`` of every ``m`` consecutive input
    weights. scope: rank weights per layer or across all layers (unstructured, channel).
    exclude: module names or glob patterns never pruned. The classifier's outputs are never
    removed whatever this says.
    prune_classifier: whether unstructured pruning zeroes the classifier's weights. By default
    (unset) it does under ``layer`` scope, where it loses the same fraction as every layer,
    and not under ``global`` scope, where one ranking of all weights can empty a small-valued
    classifier (MobileNetV2's is initialised with std 0.01).
    max_layer_sparsity: under ``global`` scope, the most any one layer may lose; what a capped
    layer keeps is taken from the others.
    """

    granularity: Axis[Literal["unstructured", "channel", "nm"]] = "unstructured"
    scope: Axis[Literal["layer", "global"]] = "layer"
    criterion: Axis[Literal["l1", "l2"]] = "l1"
    n: Axis[PositiveInt] = 2
    m: Axis[PositiveInt] = 4
    exclude: Annotated[list[Annotated[str, Field(min_length=1, max_length=256)]],
                       Field(max_length=256)] = Field(default_factory=list)
    prune_classifier: StrictBool | None = None
    max_layer_sparsity: Fraction | None = None


ScheduleKind = Literal["one_shot", "iterative", "agp", "polynomial", "constant"]


class ScheduleSpec(SpecModel):
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


# The ONNX op types int8 may quantize (compression.quantization.graph.STATIC_OP_TYPES, which a
# test keeps equal to this list); a recipe may leave any of them in float.
QuantOpType = Literal["Conv", "MatMul", "Gemm", "Relu", "Clip", "MaxPool", "AveragePool",
                      "GlobalAveragePool", "Flatten"]
# An ONNX node name, or a glob over node names (fnmatch: ``*`` also matches ``/``).
NodeGlob = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f]+$")]


class QuantizeExclude(SpecModel):
    """Ops and nodes int8 leaves in float, besides those that always stay float (element-wise
    arithmetic such as attention masks, Softmax, normalisation, and attention's
    activation × activation MatMuls).

    op_types: ONNX op types never quantized. nodes: ONNX node names or globs, as a run
    summary lists them (``quantization.quantized_nodes``), e.g.
    ``/model/bert/encoder/layer.0/attention/*``; a failed int8 run names the node to exclude.
    """

    op_types: Annotated[list[QuantOpType], Field(max_length=9)] = Field(default_factory=list)
    nodes: Annotated[list[NodeGlob], Field(max_length=256)] = Field(default_factory=list)


class QuantizeSpec(SpecModel):
    """Quantization after pruning (prune, then quantize).

    calibration: how ptq_static and qat set each activation's int8 range from the calibration
    batches: ``minmax`` (the observed range), ``percentile`` (the range that holds
    ``percentile`` % of the values: outliers are clipped), ``entropy`` (the range whose int8
    histogram is closest in KL divergence; the slowest). ptq_dynamic ignores both.
    exclude: ops and nodes left in float.
    """

    mode: Axis[Literal["ptq_dynamic", "ptq_static", "qat"]] = "ptq_dynamic"
    # x86: 7-bit weights, safe on AVX2 without VNNI (u8 x s8 pairs can saturate 16-bit sums);
    # x86_vnni: full 8-bit weights for CPUs with VNNI.
    backend: Literal["x86", "x86_vnni"] = "x86"
    calibration_batches: Axis[Annotated[PositiveInt, Field(le=4096)]] = 16
    calibration: Axis[Literal["minmax", "percentile", "entropy"]] = "minmax"
    percentile: Axis[Annotated[float, NoBool, Field(ge=90.0, le=100.0)]] = 99.999
    exclude: QuantizeExclude = QuantizeExclude()


class DistillSpec(SpecModel):
    """Knowledge distillation from the dense baseline during fine-tuning.

    loss = alpha * T^2 * KL(student_T || teacher_T) + (1 - alpha) * CE.
    """

    temperature: Axis[PositiveFloat] = 4.0
    alpha: Axis[Annotated[float, NoBool, Field(ge=0.0, le=1.0)]] = 0.5


class SensitivitySpec(SpecModel):
    """Prune each prunable layer alone at each level, without fine-tuning."""

    levels: list[Fraction] = Field(default_factory=lambda: [0.25, 0.5, 0.75, 0.9, 0.95])
    granularity: Literal["unstructured", "channel"] = "unstructured"


class RecipeSpec(SpecModel):
    """One recipe: a named combination of prune / schedule / quantize / distill / finetune."""

    name: Annotated[str, Field(min_length=1, max_length=64, pattern=rf"^[A-Za-z0-9][{WORD}.\-]*$")]
    prune: PruneSpec | None = None
    schedule: ScheduleSpec | None = None
    quantize: QuantizeSpec | None = None
    distill: DistillSpec | None = None
    finetune: TrainSpec | None = None
    sensitivity: SensitivitySpec | None = None


Runtime = Literal["torch", "onnxruntime"]


class LatencySpec(SpecModel):
    """The latency harness: warmup and timed repeats per batch size, torch threads pinned."""

    batch_sizes: Annotated[list[PositiveInt], Field(min_length=1)] = Field(
        default_factory=lambda: [1, 64]
    )
    warmup: NonNegInt = 10
    repeats: Annotated[int, NoBool, Field(ge=3, le=INT32_MAX)] = 50
    threads: PositiveInt = 1
    runtimes: Annotated[list[Runtime], Field(min_length=1)] = Field(
        default_factory=lambda: list[Runtime](["torch", "onnxruntime"])
    )


class MeasureSpec(SpecModel):
    latency: LatencySpec = LatencySpec()


class GuardSpec(SpecModel):
    """When a compressed run cannot count as a result, whatever its speed.

    at_chance: fail a compress run whose primary metric is no better than an input-free
    predictor (the test split's class prior, or a random guess) by more than
    ``chance_margin`` of the baseline's own lead over it: such a model has lost what it
    learned. fail_if_drop: fail a compress run whose primary metric is worse than the
    baseline's by more than this, in the metric's units. A failed run keeps its summary, its
    curves and its files for inspection.
    """

    at_chance: StrictBool = True
    chance_margin: Annotated[float, NoBool, Field(ge=0.0, lt=1.0)] = 0.1
    fail_if_drop: Annotated[float, NoBool, Field(ge=0.0, le=1e9)] | None = None


class GatesSpec(SpecModel):
    """Pass/fail rules evaluated when a sweep ends (CI).

    max_metric_drop: the primary metric may get at most this much worse than the baseline,
    in its own units (0.01 = one point of accuracy, 0.5 of perplexity). max_accuracy_drop:
    the same for accuracy, as a fraction, whatever the primary metric is.
    """

    max_metric_drop: Annotated[float, NoBool, Field(ge=0.0)] | None = None
    max_accuracy_drop: Annotated[float, NoBool, Field(ge=0.0, le=1.0)] | None = None
    min_speedup: PositiveFloat | None = None
    # In bytes: a compressed large model can exceed a 32-bit count.
    max_stored_size: Annotated[int, NoBool, Field(gt=0, le=INT64_MAX)] | None = None
    apply_to: Literal["best", "each_recipe"] = "best"


# A registered task's name, a ``Task`` object in Python (``module:attr`` or ``file.py:attr``,
# as for inline sources), or an inline task (a mapping). The API stores the name or reference
# in a 128-character column (sweeps.task).
TaskRef = Annotated[
    Annotated[str, Field(min_length=1, max_length=128, pattern=f"{TASK_NAME}|{PYTHON_REF}"),
              Tag("task-name")]
    | Annotated[TaskSpec, Tag("task-spec")],
    Discriminator(lambda v: "task-spec" if isinstance(v, dict | TaskSpec) else "task-name")]


class SweepSpec(SpecModel):
    """A sweep: one task, seeds, the dense baseline and the recipes to try.

    version: the spec format (``SPEC_VERSION``); older versions are read as they are.
    task: a registered task's name, a ``Task`` in Python (``module:attr``, or
    ``path/file.py:attr`` on the workers), or an inline task (model, data, loss, metrics).
    metric: the primary metric and its direction; by default the task's own primary metric.
    """

    version: Annotated[int, NoBool, Field(ge=1, le=SPEC_VERSION)] = SPEC_VERSION
    # One line of text (pydantic's Rust engine: ``$`` is the very end, not before a "\n").
    name: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]
    task: TaskRef
    device: Literal["cpu", "cuda"] = "cpu"
    seeds: Annotated[list[NonNegInt], Field(min_length=1, max_length=100)] = Field(
        default_factory=lambda: [0]
    )
    metric: MetricSpec | None = None
    loader: LoaderSpec = LoaderSpec()
    baseline: BaselineSpec = BaselineSpec(epochs=30)
    recipes: Annotated[list[RecipeSpec], Field(max_length=100)] = Field(default_factory=list)
    measure: MeasureSpec = MeasureSpec()
    gates: GatesSpec = GatesSpec()
    guard: GuardSpec = GuardSpec()

    @property
    def task_name(self) -> str:
        """The registered task's name, or the inline task's."""
        return self.task if isinstance(self.task, str) else self.task.name

    @model_validator(mode="after")
    def _check_semantics(self, info: ValidationInfo) -> Self:
        # parse_spec passes the caller's run limit (the API's setting) in the context.
        context = info.context if isinstance(info.context, dict) else {}
        errors = list(semantic_errors(self, context.get("max_runs", DEFAULT_MAX_RUNS)))
        if errors:
            raise SemanticErrors(errors)
        return self

    @property
    def queue(self) -> str:
        """The worker queue this sweep's runs go to."""
        return "gpu" if self.device == "cuda" else "cpu"
