"""Which recipe detects what it was not trained on: other methods, new people?

Two protocols, because the videos a shipped model meets are of both kinds.

*Other methods.* Leave one manipulation family out of {``dfl-pairs``
(DeepFaceLive swaps), FF++ ``Deepfakes``, ``Face2Face``, ``FaceSwap``}: the
held-out family's fakes and the real videos of the groups they belong to
are the test set; training is every other group's videos less that
family's fakes. Groups are the swap face (dfl-pairs) and the identity
components of :func:`~sklearn_deepfake.datasets.load_faceforensics` (whole
components on one side).

*New identities.* Stratified grouped 5-fold over every video (the 21 clips
of ``real-only/`` included, one group each): every family stays in
training, whole groups are held out; scored per family (its fakes and the
reals of their groups) and over all test predictions.

The clips of ``real-only/`` are never trained on in the first protocol:
every recipe is also fitted on all four families and scored on them (false
positives).

Each recipe is one small function of a video's cached per-frame features
(``_cross_method_data.py``: ``FrameSampler`` pairs of consecutive frames ->
``FaceCropper(size=128)`` -> context, swap-preset and dlib face-recognition
features, and the same for one self-blended copy of each real video), so a
new row is a new entry in :data:`RECIPES`. Heads are standardised logistic
regressions (per video, or per frame with the ``FramewiseClassifier`` of
the ``swap`` preset); where ``C`` (or a frame-level head's temperature) is
``"tuned"`` it is chosen inside each training fold, from :data:`C_GRID`
(strong regularisation included, so a head can fall back to the prior) or
:data:`T_GRID`, by the mean of two inner log losses: leave one
training family out, and grouped 5-fold (the second alone when only one
family is left). The ``*-temperature`` rows tune ``C`` together with a
temperature on the video-level logit (:data:`T_VIDEO_GRID`, 1.0 = as
fitted): a monotone softening that leaves the AUC as it is and can only
trade confidence for safety. The ``*-drop{k}`` rows project the
standardised rows off the first ``k`` principal directions of the training
real videos (:class:`DropRealDirections`) before the head. Probabilities
are clipped to [0.01, 0.99].

A *blend* row (``a+b``) averages the logits of rows ``a`` and ``b`` with
equal weights; each part chooses its own parameters inside every training
fold exactly as in its own row, and nothing else is tuned. The
``faceres-temperature+prior`` row is the control: a constant part halves
the other's logit, so a blend that beats it owes that to its second part,
not to the softening alone.
The ``-weighted`` row tunes the weight instead (:data:`W_GRID`, on the
first part): each part keeps the parameters it chose, and the weight with
the lowest inner log loss of the blend (same protocols) wins.

The ``ft-*`` rows fine-tune a network on the same 128-px face crops (read
from the face store) instead: a ``FaceCNNClassifier`` with the shipped
face-trained (``hse_faceres``, ``dlib_resnet``) or ImageNet
(``tf_efficientnet_lite0``) weights, trained on the real videos and
self-blended copies only (``-sbi``), on the labels (``-labels``) or on
both (``-labels+sbi``), with nothing tuned, for the budget of
:data:`NET_BUDGET` (``--net-epochs``, ``--net-frames-per-video``,
``--net-device``). They run only when named in ``--recipes``;
``--merge`` keeps the other rows of the results file, so that they can be
run on their own (on a GPU, with a larger budget); each such row records
the budget it was run with (``net_budget``). A machine without the videos
runs them from a pack of the face tracks (``--tracks-pack``, written by
``_cross_method_data.py --pack FILE``: about 21 MB at 8 frames, crops
lossless, the same rows and crops as here). ``--merge-from`` takes the
rows of other copies' results files, such as several rows run side by
side in copies of the repository.

Reported per recipe: AUC and log loss per held-out family and over all
folds' test predictions pooled (a FF++ real video joins every fold whose
family its group contains), the same per family for new identities, with
95% bootstrap intervals over groups (1000 draws), and on ``real-only/`` the
mean P(FAKE), the share above 0.5 and the log loss (bootstrap over clips).
Recipes are ranked by the mean of the two protocols' pooled log losses;
those within :data:`TIE` of the best (differences far inside the
intervals) are ordered by their mean AUC.

    python benchmarks/bench_cross_method.py [--n-frames 8]
    python benchmarks/bench_cross_method.py --recipes ft-hse-sbi \
        ft-hse-labels+sbi --net-epochs 4 --net-frames-per-video 4 --merge
    python benchmarks/_cross_method_data.py --n-frames 8 --pack tracks8.pkl
    python benchmarks/bench_cross_method.py --tracks-pack tracks8.pkl \
        --recipes ft-hse-labels+sbi --net-epochs 15 --net-frames-per-video 8 \
        --net-device cuda --net-num-workers 6 --merge
    python benchmarks/bench_cross_method.py --recipes --merge-from OTHER.json

Needs ../shared/data. Writes benchmarks/results/bench_cross_method.json/.md
(``bench_cross_method_{N}frames`` for another ``--n-frames``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import _cross_method_data as data  # noqa: E402
from _results import write_results  # noqa: E402

C_GRID = (3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3)
T_GRID = (1.5, 2.0, 3.0, 5.0, 8.0, 12.0, 20.0)
#: temperatures of a video-level head (1.0: as fitted)
T_VIDEO_GRID = (1.0, 1.5, 2.0, 3.0, 5.0, 8.0)
EPS = 0.01
#: Weights on a tuned two-part blend's first part (0.5 first: it wins ties).
W_GRID = (0.5, 0.2, 0.35, 0.65, 0.8)
# column blocks of FaceRecognitionEmbeddings(parts=("face", "inner", "outer"))
FACE = slice(0, 128)


def pool(frames: np.ndarray, stats: tuple[str, ...]) -> np.ndarray:
    """Pool a video's per-frame rows; NaN for a video without faces."""
    d = frames.shape[1]
    if len(frames) == 0:
        return np.full(d * len(stats), np.nan)
    fn = {"mean": np.mean, "std": np.std, "max": np.max, "min": np.min}
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
    #: of the frame-level head (``framewise``); "tuned" as for ``C``. A
    #: video-level head ignores it unless "tuned": then its logit is divided
    #: by a temperature from :data:`T_VIDEO_GRID`, chosen with ``C``
    temperature: float | str = 1.5
    train: str = "labels"  # "labels", "sbi" (reals + self-blends), "labels+sbi"
    framewise: bool = False
    #: a fine-tuned ``FaceCNNClassifier`` on the face crops (its keyword
    #: arguments; ``train="sbi"`` and ``"labels+sbi"`` self-blend inside
    #: the network) instead of a head on cached features
    net: dict | None = None
    #: names of other rows whose P(FAKE) this row averages on the logit
    #: scale, equal weights; each part chooses its own parameters inside
    #: every training fold as it does in its own row
    blend: tuple[str, ...] = ()
    #: tune a two-part blend's weight on its first part (the second gets
    #: the rest) from :data:`W_GRID`, by the inner log loss of the blend
    #: whose parts keep the parameters they chose; False: equal weights
    tune_weight: bool = False
    #: project the standardised rows off the first ``k`` principal
    #: directions of the training *real* videos' rows before the head
    #: (:class:`DropRealDirections`); 0: no projection
    drop_real_pcs: int = 0
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


