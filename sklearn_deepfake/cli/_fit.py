"""The ``fit`` subcommand: fit a preset on a labelled folder and save it.

Also the grouped cross-validation report (``--report-cv``) that ``demo``
reuses.
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

from sklearn_deepfake.cli._options import (
    _add_data_dir_argument,
    _add_output_option,
    _add_pipeline_options,
    _add_runtime_options,
    _non_negative_int,
    _Training,
)
from sklearn_deepfake.cli._utils import atomic_dump, calibration_cv, parse_set
from sklearn_deepfake.pipeline import FEATURE_SETS

# Parameter of the default pipeline's internal calibration folds.
_CALIBRATION_CV = "classifier__estimator__cv"


NAME = "fit"
HELP = "fit the default pipeline on a labelled folder and save it"
DESCRIPTION = (
    "Fit make_default_pipeline on DATA_DIR (DFDC layout with "
    "metadata.json, or real/ + fake/ subfolders) and save the fitted "
    "model with joblib (written atomically). The loader's groups (for "
    "DFDC, the original each fake was made from) reach every step that "
    "splits, e.g. the self-blended preset's early-stopping split. With "
    "--report-cv K it first prints the grouped K-fold cross-validated "
    "log loss and AUC. The general-blend preset's identity head learns from "
    "self-blended copies of the real videos, made once between the face "
    "step and the features (in the cross-validation, each fold uses the "
    "copies of its training videos only)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``fit`` to its parser."""
    _add_data_dir_argument(parser)
    _add_output_option(parser, "MODEL", "model file to write")
    parser.add_argument(
        "--report-cv",
        "--cv",
        dest="cv",
        type=_non_negative_int,
        default=0,
        metavar="K",
        help="before the final fit, report the grouped K-fold cross-validated "
        "log loss and AUC (a fake and its source never on both sides). The "
        "per-frame features are computed once for all folds and the final "
        "fit, and each fold refits only the head (cheap); with the "
        "self-blended preset each fold trains the network again, so the "
        "report costs K more trainings. 0 or 1 skips it (default: 0, no report)",
    )
    parser.add_argument(
        "--features",
        choices=FEATURE_SETS,
        default=None,
        help="per-frame features (default: the preset's; the self-blended "
        "preset has no feature step and rejects this option)",
    )
    parser.add_argument(
        "--calibration",
        choices=("sigmoid", "isotonic"),
        default=None,
        help="wrap the logistic regression in CalibratedClassifierCV with this "
        "method (default: none; its folds are lowered to what the smallest "
        "class allows, or set classifier__estimator__cv; the default preset "
        "only: swap and self-blended reject it)",
    )
    _add_pipeline_options(parser)
    _add_runtime_options(parser, "auto")


def _set_calibration_cv(pipe: Any, y: Any, train_sets: list, explicit: bool) -> str:
    """Lower the internal calibration folds to what ``train_sets`` can afford.

    With ``calibration`` set, the head is ``CalibratedClassifierCV(cv=k)``,
    which needs ``k`` videos of each class in the data it is fitted on, so
    ``k`` is computed from the class counts of the smallest training set
    (not hard-coded); an explicit ``--set`` wins. Returns a note for the
    output ("" without calibration).
    """
    current = pipe.get_params().get(_CALIBRATION_CV)
    if current is None:
        return ""
    if explicit or not isinstance(current, int):
        return f"; calibration cv={current}"
    k = calibration_cv(y, train_sets, current)
    pipe.set_params(**{_CALIBRATION_CV: k})
    lowered = "" if k == current else f" (lowered from {current})"
    return f"; calibration cv={k}{lowered}"


