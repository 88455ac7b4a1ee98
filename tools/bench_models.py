"""Benchmark every registered model: parameters, forward+backward time per batch, peak memory.

Each model runs at its default size on its own input kind, in a fresh subprocess (so the CPU peak-RSS
figure is that model's alone)::

    graph   a PyG batch of 64 frame graphs            x (64*V, 3)
    window  16 windows                                (16, 3, 32, V, 1)
    image   8 rendered skeletons                      (8, 3, 224, 224)

ST-GCN also runs as the dense einsum formulation of the original paper
(:mod:`graphemo.models.stgcn_reference`), and with the other way of applying its adjacency (graphemo picks
``aggregation`` sparse or dense by the layout; the variant forces the other one), with identical weights and
inputs; the table shows all three and the largest output difference. Usage::

    python tools/bench_models.py                        # CPU, body25, every model
    python tools/bench_models.py --layout wholebody --device cuda --models stgcn gcn
    python tools/bench_models.py --quick                # a fast check that it all runs

Time is the median of ``--repeats`` timed forward+backward passes after warm-up; on CPU also their median
process CPU time (``cpu ms``: with one thread it is what a free core would take, so it varies less than the
wall time on a machine shared with other jobs; with several threads it sums them). Peak memory: on CPU the
rise of the process's peak RSS (``resource.getrusage``) from just before the model and inputs are built
to the end; on CUDA ``torch.cuda.max_memory_allocated`` over the passes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

REFERENCE = "stgcn_reference"
OTHER = "stgcn_other_aggregation"
VARIANTS = {REFERENCE: "stgcn (dense einsum reference)", OTHER: "stgcn (other aggregation)"}
BATCH = {"graph": 64, "window": 16, "image": 8}


def _inputs(kind, layout, batch: int, frames: int, image_size: int, device: str) -> tuple:
    """A dense example input of the kind (windows of ``frames``, images of ``image_size``) and the skeleton."""
    import torch

    from graphemo.specs import spec_fields

    wanted = {"length": frames, "size": image_size}
    options = None
    if kind.options is not None:
        options = kind.options(**{k: v for k, v in wanted.items() if k in spec_fields(kind.options)})
    x = kind.example_input(batch, layout.num_joints, 3, options, torch.Generator().manual_seed(0))
    return x.to(device), layout.edge_index().to(device)


def _build(name: str, layout):
    import torch

    from graphemo.models import build_model
    from graphemo.models.stgcn_reference import ReferenceSTGCN

    torch.manual_seed(0)
    model = build_model("stgcn" if name in VARIANTS else name, layout=layout, in_channels=3, task="both")
    if name not in VARIANTS:
        return model, None
    if name == REFERENCE:
        variant = ReferenceSTGCN(layout, 3, "both")
    else:
        other = "dense" if model.blocks[0].gcn.sparse else "sparse"
        variant = build_model("stgcn", layout=layout, in_channels=3, task="both", aggregation=other)
    variant.load_state_dict(model.state_dict())
    return variant, model


def _label(model, name: str) -> str:
    if name == OTHER:
        return f"stgcn (aggregation: {'sparse' if model.blocks[0].gcn.sparse else 'dense'})"
    return VARIANTS.get(name, name)


def worker(args: argparse.Namespace) -> dict:
    """Measure one model in this process; returns the table row as a dict."""
    import torch

    from graphemo.models import model_input_kind
    from graphemo.skeleton import get_layout

    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device
    layout = get_layout(args.layout)
    kind = model_input_kind("stgcn" if args.worker in VARIANTS else args.worker)
    batch = max(1, BATCH[kind.name] // (2 if args.quick else 1))
    frames, image_size = (16, 112) if args.quick else (32, 224)
    cuda = device.startswith("cuda")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model, graphemo_model = _build(args.worker, layout)
    model.to(device).train()
    x, edge_index = _inputs(kind, layout, batch, frames, image_size, device)
    difference = None
    if graphemo_model is not None:
        graphemo_model.to(device).eval()
        model.eval()
        with torch.no_grad():
            a, b = kind.forward_dense(graphemo_model, x, edge_index), kind.forward_dense(model, x, edge_index)
        difference = max((a[k] - b[k]).abs().max().item() for k in a)
        model.train()
        del graphemo_model

    def step() -> tuple[float, float]:
        start, cpu_start = time.perf_counter(), time.process_time()
        out = kind.forward_dense(model, x, edge_index)
        (out["expr"].logsumexp(dim=1).sum() + out["va"].sum()).backward()
        if cuda:
            torch.cuda.synchronize()
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        model.zero_grad(set_to_none=True)
        return elapsed, cpu

    for _ in range(args.warmup):
        step()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times, cpu_times = zip(*(step() for _ in range(args.repeats)), strict=True)
    if cuda:
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:  # ru_maxrss is in KiB on Linux
        peak_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    return {
        "model": _label(model, args.worker),
        "input": kind.name,
        "batch": "x".join(map(str, x.shape)),
        "params": sum(p.numel() for p in model.parameters()),
        "ms": 1000 * statistics.median(times),
        "ms_min": 1000 * min(times),
        "cpu_ms": None if cuda else 1000 * statistics.median(cpu_times),
        "peak_mb": peak_mb,
        "max_diff": difference,
    }


def _run_worker(name: str, device: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, "-W", "ignore", __file__, "--worker", name, "--device", device, "--layout", args.layout,
           "--repeats", str(args.repeats), "--warmup", str(args.warmup), "--threads", str(args.threads)]  # fmt: skip
    if args.quick:
        cmd.append("--quick")
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark of {name} on {device} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def build_parser() -> argparse.ArgumentParser:
    """The command line of this benchmark (the README's commands are checked against it)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layout", default="body25", help="skeleton layout: body25, body25_face, wholebody, ...")
    parser.add_argument("--device", nargs="+", help="cpu and/or cuda (default: cpu, and cuda when available)")
    parser.add_argument("--models", nargs="+", help="models to run (default: all; stgcn adds its variants)")
    parser.add_argument("--repeats", type=int, help="timed passes per model (default 10; 3 with --quick)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed passes first (default 2)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--quick", action="store_true", help="half batches, T=16, 112 px images, 3 repeats")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.repeats = args.repeats or (3 if args.quick else 10)
    if args.worker:
        args.device = args.device[0] if isinstance(args.device, list) else args.device
        print(json.dumps(worker(args)))
        return 0

    import torch

    from graphemo.models import list_models
    from graphemo.skeleton import get_layout

    devices = args.device or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    names = args.models or list_models()
    unknown = sorted(set(names) - set(list_models()) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown model(s) {unknown}; registered: {', '.join(list_models())}")
    if "stgcn" in names and not set(VARIANTS) & set(names):
        names = [*names[: names.index("stgcn") + 1], *VARIANTS, *names[names.index("stgcn") + 1 :]]
    layout = get_layout(args.layout)
    cpu = f"{os.cpu_count()} CPU cores, {args.threads or torch.get_num_threads()} torch threads"
    quick = " (quick)" if args.quick else ""
    print(f"torch {torch.__version__}; {cpu}; layout {layout.name} (V={layout.num_joints}); "
          f"median of {args.repeats} forward+backward passes after {args.warmup} warm-up{quick}")  # fmt: skip
    for device in devices:
        if device.startswith("cuda"):
            print(f"GPU: {torch.cuda.get_device_name(0)}")
        header = (
            f"{'model':<32} {'input':<7} {'batch':<20} {'params':>11} {'fwd+bwd ms':>11} {'cpu ms':>8} {'peak MB':>9}"
        )
        print(f"\n[{device}]\n{header}\n{'-' * len(header)}")
        rows = {}
        for name in names:
            row = rows[name] = _run_worker(name, device, args)
            note = f"  max |diff| vs stgcn {row['max_diff']:.1e}" if row["max_diff"] is not None else ""
            cpu_ms = "-" if row["cpu_ms"] is None else f"{row['cpu_ms']:.1f}"
            print(f"{row['model']:<32} {row['input']:<7} {row['batch']:<20} {row['params']:>11,} "
                  f"{row['ms']:>11.1f} {cpu_ms:>8} {row['peak_mb']:>9.1f}{note}", flush=True)  # fmt: skip
        for variant in VARIANTS:
            if "stgcn" in rows and variant in rows:
                ratio = rows[variant]["ms"] / rows["stgcn"]["ms"]
                verdict = "graphemo is faster" if ratio >= 1 else "graphemo is SLOWER"
                cpu = rows["stgcn"]["cpu_ms"] and f", CPU time {rows[variant]['cpu_ms'] / rows['stgcn']['cpu_ms']:.2f}"
                label = rows[variant]["model"]
                print(f"ST-GCN on {device}: {label} / graphemo time = {ratio:.2f}{cpu or ''} ({verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
