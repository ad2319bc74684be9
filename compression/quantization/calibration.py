"""Calibration of static int8: feeding real batches to ONNX Runtime, and how each activation's
range is chosen from them (minmax, percentile, entropy).

Entropy is run here rather than through ``quantize_static``: that function does not pass a
histogram size to the calibrator, whose default for entropy is 128 bins for 128 quantized
bins, so the only candidate range is the whole observed one and "entropy" returned exactly the
minmax scales (measured on ORT 1.32; onnxruntime PR #10261 discusses the same defaults). With
``ENTROPY_BINS`` bins the KL search has candidates to choose from; its ranges go to
``quantize_static`` through ORT's calibration cache file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod
from onnxruntime.quantization.calibrate import create_calibrator, save_tensors_data

from compression.batches import ModelInputs, onnx_feed

CalibrationName = Literal["minmax", "percentile", "entropy"]
CALIBRATION_METHODS = {"minmax": CalibrationMethod.MinMax,
                       "percentile": CalibrationMethod.Percentile,
                       "entropy": CalibrationMethod.Entropy}
# Histogram bins for entropy, and the quantized bins its KL divergence compares with: ORT's
# loop over candidate ranges is pure Python, so its time grows with the bins; 512 bins gave
# 192 candidates per tensor (benchmarks/quantization_safety.py measures the time).
ENTROPY_BINS = 512
ENTROPY_QUANTIZED_BINS = 128


@dataclass(frozen=True)
class Calibration:
    """How static int8 sets each activation's range from the calibration batches.

    method: ``minmax`` (observed min and max), ``percentile`` (ONNX Runtime clips at the
        ``percentile`` of |x|, then to the observed min and max), ``entropy`` (the range whose
        128-level histogram is closest in KL divergence to the observed one).
    percentile: for ``percentile``, the share of the values (%) the range holds.
    """

    method: CalibrationName = "minmax"
    percentile: float = 99.999

    def extra_options(self) -> dict[str, float]:
        """The calibration settings of ``quantize_static``'s ``extra_options``."""
        return {"CalibPercentile": self.percentile} if self.method == "percentile" else {}


def graph_inputs(model: onnx.ModelProto) -> set[str]:
    """The names of a graph's inputs."""
    return {i.name for i in model.graph.input}


def feed_for(inputs: ModelInputs, names: set[str]) -> dict[str, np.ndarray[Any, Any]]:
    """ONNX Runtime's feed for ``inputs``, leaving out inputs the graph does not take (an
    exporter drops inputs the model ignores)."""
    return {name: value for name, value in onnx_feed(inputs).items() if name in names}


class BatchReader(CalibrationDataReader):  # type: ignore[misc]  # untyped base class
    """Feeds calibration batches (model inputs of any structure: a tensor, or a dict of named
    inputs as a tokenizer gives them) to ONNX Runtime, once."""

    def __init__(self, names: set[str], batches: Iterable[ModelInputs]) -> None:
        self._feeds: Iterator[dict[str, np.ndarray[Any, Any]]] = (
            feed_for(b, names) for b in batches)

    def get_next(self) -> dict[str, np.ndarray[Any, Any]] | None:
        return next(self._feeds, None)


def entropy_ranges(model_path: Path, op_types: list[str], reader: BatchReader,
                   scratch: Path) -> Path:
    """Calibrate the inputs and outputs of ``op_types`` nodes by entropy; returns ORT's
    calibration cache file, for ``quantize_static(calibration_cache_path=...)``."""
    calibrator = create_calibrator(
        model_path, op_types, augmented_model_path=str(scratch / "augmented.onnx"),
        calibrate_method=CalibrationMethod.Entropy,
        extra_options={"num_bins": ENTROPY_BINS,
                       "num_quantized_bins": ENTROPY_QUANTIZED_BINS})
    calibrator.collect_data(reader)
    cache = scratch / "entropy-ranges.json"
    save_tensors_data(calibrator.compute_data(), cache)
    return cache
