"""Detection quality on real face swaps: one table of log loss, AUC, accuracy.

Uses ``../shared/data`` (never shipped with the project):

- ``dfl-pairs/``: 40 real / face-swapped pairs in the DFDC layout, 28 in
  ``train_sample_videos`` and 12 in ``test_videos``; the two folders share no
  swapped-in face. ``clips.csv`` gives each clip's ``swap_face``.
- ``real-only/``: 21 real clips (no fakes at all).

Every row reports:

- **CV**: grouped cross-validation on the train folder (``GroupKFold``, one
  group per swapped-in face, so no face is on both sides);
- **LOFO**: leave-faces-out cross-validation over all 80 ``dfl-pairs`` clips
  (6 folds of whole swap faces, repeated over 5 shuffles of the faces), the
  steadiest estimate of how a recipe does on swap faces it never saw;
- **test**: fit on the train folder, score the test folder;
- **real-only FP**: the share of the 21 ``real-only`` clips (never seen in
  training by these rows) that the test-folder model calls fake (p > 0.5).

Rows: the constant 0.5 prior (the floor); the ``default`` and ``swap``
presets of :func:`make_default_pipeline`; ``swap-no-noise``, the ``swap``
preset without ``TemporalNoiseFeatures`` (on the same frames);
``swap-pooled``, the context and MTCNN features pooled per video (median)
before a logistic regression, the head the preset's frame-level head
replaced; the ``swap`` preset trained on real videos plus self-blended fakes
only (no real fake at all); ``FaceCNNClassifier`` (random initialisation: no
weights can be downloaded here) without and with self-blending, and with
self-blending on real videos only; ``cnn-imagenet`` rows: the same
fine-tuner from ImageNet weights (``tf_efficientnet_lite0``,
``pretrained=True``, loaded offline from the ``imagenet`` extra) at 224 px on
their own 256-px crops of 16 frames (``--imagenet-faces``), supervised and on
real videos plus self-blended fakes only. Faces come through a face cache, so
the face step runs once per video (its time is printed on its own line): the
``swap`` rows use the preset's own face steps (64 pairs of consecutive
frames), the others ``FrameSampler(n)`` (``--n-frames``, default 16) ->
``FaceCropper(128)``. A row's time is its fitting and scoring; the linear
rows compute their per-frame features (which learn nothing) once, inside
that time, rather than in every fit.

Usage::

    python benchmarks/bench_quality.py [--data DIR] [--cache DIR] [--rows ...]
        [--n-frames 16] [--cnn-epochs 12] [--backbone resnet18]

The figures in the closing note of issue 7 come from
``--n-frames 64 --rows prior default swap swap-no-noise swap-pooled
swap-self-blended-only``,
and those of the ImageNet fine-tuner from
``--rows prior cnn-imagenet cnn-imagenet-self-blended-only`` (needs the
``imagenet`` extra).
"""

from __future__ import annotations

import argparse
import csv
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline

from sklearn_deepfake import load_dfdc, make_default_pipeline

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
ROWS = (
    "prior",
    "default",
    "swap",
    "swap-no-noise",
    "swap-pooled",
    "swap-self-blended-only",
    "cnn",
    "cnn-self-blended",
    "cnn-self-blended-only",
    "cnn-imagenet",
    "cnn-imagenet-self-blended-only",
)
EPS = 1e-3


#: Rows fitted on the ``swap`` preset's own faces (64 pairs of consecutive
#: frames); the others on ``--n-frames`` evenly spaced frames.
SWAP_FACE_ROWS = ("swap", "swap-no-noise", "swap-self-blended-only")


def _head(preset: str) -> object:
    """The steps of ``preset`` after the face steps (fitted on face tracks)."""
    if preset == "swap-pooled":  # the swap features, pooled per video first
        return make_default_pipeline(
            features="context+mtcnn", pooling=("median",), C=0.03, device="cpu"
        )[2:]
    if preset == "swap-no-noise":  # the swap preset less TemporalNoiseFeatures
        return make_default_pipeline(
            preset="swap", features="context+mtcnn+shape", device="cpu"
        )[2:]
    return make_default_pipeline(preset=preset, device="cpu")[2:]


