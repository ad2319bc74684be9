"""Int8 vs fp32 latency per runtime, and the accuracy of the int8 recipes over 3 seeds.

Latency (default): p50 ms of fp32 and int8 for digits-mlp, digits-cnn and a
1024-4096-4096-1000 MLP on every candidate implementation, all timed interleaved in this
process (so the ratios are meaningful on a noisy machine):

- torch eager fp32; torch.ao eager dynamic int8 (Linear) and static int8 (fused, x86);
- ONNX Runtime fp32; ONNX Runtime dynamic int8 (MatMulInteger) and static QDQ int8 — the
  squeezelab implementation (compression.quantization), same settings;
- torchao PT2E (X86InductorQuantizer) under torch.compile, with ``--pt2e`` (needs torchao and
  a C++ compiler; compiling takes minutes).

Accuracy (``--accuracy``): runs examples/digits-quant.yaml over seeds 0-2 on digits-mlp and on
digits-cnn (with the digits-cnn-channels baseline) and prints mean accuracy, drop, sparsity
and stored size per recipe.

    .venv/bin/python benchmarks/quantization.py [--threads 1] [--repeats 200] [--pt2e]
    .venv/bin/python benchmarks/quantization.py --accuracy
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import yaml
from rich.console import Console
from rich.table import Table
from torch import nn

from compression.local import run_local_sweep
from compression.measure import export_onnx, hardware_fingerprint, percentile
from compression.measure.latency import _ort_call, _ort_session, time_interleaved
from compression.quantization import calibration_batches
from compression.quantization.onnx_int8 import (
    Int8Settings,
    quantize_onnx_dynamic,
    quantize_onnx_static,
)
from compression.spec import parse_spec
from compression.tasks import get_task

ROOT = Path(__file__).resolve().parent.parent
warnings.filterwarnings("ignore")


def big_mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(1024, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(),
                         nn.Linear(4096, 1000))


def models() -> dict[str, tuple[nn.Module, tuple[int, ...], torch.Tensor]]:
    """name -> (fp32 model, input shape, calibration inputs)."""
    found = {}
    for name in ("digits-mlp", "digits-cnn"):
        task = get_task(name)
        torch.manual_seed(0)
        found[name] = (task.build_model().eval(), task.input_shape, task.load_data(0).x_train)
    torch.manual_seed(0)
    found["mlp-1024-4096-4096-1000"] = (big_mlp().eval(), (1024,), torch.randn(1024, 1024))
    return found


def torchao_eager_static(model: nn.Module, calibration: list[torch.Tensor]) -> nn.Module:
    """torch.ao eager static int8: Conv-BN-ReLU / Linear-ReLU fused, x86 backend."""
    import torch.ao.quantization as tq

    float_model = copy.deepcopy(model).eval()
    children = list(float_model.named_children())
    groups, i = [], 0
    while i < len(children):
        kinds = [type(m) for _, m in children[i:i + 3]]
        if kinds in ([nn.Conv2d, nn.BatchNorm2d, nn.ReLU], [nn.Conv1d, nn.BatchNorm1d, nn.ReLU]):
            groups.append([n for n, _ in children[i:i + 3]])
            i += 3
        elif kinds[:2] in ([nn.Linear, nn.ReLU], [nn.Conv2d, nn.ReLU]):
            groups.append([n for n, _ in children[i:i + 2]])
            i += 2
        else:
            i += 1
    if groups:
        float_model = tq.fuse_modules(float_model, groups)
    wrapped = nn.Sequential(tq.QuantStub(), float_model, tq.DeQuantStub()).eval()
    wrapped.qconfig = tq.get_default_qconfig("x86")
    prepared = tq.prepare(wrapped)
    with torch.inference_mode():
        for batch in calibration:
            prepared(batch)
    return tq.convert(prepared)


def pt2e_compiled(model: nn.Module, example: torch.Tensor,
                  calibration: list[torch.Tensor]) -> Callable[[torch.Tensor], Any]:
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    from torchao.quantization.pt2e.quantizer.x86_inductor_quantizer import (
        X86InductorQuantizer,
        get_default_x86_inductor_quantization_config,
    )

    exported = torch.export.export(copy.deepcopy(model).eval(), (example,)).module()
    quantizer = X86InductorQuantizer()
    quantizer.set_global(get_default_x86_inductor_quantization_config())
    prepared = prepare_pt2e(exported, quantizer)  # type: ignore[arg-type]
    for batch in calibration:
        prepared(batch[: example.shape[0]])
    converted = convert_pt2e(prepared)
    compiled = torch.compile(converted)
    with torch.inference_mode():  # the mode of the timed loop, or dynamo recompiles there
        compiled(example)  # compile now, not in the timed loop
    return compiled  # type: ignore[no-any-return]


def latency_table(threads: int, repeats: int, batch_sizes: list[int], pt2e: bool) -> None:
    torch.set_num_threads(threads)
    console = Console(width=200)
    table = Table(title=f"p50 latency (ms), {threads} thread(s); x = fp32 / int8 of the runtime")
    for col in ("model", "batch", "torch fp32", "torch.ao dyn", "torch.ao static", "ORT fp32",
                "ORT dyn int8", "ORT static int8", *(["PT2E fp32", "PT2E int8"] if pt2e else [])):
        table.add_column(col, justify="right")
    settings = Int8Settings()
    with tempfile.TemporaryDirectory() as scratch:
        for name, (model, shape, x_calib) in models().items():
            calib = calibration_batches(x_calib, count=16, batch_size=64, seed=0)
            fp32 = export_onnx(model, torch.zeros(2, *shape), Path(scratch) / f"{name}.onnx")
            paths = {
                "ORT fp32": fp32,
                "ORT dyn int8": quantize_onnx_dynamic(fp32, Path(scratch) / f"{name}-d.onnx",
                                                      settings).path,
                "ORT static int8": quantize_onnx_static(fp32, Path(scratch) / f"{name}-s.onnx",
                                                        settings, calib).path,
            }
            dyn = torch.ao.quantization.quantize_dynamic(copy.deepcopy(model), {nn.Linear},
                                                         dtype=torch.qint8)
            static = torchao_eager_static(model, calib)
            for batch_size in batch_sizes:
                x = torch.randn(batch_size, *shape)
                calls: dict[str, Callable[[], object]] = {
                    "torch fp32": lambda m=model, x=x: m(x),
                    "torch.ao dyn": lambda m=dyn, x=x: m(x),
                    "torch.ao static": lambda m=static, x=x: m(x),
                }
                calls.update({k: _ort_call(_ort_session(p, threads), x) for k, p in paths.items()})
                if pt2e:
                    try:
                        exported_fp32 = torch.compile(copy.deepcopy(model))
                        with torch.inference_mode():
                            exported_fp32(x)
                        calls["PT2E fp32"] = lambda m=exported_fp32, x=x: m(x)
                        int8_compiled = pt2e_compiled(model, x, calib)
                        calls["PT2E int8"] = lambda m=int8_compiled, x=x: m(x)
                    except Exception as exc:  # a missing compiler, an unsupported model
                        console.print(f"PT2E {name}: {type(exc).__name__}: {exc}"[:200])
                with torch.inference_mode():
                    samples = time_interleaved(calls, warmup=20, repeats=repeats)
                p50 = {k: percentile(v, 50) for k, v in samples.items()}

                def cell(key: str, ref: str, p50: dict[str, float] = p50) -> str:
                    if key not in p50:
                        return "n/a"
                    text = f"{p50[key]:.3f}"
                    return text if key == ref else f"{text} ({p50[ref] / p50[key]:.2f}x)"

                table.add_row(name, str(batch_size), cell("torch fp32", "torch fp32"),
                              cell("torch.ao dyn", "torch fp32"),
                              cell("torch.ao static", "torch fp32"),
                              cell("ORT fp32", "ORT fp32"), cell("ORT dyn int8", "ORT fp32"),
                              cell("ORT static int8", "ORT fp32"),
                              *([cell("PT2E fp32", "PT2E fp32"), cell("PT2E int8", "PT2E fp32")]
                                if pt2e else []))
    console.print(table)
    console.print(hardware_fingerprint(threads))


def accuracy_table(seeds: list[int]) -> None:
    spec = yaml.safe_load((ROOT / "examples/digits-quant.yaml").read_text())
    cnn_base = yaml.safe_load((ROOT / "examples/digits-cnn-channels.yaml").read_text())["baseline"]
    table = Table(title=f"examples/digits-quant.yaml, mean over seeds {seeds}")
    for col in ("task", "recipe", "accuracy", "drop (pt)", "drop per seed (pt)",
                "fp32 before int8", "sparsity", "stored / dense fp32",
                "int8 speedup b1 / b64 (ORT)"):
        table.add_column(col, justify="right")
    for task, baseline in (("digits-mlp", spec["baseline"]), ("digits-cnn", cnn_base)):
        sweep = parse_spec({**spec, "task": task, "seeds": seeds, "baseline": baseline})
        with tempfile.TemporaryDirectory() as workdir:
            result = run_local_sweep(sweep, workdir=Path(workdir))
        by_recipe: dict[str, list[dict[str, Any]]] = {}
        for run in result["runs"]:
            if run["status"] != "succeeded":
                Console().print(f"{run['name']}: {run['status']} {run['error']}")
                continue
            by_recipe.setdefault(run["name"].split("@")[0], []).append(run["summary"])
        for recipe, summaries in by_recipe.items():
            mean = lambda key, s=summaries: statistics.mean(x[key] for x in s)  # noqa: E731
            stored = statistics.mean(x["size_bytes"]["stored"] / x["size_bytes"]["dense_fp32"]
                                     for x in summaries)
            speed = source = "-"
            if "quantization" in summaries[0]:
                before = statistics.mean(x["quantization"]["fp32_accuracy"] for x in summaries)
                source = f"{100 * before:.2f}%"
                ratios = [x["speedup"]["onnxruntime"] for x in summaries]
                speed = " / ".join(f"{statistics.mean(r[b] for r in ratios):.2f}x"
                                   for b in ratios[0])
            drops = ", ".join(f"{100 * x['accuracy_drop']:.2f}" for x in summaries)
            table.add_row(task, recipe, f"{100 * mean('accuracy'):.2f}%",
                          f"{100 * mean('accuracy_drop'):.2f}", drops, source,
                          f"{100 * mean('sparsity'):.1f}%", f"{100 * stored:.1f}%", speed)
    Console(width=200).print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--pt2e", action="store_true", help="also time torchao PT2E (slow)")
    parser.add_argument("--accuracy", action="store_true", help="run the 3-seed accuracy sweep")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    if args.accuracy:
        accuracy_table(args.seeds)
    else:
        latency_table(args.threads, args.repeats, args.batch_sizes, args.pt2e)


if __name__ == "__main__":
    main()
