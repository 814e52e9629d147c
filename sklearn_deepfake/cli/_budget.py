"""``sklearn-deepfake predict --time-budget HOURS``: finish within a deadline."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from sklearn_deepfake.cli._options import _hours, _positive_int


def add_options(predict: argparse.ArgumentParser) -> None:
    """Register ``--time-budget`` and ``--min-frames`` on ``predict``."""
    predict.add_argument(
        "--time-budget",
        type=_hours,
        default=None,
        metavar="HOURS",
        help="finish within HOURS from the start of the command (e.g. 9 for "
        "a Kaggle run): the cost per frame is measured on the first videos "
        "and the frames per video are lowered (not below --min-frames) so "
        "that the videos left fit in the time left; videos that still do "
        "not fit get --fallback, with a warning (default: no budget)",
    )
    predict.add_argument(
        "--min-frames",
        type=_positive_int,
        default=4,
        metavar="N",
        help="with --time-budget, fewest frames a scored video gets (default: 4)",
    )


def predict_within_budget(
    model: Any, videos: Sequence[str], args: argparse.Namespace, start: float
) -> tuple[Any, dict[str, str]]:
    """P(FAKE) per video (NaN where not scored) and the failures.

    ``start`` is the ``time.perf_counter()`` value at which the command
    started: the budget counts from there.
    """
    import numpy as np

    from sklearn_deepfake._budget import predict_with_budget

    seconds = args.time_budget * 3600.0
    # One batch per predict_proba call keeps the parallel workers busy.
    n_jobs = os.cpu_count() if args.n_jobs == -1 else args.n_jobs
    workers = [n_jobs, getattr(args, "scheduler", None)]
    batch = max([w for w in workers if isinstance(w, int) and w > 1] or [1])
    run = predict_with_budget(
        model,
        videos,
        seconds,
        min_frames=args.min_frames,
        fallback=args.fallback,
        batch_size=batch,
        start=start,
        verbose=1,
    )
    scored = run.n_frames > 0
    proba = np.where(run.fallback, np.nan, run.proba)
    frames = run.n_frames[scored]
    spread = f"{frames.min()}-{frames.max()}" if frames.size else "none"
    print(
        f"Time budget {seconds:.0f} s: {int(scored.sum())} of {len(videos)} "
        f"video(s) scored ({spread} frames each, mean "
        f"{frames.mean() if frames.size else 0:.1f}), {int((~scored).sum())} "
        f"not scored in time; {run.elapsed:.1f} s used",
        file=sys.stdout,
    )
    return proba, run.failed