def _swap_pooled(v, p):
    return pool(v[p + "swap"], ("mean", "std"))


def _swap_facerec(v, p):
    return np.concatenate([_swap_pooled(v, p), _facerec(v, p)])


#: columns of the ``imagenet`` set after its 1280-d embedding: the stage
#: statistics
IMAGENET_STAGE_COLUMNS = slice(1280, None)


def _imagenet(v, p):
    return pool(v[p + "imagenet"], ("mean", "std"))


def _imagenet_stages(v, p):
    return pool(v[p + "imagenet"][:, IMAGENET_STAGE_COLUMNS], ("mean", "std"))


def _faceres(v, p):
    return pool(v[p + "faceres"], ("mean", "std"))


def _faceres_frames(v, p):
    return v[p + "faceres"]


def faceres_drift_frames(f: np.ndarray) -> np.ndarray:
    """Identity drift of a track's FaceRes descriptors, ``(n, 2)`` per frame.

    Column 0: the cosine of each frame's descriptor to the video's mean
    descriptor. Column 1: its cosine to the next face's (pairs of frames
    are sampled, so that is the next frame of its pair or the first of the
    next pair); the last face gets the mean of the others, a lone face 1.
    """
    if len(f) == 0:
        return np.zeros((0, 2))
    f = f / np.linalg.norm(f, axis=1, keepdims=True)
    mean = f.mean(axis=0)
    to_mean = f @ (mean / np.linalg.norm(mean))
    if len(f) == 1:
        return np.array([[to_mean[0], 1.0]])
    to_next = np.sum(f[1:] * f[:-1], axis=1)
    return np.c_[to_mean, np.r_[to_next, to_next.mean()]]


def _faceres_drift(v, p):
    return pool(faceres_drift_frames(v[p + "faceres"]), ("mean", "std", "min"))


def _tracks(v, p):
    return v["tracks"]


def _context_identity(v, p):
    f = np.concatenate([v[p + "context"], id_frames(v[p + "facerec"])], axis=1)
    return pool(f, ("mean", "std"))