def _label_free_once(pipe: Any, paths: list, why: str = "for all folds") -> tuple:
    """Fit the steps up to ``features`` on ``paths``; return their output and the head.

    The frame sampler, the face step and the per-frame feature extractors
    learn nothing from the videos or their labels, so their output is the
    same in every fold and in the final fit: those then fit only the head
    (pooling, scaler, classifier), ``pipe[cut:]``, whose steps are
    ``pipe``'s own. ``pipe``'s label-free steps are fitted in place (a
    ``Pipeline(memory=...)`` fits clones: they are put back into ``pipe``).
    A pipeline without a ``features`` step (the self-blended preset) is
    returned whole, with the paths.
    """
    names = list(getattr(pipe, "named_steps", {}))
    if "features" not in names or names[-1] == "features":
        return paths, pipe
    cut = names.index("features") + 1
    t = time.perf_counter()
    front = pipe[:cut]
    features = front.fit_transform(paths)
    pipe.steps[:cut] = front.steps
    print(
        f"  features of the {len(paths)} videos computed once {why} "
        f"[{time.perf_counter() - t:.1f} s]; then "
        + " -> ".join(names[cut:])
        + " is fitted on them"
    )
    return features, pipe[cut:]


def fit_reporting(
    pipe: Any, paths: list, y: Any, groups: Any, k: int, explicit: bool
) -> str:
    """Fit ``pipe`` in place, after a grouped ``k``-fold report when ``k >= 2``.

    The label-free steps run once (:func:`_label_free_once`): the folds and
    the final fit both refit only the head on their output. Returns the
    calibration note of the final fit (see :func:`_set_calibration_cv`).
    """
    import numpy as np

    from sklearn_deepfake.utils._routing import _groups_fit_params

    why = "for the folds and the final fit" if k >= 2 else "for the fit"
    X, head = _label_free_once(pipe, paths, why)
    if k >= 2:
        _cross_validate(head, X, y, groups, k, explicit)
    cal = _set_calibration_cv(pipe, y, [np.arange(len(y))], explicit)
    head.fit(X, y, **_groups_fit_params(head, groups))
    if head is not pipe:  # a Pipeline(memory=...) fitted clones of its steps
        pipe.steps[len(pipe.steps) - len(head.steps) :] = head.steps
    return cal


def _cross_validate(
    pipe: Any, paths: list, y: Any, groups: Any, k: int, explicit: bool
) -> Any:
    """Run grouped CV; print and return the log losses of the folds."""
    import numpy as np
    from sklearn.base import clone
    from sklearn.model_selection import GroupKFold, cross_validate

    from sklearn_deepfake.utils._routing import _groups_fit_params

    splits = list(GroupKFold(n_splits=k).split(paths, y, groups))
    cv_pipe = clone(pipe)
    try:
        cal = _set_calibration_cv(cv_pipe, y, [tr for tr, _ in splits], explicit)
    except ValueError as exc:
        print(f"Skipping {k}-fold cross-validation: {exc}")
        return None
    print(
        f"{k}-fold GroupKFold on {len(np.unique(groups))} groups (a fake and its "
        f"source never on both sides{cal}):"
    )
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # per-fold repeats of the same warnings
        X, cv_pipe = _label_free_once(cv_pipe, paths)
        res = cross_validate(
            cv_pipe,
            X,
            y,
            groups=groups,
            cv=splits,
            scoring={"log_loss": "neg_log_loss", "auc": "roc_auc"},
            error_score="raise",
            params=_groups_fit_params(cv_pipe, groups),
        )
    loss = -res["test_log_loss"]
    auc = res["test_auc"]
    print(
        f"  CV log loss {loss.mean():.3f} +/- {loss.std():.3f}   AUC "
        f"{np.nanmean(auc):.3f}   (constant 0.5: {np.log(2):.3f}, AUC 0.5)  "
        f"[{time.perf_counter() - t:.1f} s]"
    )
    return loss


