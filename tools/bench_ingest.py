"""Benchmark ``graphemo prepare`` against the naive loop of the original report, on generated OpenPose files.

Usage::

    python tools/bench_ingest.py                       # >= 20,000 frame files in a temporary folder
    python tools/bench_ingest.py --data /tmp/ingest    # generate there once, reuse on later runs
    python tools/bench_ingest.py --frames 3000         # quick check
    python tools/bench_ingest.py --cores 2             # the parallel run with 2 workers (default: all cores)

Methods, each in a fresh Python process (so that peak RSS is per method), after one untimed read of every
file (warm page cache, as in any second run):

* ``naive``: the original report's loop: ``json.load`` per file, the first person's
  ``pose + face + hand_left + hand_right`` lists appended to a per-video Python list, all videos kept.
* ``prepare``: :func:`graphemo.store.prepare_dataset` (read, check, track, write the memory-mappable
  store, with the ABAW EXPR and VA labels), with 1 worker and with every core.
* floors, for scale: reading the bytes of every file, and reading and ``orjson.loads`` of every file, in one
  process, read as ``prepare`` reads them. Nothing that parses every file can go below the second.

``cpu s`` is user + system time of the process and its workers (``cpu us/f`` the same per frame): it moves
less than wall time when the machine is shared. Imports (numpy, orjson, graphemo, tqdm, and scipy.optimize,
which the person tracking imports on first use) happen before the clock starts: any run pays them once.
Peak RSS is the largest resident set of the main process (``VmHWM``) and of any one worker
(``getrusage(RUSAGE_CHILDREN)``; a forked worker counts the pages it shares with the main one). The last
lines run ``prepare`` (all cores) on a quarter of the videos and on all of them: the peaks should be alike
(memory flat in the number of frames).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FRAMES_PER_VIDEO = (200, 400)


# --- the methods (run in a child process) ------------------------------------------------------------


def naive(root: Path, workers: int) -> int:
    """The original report's loop; returns the number of files read."""
    videos: dict[str, list[list[float]]] = {}
    files = 0
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        frames = []
        for path in sorted(folder.glob("*.json")):
            with open(path) as f:
                doc = json.load(f)
            people = doc["people"]
            if people:
                p = people[0]
                frames.append(
                    p["pose_keypoints_2d"]
                    + p["face_keypoints_2d"]
                    + p["hand_left_keypoints_2d"]
                    + p["hand_right_keypoints_2d"]
                )
            else:
                frames.append([])
            files += 1
        videos[folder.name] = frames
    return files


def prepare(root: Path, workers: int) -> int:
    from graphemo.labels import LabelSpec
    from graphemo.store import prepare_dataset

    labels_root = root.parent / "labels"
    labels = LabelSpec(abaw_expr=str(labels_root / "EXPR"), abaw_va=str(labels_root / "VA"))
    if not labels_root.exists():  # a subset folder made by this script: no labels
        labels = LabelSpec()
    with tempfile.TemporaryDirectory(dir=root.parent) as tmp:
        store = prepare_dataset(root, Path(tmp) / "store", labels=labels, workers=workers, progress=False, force=True)
        return store.num_frames


def read_bytes(path: str) -> bytes:
    """A small file's bytes as ``prepare`` reads them (``os.open`` / ``os.read``: 3 µs less than ``open``)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 1 << 16)
    finally:
        os.close(fd)


def read_only(root: Path, workers: int) -> int:
    files = 0
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for entry in os.scandir(folder):
            read_bytes(entry.path)
            files += 1
    return files


def orjson_only(root: Path, workers: int) -> int:
    import orjson

    files = 0
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for entry in os.scandir(folder):
            orjson.loads(read_bytes(entry.path))
            files += 1
    return files


METHODS = {"naive": naive, "prepare": prepare, "read": read_only, "orjson": orjson_only}


# Imports a method needs, done before its clock starts.
SETUP = {"prepare": ("graphemo.store", "tqdm", "scipy.optimize"), "orjson": ("orjson",)}


def child(method: str, root: Path, workers: int) -> None:
    """Run one method and print its figures as JSON (the parent collects them)."""
    import importlib

    for module in SETUP.get(method, ()):
        importlib.import_module(module)
    start, cpu0 = time.perf_counter(), os.times()
    count = METHODS[method](root, workers)
    seconds = time.perf_counter() - start
    cpu1 = os.times()
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    cpu += (cpu1.children_user - cpu0.children_user) + (cpu1.children_system - cpu0.children_system)
    own = peak_rss_mb()
    workers_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"count": count, "seconds": seconds, "cpu": cpu, "rss": own, "rss_workers": workers_peak}))


def peak_rss_mb() -> float:
    """Peak resident set of this process in MB.

    Linux's ``getrusage(RUSAGE_SELF).ru_maxrss`` keeps the high-water mark of the process image before ``exec``
    (here: the parent, which has generated the data), so ``VmHWM`` is read where it exists.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(method: str, root: Path, workers: int = 1) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", method, "--root", str(root), "--workers", str(workers)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- data ---------------------------------------------------------------------------------------


