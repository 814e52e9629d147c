"""Which recipe detects manipulation methods it was not trained on?

Leave one manipulation family out of {``dfl-pairs`` (DeepFaceLive swaps),
FF++ ``Deepfakes``, ``Face2Face``, ``FaceSwap``}: the held-out family's
fakes and the real videos of the groups they belong to are the test set;
training is every other group's videos less that family's fakes. Groups are
the swap face (dfl-pairs) and the identity components of
:func:`~sklearn_deepfake.datasets.load_faceforensics` (whole components on
one side). The 21 clips of ``real-only/`` are never trained on: every recipe
is also fitted on all four families and scored on them (false positives).

Each recipe is one small function of a video's cached per-frame features
(``_cross_method_data.py``: ``FrameSampler`` pairs of consecutive frames ->
``FaceCropper(size=128)`` -> context, swap-preset and dlib face-recognition
features, and the same for one self-blended copy of each real video), so a
new row is a new entry in :data:`RECIPES`. Heads are standardised logistic
regressions; where ``C`` is ``"tuned"`` it is chosen inside each training
fold by an inner leave-one-family-out over the training families (grouped
5-fold when only one family is left), minimising log loss, from
:data:`C_GRID` (strong regularisation included, so a head can fall back to
the prior). Probabilities are clipped to [0.01, 0.99].

Reported per recipe: AUC and log loss per held-out family and over all
folds' test predictions pooled (a FF++ real video joins every fold whose
family its group contains), with 95% bootstrap intervals over groups
(1000 draws), and on ``real-only/`` the mean P(FAKE), the share above 0.5
and the log loss (bootstrap over clips).

    python benchmarks/bench_cross_method.py [--n-frames 8]

Needs ../shared/data. Writes benchmarks/results/bench_cross_method.json/.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import _cross_method_data as data  # noqa: E402
from _results import write_results  # noqa: E402

C_GRID = (3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3)
EPS = 0.01
# column blocks of FaceRecognitionEmbeddings(parts=("face", "inner", "outer"))
FACE = slice(0, 128)


def pool(frames: np.ndarray, stats: tuple[str, ...]) -> np.ndarray:
    """Pool a video's per-frame rows; NaN for a video without faces."""
    d = frames.shape[1]
    if len(frames) == 0:
        return np.full(d * len(stats), np.nan)
    fn = {"mean": np.mean, "std": np.std, "max": np.max}
    return np.concatenate([fn[s](frames, axis=0) for s in stats])


def id_frames(f: np.ndarray) -> np.ndarray:
    """Identity cues per frame: drifts, part distances, cosine to the mean."""
    from sklearn_deepfake.features._face_recognition import identity_cues

    return identity_cues(f)


@dataclass(frozen=True)
class Recipe:
    """One row: features of a video, its head and its training data."""

    name: str
    vector: Callable[[dict, str], np.ndarray] | None  # (feats, prefix) -> row
    C: float | str = "tuned"
    train: str = "labels"  # "labels", "sbi" (reals + self-blends), "labels+sbi"
    framewise: bool = False
    describe: str = ""


def _ctx(v, p):
    return pool(v[p + "context"], ("mean",))


def _facerec(v, p):
    return pool(v[p + "facerec"][:, FACE], ("mean", "std"))


def _facerec_parts(v, p):
    return pool(v[p + "facerec"], ("mean", "std"))


def _identity(v, p):
    return pool(id_frames(v[p + "facerec"]), ("mean", "std"))


def _swap_frames(v, p):
    return v[p + "swap"]


def _facerec_identity(v, p):
    f = v[p + "facerec"]
    return pool(np.concatenate([f[:, FACE], id_frames(f)], axis=1), ("mean", "std"))


def _context_identity(v, p):
    f = np.concatenate([v[p + "context"], id_frames(v[p + "facerec"])], axis=1)
    return pool(f, ("mean", "std"))


