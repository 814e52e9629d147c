"""
==========================================
Cross-validation grouped by source video
==========================================

In the DFDC data most fakes are made from a real video of the same set: the
fake and its ``original`` share the scene, the background, the lighting and
the person. A cross-validation that puts a fake in the test fold and its
original in the training folds lets the model recognise the scene instead
of the manipulation, and its score is optimistic. This example

* loads a DFDC-layout folder with :func:`~sklearn_deepfake.datasets.load_dfdc`,
  whose ``groups`` give each video the id of its source video,
* checks that :class:`~sklearn.model_selection.GroupKFold` keeps every group
  on one side of each split, while a plain shuffled ``KFold`` does not,
* compares the two cross-validated log losses of the default pipeline, and
* draws the ROC curve of every grouped fold and their mean with
  :class:`~sklearn_deepfake.inspection.GroupedROCDisplay`.

It runs offline on CPU in about a minute on a small synthetic folder written
by :func:`~sklearn_deepfake.datasets.make_dfdc_folder`. Give a real
DFDC-layout folder as the first command-line argument (or in the
``SKDF_DFDC_ROOT`` environment variable) to run it there instead.
"""

# %%
# Load a DFDC-layout folder
# -------------------------
import os
import sys
import tempfile
import warnings

import numpy as np

from sklearn_deepfake.datasets import load_dfdc, make_dfdc_folder

root = os.environ.get("SKDF_DFDC_ROOT")
if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
    root = sys.argv[1]
if root is None:
    root = tempfile.mkdtemp(prefix="grouped_cv_")
    make_dfdc_folder(
        root, n_originals=8, fakes_per_original=2, n_test=0, random_state=0
    )
train = load_dfdc(root, subset="train")
names = [os.path.basename(p) for p in train.paths]
print(
    f"{len(names)} videos, {int(train.target.sum())} fake, "
    f"{len(np.unique(train.groups))} source-video groups"
)
for name, label, group in list(zip(names, train.target, train.groups))[:6]:
    print(f"  {name:<16} {'FAKE' if label else 'REAL'}  group {group}")

# %%
# Which splits leak?
# ------------------
# A split leaks when a group has videos on both sides. Count such groups for
# each test fold of a shuffled ``KFold`` and of ``GroupKFold``.
from sklearn.model_selection import GroupKFold, KFold


def leaking_groups(cv, groups=None):
    counts = []
    for train_idx, test_idx in cv.split(train.paths, train.target, groups):
        shared = set(train.groups[train_idx]) & set(train.groups[test_idx])
        counts.append(len(shared))
    return counts


kfold = KFold(4, shuffle=True, random_state=0)
group_kfold = GroupKFold(4)
print("groups on both sides, KFold:     ", leaking_groups(kfold))
print("groups on both sides, GroupKFold:", leaking_groups(group_kfold, train.groups))

# %%
# The two cross-validated scores
# ------------------------------
# The face cache makes the second cross-validation (and the ROC curves below)
# read the faces back instead of detecting them again. The two estimates
# differ, in a direction that depends on the model and the data: a fake whose
# sibling fakes are in the training folds is recognised by its scene (too
# optimistic), while a fake whose own original is there may be called real
# for the same reason (too pessimistic). Only the grouped score estimates the
# error on videos of new scenes, which is what a test set holds.
from sklearn.model_selection import cross_val_score

from sklearn_deepfake import make_default_pipeline

model = make_default_pipeline(n_frames=8, size=64, cache_dir=f"{root}/.faces")

results = {}
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # e.g. a video in which no face is found
    for label, cv, groups in [
        ("KFold", kfold, None),
        ("GroupKFold", group_kfold, train.groups),
    ]:
        results[label] = -cross_val_score(
            model,
            train.paths,
            train.target,
            groups=groups,
            cv=cv,
            scoring="neg_log_loss",
        )
for label, scores in results.items():
    print(f"{label:<11} log loss {scores.mean():.3f} +/- {scores.std():.3f}")
print("(a constant 0.5 scores 0.693)")

# %%
# ROC curves of the grouped folds
# -------------------------------
# ``GroupedROCDisplay.from_estimator`` runs the grouped
# :func:`~sklearn.model_selection.cross_val_predict` itself, draws each fold's
# ROC curve with scikit-learn's :class:`~sklearn.metrics.RocCurveDisplay`
# and adds the mean curve with the mean and spread of the folds' AUCs.
import matplotlib.pyplot as plt

from sklearn_deepfake.inspection import GroupedROCDisplay

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    display = GroupedROCDisplay.from_estimator(
        model,
        train.paths,
        train.target,
        groups=train.groups,
        cv=group_kfold,
        name="default pipeline",
    )
print("AUC per fold:", np.round(display.roc_aucs_, 3))
display.ax_.set_title("GroupKFold(4)")
plt.show()
