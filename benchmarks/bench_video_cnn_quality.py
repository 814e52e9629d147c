"""VideoCNNClassifier on real face swaps: test log loss and AUC against 0.5.

Fits ``VideoCNNClassifier`` (random initialisation: no weights can be
downloaded here) on the ``dfl-pairs`` training videos, with the source-video
groups for its internal validation split, and scores the test videos (their
labels come from ``test_labels.csv`` through ``load_dfdc``). The clips are
cut from consecutive frames: ``FrameSampler(strategy="every_nth")`` keeps
every ``--step``-th frame from the start, at most ``--n-frames`` of them,
and ``FaceCropper(clip_box="track")`` cuts each face track with one still
box, so that the face moves inside the clip as it does in the video. Face
tracks go through the face cache (``--cache``), so a rerun only trains.
Writes ``benchmarks/results/bench_video_cnn_quality`` (``.json``, ``.md``), with
grouped 95% intervals of the test figures (groups of ``load_dfdc``'s test split).

Usage::

    python benchmarks/bench_video_cnn_quality.py [--data DIR] [--archs r3d_18 mc3_18]
    python benchmarks/bench_video_cnn_quality.py --clip-len 8 --epochs 4 --size 112
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import log_loss, roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import interval, write_results

from sklearn_deepfake import load_dfdc
from sklearn_deepfake.faces import FaceCropper
from sklearn_deepfake.nets import VideoCNNClassifier
from sklearn_deepfake.video import FrameSampler

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
if not SHARED.is_dir():  # a worktree: the shared data of the main checkout
    SHARED = Path("/work/shared/data")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(SHARED / "dfl-pairs"))
    parser.add_argument("--archs", nargs="+", default=["r3d_18", "mc3_18"])
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--n-frames", type=int, default=32)
    parser.add_argument("--step", type=int, default=2)
    parser.add_argument("--clip-len", type=int, default=8)
    parser.add_argument("--stride", type=int, default=8)
    parser.add_argument("--clips-per-video", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache", default="/tmp/skdf_cache")
    parser.add_argument(
        "--train-auc", action="store_true", help="also score the training videos"
    )
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    torch.set_num_threads(args.threads)
    train = load_dfdc(args.data)
    test = load_dfdc(args.data, subset="test")
    sampler = FrameSampler(
        strategy="every_nth", step=args.step, max_frames=args.n_frames
    )
    cropper = FaceCropper(
        args.size, clip_box="track", cache_dir=args.cache, device="cpu"
    )
    t0 = time.perf_counter()
    X_train = cropper.fit_transform(sampler.fit_transform(train.paths))
    X_test = cropper.transform(sampler.transform(test.paths))
    faces_s = time.perf_counter() - t0
    n_rows = np.array([len(t) for t in X_train + X_test])
    print(
        f"{len(X_train)} train / {len(X_test)} test videos "
        f"({int(test.target.sum())} fake in test); faces in {faces_s:.0f} s"
        f" (cached on a rerun); face rows per video: median {np.median(n_rows):.0f},"
        f" min {n_rows.min()}"
    )
    print(
        f"\nrandom init, {args.size} px, frame step {args.step}, at most "
        f"{args.n_frames} frames, clip_len {args.clip_len}, stride {args.stride}, "
        f"clips_per_video {args.clips_per_video}, batch {args.batch}, at most "
        f"{args.epochs} epochs, {args.threads} threads\n"
    )
    lines = [
        "| model | test log loss | test AUC | train AUC | epochs | fit s |",
        "|---|---|---|---|---|---|",
        "| constant 0.5 | 0.693 | 0.50 | - | - | - |",
    ]
    print("\n".join(lines), flush=True)
    rows = {}
    groups = np.asarray(test.groups)
    for arch in args.archs:
        t0 = time.perf_counter()
        clf = VideoCNNClassifier(
            arch,
            clip_len=args.clip_len,
            stride=args.stride,
            size=args.size,
            clips_per_video=args.clips_per_video,
            max_epochs=args.epochs,
            batch_size=args.batch,
            device="cpu",
            random_state=0,
        ).fit(X_train, train.target, groups=train.groups)
        fit_s = time.perf_counter() - t0
        p = clf.predict_proba(X_test)[:, 1]
        train_auc = "-"
        if args.train_auc:
            p_train = clf.predict_proba(X_train)[:, 1]
            train_auc = f"{roc_auc_score(train.target, p_train):.2f}"
        lines.append(
            f"| {arch} | {log_loss(test.target, p):.3f} "
            f"| {roc_auc_score(test.target, p):.2f} | {train_auc} "
            f"| {clf.n_epochs_} | {fit_s:.0f} |"
        )
        print(lines[-1], flush=True)
        rows[arch] = {
            "test_log_loss": log_loss(test.target, p),
            "test_auc": roc_auc_score(test.target, p),
            "test_log_loss_ci": interval(test.target, p, groups, "log_loss"),
            "test_auc_ci": interval(test.target, p, groups, "roc_auc"),
            "train_auc": None if train_auc == "-" else float(train_auc),
            "epochs_run": int(clf.n_epochs_),
            "fit_s": fit_s,
        }
    write_results(
        "bench_video_cnn_quality",
        inputs={
            **vars(args),
            "n_train": len(X_train),
            "n_test": len(X_test),
            "test_groups": len(np.unique(groups)),
            "faces_s": faces_s,
            "init": "random",
        },
        outputs=rows,
        markdown="\n".join(lines),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