#: Fine-tuned rows: face-trained (HSE FaceRes, dlib's ResNet) and ImageNet
#: (EfficientNet-Lite0) backbones, shipped weights loaded offline.
NETS = {
    "hse": {"backbone": "hse_faceres", "pretrained": True},
    "dlib": {"backbone": "dlib_resnet", "pretrained": True},
    "imagenet": {"backbone": "tf_efficientnet_lite0", "pretrained": True},
}

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
    Recipe(
        "swap-temperature",
        _swap_frames,
        C=0.3,
        temperature="tuned",
        framewise=True,
        describe="swap preset's features and frame-level head (C=0.3), "
        "temperature tuned",
    ),
    Recipe(
        "swap-tuned",
        _swap_frames,
        framewise=True,
        describe="swap preset's features and frame-level head, C tuned",
    ),
    Recipe(
        "swap-pooled",
        _swap_pooled,
        describe="swap preset's features (context+mtcnn+shape+noise), mean+std, LR",
    ),
    Recipe(
        "swap-pooled+facerec",
        _swap_facerec,
        describe="swap preset's features and the dlib descriptor, mean+std, LR",
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
    *[
        Recipe(
            f"{pre}faceres-drift",
            _faceres_drift,
            train=train,
            describe="identity drift of the HSE FaceRes descriptors along the "
            "track (cosine to the mean and to the next face), mean+std+min, "
            f"LR, trained on {on}",
        )
        for pre, train, on in (
            ("", "labels", "the labels"),
            ("sbi-", "sbi", "reals + self-blended copies"),
        )
    ],
    *[
        Recipe(
            f"{pre}{name}",
            fn,
            train=train,
            describe=f"{what}, mean+std, LR, trained on {on}",
        )
        for name, fn, what in (
            (
                "imagenet",
                _imagenet,
                "EfficientNet-Lite0 (ImageNet, frozen): embedding + stages 1-4",
            ),
            (
                "stages",
                _imagenet_stages,
                "EfficientNet-Lite0 (ImageNet, frozen): stages 1-4 only",
            ),
            ("faceres", _faceres, "HSE FaceRes embedding (frozen, 224 px)"),
        )
        for pre, train, on in (
            ("", "labels", "the labels"),
            ("sbi-", "sbi", "reals + self-blended copies"),
            ("labels+sbi-", "labels+sbi", "the labels + self-blended copies"),
        )
    ],
    *[
        Recipe(
            f"{name}-temperature",
            fn,
            temperature="tuned",
            describe=f"{what}, mean+std, LR; C and a temperature on the "
            "video's logit tuned together",
        )
        for name, fn, what in (
            ("faceres", _faceres, "HSE FaceRes embedding (frozen, 224 px)"),
            ("facerec", _facerec, "dlib descriptor"),
        )
    ],
    *[
        Recipe(
            f"ft-{name}-{mode}",
            _tracks,
            train=mode,
            net=kw,
            describe=f"{kw['backbone']} fine-tuned on the 128-px crops, "
            + {
                "sbi": "real videos + self-blended copies only",
                "labels": "the labelled videos",
                "labels+sbi": "the labelled videos + self-blended copies",
            }[mode],
        )
        for name, kw in NETS.items()
        for mode in ("sbi", "labels", "labels+sbi")
    ],
    *[
        Recipe(
            f"faceres-temperature-drop{k}",
            _faceres,
            temperature="tuned",
            drop_real_pcs=k,
            describe=f"`faceres-temperature` with the rows projected off the "
            f"first {k} principal directions of the training real videos' "
            "standardised rows (identity, scene) before the head",
        )
        for k in (8, 32, 96)
    ],
    Recipe(
        "faceres-framewise",
        _faceres_frames,
        framewise=True,
        temperature="tuned",
        C=0.01,
        describe="HSE FaceRes embedding (frozen, 224 px), frame-level LR "
        "(C=0.01), temperature tuned",
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
    *[
        Recipe(
            "+".join(parts),
            None,
            blend=parts,
            describe="mean of the logits of "
            + " and ".join(f"`{p}`" for p in parts)
            + ", equal weights, each part tuned as in its own row",
        )
        for parts in (
            ("faceres-temperature", "sbi-identity"),
            ("faceres-temperature", "sbi-context"),
            # the control: a constant part halves the other's logit
            ("faceres-temperature", "prior"),
            ("faceres-temperature", "sbi-identity", "sbi-context"),
            # the swap preset's features: confident on DeepFaceLive's fakes
            ("faceres-temperature", "swap-temperature"),
            # identity drift instead of the dlib identity cues
            ("faceres-temperature", "sbi-faceres-drift"),
            # the FaceRes head on frames instead of the pooled video
            ("faceres-framewise", "sbi-identity"),
        )
    ],
    Recipe(
        "faceres-temperature+sbi-identity-weighted",
        None,
        blend=("faceres-temperature", "sbi-identity"),
        tune_weight=True,
        describe="weighted mean of the logits of `faceres-temperature` and "
        "`sbi-identity`, each part tuned as in its own row, then the weight "
        "chosen by the inner log loss",
    ),
    Recipe(
        "faceres-temperature+swap-temperature-weighted",
        None,
        blend=("faceres-temperature", "swap-temperature"),
        tune_weight=True,
        describe="weighted mean of the logits of `faceres-temperature` and "
        "`swap-temperature`, each part tuned as in its own row, then the "
        "weight chosen by the inner log loss",
    ),
]
RECIPE_BY_NAME = {r.name: r for r in RECIPES}


# ---------------------------------------------------------------- heads
class DropRealDirections(TransformerMixin, BaseEstimator):
    """Project rows off the main directions along which real videos differ.

    ``fit(X, y)`` takes the first ``n_components`` principal directions of
    the rows with ``y == 0`` (real videos: how one person, scene and camera
    differ from another); ``transform`` removes each row's component along
    them. An L2-penalised head on standardised features leans on
    high-variance directions, and in a face descriptor those are identity:
    without them it has to find the manipulation elsewhere.
    """

    def __init__(self, n_components: int = 8):
        self.n_components = n_components

    def fit(self, X, y):
        real = np.asarray(X, dtype=float)[np.asarray(y) == 0]
        real = real - real.mean(axis=0)
        k = min(self.n_components, max(len(real) - 1, 0))
        self.components_ = np.linalg.svd(real, full_matrices=False)[2][:k]
        return self

    def transform(self, X):
        X = np.asarray(X, dtype=float)
        return X - (X @ self.components_.T) @ self.components_


def _lr(C, drop_real_pcs: int = 0):
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    steps = [SimpleImputer(keep_empty_features=True), StandardScaler()]
    if drop_real_pcs:
        steps.append(DropRealDirections(drop_real_pcs))
    return make_pipeline(*steps, LogisticRegression(C=C, max_iter=3000))


def _framewise(C, temperature):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sklearn_deepfake.classifiers import FramewiseClassifier

    return FramewiseClassifier(
        make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=3000)),
        temperature=temperature,
        eps=EPS,
    )


