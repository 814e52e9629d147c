"""Planned against measured seconds of ``predict_with_budget`` on 1080p clips.

Usage::

    python benchmarks/bench_time_budget.py [--repeat 3] [--n-frames 32]
        [--fractions 0.6 0.3] [--min-frames 4] [--threads 2]

The shared DFDC clips (``../shared/data/dfdc-1080p``, 2 clips of 1920x1080,
300 frames) are symlinked ``--repeat`` times each into a temporary folder.
The default preset (``make_default_pipeline(n_frames=N, device="cpu")``,
no face cache) is fitted on the 2 clips (labels 0 and 1: the run measures
time, not quality), then both clips are scored at ``N`` and at
``--min-frames`` frames to know the cost of the full run. For each
fraction ``f`` the whole folder is scored with
``predict_with_budget(seconds=f * n_videos * cost(N))``, a budget the
full frame count cannot meet. Recorded per run: the budget, the seconds
used, the frames per video, the seconds the cost model predicted for each
video when it was planned and the seconds measured, and the fitted cost
``a + b * k``. The last line projects, from the two reference
measurements (``a + b * k`` through both points), how many frames per
video this machine affords at the Kaggle rate of 4,000 videos in 9 hours
(8.1 s per video).

Writes ``benchmarks/results/bench_time_budget.json`` (and ``.md``).
"""

from __future__ import annotations

import argparse
import glob
import math
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import write_results

from sklearn_deepfake import (
    TimeBudget,
    make_default_pipeline,
    predict_with_budget,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data")
KAGGLE_SECONDS_PER_VIDEO = 9 * 3600 / 4000


def _seconds(model, paths, n_frames):
    model.set_params(framesampler__n_frames=n_frames)
    t = time.perf_counter()
    model.predict_proba(paths)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(SHARED / "dfdc-1080p"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--n-frames", type=int, default=32)
    parser.add_argument("--min-frames", type=int, default=4)
    parser.add_argument("--fractions", type=float, nargs="+", default=[1.2, 0.9, 0.6])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--name", default="bench_time_budget")
    args = parser.parse_args()
    clips = sorted(glob.glob(os.path.join(args.data, "*.mp4")))
    if not clips:
        parser.error(f"no clip in {args.data}")
    if args.threads and hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))[: args.threads]
        os.sched_setaffinity(0, cores)
    warnings.simplefilter("ignore")
    tmp = tempfile.mkdtemp(prefix="bench_time_budget_")
    paths = []
    for r in range(args.repeat):
        for clip in clips:
            link = os.path.join(tmp, f"r{r}_{os.path.basename(clip)}")
            os.symlink(os.path.abspath(clip), link)
            paths.append(link)
    model = make_default_pipeline(n_frames=args.min_frames, device="cpu")
    model.fit(clips, np.arange(len(clips)) % 2)  # also the warm-up
    cost_full = _seconds(model, clips, args.n_frames) / len(clips)
    cost_min = _seconds(model, clips, args.min_frames) / len(clips)
    model.set_params(framesampler__n_frames=args.n_frames)
    print(
        f"{len(paths)} videos; a clip at {args.n_frames} frames: "
        f"{cost_full:.1f} s, at {args.min_frames}: {cost_min:.1f} s"
    )
    # Two-point cost model of the reference measurements: a + b * k.
    b_ref = max(cost_full - cost_min, 0.0) / (args.n_frames - args.min_frames)
    a_ref = cost_min - b_ref * args.min_frames
    per_video = KAGGLE_SECONDS_PER_VIDEO / 1.1  # the planner's 10 % margin
    affordable = (
        min(args.n_frames, math.floor((per_video - a_ref) / b_ref))
        if b_ref > 0
        else (args.n_frames if a_ref <= per_video else 0)
    )
    projection = {
        "seconds_per_video": round(KAGGLE_SECONDS_PER_VIDEO, 3),
        "reference_a_s": round(a_ref, 3),
        "reference_b_s_per_frame": round(b_ref, 4),
        "frames_per_video_affordable": max(affordable, 0),
        "note": "this machine's CPU; below min_frames means that even "
        "min_frames frames cost more than the rate allows",
    }
    runs = []
    rows = [
        "| budget (s) | fraction of full cost | used (s) | scored | frames/video "
        "(min-mean-max) | mean abs error of predicted s/video |",
        "|---|---|---|---|---|---|",
    ]
    for fraction in args.fractions:
        seconds = fraction * len(paths) * cost_full
        run = predict_with_budget(
            model, paths, seconds, min_frames=args.min_frames, verbose=1
        )
        scored = run.n_frames > 0
        planned = ~np.isnan(run.predicted)
        err = np.abs(run.predicted[planned] - run.seconds[planned])
        rel = err / run.seconds[planned]
        # Refit the planner's cost model on this run's measurements.
        budget = TimeBudget(
            seconds, len(paths), min_frames=args.min_frames, max_frames=args.n_frames
        )
        for k, s in zip(run.n_frames[scored], run.seconds[scored]):
            budget.record(int(k), float(s))
        a, b = budget.cost_model()
        frames = run.n_frames[scored]
        runs.append(
            {
                "fraction": fraction,
                "budget_s": round(seconds, 2),
                "used_s": round(run.elapsed, 2),
                "within_budget": bool(run.elapsed <= seconds),
                "n_scored": int(scored.sum()),
                "n_fallback": int(run.fallback.sum()),
                "n_frames": run.n_frames.tolist(),
                "predicted_s": [
                    None if math.isnan(p) else round(float(p), 3) for p in run.predicted
                ],
                "measured_s": [
                    None if math.isnan(s) else round(float(s), 3) for s in run.seconds
                ],
                "mean_abs_error_s": round(float(err.mean()), 3) if err.size else None,
                "mean_abs_rel_error": round(float(rel.mean()), 3) if rel.size else None,
                "cost_model_a_s": round(a, 3),
                "cost_model_b_s_per_frame": round(b, 4),
            }
        )
        rows.append(
            f"| {seconds:.1f} | {fraction:.2f} | {run.elapsed:.1f} | "
            f"{int(scored.sum())}/{len(paths)} | {frames.min()}-{frames.mean():.1f}-"
            f"{frames.max()} | {err.mean() if err.size else float('nan'):.2f} s |"
        )
        print(rows[-1], flush=True)
    write_results(
        args.name,
        inputs={
            "clips": [os.path.basename(c) for c in clips],
            "n_videos": len(paths),
            "repeat": args.repeat,
            "n_frames": args.n_frames,
            "min_frames": args.min_frames,
            "fractions": args.fractions,
            "threads": args.threads,
            "model": f"make_default_pipeline(n_frames={args.n_frames}, "
            "device='cpu'), no face cache",
        },
        outputs={
            "one_clip_full_s": round(cost_full, 2),
            "one_clip_min_s": round(cost_min, 2),
            "runs": runs,
            "kaggle_projection": projection,
        },
        markdown="\n".join(rows),
    )
    fits = (
        f"affords {affordable} frames per video"
        if affordable >= args.min_frames
        else f"affords no frame count >= {args.min_frames}: {args.min_frames} "
        f"frames cost {cost_min:.2f} s, above {per_video:.2f} s"
    )
    print(
        f"Reference cost a clip: {a_ref:.2f} s + {b_ref:.3f} s per frame; at "
        f"{KAGGLE_SECONDS_PER_VIDEO:.2f} s per video (10 % margin) this machine "
        f"{fits}."
    )


if __name__ == "__main__":
    main()