RECIPES = [
    Recipe("prior", None, describe="training fake rate, whatever the video"),
    Recipe(
        "default",
        _ctx,
        C=0.1,
        describe="default preset: context features, mean pooling, LR C=0.1",
    ),
    Recipe(
        "swap",
        _swap_frames,
        C=0.3,
        framewise=True,
        describe="swap preset's features (context+mtcnn+shape+noise) on the "
        "same frames, frame-level LR C=0.3, temperature 1.5",
    ),
    Recipe("facerec", _facerec, describe="dlib descriptor, mean+std, LR"),
    Recipe(
        "facerec-parts",
        _facerec_parts,
        describe="dlib descriptors of face, inner and outer chips + identity "
        "columns, mean+std, LR",
    ),
    Recipe(
        "identity",
        _identity,
        describe="identity cues only: drift of each part's descriptor, "
        "distances between parts, cosine to the video mean; mean+std, LR",
    ),
    Recipe("context-tuned", _ctx, describe="context features, mean pooling, LR tuned"),
    Recipe(
        "sbi-context",
        _ctx,
        train="sbi",
        describe="context features, trained on reals + self-blended copies",
    ),
    Recipe(
        "sbi-facerec",
        _facerec,
        train="sbi",
        describe="dlib descriptor, trained on reals + self-blended copies",
    ),
    Recipe(
        "sbi-identity",
        _identity,
        train="sbi",
        describe="identity cues, trained on reals + self-blended copies",
    ),
    Recipe(
        "identity+sbi",
        _identity,
        train="labels+sbi",
        describe="identity cues, trained on labelled videos + self-blends",
    ),
    Recipe(
        "facerec+identity",
        _facerec_identity,
        describe="facerec and identity columns per frame, mean+std, LR",
    ),
    Recipe(
        "context+identity",
        _context_identity,
        describe="context and identity columns per frame, mean+std, LR",
    ),
]


# ---------------------------------------------------------------- heads
def _lr(C):
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(
        SimpleImputer(keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(C=C, max_iter=3000),
    )


def _framewise(C):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sklearn_deepfake.classifiers import FramewiseClassifier

    return FramewiseClassifier(
        make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=3000)),
        temperature=1.5,
        eps=EPS,
    )


def _take(a, i):
    return [a[j] for j in i] if isinstance(a, list) else a[i]


class Data:
    """Per-video feature rows of one recipe, real and self-blended."""

    def __init__(self, recipe: Recipe, feats: list[dict]):
        self.recipe = recipe
        if recipe.vector is None:
            self.x = np.zeros((len(feats), 1))
            self.sbi = np.zeros((len(feats), 1))
        elif recipe.framewise:
            self.x = [recipe.vector(v, "") for v in feats]
            self.sbi = [recipe.vector(v, "") for v in feats]  # unused
        else:
            self.x = np.stack([recipe.vector(v, "") for v in feats])
            self.sbi = np.stack(
                [
                    recipe.vector(v, "sbi_") if "sbi_facerec" in v else self.x[i] * 0
                    for i, v in enumerate(feats)
                ]
            )

    def training(self, idx, y):
        """Rows, labels and group positions the recipe trains on."""
        idx = np.asarray(idx)
        mode = self.recipe.train
        real = idx[y[idx] == 0]
        take = _take
        if mode == "labels":
            return take(self.x, idx), y[idx], idx
        parts_x = [take(self.x, real if mode == "sbi" else idx), take(self.sbi, real)]
        parts_y = [np.zeros(len(real), int) if mode == "sbi" else y[idx]]
        parts_y.append(np.ones(len(real), int))
        src = np.concatenate([real if mode == "sbi" else idx, real])
        return np.concatenate(parts_x), np.concatenate(parts_y), src

    def rows(self, idx):
        if isinstance(self.x, list):
            return [self.x[j] for j in idx]
        return self.x[np.asarray(idx)]


def _fit_predict(d: Data, C, train_idx, test_idx, y):
    r = d.recipe
    xtr, ytr, _ = d.training(train_idx, y)
    if r.vector is None:
        return np.full(len(test_idx), np.clip(ytr.mean(), EPS, 1 - EPS))
    model = _framewise(C) if r.framewise else _lr(C)
    model.fit(xtr, ytr)
    return np.clip(model.predict_proba(d.rows(test_idx))[:, 1], EPS, 1 - EPS)