#: Training budget of the fine-tuned rows (``--net-epochs`` etc.).
NET_BUDGET = {"max_epochs": 3, "frames_per_video": 4, "device": "cpu"}


def _net(r: Recipe):
    from sklearn_deepfake.nets import FaceCNNClassifier

    return FaceCNNClassifier(
        **r.net,
        **NET_BUDGET,
        input_size=128,
        self_blend=True if r.train != "labels" else None,
        valid_size=None,
        eps=EPS,
        random_state=0,
    )


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p) - np.log1p(-p)


def _sigmoid_clipped(z: np.ndarray) -> np.ndarray:
    return np.clip(1 / (1 + np.exp(-z)), EPS, 1 - EPS)


def soften(p: np.ndarray, temperature: float) -> np.ndarray:
    """``sigmoid(logit(p) / temperature)``, clipped to ``[EPS, 1 - EPS]``."""
    return _sigmoid_clipped(_logit(p) / temperature)


def blend(probas: list[np.ndarray], weights=None) -> np.ndarray:
    """``sigmoid`` of the (weighted) mean logit of several P(FAKE), clipped."""
    logits = [_logit(p) for p in probas]
    return _sigmoid_clipped(np.average(logits, axis=0, weights=weights))


@dataclass(frozen=True)
class BlendParams:
    """What a blend row chose: each part's parameters and the weights."""

    parts: tuple
    #: None for equal weights
    weights: tuple[float, ...] | None = None


def _take(a, i):
    return [a[j] for j in i] if isinstance(a, list) else a[i]


class Data:
    """Per-video feature rows of one recipe, real and self-blended."""

    def __init__(self, recipe: Recipe, feats: list[dict]):
        self.recipe = recipe
        #: the rows a blend averages
        self.parts = [Data(RECIPE_BY_NAME[n], feats) for n in recipe.blend]
        if recipe.vector is None:
            self.x = np.zeros((len(feats), 1))
            self.sbi = np.zeros((len(feats), 1))
        elif recipe.framewise or recipe.net is not None:
            self.x = [recipe.vector(v, "") for v in feats]
            self.sbi = None  # trained on labels, or the net self-blends
        else:
            self.x = np.stack([recipe.vector(v, "") for v in feats])
            self.sbi = (
                None
                if recipe.train == "labels"
                else np.stack(
                    [
                        recipe.vector(v, "sbi_")
                        if "sbi_facerec" in v
                        else self.x[i] * 0
                        for i, v in enumerate(feats)
                    ]
                )
            )

    def training(self, idx, y):
        """Rows, labels and group positions the recipe trains on."""
        idx = np.asarray(idx)
        mode = self.recipe.train
        real = idx[y[idx] == 0]
        take = _take
        if self.recipe.net is not None and mode == "sbi":  # the net self-blends
            return take(self.x, real), y[real], real
        if mode == "labels" or self.recipe.net is not None:
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


def _fit_predict(d: Data, params, train_idx, test_idx, y):
    """Fit the recipe's head with ``params`` (C, temperature); P(FAKE) of test."""
    r = d.recipe
    if r.blend:
        probas = [
            _fit_predict(*a, train_idx, test_idx, y) for a in zip(d.parts, params.parts)
        ]
        return blend(probas, params.weights)
    xtr, ytr, _ = d.training(train_idx, y)
    if r.vector is None:
        return np.full(len(test_idx), np.clip(ytr.mean(), EPS, 1 - EPS))
    if r.net is not None:
        model = _net(r)
    else:
        C, temperature = params
        model = _framewise(C, temperature) if r.framewise else _lr(C, r.drop_real_pcs)
    model.fit(xtr, ytr)
    p = np.clip(model.predict_proba(d.rows(test_idx))[:, 1], EPS, 1 - EPS)
    if r.net is None and not r.framewise and params[1] != 1.0:
        p = soften(p, params[1])  # a video-level head's temperature
    return p


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


