"""Detection quality on real face swaps: one table of log loss, AUC, accuracy.

Uses ``../shared/data`` (never shipped with the project):

- ``dfl-pairs/``: 40 real / face-swapped pairs in the DFDC layout, 28 in
  ``train_sample_videos`` and 12 in ``test_videos``; the two folders share no
  swapped-in face. ``clips.csv`` gives each clip's ``swap_face``.
- ``real-only/``: 21 real clips (no fakes at all).

Every row reports (each figure with a 95% percentile interval from 2000
bootstrap resamples of whole groups, and the number of groups it rests on):

- **CV**: grouped cross-validation on the train folder (``GroupKFold(4)``,
  one group per swapped-in face, so no face is on both sides); groups: the
  train folder's swap faces;
- **LOFO**: leave-faces-out cross-validation over all 80 ``dfl-pairs`` clips
  (6 folds of whole swap faces, repeated over 5 shuffles of the faces), the
  steadiest estimate of how a recipe does on swap faces it never saw; the
  point is the mean over the shuffles and each resample of swap faces scores
  every shuffle; groups: all 17 swap faces;
- **nested LOFO** (``default`` and ``swap`` rows, ``--nested``): the same
  outer folds, but the row's C (and, for ``swap``, the temperature) is
  chosen inside each outer training fold by a grouped ``GroupKFold(4)`` on
  its swap faces (lowest clipped log loss over the grid), then refitted on
  that training fold: the estimate of the recipe *with its choice*;
- **test**: fit on the train folder, score the test folder once; groups: the
  test folder's swap faces (none of them in the train folder);
- **nested test** (``--nested``): the choice made by grouped CV on the train
  folder only, refitted there, then the test folder scored once;
- **real-only FP**: the share of the 21 ``real-only`` clips (never seen in
  training by these rows) that the test-folder model calls fake (p > 0.5);
  groups: the clips.

The presets' own values (``C``, ``temperature``, features, head) were picked
by looking at LOFO on all 80 clips, test folder included, so their LOFO and
test figures carry that selection; the nested rows do not.

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
        [--n-frames 16] [--cnn-epochs 12] [--backbone resnet18] [--nested]
        [--results NAME]

Writes ``benchmarks/results/NAME.json`` and ``NAME.md`` (``bench_quality`` by
default) through ``benchmarks/_results.py``. The figures quoted in the README
come from ``--rows prior default swap --n-frames 32 --nested
--nested-repeats 1`` (32 frames: the ``default`` preset's own; the ``swap``
rows always read the ``swap`` preset's 64 pairs of frames; one shuffle of
the nested LOFO, to keep its 102 fits of the ``swap`` head affordable on
shared CPUs, reported beside the plain LOFO on that same shuffle).

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
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline

from sklearn_deepfake import load_dfdc, make_default_pipeline

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _intervals import N_BOOT, bootstrap_ci, fmt
from _results import write_results

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data")
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

#: What the nested rows choose inside each training fold: the logistic
#: regression's C (parameter name, values) and, for ``swap``, the
#: FramewiseClassifier's temperature (applied at prediction: no refit).
NESTED_GRID: dict[str, dict[str, tuple]] = {
    "default": {"C": ("classifier__estimator__C", (0.01, 0.03, 0.1, 0.3, 1.0))},
    "swap": {
        "C": (
            "classifier__estimator__logisticregression__C",
            (0.03, 0.1, 0.3, 1.0),
        ),
        "temperature": ("classifier__temperature", (1.0, 1.5, 2.0, 3.0)),
    },
}


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


def _figures(y: np.ndarray, p: np.ndarray, g: np.ndarray, accuracy: bool = False):
    """Log loss and AUC (and accuracy) with grouped bootstrap intervals."""
    out = {m: bootstrap_ci(y, p, g, m) for m in ("log_loss", "roc_auc")}
    if accuracy:
        out["accuracy"] = bootstrap_ci(y, p, g, "accuracy")
    return out


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


def _clipped_log_loss(y: np.ndarray, p: np.ndarray) -> float:
    return log_loss(y, np.clip(p, EPS, 1 - EPS), labels=[0, 1])


def _refit_params(grid: dict[str, tuple]) -> list[dict]:
    """Every combination of the grid's refitted parameters (all but temperature)."""
    combos: list[dict] = [{}]
    for key, (name, values) in grid.items():
        if key != "temperature":
            combos = [{**c, name: v} for c in combos for v in values]
    return combos


