"""Seconds per clip for AudioFeatures on real videos, and what it found.

Usage::

    python benchmarks/bench_audio.py [PATH ...] [--max-duration S]

PATH defaults to every clip of the shared ``real-only``, ``dfdc-1080p`` and
``dfl-pairs/train_sample_videos`` folders. Each clip is processed on its own
(one process, one thread); the script prints, per folder, how many clips had
usable sound, had no audio stream, or gave a warning, and the wall-clock and
CPU seconds per clip (CPU seconds are less disturbed by a busy machine),
compared with the audio duration. Nothing is asserted: the point is that
real files never crash the transformer. Writes the per-folder summary to
``benchmarks/results/bench_audio.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import write_results

from sklearn_deepfake.features import AudioFeatures

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data")
FOLDERS = ("real-only", "dfdc-1080p", "dfl-pairs/train_sample_videos")


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--max-duration", type=float, default=None)
    args = parser.parse_args()
    groups: dict[str, list[str]] = {}
    if args.paths:
        groups["given"] = args.paths
    else:
        for folder in FOLDERS:
            groups[folder] = sorted(glob.glob(str(SHARED / folder / "*.mp4")))
    feats = AudioFeatures(max_duration=args.max_duration)
    names = feats.get_feature_names_out().tolist()
    summary, lines = {}, []
    for folder, paths in groups.items():
        if not paths:
            print(f"{folder}: no clips")
            continue
        wall, cpu, rows, n_warn = [], [], [], 0
        for path in paths:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                t0, c0 = time.perf_counter(), time.process_time()
                rows.append(feats.fit_transform([path])[0])
                wall.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            n_warn += bool(caught)
            for w in caught:
                print(f"  warning ({w.category.__name__}): {w.message}")
        X = np.asarray(rows)
        assert np.isfinite(X).all()
        dur = X[:, names.index("audio_duration")]
        summary[folder] = {
            "clips": len(paths),
            "with_sound": int(X[:, 1].sum()),
            "without_audio_stream": int((X[:, 0] == 0).sum()),
            "warned": n_warn,
            "median_wall_s_per_clip": statistics.median(wall),
            "median_cpu_s_per_clip": statistics.median(cpu),
            "max_wall_s_per_clip": max(wall),
            "median_audio_s": float(np.median(dur)),
            "cpu_ms_per_audio_second": (
                float(1e3 * sum(cpu) / dur.sum()) if dur.sum() > 0 else None
            ),
        }
        lines.append(
            f"| {folder} | {len(paths)} | {int(X[:, 1].sum())} | {n_warn} | "
            f"{statistics.median(wall):.3f} | {statistics.median(cpu):.3f} |"
        )
        print(
            f"{folder}: {len(paths)} clips, {int(X[:, 1].sum())} with sound, "
            f"{int((X[:, 0] == 0).sum())} without an audio stream, {n_warn} warned; "
            f"median {statistics.median(wall):.3f} s wall / "
            f"{statistics.median(cpu):.3f} s CPU per clip "
            f"(max {max(wall):.3f} s), median audio {np.median(dur):.1f} s"
            + (
                f"; {1e3 * sum(cpu) / dur.sum():.1f} ms CPU per audio second"
                if dur.sum() > 0
                else ""
            )
        )
    print(f"(pid {os.getpid()}; figures from a shared machine are rough)")
    write_results(
        "bench_audio",
        inputs={
            "folders": {k: [Path(p).name for p in v] for k, v in groups.items()},
            "max_duration": args.max_duration,
        },
        outputs=summary,
        markdown="\n".join(
            [
                "| folder | clips | with sound | warned | wall s / clip | "
                "CPU s / clip |",
                "|---|---|---|---|---|---|",
                *lines,
            ]
        ),
    )


if __name__ == "__main__":
    main()