def lofo_folds(idx, y, family, groups):
    """Leave-one-family-out (test, train) positions within ``idx``."""
    idx = np.asarray(idx)
    out = []
    for fam in _families_present(idx, family, y):
        fam_fake = idx[(family[idx] == fam) & (y[idx] == 1)]
        tg = np.unique(groups[fam_fake])
        in_tg = np.isin(groups[idx], tg)
        test = idx[in_tg & ((y[idx] == 0) | (family[idx] == fam))]
        train = idx[~in_tg & ~((family[idx] == fam) & (y[idx] == 1))]
        if len(np.unique(y[train])) == 2 and len(np.unique(y[test])) == 2:
            out.append((fam, train, test))
    return out


def _families_present(idx, family, y):
    return [f for f in data.FAMILIES if ((family[idx] == f) & (y[idx] == 1)).any()]


def choose_C(d: Data, train_idx, y, family, groups):
    """C with the lowest inner leave-one-family-out log loss (inside training)."""
    from sklearn.model_selection import GroupKFold

    r = d.recipe
    if r.vector is None:
        return None  # the prior has no C
    if r.C != "tuned":
        return r.C
    folds = lofo_folds(train_idx, y, family, groups)
    if len(folds) < 2:
        gkf = GroupKFold(n_splits=5)
        t = np.asarray(train_idx)
        folds = [("gkf", t[a], t[b]) for a, b in gkf.split(t, y[t], groups[t])]
    best, best_ll = None, np.inf
    for C in C_GRID:
        ys, ps = [], []
        for _, tr, te in folds:
            _, ytr, _ = d.training(tr, y)
            if len(np.unique(ytr)) < 2:
                continue
            ps.append(_fit_predict(d, C, tr, te, y))
            ys.append(y[te])
        ll = _log_loss(np.concatenate(ys), np.concatenate(ps))
        if ll < best_ll - 1e-6:
            best, best_ll = C, ll
    return best


