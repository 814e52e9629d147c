"""
=============================================
Fuse the face, motion and sound of a video
=============================================

A fake may have a manipulated face and its original voice, or its original
frames and a dubbed voice. A face model cannot see the second kind, and a
lip-sync model has little to say about the first. This example builds both kinds of fake
with :func:`~sklearn_deepfake.datasets.make_face_videos` and compares, by
grouped cross-validation:

- single branches: the face (:class:`~sklearn_deepfake.features.FaceContextFeatures`
  pooled over frames), the sound alone
  (:class:`~sklearn_deepfake.features.AudioFeatures`) and whether the sound
  follows the mouth (:class:`~sklearn_deepfake.features.AVSyncFeatures`);
- **feature-level fusion** (:func:`~sklearn_deepfake.pipeline.make_fusion_pipeline`):
  the branches' rows side by side, one logistic regression on all of them;
- **classifier-level fusion** (:func:`~sklearn_deepfake.pipeline.make_fusion_stack`):
  one classifier per branch, including a small LSTM over the per-frame rows
  (:class:`~sklearn_deepfake.nets.TemporalClassifier`), stacked on their
  grouped out-of-fold logits.

The branches share one face cache, so the face and temporal branches read
the same face tracks (the lip-sync branch reads its own run of consecutive
frames). The motion branch (``"flow"``,
:class:`~sklearn_deepfake.features.OpticalFlowFeatures`) is left out here to
keep the example short; it plugs in the same way. It runs offline on CPU in about a
minute; the synthetic fakes are easy on purpose, to show the plumbing and
which branch sees which fake, not to rank methods (see
``benchmarks/bench_branches.py`` for real face swaps).
"""

# %%
# Two kinds of fake, with sound
# -----------------------------
# Six talking faces, each with a dubbed twin (same frames, another voice),
# and six others, each with a face-manipulated twin (same voice). A twin
# shares the group of its original, so grouped folds never split a pair.
import os
import tempfile
import warnings

import numpy as np
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import GroupKFold, cross_val_predict

from sklearn_deepfake import make_fusion_pipeline, make_fusion_stack
from sklearn_deepfake.datasets import make_face_videos

warnings.simplefilter("ignore")  # e.g. frames without a face

# Frontal faces: MTCNN's mouth landmarks are reliable on them.
FRONTAL = ("astronaut", "astronaut_mirror_cool", "astronaut_wide_dark")

root = tempfile.mkdtemp(prefix="fusion_")
dubbed = make_face_videos(
    12,
    n_frames=40,
    manipulated=0.5,
    manipulation="audio",
    identities=FRONTAL,
    directory=os.path.join(root, "dubbed"),
    random_state=0,
)
swapped = make_face_videos(
    12,
    n_frames=40,
    manipulated=0.5,
    manipulation="blend",
    audio=True,
    identities=FRONTAL,
    directory=os.path.join(root, "swapped"),
    random_state=1,
)
paths = list(dubbed.paths) + list(swapped.paths)
y = np.concatenate([dubbed.target, swapped.target])
groups = np.concatenate([dubbed.groups, swapped.groups + dubbed.groups.max() + 1])
kind = np.array(["dubbed"] * 12 + ["face"] * 12)
print(f"{len(paths)} videos, {y.sum()} fakes, {len(np.unique(groups))} groups")

# %%
# One branch at a time, then fused
# --------------------------------
# ``make_fusion_pipeline`` returns an ordinary scikit-learn ``Pipeline``:
# a ``FeatureUnion`` named ``features`` (one branch per name, each from the
# paths to one row per video), a ``StandardScaler`` and a clipped logistic
# regression. Every model below is cross-validated from the paths.
cache_dir = os.path.join(root, "faces")
settings = {"n_frames": 8, "size": 96, "cache_dir": cache_dir, "device": "cpu"}
models = {
    "face": make_fusion_pipeline(("face",), **settings),
    "audio": make_fusion_pipeline(("audio",), **settings),
    "avsync": make_fusion_pipeline(("avsync",), **settings),
    "face + audio + avsync (fused)": make_fusion_pipeline(
        ("face", "audio", "avsync"), **settings
    ),
    "face + temporal + avsync (stack)": make_fusion_stack(
        ("face", "temporal", "avsync"), cv=3, **settings
    ).set_params(temporal__temporalclassifier__max_epochs=10),
}
cv = GroupKFold(4)
scores = {}
for name, model in models.items():
    fit_params = {"groups": groups} if "stack" in name else {}
    oof = cross_val_predict(
        model,
        paths,
        y,
        groups=groups,
        cv=cv,
        method="predict_proba",
        params=fit_params,
    )[:, 1]
    scores[name] = oof
    print(
        f"{name:<32} log loss {log_loss(y, oof):.3f}  AUC {roc_auc_score(y, oof):.2f}"
    )

# %%
# Which fakes does each model catch?
# ----------------------------------
# The mean out-of-fold P(FAKE) of each kind of video: the face branch should
# rise on the face-manipulated fakes only, the lip-sync branch on the dubbed
# ones, and the fused models on both. The sound alone says little: the
# dubbed voice comes from the same synthesiser as the original one.
print(f"{'model':<32} {'real':>6} {'dubbed':>7} {'face':>6}")
for name, oof in scores.items():
    real = oof[y == 0].mean()
    dub = oof[(y == 1) & (kind == "dubbed")].mean()
    face = oof[(y == 1) & (kind == "face")].mean()
    print(f"{name:<32} {real:6.2f} {dub:7.2f} {face:6.2f}")

# %%
# A plot of the same
# ------------------
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(7, 3.5))
groups_of = {
    "real": y == 0,
    "dubbed fake": (y == 1) & (kind == "dubbed"),
    "face fake": (y == 1) & (kind == "face"),
}
width = 0.8 / len(groups_of)
for i, (label, mask) in enumerate(groups_of.items()):
    ax.bar(
        np.arange(len(scores)) + i * width,
        [oof[mask].mean() for oof in scores.values()],
        width,
        label=label,
    )
ax.set_xticks(np.arange(len(scores)) + width)
ax.set_xticklabels([n.replace(" (", "\n(") for n in scores], fontsize=7)
ax.set_ylabel("mean out-of-fold P(FAKE)")
ax.axhline(0.5, color="grey", lw=0.8)
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %%
# Which fusion to use
# -------------------
# Feature-level fusion fits one linear model on every column: no inner
# cross-validation, and it is the safer choice with weak hand-made branches
# and little data. Stacking squeezes each branch to one out-of-fold logit:
# prefer it when the branches are strong models of their own (a fine-tuned
# CNN, a sequence model) or of very different widths, at the cost of ``cv``
# extra fits of every branch. Either way, give a ``cache_dir``: every
# visual branch then reads the same face tracks.
