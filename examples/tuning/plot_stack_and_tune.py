"""
=================================================
Tune a detector with Optuna, then stack two
=================================================

Two complete detectors look at the same faces in different ways: the default
pipeline pools hand-made face-versus-context features over the frames and
fits a logistic regression, while a small CNN is fine-tuned on the face crops
themselves. This example

1. tunes the default pipeline's head with
   :func:`~sklearn_deepfake.model_selection.tune_pipeline`: an Optuna study,
   stored in SQLite (run the script again and the study resumes), whose
   trials are scored by grouped cross-validation and pruned after a poor
   fold;
2. stacks the tuned pipeline and the CNN with
   :class:`~sklearn_deepfake.ensemble.CalibratedStackingClassifier`, whose
   head learns from grouped out-of-fold predictions.

Both detectors start with the same :class:`~sklearn_deepfake.video.FrameSampler`
and :class:`~sklearn_deepfake.faces.FaceCropper` and share one face cache, so
each video is decoded and searched for faces once, however many folds,
trials and models follow.

It runs offline on CPU in a few minutes, on a small synthetic folder written
by :func:`~sklearn_deepfake.datasets.make_dfdc_folder`. The CNN is a
``resnet18`` with **random initial weights** (no download) at 64 pixels,
trained for two epochs: it is here to show the plumbing, and on such a tiny
dataset it scores about as well as a coin. On real data use
``pretrained=True`` (or ``weights=PATH``), larger crops and more epochs.
"""

# %%
# The data and the shared face cache
# ----------------------------------
import os
import tempfile
import warnings

import numpy as np
import optuna
from optuna.distributions import FloatDistribution
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from sklearn_deepfake import make_default_pipeline
from sklearn_deepfake.datasets import load_dfdc, make_dfdc_folder
from sklearn_deepfake.ensemble import CalibratedStackingClassifier
from sklearn_deepfake.model_selection import clipped_log_loss, tune_pipeline
from sklearn_deepfake.nets import FaceCNNClassifier

warnings.simplefilter("ignore")  # e.g. "random initial weights", no-face frames
optuna.logging.set_verbosity(optuna.logging.WARNING)

root = tempfile.mkdtemp(prefix="stack_and_tune_")
make_dfdc_folder(root, n_originals=6, n_test=6, n_frames=16, random_state=0)
train = load_dfdc(root, subset="train")
test = load_dfdc(root, subset="test")
paths, y, groups = list(train.paths), np.asarray(train.target), train.groups
print(f"{len(paths)} training videos, {len(np.unique(groups))} source groups")
cache_dir = os.path.join(root, "faces")

# %%
# Two detectors on the same faces
# -------------------------------
# The CNN pipeline reuses (a clone of) the first two steps of the default
# pipeline, so the frame plans and face parameters, hence the cache keys,
# are the same. Faces are found once here; every fit below reads them back.
features = make_default_pipeline(n_frames=8, size=64, cache_dir=cache_dir, device="cpu")
cnn = Pipeline(
    [
        *clone(features[:2]).steps,
        (
            "cnn",
            FaceCNNClassifier(
                "resnet18",
                max_epochs=2,
                batch_size=16,
                frames_per_video=4,
                valid_size=None,
                device="cpu",
                random_state=0,
            ),
        ),
    ]
)
features[:2].fit_transform(paths + list(test.paths))
print("faces cached:", len(os.listdir(cache_dir)) > 0)

# %%
# Tune the feature pipeline
# -------------------------
# Without ``space``, :func:`~sklearn_deepfake.model_selection.suggest_params`
# walks the pipeline and takes each step's default range from the step's
# class (frames per video, crop size and margin included, which would
# extract faces again), or from
# :data:`~sklearn_deepfake.model_selection.SEARCH_SPACES` for other
# libraries' estimators such as ``LogisticRegression``. Here the
# search is kept on the head: a dict maps ``set_params`` names to an Optuna
# distribution, a list of choices, or a function of the trial (the pooling
# statistics are a tuple, which Optuna cannot store, so the function turns a
# stored string into one).
space = {
    "classifier__estimator__C": FloatDistribution(1e-3, 10.0, log=True),
    "classifier__eps": [0.01, 0.05],
    "temporalpooling__stats": lambda trial, name: tuple(
        trial.suggest_categorical(name, ["mean", "mean+std", "mean+max"]).split("+")
    ),
}
result = tune_pipeline(
    features,
    paths,
    y,
    groups,
    n_trials=8,
    cv=3,
    space=space,
    storage=f"sqlite:///{root}/study.db",
    study_name="stack-and-tune",
    random_state=0,
)
states = [t.state.name for t in result.study.trials]
print(
    f"{len(states)} trials: {states.count('COMPLETE')} complete, "
    f"{states.count('PRUNED')} pruned"
)
print(f"best CV log loss {-result.best_score_:.3f} with {result.best_params_}")

# %%
# Running it again resumes the stored study: ``n_trials`` counts the trials
# already in the database, so asking for 8 again runs none, and asking for
# more runs only the difference.
again = tune_pipeline(
    features,
    paths,
    y,
    groups,
    n_trials=8,
    cv=3,
    space=space,
    storage=f"sqlite:///{root}/study.db",
    study_name="stack-and-tune",
    refit=False,
)
print("new trials on the second call:", again.n_new_trials_)

# %%
# Stack the tuned pipeline and the CNN
# ------------------------------------
# The stack cross-validates both detectors on the same grouped folds (a fake
# and its original never on both sides), fits a logistic regression on their
# out-of-fold logits, and refits both on all the videos.
tuned = clone(features).set_params(**result.best_params_)
stack = CalibratedStackingClassifier([("features", tuned), ("cnn", cnn)], cv=3)
stack.fit(paths, y, groups=groups)
for name, loss in stack.oof_scores_.items():
    print(f"out-of-fold log loss of {name}: {loss:.3f}")
print(f"out-of-fold log loss of the stack head: {stack.final_oof_score_:.3f}")

# %%
# The features' out-of-fold log loss is the tuned CV score: the stack's
# grouped folds are the tuner's. With a randomly initialised CNN trained for
# two epochs on a dozen videos, the second detector adds noise rather than
# information, and the head cannot do better than the tuned features alone;
# with a pretrained backbone and real data, this is where the two views pay.

# %%
# Score the held-out test videos
# ------------------------------
y_test = np.asarray(test.target)
for name, model in [("tuned features", result.best_estimator_), ("stack", stack)]:
    proba = model.predict_proba(list(test.paths))[:, 1]
    print(
        f"test log loss of {name}: {clipped_log_loss(y_test, proba):.3f} "
        f"(0.5 everywhere: {np.log(2):.3f})"
    )
