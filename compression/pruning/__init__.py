"""Pruning: unstructured, N:M and channel pruning, sparsity schedules and layer sensitivity."""

from compression.pruning.channel import ChannelPruner
from compression.pruning.masks import MaskSet, clear_negative_zeros
from compression.pruning.nm import nm_masks
from compression.pruning.pruner import NMPruner, Pruner, UnstructuredPruner, build_pruner
from compression.pruning.sensitivity import SensitivityTable, sensitivity_table
from compression.pruning.targets import PRUNABLE_TYPES, prunable_layers
from compression.pruning.unstructured import magnitude_masks
from compression.schedules import SchedulePlan, build_schedule

__all__ = [
    "PRUNABLE_TYPES",
    "ChannelPruner",
    "MaskSet",
    "NMPruner",
    "Pruner",
    "SchedulePlan",
    "SensitivityTable",
    "UnstructuredPruner",
    "build_pruner",
    "build_schedule",
    "clear_negative_zeros",
    "magnitude_masks",
    "nm_masks",
    "prunable_layers",
    "sensitivity_table",
]
