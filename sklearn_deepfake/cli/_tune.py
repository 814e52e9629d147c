"""``sklearn-deepfake tune``: Optuna search over the default pipeline (private).

The faces are found once (and cached) before the search, so that the trials
only refit the cheap head; ``--tune-faces`` also searches the frame and face
parameters, which extracts the faces again for every new value. The study
lives in a database (``--storage``), so an interrupted search resumes where
it stopped when the same command is run again.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from typing import Any

from sklearn_deepfake.cli._options import (
    _add_data_dir_argument,
    _add_output_option,
    _add_pipeline_options,
    _add_runtime_options,
    _at_least,
    _positive_int,
    _Training,
)
from sklearn_deepfake.cli._utils import UsageError, atomic_dump, parse_set
from sklearn_deepfake.pipeline import FEATURE_SETS

# Same as sklearn_deepfake.model_selection.DEFAULT_STORAGE (kept here so that
# --help does not import scikit-learn; a test checks that they agree).
_DEFAULT_STORAGE = "sqlite:///sklearn_deepfake_study.db"
# Steps whose parameters change the faces; searched only with --tune-faces.
_FACE_STEPS = ("FrameSampler", "FaceCropper")

NAME = "tune"
HELP = "search the default pipeline's parameters with Optuna (resumable)"
DESCRIPTION = """\
Search the parameters of make_default_pipeline with Optuna on DATA_DIR (DFDC
layout with metadata.json, or real/ + fake/ subfolders). Each trial scores
one set of parameters by grouped cross-validation (a fake and its source never
on both sides) on the clipped log loss; poor trials are pruned after a fold.
The study is stored in --storage, so running the same command again resumes
it: --trials is the number of finished trials wanted in total. The best
parameters are printed and, with -o, refitted on all videos and saved with
joblib (written atomically) for 'sklearn-deepfake predict'.

By default the head is searched (pooling statistics, logistic regression C,
probability clipping) on faces found once; --tune-faces also searches the
frames per video, the crop size and margin. Parameters given with --set stay
fixed."""

__all__ = ["DESCRIPTION", "HELP", "NAME", "add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``tune`` to its parser."""
    _add_data_dir_argument(parser)
    parser.add_argument(
        "--trials",
        type=_positive_int,
        default=20,
        metavar="N",
        help="finished trials wanted in the study, earlier runs included (default: 20)",
    )
    parser.add_argument(
        "--storage",
        default=_DEFAULT_STORAGE,
        metavar="URL",
        help=f"Optuna storage URL (default: {_DEFAULT_STORAGE}, a file in the "
        "current folder)",
    )
    parser.add_argument(
        "--study-name",
        default=None,
        metavar="NAME",
        help="study to create or resume (default: derived from DATA_DIR and the "
        "options, so the same command resumes the same study)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="S",
        help="stop starting new trials after S seconds",
    )
    parser.add_argument(
        "--cv",
        type=_at_least(2),
        default=5,
        metavar="K",
        help="grouped cross-validation folds per trial, at most the number of "
        "groups (default: 5)",
    )
    _add_output_option(
        parser,
        "MODEL",
        "refit the best parameters on all videos and save the model here",
        required=False,
    )
    parser.add_argument(
        "--features",
        choices=FEATURE_SETS,
        default=None,
        help="per-frame features (default: the preset's: context for "
        "'default', context+mtcnn+shape+noise for 'swap'; the self-blended "
        "preset has no feature step and rejects this option)",
    )
    parser.add_argument(
        "--tune-faces",
        action="store_true",
        help="also search frames per video, crop size and margin (the faces are "
        "extracted again for each new value)",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="seed of the Optuna sampler"
    )
    _add_pipeline_options(parser)
    _add_runtime_options(parser, "auto")


def _study_name(args: argparse.Namespace, k: int) -> str:
    import joblib

    key = (
        os.path.abspath(args.data_dir),
        args.features or "context",
        args.preset,
        args.n_frames,
        args.size,
        sorted(parse_set(args.set).items(), key=lambda kv: kv[0]),
        bool(args.tune_faces),
        k,
    )
    return "tune-" + joblib.hash(repr(key))[:10]


def _no_params(trial: Any, prefix: str) -> dict[str, Any]:
    """Search space of a step that is not tuned."""
    return {}


def _space(fixed: set[str], tune_faces: bool) -> Any:
    """Search space: the default one, without the face steps unless asked."""
    from sklearn_deepfake.model_selection import SEARCH_SPACES, suggest_params

    registry = dict(SEARCH_SPACES)
    if not tune_faces:  # an empty entry wins over the step's own space
        registry.update(dict.fromkeys(_FACE_STEPS, _no_params))

    def tune_space(trial: Any, estimator: Any) -> dict[str, Any]:
        params = suggest_params(trial, estimator, registry=registry)
        return {name: v for name, v in params.items() if name not in fixed}

    return tune_space


def _fmt(value: Any) -> str:
    """``value`` as ``--set`` reads it back (floats rounded to 6 digits)."""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value if isinstance(value, str) else repr(value)


def run(args: argparse.Namespace) -> int:
    """Tune the default pipeline on a labelled folder; maybe save the best."""
    import numpy as np

    from sklearn_deepfake.model_selection import tune_pipeline

    training = _Training.load(args, "tune")
    pipe, paths, y, groups = training.pipe, training.paths, training.y, training.groups
    n_groups = len(np.unique(groups))
    k = min(args.cv, n_groups)
    if k < 2:
        raise UsageError(f"{args.data_dir} has {n_groups} group(s); tune needs 2")
    t0 = time.perf_counter()
    training.find_faces("--no-cache: every trial and fold finds the faces again")
    study_name = args.study_name or _study_name(args, k)
    what = "all steps" if args.tune_faces else "the head (faces fixed)"
    print(
        f"Study {study_name!r} in {args.storage}: {args.trials} trial(s) wanted, "
        f"{k}-fold GroupKFold, searching {what}"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # already reported while finding faces
        result = tune_pipeline(
            pipe,
            paths,
            y,
            groups,
            n_trials=args.trials,
            timeout=args.timeout,
            storage=args.storage,
            study_name=study_name,
            space=_space(set(parse_set(args.set)), args.tune_faces),
            cv=k,
            refit=args.output is not None,
            random_state=args.seed,
        )
    res = result.cv_results_
    print(
        f"  {result.n_new_trials_} new trial(s), {len(res['number'])} finished in "
        f"the study  [{time.perf_counter() - t0:.1f} s]"
    )
    for i, number in enumerate(res["number"]):
        score = res["mean_test_score"][i]
        loss = f"log loss {-score:.4f}" if np.isfinite(score) else "-"
        print(f"  #{number:<3} {res['state'][i]:<8} {loss}")
    print(
        f"Best trial #{result.study.best_trial.number}: CV log loss "
        f"{-result.best_score_:.4f} (constant 0.5: {np.log(2):.4f})"
    )
    print("  (as --set arguments)")
    for name, value in sorted(result.best_params_.items()):
        print(f"  {name}={_fmt(value)}")
    if args.output is not None:
        atomic_dump(result.best_estimator_, args.output)
        print(f"Refitted on all {len(paths)} videos; saved {args.output}")
    return 0
