"""The default pipeline: speed on 1080p video, and quality on real face swaps.

Two parts, both offline on CPU:

``speed``: for each 1080p clip (``../shared/data/dfdc-1080p/`` by default),
in one process and one run, the median over ``--repeat`` runs of (a)
decoding the frames the pipeline samples and (b) a fitted pipeline's
``predict_proba`` on that video (no face cache), and their ratio; the
pipeline is ``make_default_pipeline(preset=--preset)``.

``quality``: on a DFDC-layout folder with a labelled test split
(``../shared/data/dfl-pairs/`` by default: real webcam clips and their
face-swapped twins), face tracks are extracted once (face cache), then the
head variants are compared: grouped 5-fold CV log loss and AUC on the train
folder, and fit-then-score on the test folder, against the constant 0.5,
each with a 95% bootstrap interval over the folder's groups (the source
video of each pair) when ``benchmarks/_intervals.py`` is present.

Each part writes ``benchmarks/results/bench_pipeline_<part>.json`` and ``.md``.

Usage::

    python benchmarks/bench_pipeline.py speed [--preset swap] [--n-frames N]
    python benchmarks/bench_pipeline.py quality [--data DIR] [--n-frames 16]
"""

from __future__ import annotations

import argparse
import glob
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from _results import interval, write_results  # noqa: E402

SHARED = HERE.parent.parent / "shared" / "data"
if not SHARED.is_dir():  # a worktree: the shared data of the main checkout
    SHARED = Path("/work/shared/data")


