"""Spec version 2: inline tasks, the primary metric, pretrained weights, training options;
stored configs of older versions are migrated, newer or broken ones refused clearly."""

from __future__ import annotations

from typing import Any

import pytest

from compression.errors import InvalidSpecError
from compression.spec import (
    SPEC_VERSION,
    StoredConfigError,
    TaskSpec,
    expand,
    load_run_config,
    parse_spec,
)

pytestmark = pytest.mark.unit
SHA = "ab" * 32
INLINE = {"name": "bert", "model": {"hf": "AutoModelForSequenceClassification",
                                    "config": {"model_type": "bert"}},
          "data": {"python": "mypkg.data:splits", "kwargs": {"n": 10}},
          "metrics": ["macro_f1", "accuracy"]}


def pointers(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidSpecError) as info:
        parse_spec(data)
    return {e.pointer: e.message for e in info.value.errors}


def test_an_inline_task_and_its_name() -> None:
    spec = parse_spec({"name": "s", "task": INLINE, "metric": {"name": "macro_f1"}})
    assert isinstance(spec.task, TaskSpec) and spec.task_name == "bert"
    assert spec.version == SPEC_VERSION and spec.metric is not None
    assert spec.metric.resolved_goal == "max"
    runs = expand(spec)
    assert runs[0].task_name == "bert" and runs[0].metric == spec.metric
    assert parse_spec({"name": "s", "task": "pkg.tasks:mine"}).task_name == "pkg.tasks:mine"


@pytest.mark.parametrize(("patch", "pointer"), [
    ({"task": {**INLINE, "metrics": ["bleu"]}}, "/task/metrics"),
    ({"task": {**INLINE, "model": {"python": "not a ref"}}}, "/task/model/python"),
    ({"task": {**INLINE, "model": {"hf": "Bert", "config": None}}}, "/task/model"),
    ({"task": {**INLINE, "data": {"image_folder": "/x", "channels": 2}}},
     "/task/data/channels"),
    ({"task": "bad name!"}, "/task"),
    ({"metric": {"name": "f1_custom"}}, "/metric"),
    ({"baseline": {"weights": "upload:1234"}}, "/baseline/weights"),
    ({"baseline": {"weights": "/w.safetensors", "epochs": 3}}, "/baseline/epochs"),
    ({"baseline": {"grad_accum": 0}}, "/baseline/grad_accum"),
    ({"baseline": {"precision": "int4"}}, "/baseline/precision"),
    ({"loader": {"num_workers": 100}}, "/loader/num_workers"),
    ({"version": 3}, "/version"),
])
def test_bad_fields_point_at_themselves(patch: dict[str, Any], pointer: str) -> None:
    found = pointers({"name": "s", "task": "digits-mlp", **patch})
    assert pointer in found, found


def test_pretrained_weights_train_no_epoch() -> None:
    spec = parse_spec({"name": "s", "task": "digits-mlp",
                       "baseline": {"weights": f"upload:{SHA}"}})
    assert spec.baseline.epochs == 0 and spec.baseline.weights == f"upload:{SHA}"
    assert parse_spec({"name": "s", "task": "digits-mlp",
                       "baseline": {"weights": "/models/m.pt", "epochs": 0}}).baseline.epochs == 0


def test_hashes_do_not_move_when_a_default_field_is_added() -> None:
    plain = expand(parse_spec({"name": "s", "task": "digits-mlp"}))[0]
    explicit = expand(parse_spec({"name": "s", "task": "digits-mlp",
                                  "loader": {"num_workers": 0}, "version": 2}))[0]
    assert plain.config_hash == explicit.config_hash
    other = expand(parse_spec({"name": "s", "task": "digits-mlp",
                               "baseline": {"epochs": 30, "grad_accum": 2}}))[0]
    assert other.config_hash != plain.config_hash and other.baseline_key != plain.baseline_key


def _stored(**changes: Any) -> dict[str, Any]:
    config = expand(parse_spec({"name": "s", "task": "digits-mlp"}))[0].model_dump(mode="json")
    config.update(changes)
    return config


def test_a_version_1_config_is_migrated() -> None:
    old = _stored()
    del old["version"], old["metric"], old["loader"]
    for key in ("grad_accum", "grad_clip", "precision", "weights"):
        del old["baseline"][key]
    config = load_run_config(old)
    assert config.version == SPEC_VERSION and config.loader.num_workers == 0


@pytest.mark.parametrize(("data", "message"), [
    (_stored(version=SPEC_VERSION + 1), "upgrade squeezelab on the workers"),
    (_stored(version="2"), "invalid version"),
    (_stored(kind="distill"), "/kind"),
    ([1, 2], "JSON object"),
])
def test_unreadable_configs_are_refused_with_the_reason(data: Any, message: str) -> None:
    with pytest.raises(StoredConfigError, match=message):
        load_run_config(data)