def _predict_each(est, X_new, grid) -> dict:
    """P(fake) of X_new at each temperature of the grid (None: the model's own)."""
    if "temperature" not in grid:
        return {None: est.predict_proba(X_new)[:, 1]}
    name, values = grid["temperature"]
    out = {}
    for t in values:
        est.set_params(**{name: t})  # read at prediction time: no refit
        out[t] = est.predict_proba(X_new)[:, 1]
    return out


def choose(model, grid, X, y, g, n_inner: int = 4) -> tuple[dict, dict]:
    """Choose the grid point with the lowest grouped-CV log loss on (X, y, g).

    Returns the chosen parameters and the inner log loss of every point.
    """
    folds = list(GroupKFold(min(n_inner, len(np.unique(g)))).split(g, y, g))
    losses = {}
    for params in _refit_params(grid):
        oof: dict = {}
        for a, b in folds:
            est = clone(model).set_params(**params)
            est.fit([X[i] for i in a], y[a])
            for t, p in _predict_each(est, [X[i] for i in b], grid).items():
                oof.setdefault(t, np.zeros(len(y)))[b] = p
        for t, p in oof.items():
            point = dict(params)
            if t is not None:
                point[grid["temperature"][0]] = t
            losses[tuple(sorted(point.items()))] = _clipped_log_loss(y, p)
    best = min(losses, key=losses.get)
    return dict(best), {str(dict(k)): v for k, v in losses.items()}


def _fit_chosen(model, params: dict, X, y):
    return clone(model).set_params(**params).fit(list(X), y)


def _nested_oof(model, grid, X, y, g, folds) -> tuple[np.ndarray, list[dict]]:
    """Out-of-fold P(fake) with the choice made inside each training fold."""
    p = np.zeros(len(y))
    chosen = []
    for a, b in folds:
        Xa = [X[i] for i in a]
        params, _ = choose(model, grid, Xa, y[a], g[a])
        chosen.append(params)
        p[b] = _fit_chosen(model, params, Xa, y[a]).predict_proba([X[i] for i in b])[
            :, 1
        ]
    return p, chosen


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


