"""squeezelab's compression engine: a pure PyTorch library (spec, tasks, pruning, measurement, runner)."""