def _auc(yt, p) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) formula, ties averaged."""
    from scipy.stats import rankdata

    r = rankdata(p)
    n1 = yt.sum()
    n0 = len(yt) - n1
    return float((r[yt == 1].sum() - n1 * (n1 + 1) / 2) / (n0 * n1))


def _log_loss(yt, p) -> float:
    return float(-np.mean(np.where(yt == 1, np.log(p), np.log(1 - p))))


def bootstrap(yt, p, g, rng, n=1000):
    """Percentile 95% intervals of AUC and log loss over groups."""
    uniq = np.unique(g)
    where = {k: np.flatnonzero(g == k) for k in uniq}
    aucs, lls = [], []
    for _ in range(n):
        take = np.concatenate([where[k] for k in rng.choice(uniq, len(uniq))])
        lls.append(_log_loss(yt[take], p[take]))
        if 0 < yt[take].sum() < len(take):
            aucs.append(_auc(yt[take], p[take]))

    def ci(a):
        return (
            [float(np.percentile(a, 2.5)), float(np.percentile(a, 97.5))] if a else None
        )

    return ci(aucs), ci(lls)


def score(yt, p, g, rng) -> dict:
    auc_ci, ll_ci = bootstrap(yt, p, g, rng)
    return {
        "n": len(yt),
        "n_fake": int(yt.sum()),
        "n_groups": len(np.unique(g)),
        "auc": _auc(yt, p) if len(np.unique(yt)) == 2 else None,
        "auc_ci95": auc_ci,
        "log_loss": _log_loss(yt, p),
        "log_loss_ci95": ll_ci,
    }


def evaluate(recipe, feats, y, family, groups, labelled, real_only, rng) -> dict:
    d = Data(recipe, feats)
    per, pooled = {}, ([], [], [])
    for fam, train, test in lofo_folds(labelled, y, family, groups):
        C = choose_C(d, train, y, family, groups)
        p = _fit_predict(d, C, train, test, y)
        per[fam] = {**score(y[test], p, groups[test], rng), "C": C}
        for acc, a in zip(pooled, (y[test], p, groups[test])):
            acc.append(a)
    yt, p, g = (np.concatenate(a) for a in pooled)
    per["all (pooled folds)"] = score(yt, p, g, rng)
    C = choose_C(d, labelled, y, family, groups)
    p_ro = _fit_predict(d, C, labelled, real_only, y)
    _, ll_ci = bootstrap(y[real_only], p_ro, groups[real_only], rng)
    per["real-only (trained on all 4)"] = {
        "n": len(real_only),
        "C": C,
        "mean_p_fake": float(p_ro.mean()),
        "share_above_0.5": float((p_ro > 0.5).mean()),
        "log_loss": float(-np.log(1 - p_ro).mean()),
        "log_loss_ci95": ll_ci,
    }
    return per


def table(results: dict, recipes) -> str:
    desc = {r.name: r.describe for r in recipes}
    lines = [
        "| recipe | held out | n (fake) / groups | AUC [95% CI] "
        "| log loss [95% CI] | C |",
        "|---|---|---|---|---|---|",
    ]

    def fmt(v, ci, k):
        if v is None:
            return "n/a"
        return f"{v:.{k}f} [{ci[0]:.{k}f}, {ci[1]:.{k}f}]" if ci else f"{v:.{k}f}"

    for name, per in results.items():
        for fam, r in per.items():
            if fam.startswith("real-only"):
                continue
            lines.append(
                f"| {name} | {fam} | {r['n']} ({r['n_fake']}) / {r['n_groups']} | "
                f"{fmt(r['auc'], r['auc_ci95'], 2)} | "
                f"{fmt(r['log_loss'], r['log_loss_ci95'], 3)} | {r.get('C') or ''} |"
            )
    lines += [
        "",
        "False positives on real-only/ (21 clips), every recipe trained on all "
        "four families:",
        "",
        "| recipe | mean P(FAKE) | share > 0.5 | log loss [95% CI] |",
        "|---|---|---|---|",
    ]
    for name, per in results.items():
        r = per["real-only (trained on all 4)"]
        lines.append(
            f"| {name} | {r['mean_p_fake']:.3f} | {r['share_above_0.5']:.2f} | "
            f"{fmt(r['log_loss'], r['log_loss_ci95'], 3)} |"
        )
    lines += ["", "Recipes:", ""]
    lines += [f"- `{k}`: {v}" for k, v in desc.items()]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-frames", type=int, default=8)
    ap.add_argument("--recipes", nargs="*", default=None)
    args = ap.parse_args()

    t0 = time.time()
    rows = data.dataset()
    feats = data.features(rows, args.n_frames)
    t_feat = time.time() - t0
    y = np.array([r[1] for r in rows])
    family = np.array([r[2] for r in rows])
    groups = np.array([r[3] for r in rows])
    labelled = np.flatnonzero(family != "real-only")
    real_only = np.flatnonzero(family == "real-only")
    recipes = [r for r in RECIPES if args.recipes is None or r.name in args.recipes]
    rng = np.random.default_rng(0)
    results = {}
    for r in recipes:
        t = time.time()
        results[r.name] = evaluate(
            r, feats, y, family, groups, labelled, real_only, rng
        )
        pooled = results[r.name]["all (pooled folds)"]
        print(
            f"{r.name:18s} pooled log loss {pooled['log_loss']:.3f} "
            f"AUC {pooled['auc']:.3f} ({time.time() - t:.0f} s)",
            flush=True,
        )
    ranking = sorted(
        results,
        key=lambda k: (
            results[k]["all (pooled folds)"]["log_loss"],
            -(results[k]["all (pooled folds)"]["auc"] or 0),
        ),
    )
    md = table(results, recipes)
    md += "\n\nRanking by pooled log loss, then AUC: " + ", ".join(ranking) + "\n"
    print(md)
    write_results(
        "bench_cross_method",
        inputs={
            "videos": {data.key(r[0]): [r[1], r[2], r[3]] for r in rows},
            "families": data.FAMILIES,
            "frames": data.sampler_params(args.n_frames),
            "crop": "FaceCropper(size=128, margin=0.3, device='cpu')",
            "C_grid": C_GRID,
            "tuning": "C by inner leave-one-family-out log loss inside each "
            "training fold (GroupKFold(5) when one family is left)",
            "clip": [EPS, 1 - EPS],
            "bootstrap": "1000 draws of groups with replacement, percentile 2.5/97.5",
            "recipes": {r.name: r.describe for r in recipes},
        },
        outputs={
            "results": results,
            "ranking": ranking,
            "seconds_features_uncached": round(t_feat, 1),
            "seconds_total": round(time.time() - t0, 1),
        },
        markdown=md,
    )


if __name__ == "__main__":
    main()
