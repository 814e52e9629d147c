"""What does each branch add, and what does it cost? Face, temporal, audio, flow.

On a DFDC-layout folder with a labelled test split (``../shared/data/dfl-pairs/``
by default: real webcam clips and their face-swapped twins), compares:

- ``face``: :func:`~sklearn_deepfake.make_fusion_pipeline` with the face
  branch only (FaceContextFeatures -> frame mean -> logistic regression);
- ``face + temporal``: :func:`~sklearn_deepfake.make_fusion_stack` of the
  face branch and a TemporalClassifier (LSTM) over the per-frame rows;
- ``face + audio``, ``face + flow``: feature-level fusion of two branches;
- ``face + flow + audio (fused)``: feature-level fusion of all three;
- ``face + temporal + flow + audio (stack)``: the calibrated stack of four.

Quality: grouped 5-fold CV (groups from :func:`~sklearn_deepfake.load_dfdc`)
log loss and AUC on the train folder, then fit on train and score the test
folder. Every model runs from the paths; all visual branches sample the same
frames (``shared_frames=True``: 16 frames in bursts of 4) and read one face
cache, so faces are detected once per video for the whole table.

Cost: seconds per video of each branch alone from the paths (decode, faces,
features; the classifier's cost is negligible), each with its own cold face
cache in a temporary folder, on the first ``--cost-videos`` train videos (and,
for audio, also on clips that have a sound track: ``--audio-videos``, by
default ``../shared/data/real-only/``, as dfl-pairs clips have no audio
stream, so the audio branch there only learns its no-audio row). The
"shared" column is the cost of the branch once another visual branch has
filled the face cache.

With ``--real-only DIR`` the fused models trained on dfl-pairs also score
the real clips of DIR: their false-positive rate at 0.5.

Usage (re-runnable; faces are cached in ``--cache``)::

    nice -n 10 python benchmarks/bench_branches.py --cache DIR [--n-frames 16]
        [--size 112] [--cost-videos 6] [--real-only ../shared/data/real-only]
        [--cost-only | --skip-cost]

Timings depend on the machine and its load: run on an idle one. The tables
are written to ``benchmarks/results/bench_branches.md`` and every figure, with
grouped 95% intervals of the CV AUC and log loss, to ``.json``.
"""

from __future__ import annotations

import argparse
import glob
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


def _models(args: argparse.Namespace) -> dict:
    from sklearn_deepfake import make_fusion_pipeline, make_fusion_stack

    common = {
        "n_frames": args.n_frames,
        "size": args.size,
        "cache_dir": args.cache,
        "device": "cpu",
    }
    return {
        "face": make_fusion_pipeline(("face",), **common),
        "face + temporal (stack)": make_fusion_stack(("face", "temporal"), **common),
        "face + audio": make_fusion_pipeline(("face", "audio"), **common),
        "face + flow": make_fusion_pipeline(("face", "flow"), **common),
        "face + flow + audio (fused)": make_fusion_pipeline(
            ("face", "flow", "audio"), **common
        ),
        "face + temporal + flow + audio (stack)": make_fusion_stack(
            ("face", "temporal", "flow", "audio"), **common
        ),
    }


def _branch_features(name: str, args: argparse.Namespace, cache: str):
    """The branch of ``name`` from paths to its features (no classifier)."""
    from sklearn.pipeline import Pipeline

    from sklearn_deepfake import make_fusion_pipeline, make_fusion_stack

    common = {"n_frames": args.n_frames, "size": args.size, "cache_dir": cache}
    if name == "temporal":
        stack = make_fusion_stack(("temporal",), **common)
        return Pipeline(stack.estimators[0][1].steps[:-1])
    return make_fusion_pipeline((name,), **common).named_steps["features"]


def _has_audio(path: str) -> bool:
    import av

    try:
        with av.open(path) as container:
            return bool(container.streams.audio)
    except Exception:  # unreadable: not a clip to time
        return False


def cost(args: argparse.Namespace, paths: list[str], audio_paths: list[str]) -> dict:
    rows = {}
    for name in ("face", "temporal", "flow", "audio", "avsync"):
        vids = audio_paths if name in ("audio", "avsync") and audio_paths else paths
        with tempfile.TemporaryDirectory() as scratch:
            # Warm-up (imports, detector weights) in a cache of its own.
            _branch_features(name, args, scratch).fit_transform(vids[:1])
        with tempfile.TemporaryDirectory() as cache:
            # Cold: own extraction.
            feats = _branch_features(name, args, cache)
            t = time.perf_counter()
            feats.fit_transform(vids)
            cold = (time.perf_counter() - t) / len(vids)
            # Shared: the face cache is already filled (by this branch; with
            # shared_frames, face, temporal and flow read the same records).
            feats = _branch_features(name, args, cache)
            t = time.perf_counter()
            feats.fit_transform(vids)
            warm = (time.perf_counter() - t) / len(vids)
        rows[name] = (cold, warm, len(vids))
        print(f"cost {name}: cold {cold:.3f} s/video, shared {warm:.3f}", flush=True)
    return rows


