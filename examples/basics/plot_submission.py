"""
=================================================
Writing a complete, clipped DFDC submission
=================================================

A DFDC submission is a ``filename,label`` CSV with exactly the rows of
``sample_submission.csv``, ``label`` being the probability that the video
is FAKE, scored by log loss. Three things go wrong in practice: a video that
cannot be read kills the batch, a video is missing from the file, and one
confident mistake costs more than many good answers. This example shows how
:func:`~sklearn_deepfake.submission.write_submission` and the default
pipeline handle each one:

* a corrupt test video gets a warning naming it and a prediction (the
  pipeline's documented fallback), never a crash;
* every listed file gets a row, in the sample file's order, even without a
  prediction (``fallback``, 0.5 by default);
* probabilities are clipped to ``[eps, 1 - eps]``, which bounds the log loss
  of any single video by ``-log(eps)``.

It runs offline on CPU in under a minute on a synthetic DFDC-layout folder
(:func:`~sklearn_deepfake.datasets.make_dfdc_folder`). Give a real folder as
the first command-line argument (or in ``SKDF_DFDC_ROOT``) to run it there.
"""

# %%
# Train on the training folder
# ----------------------------
import os
import sys
import tempfile
import warnings

import numpy as np

from sklearn_deepfake import make_default_pipeline
from sklearn_deepfake.datasets import load_dfdc, make_dfdc_folder

root = os.environ.get("SKDF_DFDC_ROOT")
if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
    root = sys.argv[1]
synthetic = root is None
if synthetic:
    root = tempfile.mkdtemp(prefix="submission_")
    make_dfdc_folder(root, n_originals=6, n_test=6, random_state=0)
train = load_dfdc(root, subset="train")
test = load_dfdc(root, subset="test")

model = make_default_pipeline(n_frames=8, size=64, eps=0.02)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    model.fit(train.paths, train.target)
print(f"trained on {len(train.paths)} videos")

# %%
# A corrupt video among the test videos
# -------------------------------------
# On the synthetic folder, overwrite one test video with garbage bytes, as a
# truncated download would leave it. ``predict_proba`` warns, naming the
# file, and still returns one row per video.
if synthetic:
    broken = test.paths[0]
    with open(broken, "wb") as f:
        f.write(b"\x00not a video" * 64)

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    proba = model.predict_proba(test.paths)[:, 1]
for w in caught[:3]:
    print(f"{w.category.__name__}: {str(w.message)[:100]}")
print(f"{len(proba)} predictions for {len(test.paths)} test videos")

# %%
# Write the submission
# --------------------
# Leave out the prediction of the last video, as a crashed worker would, to
# see the ``fallback``: the file still has every row of
# ``sample_submission.csv``, in its order, and a warning names what was
# missing. ``eps`` clips the probabilities once more at writing time.
import pandas as pd

from sklearn_deepfake.submission import write_submission

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    table = write_submission(
        f"{root}/submission.csv",
        test.filenames[:-1],
        proba[:-1],
        sample_submission=f"{root}/sample_submission.csv",
        eps=0.02,
    )
for w in caught:
    print(f"{w.category.__name__}: {str(w.message)[:100]}")
sample = pd.read_csv(f"{root}/sample_submission.csv")
written = pd.read_csv(f"{root}/submission.csv")
assert list(written["filename"]) == list(sample["filename"])
print(written)

# %%
# What clipping buys
# ------------------
# With the true test labels (written by ``make_dfdc_folder``), compare the
# log loss of the written probabilities with the cost of the same answers if
# one confident mistake had not been clipped. A wrong answer at probability
# ``p`` costs ``-log(1 - p)``; with ``eps=0.02`` no video costs more than
# ``-log(0.02) = 3.9``.
import matplotlib.pyplot as plt

from sklearn_deepfake.model_selection import clipped_log_loss

if synthetic:
    y_test = np.asarray(test.target)
    p = written["label"].to_numpy()
    print(f"test log loss: {clipped_log_loss(y_test, p, eps=0.02):.3f}")

p_wrong = np.linspace(0.5, 0.9999, 200)
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(p_wrong, -np.log(1 - p_wrong), label="unclipped")
ax.plot(p_wrong, -np.log(1 - np.clip(p_wrong, 0.02, 0.98)), label="eps = 0.02")
ax.set(xlabel="confidence of a wrong answer", ylabel="log loss of that video")
ax.legend()
fig.tight_layout()
plt.show()