def ensure_data(folder: Path, frames: int, seed: int) -> tuple[Path, int, int]:
    """A generated dataset in ``folder`` with at least ``frames`` frames (reused when it has them)."""
    from graphemo.sources.synth import generate_dataset

    manifest = folder / "synth.json"
    if manifest.exists():
        meta = json.loads(manifest.read_text())
        if meta["num_frames"] >= frames:
            return folder / "keypoints", meta["num_frames"], meta["num_videos"]
    videos = math.ceil(frames / (sum(FRAMES_PER_VIDEO) / 2))
    while True:
        summary = generate_dataset(folder, videos, seed, frames=FRAMES_PER_VIDEO, overwrite=True, progress=False)
        if summary.num_frames >= frames:
            return folder / "keypoints", summary.num_frames, videos
        videos += math.ceil((frames - summary.num_frames) / FRAMES_PER_VIDEO[0])


def subset(root: Path, fraction: float, dest: Path) -> Path:
    """A keypoints root with the first ``fraction`` of the videos (symbolic links to their files)."""
    shutil.rmtree(dest, ignore_errors=True)
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    for folder in folders[: max(1, round(fraction * len(folders)))]:
        (dest / folder.name).mkdir(parents=True)
        for entry in os.scandir(folder):
            os.symlink(entry.path, dest / folder.name / entry.name)
    return dest


def warm(root: Path) -> None:
    for folder in root.iterdir():
        for entry in os.scandir(folder):
            with open(entry.path, "rb") as f:
                f.read()


def build_parser() -> argparse.ArgumentParser:
    """The command line of this benchmark (the README's commands are checked against it)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=20_000, help="at least this many frame files (default 20000)")
    parser.add_argument("--data", help="dataset folder to generate into and reuse (default: a temporary folder)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1, help="workers of the parallel run")
    parser.add_argument("--child", choices=sorted(METHODS), help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, Path(args.root), args.workers)
        return 0

    cores = args.cores
    folder = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="bench_ingest_"))
    try:
        t0 = time.perf_counter()
        root, frames, videos = ensure_data(folder, args.frames, args.seed)
        print(f"data: {frames} frame files in {videos} videos under {root} ({time.perf_counter() - t0:.0f} s)")
        print(f"machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        warm(root)
        rows = [("naive (json.load loop)", "naive", 1)]
        rows += [("prepare", "prepare", 1), ("prepare", "prepare", cores)] if cores > 1 else [("prepare", "prepare", 1)]
        rows += [("floor: read bytes", "read", 1), ("floor: orjson.loads", "orjson", 1)]
        results = [(label, workers, measure(method, root, workers)) for label, method, workers in rows]
        base = results[0][2]["seconds"]
        header = f"{'method':<24} {'workers':>7} {'files':>7} {'seconds':>8} {'frames/s':>9} {'speed-up':>8} "
        header += f"{'cpu s':>6} {'cpu us/f':>8} {'peak RSS MB (main / worker)':>28}"
        print(header)
        print("-" * len(header))
        for label, workers, r in results:
            rss = f"{r['rss']:.0f} / {r['rss_workers']:.0f}" if r["rss_workers"] else f"{r['rss']:.0f}"
            print(f"{label:<24} {workers:>7} {frames:>7} {r['seconds']:>8.2f} {frames / r['seconds']:>9,.0f} "
                  f"{base / r['seconds']:>7.1f}x {r['cpu']:>6.2f} {r['cpu'] / frames * 1e6:>8.1f} "
                  f"{rss:>28}")  # fmt: skip

        small = subset(root, 0.25, folder / "subset_keypoints")
        print(f"\nmemory flat in the number of frames (prepare, {cores} workers):")
        for name, path in (("quarter", small), ("all", root)):
            r = measure("prepare", path, cores)
            rss = f"peak RSS main {r['rss']:.0f} MB, worker {r['rss_workers']:.0f} MB"
            print(f"  {name:<8} {r['count']:>7} frames  {rss}")
        shutil.rmtree(small, ignore_errors=True)
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        if not args.data:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
