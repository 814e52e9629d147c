"""The ``predict`` subcommand: score videos with a saved model."""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sklearn_deepfake.cli import _budget
from sklearn_deepfake.cli._options import (
    _add_fallback_option,
    _add_model_argument,
    _add_network_runtime_option,
    _add_output_option,
    _add_runtime_options,
    _cache_dir,
    _scheduler_address,
)
from sklearn_deepfake.cli._utils import (
    find_videos,
    list_videos,
    predict_in_chunks,
    read_labels,
    short_list,
)

NAME = "predict"
HELP = "write submission.csv for videos with a saved model"
DESCRIPTION = (
    "Predict P(FAKE) for a DFDC root (its test_videos/ and "
    "sample_submission.csv), a folder of videos or video files. Every "
    "video gets a row: a video whose prediction fails gets --fallback, "
    "with a warning naming it. When a test_labels.csv (filename,label) "
    "lies next to the videos, the log loss and AUC are printed."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``predict`` to its parser."""
    _add_model_argument(parser)
    parser.add_argument("videos", nargs="+", metavar="VIDEOS", help="files/folder")
    _add_output_option(parser, "CSV", "submission to write")
    parser.add_argument(
        "--sample-submission",
        metavar="CSV",
        help="rows and their order (default: sample_submission.csv next to "
        "the videos, if any)",
    )
    _add_fallback_option(
        parser,
        0.5,
        "probability written for videos that cannot be scored (default: 0.5)",
    )
    _add_runtime_options(parser, None, scheduler=True)
    _add_network_runtime_option(parser)
    _budget.add_options(parser)


def _first_file(folders: Sequence[Path], name: str) -> str | None:
    for folder in dict.fromkeys(folders):
        if (folder / name).is_file():
            return os.fspath(folder / name)
    return None


def _predict_inputs(
    inputs: Sequence[str], sample: str | None
) -> tuple[list[str], str | None, str | None]:
    """Videos to score, the sample submission and the true labels, if any."""
    import pandas as pd

    if len(inputs) == 1 and os.path.isdir(inputs[0]):
        root = Path(inputs[0])
        folder = root / "test_videos" if (root / "test_videos").is_dir() else root
        videos = list_videos(folder, recursive=folder == root)
        sample = sample or _first_file([folder, root], "sample_submission.csv")
        labels = _first_file([folder, root, folder.parent], "test_labels.csv")
    else:
        videos = find_videos(inputs)
        first = Path(videos[0]).parent
        labels = _first_file([first, first.parent], "test_labels.csv")
    if sample is not None:
        listed = [os.path.basename(str(n)) for n in pd.read_csv(sample)["filename"]]
        on_disk = {os.path.basename(v): v for v in videos}
        unlisted = [v for v in videos if os.path.basename(v) not in set(listed)]
        if unlisted and len(inputs) == 1 and os.path.isdir(inputs[0]):
            warnings.warn(
                f"{len(unlisted)} video(s) are not in {sample} and are not "
                f"scored: {short_list(unlisted)}",
                UserWarning,
                stacklevel=2,
            )
            videos = [on_disk[n] for n in listed if n in on_disk]
    if not videos:
        raise FileNotFoundError("no video to score in " + ", ".join(inputs))
    return videos, sample, labels


def _configure_model(
    model: Any, args: argparse.Namespace, scheduler: str | None = None
) -> str:
    """Apply --cache/--n-jobs/--device/--scheduler to the model's face step."""
    steps = getattr(model, "named_steps", {})
    if "facecropper" not in steps:
        return "the model has no facecropper step; --cache/--device not applied"
    fc = steps["facecropper"]
    cache_dir = _cache_dir(args)
    update: dict[str, Any] = {"cache_dir": cache_dir, "verbose": 1}
    if args.n_jobs is not None:
        update["n_jobs"] = args.n_jobs
    if args.device is not None:
        update["device"] = args.device
    if scheduler is not None:
        update["scheduler"] = scheduler
    fc.set_params(**update)
    fc.fit(None)  # learns nothing: validates and resolves the device again
    return f"face cache {cache_dir}" if cache_dir else "no face cache"


def _print_scores(submission: Any, labels_path: str) -> None:
    import numpy as np
    from sklearn.metrics import log_loss, roc_auc_score

    truth = read_labels(labels_path)
    rows = submission[submission["filename"].isin(list(truth))]
    if rows.empty:
        print(f"{labels_path} labels none of the written rows")
        return
    y = np.array([truth[n] for n in rows["filename"]])
    p = rows["label"].to_numpy(dtype=float)
    loss = log_loss(y, p, labels=[0, 1])
    auc = roc_auc_score(y, p) if len(np.unique(y)) == 2 else float("nan")
    print(
        f"Against {labels_path} ({len(rows)} videos): log loss {loss:.3f}, "
        f"AUC {auc:.3f}   (constant 0.5: {np.log(2):.3f})"
    )


def run(args: argparse.Namespace) -> int:
    """Score videos with a saved model and write a complete submission."""
    import joblib
    import numpy as np

    from sklearn_deepfake.features._onnx_runtime import set_runtime
    from sklearn_deepfake.submission import write_submission

    if not os.path.isfile(args.model):
        raise FileNotFoundError(f"model file {args.model!r} not found")
    t0 = time.perf_counter()
    videos, sample, labels = _predict_inputs(args.videos, args.sample_submission)
    model = joblib.load(args.model)
    set_runtime(model, args.runtime)
    with _scheduler_address(args.scheduler) as scheduler:
        note = _configure_model(model, args, scheduler)
        print(f"Scoring {len(videos)} video(s) with {args.model} ({note})")
        if args.time_budget is None:
            proba, failed = predict_in_chunks(model, videos)
        else:
            proba, failed = _budget.predict_within_budget(model, videos, args, t0)
    for path, message in failed.items():
        print(f"warning: cannot score {path}: {message}", file=sys.stderr)
    submission = write_submission(
        args.output, videos, proba, sample_submission=sample, fallback=args.fallback
    )
    scored = {os.path.basename(v): p for v, p in zip(videos, proba) if np.isfinite(p)}
    fallbacks = [n for n in submission["filename"] if n not in scored]
    print(
        f"Wrote {args.output}: {len(submission)} rows, {len(fallbacks)} with the "
        f"fallback {args.fallback}"
        + (f" ({short_list(fallbacks)})" if fallbacks else "")
        + f"  [{time.perf_counter() - t0:.1f} s]"
    )
    if labels is not None:
        _print_scores(submission, labels)
    return 0