def _cnn(args: argparse.Namespace, self_blend: bool, imagenet: bool) -> object:
    from sklearn_deepfake.nets import FaceCNNClassifier

    if imagenet:  # ImageNet weights from the imagenet extra, 224-px input
        own = {
            "backbone": args.imagenet_backbone,
            "pretrained": True,
            "input_size": 224,
            "max_epochs": args.imagenet_epochs,
            "lr": 1e-3,
            "backbone_lr_mult": 0.3,
        }
    else:
        own = {
            "backbone": args.backbone,
            "input_size": args.input_size,
            "max_epochs": args.cnn_epochs,
        }
    return FaceCNNClassifier(
        **own,
        self_blend=True if self_blend else None,
        frames_per_video=8,
        device="cpu",
        random_state=0,
    )


def _scores(y: np.ndarray, p: np.ndarray) -> tuple[float, float, float]:
    p = np.clip(p, EPS, 1 - EPS)
    return (
        log_loss(y, p, labels=[0, 1]),
        roc_auc_score(y, p),
        accuracy_score(y, p > 0.5),
    )


def _fit_predict(model, X_fit, y_fit, g_fit, X_new) -> np.ndarray:
    """Fit a clone (with groups when it takes them) and return P(fake) of X_new."""
    if model == "prior":
        return np.full(len(X_new), 0.5)
    est = clone(model)
    if isinstance(est, Pipeline):  # linear heads: nothing uses the groups
        est.fit(X_fit, y_fit)
    else:  # the CNNs hold out whole groups for early stopping
        est.fit(X_fit, y_fit, groups=g_fit)
    return est.predict_proba(X_new)[:, 1]


def _oof(model, X, y, g, folds) -> np.ndarray:
    p = np.zeros(len(y))
    for a, b in folds:
        p[b] = _fit_predict(model, [X[i] for i in a], y[a], g[a], [X[i] for i in b])
    return p


def lofo_folds(groups: np.ndarray, repeats: int) -> list[list]:
    """Leave-faces-out splits: 6 folds of whole groups, one list per shuffle.

    Shuffle ``r`` renumbers the groups with seed ``r`` before ``GroupKFold``,
    so each repeat puts the faces into different folds.
    """
    faces = np.unique(groups)
    out = []
    for r in range(repeats):
        ids = dict(zip(faces, np.random.default_rng(r).permutation(len(faces))))
        gi = np.array([ids[v] for v in groups])
        out.append(list(GroupKFold(6).split(gi, gi, gi)))
    return out