def quality(args: argparse.Namespace):
    from sklearn.base import clone
    from sklearn.metrics import log_loss, roc_auc_score
    from sklearn.model_selection import GroupKFold, cross_val_predict

    from sklearn_deepfake import load_dfdc
    from sklearn_deepfake.ensemble import CalibratedStackingClassifier

    train = load_dfdc(args.data)
    test = load_dfdc(args.data, subset="test")
    if test.target is None:
        raise SystemExit(f"{args.data} has no test labels (test_labels.csv)")
    y, yt, groups = np.asarray(train.target), np.asarray(test.target), train.groups
    real = (
        sorted(glob.glob(str(Path(args.real_only) / "*.mp4"))) if args.real_only else []
    )
    results, intervals = {}, {}
    for name, model in _models(args).items():
        t = time.perf_counter()
        params = (
            {"groups": groups}
            if isinstance(model, CalibratedStackingClassifier)
            else {}
        )
        oof = cross_val_predict(
            clone(model),
            train.paths,
            y,
            groups=groups,
            cv=GroupKFold(args.folds),
            method="predict_proba",
            params=params,
        )[:, 1]
        fitted = clone(model).fit(train.paths, y, **params)
        p = fitted.predict_proba(test.paths)[:, 1]
        fpr = float(np.mean(fitted.predict_proba(real)[:, 1] > 0.5)) if real else None
        oof, p = np.clip(oof, 0.01, 0.99), np.clip(p, 0.01, 0.99)
        results[name] = (
            log_loss(y, oof),
            roc_auc_score(y, oof),
            log_loss(yt, p),
            roc_auc_score(yt, p),
            fpr,
            time.perf_counter() - t,
        )
        intervals[name] = {
            "cv_auc": interval(y, oof, groups, "roc_auc"),
            "cv_log_loss": interval(y, oof, groups, "log_loss"),
        }
        print(f"{name}: {results[name]}", flush=True)
    return train, results, intervals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(SHARED / "dfl-pairs"))
    parser.add_argument("--cache", default=None, help="face cache folder")
    parser.add_argument("--n-frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--cost-videos", type=int, default=6)
    parser.add_argument("--audio-videos", default=str(SHARED / "real-only"))
    parser.add_argument("--real-only", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-cost", action="store_true")
    parser.add_argument("--cost-only", action="store_true")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    if args.cache is None:
        args.cache = tempfile.mkdtemp(prefix="skdf_faces_")
    warnings.simplefilter("ignore")

    if args.cost_only:
        from sklearn_deepfake import load_dfdc

        train, results, intervals = load_dfdc(args.data), {}, {}
    else:
        train, results, intervals = quality(args)
    costs = {}
    if not args.skip_cost:
        clips = sorted(glob.glob(str(Path(args.audio_videos) / "*.mp4")))
        audio = [p for p in clips if _has_audio(p)][:4]
        costs = cost(args, list(train.paths[: args.cost_videos]), audio)

    branch_of = {
        "face": ("face",),
        "face + temporal (stack)": ("face", "temporal"),
        "face + audio": ("face", "audio"),
        "face + flow": ("face", "flow"),
        "face + flow + audio (fused)": ("face", "flow", "audio"),
        "face + temporal + flow + audio (stack)": ("face", "temporal", "flow", "audio"),
    }
    lines: list[str] = []
    if results:
        fpr_col = " FP rate real-only |" if args.real_only else ""
        lines += [
            "",
            "| model | CV log loss | CV AUC | test log loss | test AUC |"
            f"{fpr_col} s/video (cold, all branches) |",
            "|---|---|---|---|---|" + ("---|" if args.real_only else "") + "---|",
        ]
        for name, (cll, cauc, tll, tauc, fpr, _) in results.items():
            if costs:
                # One extraction (the first visual branch), the others shared.
                parts = [costs[b] for b in branch_of[name]]
                total = parts[0][0] + sum(
                    c[1] if b != "audio" else c[0]
                    for b, c in zip(branch_of[name][1:], parts[1:])
                )
                total_s = f"{total:.2f}"
            else:
                total_s = "-"
            fpr_s = f" {fpr:.2f} |" if args.real_only else ""
            lines.append(
                f"| {name} | {cll:.3f} | {cauc:.2f} | {tll:.3f} | {tauc:.2f} |"
                f"{fpr_s} {total_s} |"
            )
    if costs:
        lines += [
            "",
            "| branch | cold s/video (own face extraction) | shared s/video "
            "(face cache filled) | videos |",
            "|---|---|---|---|",
        ]
        for name, (cold, warm, n) in costs.items():
            lines.append(f"| {name} | {cold:.3f} | {warm:.3f} | {n} |")
    lines.append(
        f"\n({len(train.paths)} train videos, grouped {args.folds}-fold CV; "
        f"{args.n_frames} frames, {args.size} px crops; dfl-pairs clips have no "
        "audio stream: the audio branch gets its no-audio row there)"
    )
    print("\n".join(lines))
    write_results(
        "bench_branches",
        inputs={**vars(args), "n_train": len(train.paths)},
        outputs={
            "quality": {
                name: {
                    "cv_log_loss": cll,
                    "cv_auc": cauc,
                    "test_log_loss": tll,
                    "test_auc": tauc,
                    "false_positive_rate_real_only": fpr,
                    "seconds": sec,
                    "intervals": intervals.get(name),
                }
                for name, (cll, cauc, tll, tauc, fpr, sec) in results.items()
            },
            "cost": {
                name: {"cold_s_per_video": c, "shared_s_per_video": w, "videos": n}
                for name, (c, w, n) in costs.items()
            },
        },
        markdown="\n".join(lines),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
