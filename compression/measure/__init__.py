"""Measurement: safe weight files, ONNX export, MACs, sparsity, measured latency, run summary."""

from compression.measure.hardware import engine_versions, hardware_fingerprint
from compression.measure.latency import LatencySubject, measure_latency, percentile
from compression.measure.macs import count_macs, weight_density
from compression.measure.onnx_export import export_onnx
from compression.measure.report import Measurement, measure_model
from compression.measure.stats import WeightStats, weight_stats
from compression.measure.storage import (
    dense_fp32_bytes,
    load_into,
    load_metadata,
    load_state,
    save_state,
)

__all__ = [
    "LatencySubject",
    "Measurement",
    "WeightStats",
    "count_macs",
    "dense_fp32_bytes",
    "engine_versions",
    "export_onnx",
    "hardware_fingerprint",
    "load_into",
    "load_metadata",
    "load_state",
    "measure_latency",
    "measure_model",
    "percentile",
    "save_state",
    "weight_density",
    "weight_stats",
]