def _fit_self_blended(pipe: Any, paths: list, y: Any, groups: Any, k: int) -> None:
    """Fit a head with self-blended parts (general-blend preset), after a grouped CV.

    The features of every video and of one self-blended copy of each real
    video are computed once; each fold trains the head on its training
    videos and the copies of their real ones, and is scored on its test
    videos (never on copies). ``pipe`` is fitted in place.
    """
    import numpy as np
    from sklearn.base import clone
    from sklearn.metrics import log_loss, roc_auc_score
    from sklearn.model_selection import GroupKFold

    from sklearn_deepfake.pipeline._self_blended_fit import (
        _split,
        self_blended_features,
        self_blended_rows,
    )

    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # already reported while finding faces
        feats, copies, source, fake = self_blended_features(pipe, paths, y)
    _, cut = _split(pipe)
    head = pipe[cut:]
    y = np.asarray(y)
    print(
        f"  features of the {len(paths)} videos and of {len(copies)} "
        "self-blended copies of the real ones computed once "
        f"[{time.perf_counter() - t:.1f} s]; the parts "
        f"{list(pipe.named_steps['classifier'].estimator.self_blended_parts)} "
        "learn from real videos against the copies"
    )

    if k >= 2:
        t = time.perf_counter()
        losses, aucs = [], []
        for tr, te in GroupKFold(n_splits=k).split(paths, y, groups):
            X, y2, mask = self_blended_rows(feats, copies, source, y, fake, tr)
            fold = clone(head).fit(X, y2, classifier__self_blended=mask)
            p = fold.predict_proba([feats[i] for i in te])
            p_fake = p[:, list(fold.classes_).index(fake)]
            truth = (y[te] == fake).astype(int)
            losses.append(log_loss(truth, p_fake, labels=[0, 1]))
            both = 0 < truth.sum() < len(truth)
            aucs.append(roc_auc_score(truth, p_fake) if both else np.nan)
        loss = np.array(losses)
        print(
            f"{k}-fold GroupKFold on {len(np.unique(groups))} groups (a fake and "
            "its source never on both sides; copies follow their source):"
        )
        print(
            f"  CV log loss {loss.mean():.3f} +/- {loss.std():.3f}   AUC "
            f"{np.nanmean(aucs):.3f}   (constant 0.5: {np.log(2):.3f}, AUC 0.5)  "
            f"[{time.perf_counter() - t:.1f} s]"
        )
    X, y2, mask = self_blended_rows(feats, copies, source, y, fake)
    head.fit(X, y2, classifier__self_blended=mask)


def run(args: argparse.Namespace) -> int:
    """Fit the default pipeline on a labelled folder and save it."""
    import numpy as np

    from sklearn_deepfake.pipeline._self_blended_fit import self_blended_head

    training = _Training.load(args, "fit")
    pipe, paths, y, groups = training.pipe, training.paths, training.y, training.groups
    explicit_cal = _CALIBRATION_CV in parse_set(args.set)
    t0 = time.perf_counter()
    training.find_faces("--no-cache: the faces are found again at every fit")
    k = min(args.cv, len(np.unique(groups)))
    if self_blended_head(pipe) is not None:
        t = time.perf_counter()
        _fit_self_blended(pipe, paths, y, groups, k)
        print(
            f"Fitted on all {len(paths)} videos and the self-blended copies "
            f"[{time.perf_counter() - t:.1f} s]"
        )
        atomic_dump(pipe, args.output)
        print(f"Saved {args.output}  [total {time.perf_counter() - t0:.1f} s]")
        return 0
    if k < 2 and args.cv >= 2:
        print("Skipping cross-validation: fewer than 2 groups")
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # already reported while finding faces
        cal = fit_reporting(pipe, paths, y, groups, k, explicit_cal)
    report = " and the report" if k >= 2 else ""
    print(
        f"Fitted on all {len(paths)} videos{cal.replace(';', ',')} "
        f"[{time.perf_counter() - t:.1f} s with the features{report}]"
    )
    atomic_dump(pipe, args.output)
    print(f"Saved {args.output}  [total {time.perf_counter() - t0:.1f} s]")
    return 0