def group_folds(idx, y, groups, n_splits: int = 5):
    """New-identity (name, train, test) positions within ``idx``.

    Stratified grouped K-fold: every family stays in training, whole groups
    (swap faces, FF++ identity components, real-only clips) are held out.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    idx = np.asarray(idx)
    cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=0)
    split = cv.split(idx, y[idx], groups[idx])
    return [(f"groups{k}", idx[a], idx[b]) for k, (a, b) in enumerate(split)]


def _inner_predictions(d: Data, params, folds, y) -> tuple[np.ndarray, np.ndarray]:
    """Labels and out-of-fold P(FAKE) of ``folds``, pooled."""
    ys, ps = [], []
    for _, tr, te in folds:
        _, ytr, _ = d.training(tr, y)
        if len(np.unique(ytr)) < 2:
            continue
        ps.append(_fit_predict(d, params, tr, te, y))
        ys.append(y[te])
    return np.concatenate(ys), np.concatenate(ps)


def _candidates(r: Recipe) -> list[tuple]:
    """The (C, temperature) pairs to choose from.

    A frame-level head tunes one of them; a video-level head tunes ``C``
    and, where ``temperature="tuned"``, its temperature with it (otherwise
    1.0: the head as fitted).
    """
    if not r.framewise:
        Ts = T_VIDEO_GRID if r.temperature == "tuned" else (1.0,)
        Cs = C_GRID if r.C == "tuned" else (r.C,)
        return [(C, T) for C in Cs for T in Ts]
    if r.C == "tuned":
        return [(C, r.temperature) for C in C_GRID]
    if r.temperature == "tuned":
        return [(r.C, T) for T in T_GRID]
    return [(r.C, r.temperature)]


def _inner_log_losses(d: Data, candidates, protocols, y) -> list[float]:
    """Mean inner log loss over ``protocols`` of each candidate.

    A video-level head's temperature acts on its probabilities alone, so
    the head is fitted once per ``C`` and each temperature applied to the
    same out-of-fold predictions.
    """
    r = d.recipe
    out = []
    cache: dict = {}
    for C, T in candidates:
        per = []
        for k, folds in enumerate(protocols):
            if r.framewise:
                per.append(_log_loss(*_inner_predictions(d, (C, T), folds, y)))
                continue
            if (C, k) not in cache:
                cache[C, k] = _inner_predictions(d, (C, 1.0), folds, y)
            yt, p = cache[C, k]
            per.append(_log_loss(yt, soften(p, T) if T != 1.0 else p))
        out.append(float(np.mean(per)))
    return out


def _protocols(train_idx, y, family, groups) -> list[list]:
    """Inner folds: grouped 5-fold, and leave one family out when 2+ are left."""
    protocols = [group_folds(train_idx, y, groups)]
    lofo = lofo_folds(train_idx, y, family, groups)
    if len(lofo) >= 2:
        protocols.append(lofo)
    return protocols


def _choose_weights(d: Data, parts, protocols, y) -> tuple[float, float]:
    """The two-part blend's weights with the lowest mean inner log loss.

    Each part keeps the parameters it chose on the whole training set; its
    out-of-fold P(FAKE) is computed once per protocol and every weight of
    :data:`W_GRID` scored on them (a fold where a part cannot train is left
    out for all weights).
    """
    per_protocol = []
    for folds in protocols:
        ys, ps = [], []
        for _, tr, te in folds:
            if any(len(np.unique(q.training(tr, y)[1])) < 2 for q in d.parts):
                continue
            ps.append([_fit_predict(q, a, tr, te, y) for q, a in zip(d.parts, parts)])
            ys.append(y[te])
        yt = np.concatenate(ys)
        per_protocol.append((yt, [np.concatenate(c) for c in zip(*ps)]))
    best, best_ll = None, np.inf
    for w in W_GRID:
        ll = np.mean([_log_loss(yt, blend(p, (w, 1 - w))) for yt, p in per_protocol])
        if ll < best_ll - 1e-6:
            best, best_ll = (w, 1.0 - w), ll
    return best


def choose_params(d: Data, train_idx, y, family, groups):
    """(C, temperature) with the lowest inner log loss, both protocols averaged.

    Inside the training positions: the mean of the leave-one-family-out log
    loss (methods it was not trained on) and the grouped 5-fold log loss
    (new identities of the methods it was trained on); the grouped one
    alone when fewer than two families are left. ``None`` for the prior.
    """
    r = d.recipe
    if r.blend:  # each part as in its own row
        parts = tuple(choose_params(p, train_idx, y, family, groups) for p in d.parts)
        if not r.tune_weight:
            return BlendParams(parts)
        protocols = _protocols(train_idx, y, family, groups)
        return BlendParams(parts, _choose_weights(d, parts, protocols, y))
    if r.vector is None:
        return None  # the prior has no parameters
    if r.net is not None:
        return (None, None)  # fixed training recipe, nothing tuned
    candidates = _candidates(r)
    if len(candidates) == 1:
        return candidates[0]
    protocols = _protocols(train_idx, y, family, groups)
    best, best_ll = None, np.inf
    for params, ll in zip(candidates, _inner_log_losses(d, candidates, protocols, y)):
        if ll < best_ll - 1e-6:
            best, best_ll = params, ll
    return best


def _params(r: Recipe, params) -> dict:
    """The chosen head parameters as results-file entries."""
    if r.blend:
        parts = zip(r.blend, params.parts)
        out = {"C": None, "parts": {n: _params(RECIPE_BY_NAME[n], q) for n, q in parts}}
        if params.weights is not None:
            out["weights"] = list(params.weights)
        return out
    if params is None:
        return {"C": None}
    out = {"C": params[0]}
    if r.framewise or r.temperature == "tuned":
        out["temperature"] = params[1]
    return out


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


NEW_IDENTITIES = "new identities"


def new_identities(d: Data, y, family, groups, labelled, real_only, rng) -> dict:
    """Grouped 5-fold over every video, all families in training.

    Scored per family (its fakes and the reals of their groups) and over
    all test predictions (``real-only/`` clips included as reals).
    """
    everything = np.r_[labelled, real_only]
    idx, ps = [], []
    for _, train, test in group_folds(everything, y, groups):
        params = choose_params(d, train, y, family, groups)
        ps.append(_fit_predict(d, params, train, test, y))
        idx.append(test)
    idx, p = np.concatenate(idx), np.concatenate(ps)
    out = {}
    for fam in data.FAMILIES:
        fam_groups = np.unique(groups[(family == fam) & (y == 1)])
        sel = np.isin(groups[idx], fam_groups) & ((y[idx] == 0) | (family[idx] == fam))
        out[fam] = score(y[idx][sel], p[sel], groups[idx][sel], rng)
    out["all"] = score(y[idx], p, groups[idx], rng)
    return out


def evaluate(recipe, feats, y, family, groups, labelled, real_only, rng) -> dict:
    d = Data(recipe, feats)
    per, pooled = {}, ([], [], [])
    for fam, train, test in lofo_folds(labelled, y, family, groups):
        params = choose_params(d, train, y, family, groups)
        p = _fit_predict(d, params, train, test, y)
        per[fam] = {**score(y[test], p, groups[test], rng), **_params(recipe, params)}
        for acc, a in zip(pooled, (y[test], p, groups[test])):
            acc.append(a)
    yt, p, g = (np.concatenate(a) for a in pooled)
    per["all (pooled folds)"] = score(yt, p, g, rng)
    per[NEW_IDENTITIES] = new_identities(d, y, family, groups, labelled, real_only, rng)
    params = choose_params(d, labelled, y, family, groups)
    p_ro = _fit_predict(d, params, labelled, real_only, y)
    _, ll_ci = bootstrap(y[real_only], p_ro, groups[real_only], rng)
    per["real-only (trained on all 4)"] = {
        "n": len(real_only),
        **_params(recipe, params),
        "mean_p_fake": float(p_ro.mean()),
        "share_above_0.5": float((p_ro > 0.5).mean()),
        "log_loss": float(-np.log(1 - p_ro).mean()),
        "log_loss_ci95": ll_ci,
    }
    return per


def _chosen(r: dict) -> str:
    if "parts" in r:
        out = "; ".join(
            f"{k}: {_chosen(v) or 'nothing tuned'}" for k, v in r["parts"].items()
        )
        if "weights" in r:
            out += "; weights " + "/".join(f"{w:g}" for w in r["weights"])
        return out
    if r.get("C") is None:
        return ""
    return f"{r['C']}" + (f" ({r['temperature']})" if "temperature" in r else "")


def table(results: dict, recipes) -> str:
    desc = {r.name: r.describe for r in recipes}
    lines = [
        "| recipe | held out | n (fake) / groups | AUC [95% CI] "
        "| log loss [95% CI] | C (temperature) |",
        "|---|---|---|---|---|---|",
    ]

    def fmt(v, ci, k):
        if v is None:
            return "n/a"
        return f"{v:.{k}f} [{ci[0]:.{k}f}, {ci[1]:.{k}f}]" if ci else f"{v:.{k}f}"

    for name, per in results.items():
        for fam, r in per.items():
            if fam.startswith("real-only") or fam in (NEW_IDENTITIES, "net_budget"):
                continue
            lines.append(
                f"| {name} | {fam} | {r['n']} ({r['n_fake']}) / {r['n_groups']} | "
                f"{fmt(r['auc'], r['auc_ci95'], 2)} | "
                f"{fmt(r['log_loss'], r['log_loss_ci95'], 3)} | {_chosen(r)} |"
            )
    lines += [
        "",
        "New identities of the trained families (stratified grouped 5-fold over "
        "every video, all families in training; per family: its fakes and the "
        "reals of their groups; `all`: every test prediction, real-only/ "
        "clips included):",
        "",
        "| recipe | family | n (fake) / groups | AUC [95% CI] | log loss [95% CI] |",
        "|---|---|---|---|---|",
    ]
    for name, per in results.items():
        for fam, r in per[NEW_IDENTITIES].items():
            lines.append(
                f"| {name} | {fam} | {r['n']} ({r['n_fake']}) / {r['n_groups']} | "
                f"{fmt(r['auc'], r['auc_ci95'], 2)} | "
                f"{fmt(r['log_loss'], r['log_loss_ci95'], 3)} |"
            )
    lines += [
        "",
        "False positives on real-only/ (21 clips), every recipe trained on all "
        "four families:",
        "",
        "| recipe | mean P(FAKE) | share > 0.5 | log loss [95% CI] | C (temperature) |",
        "|---|---|---|---|---|",
    ]
    for name, per in results.items():
        r = per["real-only (trained on all 4)"]
        lines.append(
            f"| {name} | {r['mean_p_fake']:.3f} | {r['share_above_0.5']:.2f} | "
            f"{fmt(r['log_loss'], r['log_loss_ci95'], 3)} | {_chosen(r)} |"
        )
    lines += ["", "Recipes:", ""]
    for k, v in desc.items():
        b = results.get(k, {}).get("net_budget")
        if b:
            v += (
                f" ({b['max_epochs']} epochs of {b['frames_per_video']} crops "
                f"per video on {b['device']})"
            )
        lines.append(f"- `{k}`: {v}")
    return "\n".join(lines)


def results_name(n_frames: int) -> str:
    """``bench_cross_method``, suffixed when not on the shipped 8 frames."""
    return "bench_cross_method" + ("" if n_frames == 8 else f"_{n_frames}frames")


#: Recipes whose mean log loss is within this of the best one are tied
#: (a difference far inside the bootstrap intervals); the AUC orders them.
TIE = 0.005


def _mean_of_protocols(per: dict, metric: str) -> float:
    a, b = per["all (pooled folds)"], per[NEW_IDENTITIES]["all"]
    return ((a[metric] or 0) + (b[metric] or 0)) / 2


def rank(results: dict) -> list[str]:
    """Recipes by the mean pooled log loss of both protocols.

    Those within :data:`TIE` of the best come first, by their mean AUC;
    the others follow by log loss.
    """
    ll = {k: _mean_of_protocols(v, "log_loss") for k, v in results.items()}
    best = min(ll.values())
    tied = [k for k in results if ll[k] <= best + TIE]
    rest = [k for k in results if k not in tied]
    tied.sort(key=lambda k: -_mean_of_protocols(results[k], "auc"))
    return tied + sorted(rest, key=ll.get)


def rank_frame_counts(results: dict[int, dict]) -> list[tuple[str, int]]:
    """(recipe, frames per video) over several runs, by the rule of :func:`rank`.

    The rule for the frame count: every row of every frame count is one
    candidate, ranked together by :func:`rank` (mean pooled log loss,
    near-ties by mean AUC). A frame count is a recipe parameter like any
    other, so it is chosen by the same figures as the rest; nothing favours
    the cheaper count.

    Parameters
    ----------
    results : dict
        ``{n_frames: results}``, each ``results`` as in a results file's
        ``outputs["results"]``.
    """
    pooled = {(name, n): per for n, res in results.items() for name, per in res.items()}
    return rank(pooled)


def rows_run_elsewhere(results: dict, old: dict, others: dict[str, dict]) -> dict:
    """The rows of other results files that differ from ``old``'s (``--merge-from``).

    ``old`` and each of ``others`` are whole results files (``others`` by
    name). Rows already in ``results`` (run now) are left out; a file run on
    other videos or frames is an error; of two files that changed one row,
    the later one wins.
    """
    taken = {}
    for name, other in others.items():
        if (other["inputs"]["videos"], other["inputs"]["frames"]) != (
            old["inputs"]["videos"],
            old["inputs"]["frames"],
        ):
            raise SystemExit(f"{name} was run on other videos or frames")
        for k, v in other["outputs"]["results"].items():
            if k not in results and v != old["outputs"]["results"].get(k):
                taken[k] = v
    return taken


def main(extra_inputs: dict | None = None, preamble: str = "") -> None:
    """Run the benchmark with the command line's options.

    ``extra_inputs`` (entries for the results file's inputs) and
    ``preamble`` (text before the markdown table) let a script that runs
    the rows on other features (``bench_faceres_deep.py``) say so.
    """
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-frames", type=int, default=8)
    ap.add_argument(
        "--recipes",
        nargs="*",
        default=None,
        help="rows to run (default: every row but the fine-tuned ft-* ones)",
    )
    ap.add_argument("--net-epochs", type=int, default=NET_BUDGET["max_epochs"])
    ap.add_argument(
        "--net-frames-per-video", type=int, default=NET_BUDGET["frames_per_video"]
    )
    ap.add_argument("--net-device", default=NET_BUDGET["device"])
    ap.add_argument(
        "--net-num-workers",
        type=int,
        default=0,
        help="data-loading processes of the fine-tuners (persistent); the "
        "results do not depend on it",
    )
    ap.add_argument(
        "--merge-from",
        nargs="+",
        default=(),
        metavar="FILE",
        help="also take the rows of these results files (same --n-frames and "
        "videos) that differ from this one's: rows run elsewhere, such as on "
        "a GPU machine; implies --merge",
    )
    ap.add_argument(
        "--results-name",
        default=None,
        help="write benchmarks/results/NAME.json/.md instead (the rows kept "
        "by --merge still come from the usual file): a set of rows run at "
        "another budget, beside the usual file",
    )
    ap.add_argument(
        "--tracks-pack",
        default=None,
        help="read the videos' rows and face tracks from this file (written "
        "by `_cross_method_data.py --pack FILE`) instead of ../shared/data "
        "and the face store; ft-* rows only",
    )
    ap.add_argument(
        "--merge",
        action="store_true",
        help="keep the other rows of the existing results file (same "
        "--n-frames), so that slow rows can be run on their own",
    )
    args = ap.parse_args()
    NET_BUDGET.update(
        max_epochs=args.net_epochs,
        frames_per_video=args.net_frames_per_video,
        device=args.net_device,
    )

    if args.net_num_workers:
        NET_BUDGET.update(num_workers=args.net_num_workers, persistent_workers=True)

    t0 = time.time()
    video_key = data.key
    if args.tracks_pack:
        n_frames, rows, tracks = data.load_tracks_pack(args.tracks_pack)
        if n_frames != args.n_frames:
            raise SystemExit(f"the pack holds {n_frames} frames, not {args.n_frames}")
        if args.recipes is None or any(
            RECIPE_BY_NAME[n].net is None for n in args.recipes if n in RECIPE_BY_NAME
        ):
            raise SystemExit("--tracks-pack runs only named ft-* rows")
        feats = [{"tracks": t} for t in tracks]
        video_key = str  # the pack's rows carry their keys
    else:
        rows = data.dataset()
        feats = data.features(rows, args.n_frames)
    t_feat = time.time() - t0
    y = np.array([r[1] for r in rows])
    family = np.array([r[2] for r in rows])
    groups = np.array([r[3] for r in rows])
    labelled = np.flatnonzero(family != "real-only")
    real_only = np.flatnonzero(family == "real-only")
    if args.recipes is None:
        recipes = [r for r in RECIPES if r.net is None]
    else:
        unknown = set(args.recipes) - {r.name for r in RECIPES}
        if unknown:
            raise SystemExit(f"unknown recipes {sorted(unknown)}")
        recipes = [r for r in RECIPES if r.name in args.recipes]
    if any(r.net is not None for r in recipes) and not args.tracks_pack:
        for v, tracks in zip(feats, data.face_tracks(rows, args.n_frames)):
            v["tracks"] = tracks
    rng = np.random.default_rng(0)
    results = {}
    for r in recipes:
        t = time.time()
        results[r.name] = evaluate(
            r, feats, y, family, groups, labelled, real_only, rng
        )
        if r.net is not None:  # each row keeps the budget it was run with
            results[r.name]["net_budget"] = {
                **NET_BUDGET,
                "row_seconds": round(time.time() - t, 1),  # all its fits
            }
        pooled = results[r.name]["all (pooled folds)"]
        new = results[r.name][NEW_IDENTITIES]["all"]
        print(
            f"{r.name:20s} other methods: log loss {pooled['log_loss']:.3f} "
            f"AUC {pooled['auc']:.3f}; new identities: log loss "
            f"{new['log_loss']:.3f} AUC {new['auc']:.3f} ({time.time() - t:.0f} s)",
            flush=True,
        )
    described = {r.name: r.describe for r in recipes}
    net_budget = dict(NET_BUDGET) if any(r.net is not None for r in recipes) else None
    merged_from: dict = {}
    if args.merge or args.merge_from:
        old = json.loads(
            (
                REPO / "benchmarks" / "results" / f"{results_name(args.n_frames)}.json"
            ).read_text()
        )
        others = {f: json.loads(Path(f).read_text()) for f in args.merge_from}
        taken = rows_run_elsewhere(results, old, others)
        merged_from = {
            f: {k: others[f][k] for k in ("command", "date", "machine")}
            for f in args.merge_from
        }
        results.update(taken)
        for v in taken.values():
            net_budget = net_budget or v.get("net_budget")
        kept = {k: v for k, v in old["outputs"]["results"].items() if k not in results}
        for k, v in kept.items():  # rows of a file from before per-row budgets
            if k.startswith("ft-") and "net_budget" not in v:
                v["net_budget"] = old["inputs"]["net_budget"]
        order = [r.name for r in RECIPES]
        results = dict(
            sorted({**kept, **results}.items(), key=lambda kv: order.index(kv[0]))
        )
        described = {r.name: r.describe for r in RECIPES if r.name in results}
        recipes = [r for r in RECIPES if r.name in results]
    ranking = rank(results)
    mean_ll = {k: _mean_of_protocols(results[k], "log_loss") for k in ranking}
    md = table(results, recipes)
    md += (
        f"\n\nRanking by the mean of the two pooled log losses (other methods, "
        f"new identities); those within {TIE} of the best first, by their mean "
        "AUC: " + ", ".join(f"{k} ({mean_ll[k]:.4f})" for k in ranking) + "\n"
    )
    md = preamble + md
    print(md)
    write_results(
        args.results_name or results_name(args.n_frames),
        inputs={
            **(extra_inputs or {}),
            "videos": {video_key(r[0]): [r[1], r[2], r[3]] for r in rows},
            "families": data.FAMILIES,
            "frames": data.sampler_params(args.n_frames),
            "crop": "FaceCropper(size=128, margin=0.3, device='cpu')",
            "C_grid": C_GRID,
            "temperature_grid": T_GRID,
            # of the ft-* rows run this time (each row records its own)
            "net_budget": net_budget,
            # where the rows taken with --merge-from were run
            "merged_from": merged_from or None,
            "tuning": "C (and, for *-temperature rows, a temperature on the "
            "video's logit) by the mean of the inner leave-one-family-out and "
            "grouped 5-fold log losses inside each training fold (grouped "
            "5-fold alone when one family is left)",
            "video_temperature_grid": T_VIDEO_GRID,
            "new_identities": "StratifiedGroupKFold(5, shuffle, random_state=0) "
            "over all videos incl. real-only/",
            "clip": [EPS, 1 - EPS],
            "bootstrap": "1000 draws of groups with replacement, percentile 2.5/97.5",
            "recipes": described,
        },
        outputs={
            "results": results,
            "ranking": ranking,
            "mean_log_loss": mean_ll,
            "seconds_features_uncached": round(t_feat, 1),
            "seconds_total": round(time.time() - t0, 1),
        },
        markdown=md,
    )


if __name__ == "__main__":
    main()
