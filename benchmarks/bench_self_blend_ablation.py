"""Which self-blending parameters matter on real face swaps (swap features).

Uses ``../shared/data`` (never shipped with the project). Each row is one
:class:`~sklearn_deepfake.nets.SelfBlendedFaces` setting. Pseudo-fakes are
made offline with :func:`~sklearn_deepfake.nets.make_self_blended` from the
real videos: the ``dfl-pairs`` originals and the 21 ``real-only`` clips,
one blended copy of each. They are scored by the ``swap`` preset's pixel
features (:class:`~sklearn_deepfake.features.FaceContextFeatures` plus
:class:`~sklearn_deepfake.features.MTCNNEmbeddings`; not the face shapes,
which a blend of a face onto itself barely changes) and its frame-level
head (:class:`~sklearn_deepfake.classifiers.FramewiseClassifier`), at
temperature 1.

Two columns, both leave-swap-faces-out cross-validation over the 40
``dfl-pairs`` (6 folds of whole swapped-in faces, ``--repeats`` shuffles),
scored on the held-out faces' real and fake clips:

- **self-blended only**: trained on the real videos of the training faces,
  the real-only clips and the self-blends of both; no real fake is seen, so
  this measures how well the pseudo-fakes stand in for real swaps;
- **with real fakes**: the same plus the real fakes of the training faces.
  The ``none`` row has no pseudo-fakes (real pairs plus real-only clips);
  the ``swap`` row of ``bench_quality.py`` has neither pseudo-fakes nor
  real-only clips.

The face step runs once per video through the face cache (``--cache``).
Writes ``benchmarks/results/bench_self_blend_ablation`` (``.json``, ``.md``):
each cell's mean over the shuffles and its 95% interval over the swapped-in
faces (bootstrap over ``swap_face`` groups).

Usage::

    python benchmarks/bench_self_blend_ablation.py [--data DIR] [--cache DIR]
        [--n-frames 64] [--repeats 3] [--rows default no-filter ...]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import interval, write_results
from bench_quality import lofo_folds  # the same leave-faces-out splits
from sklearn.metrics import log_loss, roc_auc_score

from sklearn_deepfake import (
    load_dfdc,
    load_video_folder,
    make_default_pipeline,
)
from sklearn_deepfake.nets import SelfBlendedFaces, make_self_blended

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
if not SHARED.is_dir():  # a worktree: the shared data of the main checkout
    SHARED = Path("/work/shared/data")

#: Settings compared, as ``SelfBlendedFaces`` keyword arguments.
ROWS: dict[str, dict | None] = {
    "none": None,  # no pseudo-fakes: the real-only clips and the real pairs
    "default": {},
    "no-filter": {"p_sharpen_blur": 0.0},
    "always-filter": {"p_sharpen_blur": 1.0},
    "no-colour": {"p_color": 0.0},
    "ellipse-mask": {"mask_shape": "ellipse"},
    "sharp-mask": {"mask_blur": (0.005, 0.01)},
    "full-blend": {"blend_ratios": (1.0,)},
    "no-warp": {"scale": (1.0, 1.0), "translate": 0.0},
    "jpeg": {"p_compress": 1.0},
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(SHARED))
    parser.add_argument("--cache", default="/tmp/skdf_cache")
    parser.add_argument("--n-frames", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")

    root = Path(args.data)
    train = load_dfdc(root / "dfl-pairs")
    test = load_dfdc(root / "dfl-pairs", subset="test")
    real_only = load_video_folder(root / "real-only", label="REAL")
    with open(root / "dfl-pairs" / "clips.csv", newline="") as f:
        swap_face = {r["filename"]: r["swap_face"] for r in csv.DictReader(f)}
    names = list(train.filenames) + list(test.filenames)
    y = np.r_[train.target, test.target].astype(int)
    g = np.array([swap_face[n] for n in names])

    pipe = make_default_pipeline(
        preset="swap",
        features="context+mtcnn",
        n_frames=args.n_frames,
        cache_dir=args.cache,
        device="cpu",
    )
    faces, feats, head = pipe[:2], pipe.named_steps["features"], pipe[-1]
    head.set_params(temperature=1.0)
    t0 = time.perf_counter()
    X = list(faces.fit_transform(list(train.paths) + list(test.paths)))
    X_ro = list(faces.transform(list(real_only.paths)))
    F = feats.fit_transform(X)
    F_ro = feats.transform(X_ro)
    print(f"faces and features of {len(X) + len(X_ro)} videos: "
          f"{time.perf_counter() - t0:.0f} s")  # fmt: skip
    reals = np.flatnonzero(y == 0)
    folds = lofo_folds(g, args.repeats)

    lines = [
        "| setting | self-blended only: LOFO log loss | AUC "
        "| with real fakes: LOFO log loss | AUC | time |",
        "|---|---|---|---|---|---|",
    ]
    print("\n" + "\n".join(lines))
    results: dict[str, dict] = {}
    for row in args.rows:
        t0 = time.perf_counter()
        if ROWS[row] is None:
            F_b, blend_of = [], {}
        else:
            blended, _, _ = make_self_blended(
                [X[i] for i in reals] + X_ro,
                method=SelfBlendedFaces(**ROWS[row]),
                include_original=False,
                random_state=0,
            )
            F_b = feats.transform(blended)
            blend_of = dict(zip(reals, F_b[: len(reals)]))  # dfl original -> blend
        cells = [] if F_b else ["- | -"]
        for with_fakes in (False, True) if F_b else (True,):
            lls, aucs, oofs = [], [], []
            for split in folds:
                oof = np.zeros(len(y))
                for a, b in split:
                    train_reals = [i for i in a if y[i] == 0]
                    Ft = [F[i] for i in train_reals] + list(F_ro)
                    if blend_of:
                        Ft += [blend_of[i] for i in train_reals]
                        Ft += list(F_b[len(reals) :])
                    yt = [0] * (len(train_reals) + len(F_ro))
                    yt += [1] * (len(Ft) - len(yt))
                    if with_fakes:
                        fakes = [i for i in a if y[i] == 1]
                        Ft += [F[i] for i in fakes]
                        yt += [1] * len(fakes)
                    model = head.fit(Ft, np.array(yt))
                    oof[b] = model.predict_proba([F[i] for i in b])[:, 1]
                lls.append(log_loss(y, oof))
                aucs.append(roc_auc_score(y, oof))
                oofs.append(oof)
            cells.append(f"{np.mean(lls):.3f} | {np.mean(aucs):.2f}")
            column = "with_real_fakes" if with_fakes else "self_blended_only"
            results.setdefault(row, {})[column] = {
                "log_loss": float(np.mean(lls)),
                "auc": float(np.mean(aucs)),
                "log_loss_ci": interval(y, np.asarray(oofs), g, "log_loss"),
                "auc_ci": interval(y, np.asarray(oofs), g, "roc_auc"),
            }
        lines.append(
            f"| {row} | {cells[0]} | {cells[1]} | {time.perf_counter() - t0:.0f} s |"
        )
        print(lines[-1], flush=True)
    write_results(
        "bench_self_blend_ablation",
        inputs={
            **vars(args),
            "videos": len(y),
            "swap_faces": len(np.unique(g)),
            "real_only_clips": len(X_ro),
            "settings": {r: ROWS[r] for r in args.rows},
        },
        outputs=results,
        markdown="\n".join(lines),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