def _markdown(results: dict, header: str) -> str:
    lines = [
        header,
        "",
        "95% percentile intervals from 2000 bootstrap resamples of whole "
        "groups; `groups` is how many groups (swap faces, or clips for "
        "real-only) each figure rests on.",
        "",
        "| recipe | figure | log loss [95% CI] | AUC [95% CI] | accuracy "
        "| groups | clips | choice |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row, res in results.items():
        for name, fig in res["figures"].items():
            if name.endswith("real-only FP"):
                lines.append(
                    f"| {row} | {name} | - | - | FP rate "
                    f"{fmt(fig['positive_rate'], 2)} "
                    f"| {fig['positive_rate']['n_groups']} "
                    f"| {fig['positive_rate']['n_samples']} | |"
                )
                continue
            ll = fig["log_loss"]
            lines.append(
                f"| {row} | {name} | {fmt(ll)} | {fmt(fig['roc_auc'], 2)} "
                f"| {fmt(fig.get('accuracy'), 2)} | {ll['n_groups']} "
                f"| {ll['n_samples']} | {fig.get('choice', '')} |"
            )
    return "\n".join(lines)


def _choice_summary(chosen: list[dict]) -> str:
    counts = Counter(
        ", ".join(f"{k.split('__')[-1]}={v}" for k, v in sorted(c.items()))
        for c in chosen
    )
    return "; ".join(f"{k} ({n}x)" for k, n in counts.most_common())


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
        "--nested",
        action="store_true",
        help="also the nested rows of default and swap: the choice of C (and "
        "temperature) made inside each outer training fold",
    )
    parser.add_argument(
        "--nested-repeats",
        type=int,
        default=None,
        help="shuffles of the nested LOFO (default: --lofo-repeats)",
    )
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
    parser.add_argument(
        "--results",
        default="bench_quality",
        help="name of the results files written to benchmarks/results/",
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
    face_seconds: dict[str, float] = {}

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
        seconds = time.perf_counter() - t0
        face_seconds[f"{faces[0]!r} -> FaceCropper({size})"] = round(seconds, 1)
        print(
            f"faces: {sum(map(len, sets))} videos in "
            f"{seconds:.0f} s ({faces[0]!r} -> "
            f"FaceCropper({size}); cached runs only read the cache)",
            flush=True,
        )
        return sets

    own_sets = swap_sets = imagenet_sets = None
    if any(
        row != "prior" and row not in SWAP_FACE_ROWS and not row.startswith("cnn-im")
        for row in args.rows
    ):
        own_sets = face_sets(args.n_frames, 128)
    if any(row in SWAP_FACE_ROWS for row in args.rows):
        swap_sets = face_sets(None, 128, preset="swap")
    if any(row.startswith("cnn-imagenet") for row in args.rows):
        imagenet_sets = face_sets(*args.imagenet_faces)
    y_tr, y_te = np.asarray(train.target), np.asarray(test.target)
    g_tr = np.array([swap_face[n] for n in train.filenames])
    g_te = np.array([swap_face[n] for n in test.filenames])
    g_ro = np.array(real_only)  # each real-only clip is its own group
    y_all = np.r_[y_tr, y_te]
    g_all = np.r_[g_tr, g_te]
    cv_folds = list(GroupKFold(4).split(g_tr, y_tr, g_tr))
    lofo = lofo_folds(g_all, args.lofo_repeats)
    nested_lofo = lofo[: args.nested_repeats or args.lofo_repeats]

    def fp_rate(p_ro: np.ndarray) -> dict:
        return {
            "positive_rate": bootstrap_ci(
                np.zeros(len(p_ro)), p_ro, g_ro, "positive_rate"
            )
        }

    results: dict[str, dict] = {}

    def save() -> Path:
        """Write the rows done so far (a partial file says which are missing)."""
        header = (
            f"# bench_quality: dfl-pairs ({len(y_tr)} train, {len(y_te)} test "
            f"clips, {len(np.unique(g_all))} swap faces) and real-only "
            f"({len(real_only)} clips)"
        )
        missing = [r for r in args.rows if r not in results]
        if missing:
            header += f"\n\nPartial run: rows {missing} not measured yet."
        table = _markdown(results, header)
        path = write_results(
            args.results,
            inputs={
                "data": str(root),
                "rows": args.rows,
                "rows_missing": missing,
                "n_frames": args.n_frames,
                "swap_rows_frames": "the swap preset's own (64 pairs)",
                "train_clips": len(y_tr),
                "test_clips": len(y_te),
                "real_only_clips": len(real_only),
                "swap_faces": {
                    "train": len(np.unique(g_tr)),
                    "test": len(np.unique(g_te)),
                    "all": len(np.unique(g_all)),
                },
                "cv": "GroupKFold(4) by swap face on the train folder",
                "lofo": f"GroupKFold(6) by swap face over all clips, "
                f"{args.lofo_repeats} shuffles (seeds 0..{args.lofo_repeats - 1})",
                "nested": args.nested,
                "nested_lofo_shuffles": len(nested_lofo),
                "nested_inner_cv": "GroupKFold(4) by swap face inside each training "
                "fold, lowest log loss (P clipped to [1e-3, 1 - 1e-3])",
                "bootstrap": f"{N_BOOT} resamples of whole groups, seed 0, "
                "percentiles 2.5 / 97.5",
                "cnn": {
                    "backbone": args.backbone,
                    "input_size": args.input_size,
                    "epochs": args.cnn_epochs,
                },
            },
            outputs={"faces_seconds": face_seconds, "rows": results},
            markdown=table,
        )
        return path

    for row in args.rows:
        t0 = time.perf_counter()
        figures: dict[str, dict] = {}
        extra: dict = {}
        imagenet = row.startswith("cnn-imagenet")
        if row == "prior":
            X_tr, X_te, X_ro = list(y_tr), list(y_te), real_only
        else:
            X_tr, X_te, X_ro = (
                imagenet_sets
                if imagenet
                else swap_sets
                if row in SWAP_FACE_ROWS
                else own_sets
            )
        X_all = list(X_tr) + list(X_te)
        reals = [x for x, lab in zip(X_tr, y_tr) if lab == 0] + list(X_ro)
        if row == "prior":
            model = "prior"
        elif row in ("default", "swap", "swap-no-noise", "swap-pooled"):
            # The features learn nothing: compute them once, fit the rest.
            head = _head(row)
            # Every step up to the features (the swap preset's landmarks too).
            cut = list(head.named_steps).index("features") + 1
            feats = head[:cut].fit(list(X_tr))
            t_feat = time.perf_counter()
            X_tr, X_te, X_ro = (feats.transform(list(s)) for s in (X_tr, X_te, X_ro))
            X_all = list(X_tr) + list(X_te)
            extra["features_seconds"] = round(time.perf_counter() - t_feat, 1)
            print(f"{row}: features in {extra['features_seconds']:.0f} s", flush=True)
            model = head[cut:]
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
                figures["CV (train folder)"] = _figures(y_tr, oof, g_tr)
            if args.lofo_cnn or not row.startswith("cnn"):
                P = np.vstack([_oof(model, X_all, y_all, g_all, f) for f in lofo])
                figures["LOFO"] = _figures(y_all, P, g_all)
                figures["LOFO"]["auc_sd_over_shuffles"] = float(
                    np.std([roc_auc_score(y_all, q) for q in P])
                )
                if args.nested and row in NESTED_GRID and len(nested_lofo) < len(P):
                    # the plain LOFO on the nested row's shuffles, to compare
                    name = f"LOFO (first {len(nested_lofo)} shuffles)"
                    figures[name] = _figures(y_all, P[: len(nested_lofo)], g_all)
            if args.nested and row in NESTED_GRID:
                grid = NESTED_GRID[row]
                t_n = time.perf_counter()
                P, chosen = [], []
                for folds in nested_lofo:
                    q, c = _nested_oof(model, grid, X_all, y_all, g_all, folds)
                    P.append(q)
                    chosen += c
                figures["nested LOFO"] = _figures(y_all, np.vstack(P), g_all)
                figures["nested LOFO"]["choice"] = _choice_summary(chosen)
                extra["nested_lofo_seconds"] = round(time.perf_counter() - t_n, 1)
                extra["nested_grid"] = {k: list(v[1]) for k, v in grid.items()}
                extra["nested_lofo_shuffles"] = len(nested_lofo)
                print(f"{row}: nested LOFO {figures['nested LOFO']}", flush=True)
            p_both = _fit_predict(model, X_tr, y_tr, g_tr, X_te + list(X_ro))
            p, p_ro = p_both[: len(X_te)], p_both[len(X_te) :]
        figures["test"] = _figures(y_te, p, g_te, accuracy=True)
        if row not in ("swap-self-blended-only",) and not (
            row.startswith("cnn") and row.endswith("self-blended-only")
        ):
            figures["real-only FP"] = fp_rate(p_ro)
        if args.nested and row in NESTED_GRID:
            grid = NESTED_GRID[row]
            params, inner = choose(model, grid, X_tr, y_tr, g_tr)
            est = _fit_chosen(model, params, X_tr, y_tr)
            p_both = est.predict_proba(X_te + list(X_ro))[:, 1]
            figures["nested test"] = _figures(
                y_te, p_both[: len(X_te)], g_te, accuracy=True
            )
            figures["nested test"]["choice"] = _choice_summary([params])
            figures["nested real-only FP"] = fp_rate(p_both[len(X_te) :])
            extra["nested_test_inner_log_loss"] = inner
        extra["seconds"] = round(time.perf_counter() - t0, 1)
        results[row] = {"figures": figures, **extra}
        for name, fig in figures.items():
            print(
                f"| {row} | {name} | "
                + " | ".join(
                    f"{m} {fmt(v)}" for m, v in fig.items() if isinstance(v, dict)
                )
                + " |",
                flush=True,
            )
        path = save()
    print(_markdown(results, ""))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
