"""Seconds per clip to decode evenly spaced frames, for each decoding backend.

Usage::

    python benchmarks/bench_decode.py [PATH ...] [--n-frames 32] [--runs 5]
        [--max-size N] [--threads 2] [--check]

PATH defaults to the shared 1080p DFDC clips. Each backend decodes
``--n-frames`` evenly spaced frames of every clip ``--runs`` times; the
minimum and median wall-clock seconds per clip are printed, with the CPU
seconds (all threads), which a busy machine disturbs less. ``--check`` also verifies
that the PyAV fast path (non-reference frames skipped) returns exactly the
frames of a full decode, and compares PyAV with OpenCV. ``--threads`` pins
the process to that many CPU cores (Linux), to match the 2-core target.
Everything printed is written to ``benchmarks/results/bench_decode.json`` and
``.md``.
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import write_results

from sklearn_deepfake.video import iter_frames, probe_video
from sklearn_deepfake.video._reading import _iter_pyav

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT = sorted(glob.glob(str(SHARED / "dfdc-1080p" / "*.mp4"))) or sorted(
    glob.glob("/work/shared/data/dfdc-1080p/*.mp4")
)


def _indices(path: str, n_frames: int) -> np.ndarray:
    n = probe_video(path).n_frames
    return np.unique(np.linspace(0, max(n - 1, 0), n_frames).round().astype(int))


def _readers(max_size):
    def pyav_full(path, idx):
        return list(_iter_pyav(path, idx, max_size, skip_nonref=False))

    def pyav(path, idx):
        return list(iter_frames(path, idx, backend="pyav", max_size=max_size))

    def opencv(path, idx):
        return list(iter_frames(path, idx, backend="opencv", max_size=max_size))

    return {
        "pyav (skip non-ref)": pyav,
        "pyav (full decode)": pyav_full,
        "opencv": opencv,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=DEFAULT)
    parser.add_argument("--n-frames", type=int, default=32)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--max-size", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    if not args.paths:
        parser.error("no video paths given and the shared 1080p clips are absent")
    if args.threads and hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))[: args.threads]
        os.sched_setaffinity(0, cores)
    import cv2

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    print(f"cv2 threads: {cv2.getNumThreads()}, cores: {cores}")
    readers = _readers(args.max_size)
    plans = [(p, _indices(p, args.n_frames)) for p in args.paths]
    checks, backends = [], {}
    if args.check:
        for path, idx in plans:
            full = readers["pyav (full decode)"](path, idx)
            fast = readers["pyav (skip non-ref)"](path, idx)
            ocv = readers["opencv"](path, idx)
            same = [i for i, _ in full] == [i for i, _ in fast] and all(
                np.array_equal(a, b) for (_, a), (_, b) in zip(full, fast)
            )
            same_ocv = [i for i, _ in full] == [i for i, _ in ocv]
            diff = max(
                (np.abs(a.astype(int) - b).mean() for (_, a), (_, b) in zip(full, ocv)),
                default=0.0,
            )
            checks.append(
                {
                    "video": os.path.basename(path),
                    "skip_nonref_equals_full_decode": bool(same),
                    "same_frames_pyav_opencv": bool(same_ocv),
                    "mean_abs_pyav_minus_opencv": float(diff),
                }
            )
            print(
                f"check {os.path.basename(path)}: skip==full {same}, "
                f"ordinals pyav==opencv {same_ocv}, mean |pyav-opencv| {diff:.2f}"
            )
    print(f"{args.n_frames} frames per clip, {len(plans)} clip(s), {args.runs} runs")
    for name, read in readers.items():
        per_clip, cpu = [], []
        for _ in range(args.runs):
            start, start_cpu = time.perf_counter(), time.process_time()
            for path, idx in plans:
                read(path, idx)
            per_clip.append((time.perf_counter() - start) / len(plans))
            cpu.append((time.process_time() - start_cpu) / len(plans))
        backends[name] = {
            "wall_min_s_per_clip": min(per_clip),
            "wall_median_s_per_clip": statistics.median(per_clip),
            "cpu_min_s_per_clip": min(cpu),
        }
        print(
            f"{name:20s} wall min {min(per_clip):.3f} s, median "
            f"{statistics.median(per_clip):.3f} s; CPU min {min(cpu):.3f} s per clip"
        )
    table = [
        f"{args.n_frames} frames per clip, {len(plans)} clip(s), {args.runs} runs,"
        f" {cores} cores.",
        "",
        "| backend | wall min s / clip | wall median s / clip | CPU min s / clip |",
        "|---|---|---|---|",
        *[
            f"| {name} | {b['wall_min_s_per_clip']:.3f} | "
            f"{b['wall_median_s_per_clip']:.3f} | {b['cpu_min_s_per_clip']:.3f} |"
            for name, b in backends.items()
        ],
    ]
    write_results(
        "bench_decode",
        inputs={
            "videos": [os.path.basename(p) for p in args.paths],
            "n_frames": args.n_frames,
            "runs": args.runs,
            "max_size": args.max_size,
            "cores": cores,
            "cv2_threads": cv2.getNumThreads(),
        },
        outputs={"backends": backends, "checks": checks},
        markdown="\n".join(table),
    )


if __name__ == "__main__":
    main()
