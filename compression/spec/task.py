"""Inline tasks: the model, data, loss and metrics of a sweep, named in the spec itself.

A spec's ``task`` is either the name of a registered task (``digits-mlp``, or one a plug-in
publishes through the ``squeezelab.tasks`` entry points) or one of these blocks. Code named
here runs on the workers, which must have it installed (as with Celery tasks); the API only
checks the shape of the references and never imports them.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import (
    ConfigDict,
    Discriminator,
    Field,
    JsonValue,
    Tag,
    field_validator,
    model_validator,
)

from compression.spec.metrics import BUILTIN_GOALS, METRIC_NAME, builtin_goal
from compression.spec.types import (
    SPACE,
    WORD,
    Fraction,
    NoBool,
    NonNegInt,
    PositiveInt,
    SpecModel,
)

# ``package.module:attribute`` or ``path/to/file.py:attribute`` (a file on the worker's disk,
# relative to the worker's working directory).
_DOTTED = rf"[A-Za-z_][{WORD}]*(?:\.[A-Za-z_][{WORD}]*)*"
PYTHON_REF = rf"^(?:{_DOTTED}|[^:\x00{SPACE}]+\.py):{_DOTTED}$"
PythonRef = Annotated[str, Field(max_length=512, pattern=PYTHON_REF,
                                 examples=["mypackage.models:build_model"])]
# A path on the worker's disk.
WorkerPath = Annotated[str, Field(min_length=1, max_length=1024, pattern=r"^[^\x00]+$")]
TASK_NAME = rf"^[A-Za-z0-9][{WORD}.\-]*$"
Kwargs = Annotated[dict[str, JsonValue], Field(max_length=100)]


class PythonModelSource(SpecModel):
    """A model factory in Python: ``python(**kwargs)`` returns a freshly initialised module."""

    python: PythonRef
    kwargs: Kwargs = Field(default_factory=dict)


class HFModelSource(SpecModel):
    """A Hugging Face ``transformers`` model (the ``hf`` extra must be installed on workers).

    hf: a class of ``transformers``, e.g. ``AutoModelForSequenceClassification`` or
    ``ViTForImageClassification``. config: built from a config (random initialisation;
    ``model_type`` is needed with an ``Auto`` class); pretrained: a local directory written
    by ``save_pretrained`` (nothing is downloaded). With both, ``config`` overrides the saved
    config's fields (e.g. ``num_labels``).
    """

    # The rule of _one_origin, for the JSON Schema (and so the API's document).
    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"required": ["config"], "properties": {"config": {"type": "object"}}},
        {"required": ["pretrained"], "properties": {"pretrained": {"type": "string"}}}]})

    hf: Annotated[str, Field(max_length=128, pattern=r"^[A-Z][A-Za-z0-9]*$",
                             examples=["AutoModelForSequenceClassification"])]
    config: Kwargs | None = None
    pretrained: WorkerPath | None = None

    @model_validator(mode="after")
    def _one_origin(self) -> Self:
        if self.config is None and self.pretrained is None:
            raise ValueError("give config (random initialisation) or pretrained (a directory)")
        return self


class PythonDataSource(SpecModel):
    """A data factory in Python: ``python(seed, **kwargs)`` returns the task's splits.

    It returns a ``compression.tasks.TaskData`` (datasets or loader factories for train,
    validation, test and calibration) or, as built-in tasks do, in-memory ``DataSplits``.
    """

    python: PythonRef
    kwargs: Kwargs = Field(default_factory=dict)


class ImageFolderSource(SpecModel):
    """Images on the worker's disk: ``<root>/{train,val,test}/<class>/<image>``.

    Classes are the sorted folder names under ``train``. Without a ``val`` folder,
    ``val_fraction`` of ``train`` (picked by the split seed) validates. size: ``[height,
    width]`` to resize to (without it, every image must have the same size); channels: 1
    (grey) or 3 (RGB); mean, std: per-channel normalisation of the [0, 1] pixels. Images are decoded
    one batch at a time by DataLoader workers, so memory does not grow with their number.
    """

    image_folder: WorkerPath
    size: Annotated[list[PositiveInt], Field(min_length=2, max_length=2)] | None = None
    channels: Literal[1, 3] = 3
    mean: Annotated[list[Annotated[float, NoBool]], Field(min_length=1, max_length=3)] | None = None
    std: Annotated[list[Annotated[float, NoBool, Field(gt=0)]],
                   Field(min_length=1, max_length=3)] | None = None
    val_fraction: Fraction = 0.1
    extensions: Annotated[list[Annotated[str, Field(pattern=r"^\.[A-Za-z0-9]{1,8}$")]],
                          Field(min_length=1, max_length=16)] = Field(
        default_factory=lambda: [".png", ".jpg", ".jpeg", ".bmp"])


def _by_key(key: str, present: str, absent: str) -> Discriminator:
    """Pick a union member by whether a mapping has ``key``, so that a validation error
    speaks of the member the user meant (tags contain '-': the parser drops them from the
    JSON pointer)."""
    def pick(value: object) -> str:
        has = key in value if isinstance(value, dict) else hasattr(value, key)
        return present if has and getattr(value, key, True) is not None else absent
    return Discriminator(pick)


ModelSource = Annotated[
    Annotated[HFModelSource, Tag("hf-model")] | Annotated[PythonModelSource, Tag("python-model")],
    _by_key("hf", "hf-model", "python-model")]
DataSource = Annotated[
    Annotated[ImageFolderSource, Tag("image-folder")]
    | Annotated[PythonDataSource, Tag("python-data")],
    _by_key("image_folder", "image-folder", "python-data")]


class TaskSpec(SpecModel):
    """A task defined in the spec: a model source, a data source, the loss and the metrics.

    metrics: built-in metric names (``accuracy``, ``top5_accuracy``, ``macro_f1``,
    ``perplexity``, ``loss``); the first is the primary metric unless the sweep's ``metric``
    picks another. classifier: module name of the output layer, whose outputs are never
    pruned; by default the last Linear/Conv layer a forward pass runs.
    """

    name: Annotated[str, Field(min_length=1, max_length=128, pattern=TASK_NAME)]
    description: Annotated[str, Field(max_length=500)] = ""
    model: ModelSource
    data: DataSource
    loss: Literal["cross_entropy"] | PythonRef = "cross_entropy"
    metrics: Annotated[list[METRIC_NAME], Field(min_length=1, max_length=16)] = Field(
        default_factory=lambda: ["accuracy"])
    classifier: Annotated[str, Field(max_length=256)] | None = None

    @field_validator("metrics")
    @classmethod
    def _builtin_metrics(cls, metrics: list[str]) -> list[str]:
        unknown = [m for m in metrics if builtin_goal(m) is None]
        if unknown:
            raise ValueError(f"unknown metric {unknown[0]!r}: an inline task computes built-in "
                             f"metrics only ({', '.join(BUILTIN_GOALS)}, topK_accuracy); "
                             "a plug-in task can compute others")
        if len(set(metrics)) != len(metrics):
            raise ValueError("metrics must be distinct")
        return metrics


class LoaderSpec(SpecModel):
    """How workers read the task's data.

    num_workers: DataLoader worker processes (0 reads in the training process).
    eval_batch_size: batch size of evaluation passes (validation, test, sensitivity).
    """

    num_workers: Annotated[NonNegInt, Field(le=64)] = 0
    eval_batch_size: Annotated[PositiveInt, Field(le=65536)] = 256