def _blend_reals(X_real, seed):
    from sklearn_deepfake.nets import make_self_blended

    return make_self_blended(X_real, random_state=seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(SHARED))
    parser.add_argument("--cache", default="/tmp/skdf_cache")
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=ROWS)
    parser.add_argument("--n-frames", type=int, default=16)
    parser.add_argument("--backbone", default="resnet18")
    parser.add_argument("--input-size", type=int, default=112)
    parser.add_argument("--cnn-epochs", type=int, default=12)
    parser.add_argument("--imagenet-backbone", default="tf_efficientnet_lite0")
    parser.add_argument("--imagenet-epochs", type=int, default=6)
    parser.add_argument(
        "--imagenet-faces",
        type=int,
        nargs=2,
        default=(16, 256),
        metavar=("N_FRAMES", "SIZE"),
        help="frames and crop size of the cnn-imagenet rows' own face step",
    )
    parser.add_argument("--lofo-repeats", type=int, default=5)
    parser.add_argument(
        "--cv-cnn",
        action="store_true",
        help="also cross-validate the CNN rows (4 fits each on the train folder)",
    )
    parser.add_argument(
        "--lofo-cnn",
        action="store_true",
        help="also run the leave-faces-out CV of the CNN rows (30 fits each)",
    )
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    import torch

    torch.set_num_threads(2)

    root = Path(args.data)
    train = load_dfdc(root / "dfl-pairs")
    test = load_dfdc(root / "dfl-pairs", subset="test")
    with open(root / "dfl-pairs" / "clips.csv", newline="") as f:
        swap_face = {r["filename"]: r["swap_face"] for r in csv.DictReader(f)}
    real_only = sorted(str(p) for p in (root / "real-only").glob("*.mp4"))

    def face_sets(
        n_frames: int | None, size: int, preset: str = "default"
    ) -> tuple[list, list, list]:
        faces = make_default_pipeline(
            preset=preset,
            n_frames=n_frames,
            size=size,
            cache_dir=args.cache,
            device="cpu",
        )[:2]
        t0 = time.perf_counter()
        sets = [faces.fit_transform(list(train.paths))]
        sets += [faces.transform(list(test.paths)), faces.transform(real_only)]
        print(
            f"faces: {sum(map(len, sets))} videos in "
            f"{time.perf_counter() - t0:.0f} s ({faces[0]!r} -> "
            f"FaceCropper({size}); cached runs only read the cache)"
        )
        return sets

    own_sets = face_sets(args.n_frames, 128)
    swap_sets = None
    if any(row in SWAP_FACE_ROWS for row in args.rows):
        swap_sets = face_sets(None, 128, preset="swap")
    imagenet_sets = None
    if any(row.startswith("cnn-imagenet") for row in args.rows):
        imagenet_sets = face_sets(*args.imagenet_faces)
    y_tr, y_te = np.asarray(train.target), np.asarray(test.target)
    g_tr = np.array([swap_face[n] for n in train.filenames])
    y_all = np.r_[y_tr, y_te]
    g_all = np.r_[g_tr, [swap_face[n] for n in test.filenames]]
    cv_folds = list(GroupKFold(4).split(g_tr, y_tr, g_tr))
    lofo = lofo_folds(g_all, args.lofo_repeats)

    print()
    print(
        "| recipe | CV log loss | CV AUC | LOFO log loss | LOFO AUC "
        "| test log loss | test AUC | test acc | real-only FP | time |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in args.rows:
        t0 = time.perf_counter()
        imagenet = row.startswith("cnn-imagenet")
        X_tr, X_te, X_ro = (
            imagenet_sets
            if imagenet
            else swap_sets
            if row in SWAP_FACE_ROWS
            else own_sets
        )
        X_all = list(X_tr) + list(X_te)
        reals = [x for x, lab in zip(X_tr, y_tr) if lab == 0] + list(X_ro)
        cv = lofo_s = fp = "-"
        if row == "prior":
            model = "prior"
        elif row in ("default", "swap", "swap-no-noise", "swap-pooled"):
            # The features learn nothing: compute them once, fit the rest.
            head = _head(row)
            feats = head.named_steps["features"].fit(list(X_tr))
            X_tr, X_te, X_ro = (feats.transform(list(s)) for s in (X_tr, X_te, X_ro))
            X_all = list(X_tr) + list(X_te)
            model = head[1:]
        elif row == "swap-self-blended-only":
            model = None
        else:
            model = _cnn(
                args,
                self_blend=row not in ("cnn", "cnn-imagenet"),
                imagenet=imagenet,
            )
        if row == "swap-self-blended-only":
            # offline pseudo-fakes: one self-blended copy of each real video
            Xb, yb, gb = _blend_reals(reals, 0)
            p = _fit_predict(_head("swap"), Xb, yb, gb, X_te)
        elif row.startswith("cnn") and row.endswith("self-blended-only"):
            # on-the-fly pseudo-fakes: the CNN sees real videos only
            zeros = np.zeros(len(reals), dtype=int)
            p = _fit_predict(model, reals, zeros, np.arange(len(reals)), X_te)
        else:
            if args.cv_cnn or not row.startswith("cnn"):
                oof = _oof(model, X_tr, y_tr, g_tr, cv_folds)
                ll, auc, _ = _scores(y_tr, oof)
                cv = f"{ll:.3f} | {auc:.2f}"
            if args.lofo_cnn or not row.startswith("cnn"):
                res = [
                    _scores(y_all, _oof(model, X_all, y_all, g_all, f)) for f in lofo
                ]
                ll, auc = np.mean([r[0] for r in res]), np.mean([r[1] for r in res])
                sd = np.std([r[1] for r in res])
                lofo_s = f"{ll:.3f} | {auc:.3f} ± {sd:.3f}"
            p_both = _fit_predict(model, X_tr, y_tr, g_tr, X_te + list(X_ro))
            p, p_ro = p_both[: len(X_te)], p_both[len(X_te) :]
            fp = f"{np.mean(p_ro > 0.5):.2f}"
        ll, auc, acc = _scores(y_te, p)
        cv = cv if cv != "-" else "- | -"
        lofo_s = lofo_s if lofo_s != "-" else "- | -"
        print(
            f"| {row} | {cv} | {lofo_s} | {ll:.3f} | {auc:.2f} | {acc:.2f} | {fp} "
            f"| {time.perf_counter() - t0:.0f} s |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
