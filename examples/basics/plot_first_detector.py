"""
================================================
A first detector: grouped CV and a submission
================================================

The whole job on a folder in the DFDC layout: load the videos with their
labels and source-video groups, cross-validate the default pipeline so that a
fake and its original never sit on both sides of a split, fit it, and write a
complete ``submission.csv``.

This example runs offline on CPU in well under a minute, on a small
synthetic folder written by
:func:`~sklearn_deepfake.datasets.make_dfdc_folder`. Give a real DFDC-layout
folder as the first command-line argument to run it there instead.
"""

# %%
# The data: a DFDC-layout folder
# ------------------------------
import sys
import tempfile
import warnings

import numpy as np
from sklearn.model_selection import GroupKFold, cross_val_score

from sklearn_deepfake import make_default_pipeline, write_submission
from sklearn_deepfake.datasets import load_dfdc, make_dfdc_folder

if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
    root = sys.argv[1]
else:
    root = tempfile.mkdtemp(prefix="first_detector_")
    make_dfdc_folder(root, n_originals=6, n_test=4, random_state=0)
train = load_dfdc(root, subset="train")
test = load_dfdc(root, subset="test")
print(f"{len(train.paths)} training videos, {int(train.target.sum())} fake")
print(f"{len(np.unique(train.groups))} source-video groups")

# %%
# The default pipeline, with a face cache
# ---------------------------------------
# Faces are extracted once per video and kept in ``cache_dir``: every fold of
# the cross-validation below, and the final fit, read them back.
model = make_default_pipeline(n_frames=16, size=64, cache_dir=f"{root}/.faces")
print(list(model.named_steps))

# %%
# Grouped cross-validation on log loss
# ------------------------------------
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # e.g. a video in which no face is found
    scores = -cross_val_score(
        model,
        train.paths,
        train.target,
        groups=train.groups,
        cv=GroupKFold(3),
        scoring="neg_log_loss",
    )
print(f"CV log loss {scores.mean():.3f} +/- {scores.std():.3f} (0.5 scores 0.693)")

# %%
# Fit, predict and write the submission
# -------------------------------------
# Every test video gets a row, in ``sample_submission.csv`` order; a video
# whose prediction failed would get the fallback probability 0.5.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    model.fit(train.paths, train.target)
    proba = model.predict_proba(test.paths)[:, 1]
table = write_submission(
    f"{root}/submission.csv",
    test.filenames,
    proba,
    sample_submission=f"{root}/sample_submission.csv",
)
print(table)
