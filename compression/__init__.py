"""squeezelab's compression engine: spec, tasks, pruning, measurement and the runner."""
