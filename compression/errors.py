"""Typed, user-facing errors of the compression engine.

Every error a user can cause with a spec (or a task name, or an impossible target) is a
``CompressionError``: callers (the CLI, workers, the API) report its message as it is and do
not retry. Anything else is a bug or a transport problem.
"""

from __future__ import annotations

from dataclasses import dataclass


class CompressionError(Exception):
    """Base class of errors caused by the user's input; the message is meant for them."""


@dataclass(frozen=True)
class FieldError:
    """One bad field: a JSON pointer (RFC 6901) into the submitted spec and what is wrong."""

    pointer: str
    message: str


class InvalidSpecError(CompressionError):
    """The sweep spec does not validate; ``errors`` lists every bad field."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        lines = "; ".join(f"{e.pointer or '/'}: {e.message}" for e in errors)
        super().__init__(f"invalid sweep spec: {lines}")


class SweepTooLargeError(InvalidSpecError):
    """The sweep expands to more runs than allowed; ``errors`` names each recipe's axes and
    the product they make."""

    def __init__(self, run_count: int, limit: int, errors: list[FieldError]) -> None:
        self.run_count = run_count
        self.limit = limit
        super().__init__(errors)


class UnknownTaskError(CompressionError):
    """No task with this name is registered."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        super().__init__(f"unknown task {name!r}; registered tasks: {', '.join(sorted(known))}")


class ImpossibleTargetError(CompressionError):
    """The requested compression cannot be reached on this model."""


class UnsupportedRecipeError(CompressionError):
    """The recipe asks for something this engine version or this model cannot do."""


class ArtifactFormatError(CompressionError):
    """A saved model file is not in a format squeezelab can load safely."""


class TaskContractError(CompressionError):
    """A task's code does not keep the task contract (docs/tasks.md): its model, data, loss
    or metrics return something squeezelab cannot use."""


class InvalidResultError(CompressionError):
    """A run's results cannot be right (a metric that is not a finite number, a model that
    no longer runs): the run fails with the reason instead of reporting them."""


def task_code_error(what: str, exc: BaseException) -> TaskContractError:
    """A ``TaskContractError`` for an exception raised inside a task's own code (building its
    model, loading its data), naming where it was raised. Such an error is deterministic:
    another attempt would raise it again, so the run fails once with this message."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    where = f" ({frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno})" if frames else ""
    first = str(exc).strip().splitlines()
    return TaskContractError(f"{what} raised {type(exc).__name__}: "
                             f"{first[0] if first else ''}{where}")
