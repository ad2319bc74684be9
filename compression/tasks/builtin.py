"""The built-in tasks; each is also published under the ``squeezelab.tasks`` entry points."""

from __future__ import annotations

from compression.tasks import datasets, models
from compression.tasks.contract import Task
from compression.tasks.registry import register_task

digits_mlp = register_task(Task(
    name="digits-mlp",
    description="LeNet-300-100 shaped MLP (64-300-100-10) on scikit-learn's 8x8 digits",
    build_model=models.DigitsMLP,
    load_data=lambda seed: datasets.digits(seed, image=False),
    input_shape=(64,),
    num_classes=10,
    classifier="classifier",
))

digits_cnn = register_task(Task(
    name="digits-cnn",
    description="LeNet-5 style CNN (conv-pool-conv-pool-fc-fc) on scikit-learn's 8x8 digits",
    build_model=models.DigitsCNN,
    load_data=lambda seed: datasets.digits(seed, image=True),
    input_shape=(1, 8, 8),
    num_classes=10,
    classifier="classifier",
))

mnist1d_cnn = register_task(Task(
    name="mnist1d-cnn",
    description="The MNIST-1D paper's 1D CNN on MNIST-1D, generated locally (no download)",
    build_model=models.MNIST1DCNN,
    load_data=datasets.mnist1d,
    input_shape=(1, 40),
    num_classes=10,
    classifier="classifier",
))