def speed(args: argparse.Namespace) -> None:
    import torch
    from sklearn.base import clone

    from sklearn_deepfake import make_default_pipeline
    from sklearn_deepfake.datasets import make_face_videos
    from sklearn_deepfake.video import read_frames

    videos = args.videos or sorted(glob.glob(str(SHARED / "dfdc-1080p" / "*.mp4")))
    torch.set_num_threads(2)
    # Fit on small synthetic videos: the speed of predict does not depend on
    # what the classifier learned.
    train = make_face_videos(
        n_videos=6,
        n_frames=8,
        manipulated=0.5,
        random_state=0,
        directory=tempfile.mkdtemp(),
    )
    pipe = make_default_pipeline(
        preset=args.preset, n_frames=args.n_frames, device="cpu"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(train.paths, train.target)
        pipe.predict_proba(videos[:1])  # warm-up
    sampler = clone(pipe.named_steps["framesampler"]).fit(videos)
    print(
        f"{'video':<16} {'decode s':>9} {'predict s':>10} {'ratio':>6} {'P(fake)':>8}"
    )
    ratios, rows = [], []
    for path in videos:
        dec, pred = [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            read_frames(path, sampler.transform([path])[0].indices)
            t1 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                p = pipe.predict_proba([path])[0, 1]
            t2 = time.perf_counter()
            dec.append(t1 - t0)
            pred.append(t2 - t1)
        d, f = statistics.median(dec), statistics.median(pred)
        ratios.append(f / d)
        rows.append(
            {
                "video": Path(path).name,
                "decode_s": d,
                "predict_s": f,
                "ratio": f / d,
                "p_fake": float(p),
            }
        )
        print(f"{Path(path).name:<16} {d:9.3f} {f:10.3f} {f / d:6.2f} {p:8.3f}")
    print(f"median ratio predict/decode: {statistics.median(ratios):.2f}")
    write_results(
        "bench_pipeline_speed",
        inputs={
            "videos": [Path(v).name for v in videos],
            "preset": args.preset,
            "n_frames": args.n_frames,
            "repeat": args.repeat,
            "torch_threads": 2,
        },
        outputs={
            "per_video": rows,
            "median_ratio_predict_to_decode": statistics.median(ratios),
        },
        markdown="\n".join(
            [
                "| video | decode s | predict s | ratio |",
                "|---|---|---|---|",
                *[
                    f"| {r['video']} | {r['decode_s']:.3f} | {r['predict_s']:.3f} "
                    f"| {r['ratio']:.2f} |"
                    for r in rows
                ],
                "",
                f"Median ratio predict / decode: {statistics.median(ratios):.2f}.",
            ]
        ),
    )


def quality(args: argparse.Namespace) -> None:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss, roc_auc_score
    from sklearn.model_selection import GroupKFold, cross_val_predict

    from sklearn_deepfake import load_dfdc, make_default_pipeline

    train = load_dfdc(args.data)
    test = load_dfdc(args.data, subset="test")
    if test.target is None:
        raise SystemExit(f"{args.data} has no test labels (test_labels.csv)")
    pipe = make_default_pipeline(
        n_frames=args.n_frames, cache_dir=args.cache, device="cpu"
    )
    feats = pipe[:-1]
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X_train = feats.fit_transform(train.paths, train.target)
        X_test = feats.transform(test.paths)
    n = len(train.paths) + len(test.paths)
    print(
        f"{len(train.paths)} train / {len(test.paths)} test videos; faces and "
        f"features in {time.perf_counter() - t:.0f} s ({args.cache})"
    )
    y, yt, groups = train.target, test.target, train.groups
    heads = {
        "constant 0.5": None,
        "LogisticRegression C=0.1 (default)": LogisticRegression(C=0.1, max_iter=2000),
        "LogisticRegression C=0.03": LogisticRegression(C=0.03, max_iter=2000),
        "LogisticRegression C=0.3": LogisticRegression(C=0.3, max_iter=2000),
        "CalibratedClassifierCV(sigmoid, cv=5) C=0.1": CalibratedClassifierCV(
            LogisticRegression(C=0.1, max_iter=2000), cv=5
        ),
    }
    print(
        f"{'head':<45} {'CV logloss':>10} {'CV AUC':>7} {'test logloss':>12} {'AUC':>5}"
    )
    test_groups = np.asarray(test.groups) if test.groups is not None else None
    rows = {}
    for name, head in heads.items():
        if head is None:
            oof, p = np.full(len(y), 0.5), np.full(len(yt), 0.5)
        else:
            oof = cross_val_predict(
                head,
                X_train,
                y,
                groups=groups,
                cv=GroupKFold(5),
                method="predict_proba",
            )[:, 1]
            p = head.fit(X_train, y).predict_proba(X_test)[:, 1]
        p, oof = np.clip(p, 0.01, 0.99), np.clip(oof, 0.01, 0.99)
        rows[name] = {
            "cv_log_loss": log_loss(y, oof),
            "cv_auc": roc_auc_score(y, oof),
            "test_log_loss": log_loss(yt, p),
            "test_auc": roc_auc_score(yt, p),
            "cv_log_loss_ci": interval(y, oof, groups, "log_loss"),
            "cv_auc_ci": interval(y, oof, groups, "roc_auc"),
        }
        if test_groups is not None:
            rows[name]["test_auc_ci"] = interval(yt, p, test_groups, "roc_auc")
        print(
            f"{name:<45} {log_loss(y, oof):10.3f} {roc_auc_score(y, oof):7.2f}"
            f" {log_loss(yt, p):12.3f} {roc_auc_score(yt, p):5.2f}"
        )
    print(f"({n} videos, {args.n_frames} frames each)")
    write_results(
        "bench_pipeline_quality",
        inputs={
            "data": args.data,
            "n_train": len(train.paths),
            "n_test": len(test.paths),
            "train_groups": len(np.unique(groups)),
            "n_frames": args.n_frames,
            "cv": "GroupKFold(5) by source video",
        },
        outputs=rows,
        markdown="\n".join(
            [
                "| head | CV log loss | CV AUC | test log loss | test AUC |",
                "|---|---|---|---|---|",
                *[
                    f"| {k} | {r['cv_log_loss']:.3f} | {r['cv_auc']:.2f} | "
                    f"{r['test_log_loss']:.3f} | {r['test_auc']:.2f} |"
                    for k, r in rows.items()
                ],
                "",
                f"{len(train.paths)} train videos in {len(np.unique(groups))} "
                f"groups, {len(test.paths)} test videos.",
            ]
        ),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="part", required=True)
    s = sub.add_parser("speed")
    s.add_argument("videos", nargs="*")
    s.add_argument("--n-frames", type=int, default=None, help="default: the preset's")
    s.add_argument("--preset", default="default", help="of make_default_pipeline")
    s.add_argument("--repeat", type=int, default=3)
    q = sub.add_parser("quality")
    q.add_argument("--data", default=str(SHARED / "dfl-pairs"))
    q.add_argument("--n-frames", type=int, default=16)
    q.add_argument("--cache", default="/tmp/skdf_cache")
    args = parser.parse_args(argv)
    (speed if args.part == "speed" else quality)(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
