"""The ``sklearn-deepfake`` command line.

One function per subcommand (``_cmd_<name>``), registered in
:func:`_build_parser`; :func:`main` parses the arguments, runs the
subcommand and turns failures into exit codes:

- ``0``: success;
- ``1``: the command failed; a one-line message goes to stderr (add
  ``--traceback`` to see where);
- ``2``: usage error (bad or missing arguments, unknown ``--set`` names);
- ``130``: interrupted with Ctrl-C.

``extract``, ``fit`` and ``predict`` share one face cache
(``--cache DIR``, default ``$SKLEARN_DEEPFAKE_CACHE`` or
``~/.cache/sklearn-deepfake/faces``), so each reuses the faces the others
found. Heavy imports (torch, the face detector) happen inside the
subcommands, so ``sklearn-deepfake --help`` answers at once.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sklearn_deepfake import __version__
from sklearn_deepfake.cli import _cache, _explain, _tune
from sklearn_deepfake.cli._options import (
    _FEATURE_SETS,
    _add_pipeline_options,
    _add_runtime_options,
    _add_scheduler_option,
    _at_least,
    _build_pipeline,
    _cache_dir,
    _find_faces,
    _load_training,
    _n_jobs,
    _non_negative_int,
    _probability,
    _scheduler_address,
)
from sklearn_deepfake.cli._utils import (
    UsageError,
    atomic_dump,
    calibration_cv,
    concise_warnings,
    fake_column,
    find_videos,
    list_videos,
    one_line,
    parse_set,
    predict_in_chunks,
    read_labels,
    short_list,
)

__all__ = ["main"]

# Parameter of the default pipeline's internal calibration folds.
_CALIBRATION_CV = "classifier__estimator__cv"

_DESCRIPTION = """\
Deepfake video detection with scikit-learn pipelines.

Videos go through FrameSampler (which frames to read), FaceCropper (MTCNN
face tracks), then a preset's head (see make_default_pipeline): by default
per-frame features, TemporalPooling (one row per video) and a logistic
regression whose probabilities are clipped (no calibration step unless
'fit --calibration' asks for one).

Typical use:
  sklearn-deepfake extract DATA_DIR            # find faces once (cached)
  sklearn-deepfake fit DATA_DIR -o model.joblib
  sklearn-deepfake predict model.joblib DATA_DIR -o submission.csv"""

_DEMO_HELP = """\
Make a small synthetic dataset in the DFDC layout (train_sample_videos/ with
metadata.json, test_videos/, sample_submission.csv, test_labels.csv), then run
the default pipeline on it: find the faces (cached), grouped cross-validated
log loss, fit on all training videos, test log loss and a submission.csv.
Runs offline on CPU in about a minute."""


# ---------------------------------------------------------------------------
# argument types and shared options
# ---------------------------------------------------------------------------


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sklearn-deepfake",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run 'sklearn-deepfake COMMAND --help' for the options of a command.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    parser.add_argument(
        "--traceback",
        action="store_true",
        help="on failure, print the full Python traceback, not just the message",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="run the whole pipeline on small synthetic videos (offline, CPU)",
        description=_DEMO_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument(
        "--dir",
        metavar="DIR",
        help="write the videos and submission.csv to DIR and keep them "
        "(default: a temporary folder, removed at the end)",
    )
    demo.add_argument(
        "--n-jobs",
        type=_n_jobs,
        default=1,
        metavar="N",
        help="videos processed in parallel; -1 uses every core (default: 1)",
    )
    demo.add_argument(
        "--device",
        default="cpu",
        metavar="D",
        help="device of the face detector (default: cpu)",
    )
    demo.add_argument(
        "--keep",
        action="store_true",
        help="keep the temporary folder and print its path",
    )
    demo.add_argument(
        "--n-originals",
        type=_at_least(2),
        default=6,
        metavar="N",
        help="number of real source videos (at least 2, 3 for cross-validation); "
        "each gets one fake twin in the training set, and the test set has N "
        "videos (default: 6)",
    )
    demo.add_argument(
        "--seed", type=int, default=0, help="random seed of the data (default: 0)"
    )
    demo.set_defaults(func=_cmd_demo)

    extract = commands.add_parser(
        "extract",
        help="find the faces of videos and store them in the face cache",
        description="Fill the face cache for video files and folders (every "
        "video inside, recursively; for a DFDC root, its train and test "
        "folders). Use the same --n-frames, --size and --set as 'fit', so "
        "that 'fit' and 'predict' find the faces already there.",
    )
    extract.add_argument("videos", nargs="+", metavar="VIDEO", help="files/folders")
    _add_pipeline_options(extract)
    _add_runtime_options(extract, "auto")
    _add_scheduler_option(extract)
    extract.set_defaults(func=_cmd_extract)

    fit = commands.add_parser(
        "fit",
        help="fit the default pipeline on a labelled folder and save it",
        description="Fit make_default_pipeline on DATA_DIR (DFDC layout with "
        "metadata.json, or real/ + fake/ subfolders) and save the fitted "
        "model with joblib (written atomically). The loader's groups (for "
        "DFDC, the original each fake was made from) reach every step that "
        "splits, e.g. the self-blended preset's early-stopping split. With "
        "--report-cv K it first prints the grouped K-fold cross-validated "
        "log loss and AUC.",
    )
    fit.add_argument(
        "data_dir",
        metavar="DATA_DIR",
        help="DFDC root (metadata.json) or a folder with real/ and fake/ subfolders",
    )
    fit.add_argument(
        "-o", "--output", required=True, metavar="MODEL", help="model file to write"
    )
    fit.add_argument(
        "--report-cv",
        "--cv",
        dest="cv",
        type=_non_negative_int,
        default=0,
        metavar="K",
        help="before the final fit, report the grouped K-fold cross-validated "
        "log loss and AUC (a fake and its source never on both sides). The "
        "per-frame features are computed once for all folds, and each fold "
        "refits only the head (cheap); with the self-blended preset each fold "
        "trains the network again, so the report costs K more trainings. 0 or "
        "1 skips it (default: 0, no report)",
    )
    fit.add_argument(
        "--features",
        choices=_FEATURE_SETS,
        default=None,
        help="per-frame features (default: the preset's; the self-blended "
        "preset has no feature step and rejects this option)",
    )
    fit.add_argument(
        "--calibration",
        choices=("sigmoid", "isotonic"),
        default=None,
        help="wrap the logistic regression in CalibratedClassifierCV with this "
        "method (default: none; its folds are lowered to what the smallest "
        "class allows, or set classifier__estimator__cv; the default preset "
        "only: swap and self-blended reject it)",
    )
    _add_pipeline_options(fit)
    _add_runtime_options(fit, "auto")
    fit.set_defaults(func=_cmd_fit)

    predict = commands.add_parser(
        "predict",
        help="write submission.csv for videos with a saved model",
        description="Predict P(FAKE) for a DFDC root (its test_videos/ and "
        "sample_submission.csv), a folder of videos or video files. Every "
        "video gets a row: a video whose prediction fails gets --fallback, "
        "with a warning naming it. When a test_labels.csv (filename,label) "
        "lies next to the videos, the log loss and AUC are printed.",
    )
    predict.add_argument("model", metavar="MODEL", help="model saved by 'fit'")
    predict.add_argument("videos", nargs="+", metavar="VIDEOS", help="files/folder")
    predict.add_argument(
        "-o", "--output", required=True, metavar="CSV", help="submission to write"
    )
    predict.add_argument(
        "--sample-submission",
        metavar="CSV",
        help="rows and their order (default: sample_submission.csv next to "
        "the videos, if any)",
    )
    predict.add_argument(
        "--fallback",
        type=_probability,
        default=0.5,
        metavar="P",
        help="probability written for videos that cannot be scored (default: 0.5)",
    )
    _add_runtime_options(predict, None)
    _add_scheduler_option(predict)
    predict.set_defaults(func=_cmd_predict)
    for module in (_tune, _explain, _cache):
        module.add_subparser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``sklearn-deepfake`` command line.

    Parameters
    ----------
    argv : sequence of str, default=None
        Arguments without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    exit_code : int
        ``0`` on success, ``1`` when the command failed, ``2`` on a usage
        error, ``130`` when interrupted.

    Examples
    --------
    >>> from sklearn_deepfake.cli import main
    >>> main(["--version"])  # doctest: +ELLIPSIS
    sklearn-deepfake ...
    0
    """
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_usage(sys.stderr)
        print(
            "sklearn-deepfake: error: a COMMAND is required (try --help)",
            file=sys.stderr,
        )
        return 2
    try:
        with concise_warnings():
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"sklearn-deepfake {args.command}: interrupted", file=sys.stderr)
        return 130
    except UsageError as exc:
        print(f"sklearn-deepfake {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        if args.traceback:
            traceback.print_exc()
        print(
            f"sklearn-deepfake {args.command}: error: {one_line(exc)}",
            file=sys.stderr,
        )
        return 1


# ---------------------------------------------------------------------------
# shared by extract / fit
# ---------------------------------------------------------------------------


# ---------------------------------------------------------------------------
# extract
# ---------------------------------------------------------------------------


def _cmd_extract(args: argparse.Namespace) -> int:
    """Fill the face cache for the given videos."""
    cache_dir = _cache_dir(args)
    pipe = _build_pipeline(args, cache_dir)
    paths = find_videos(args.videos)
    fs = pipe.named_steps["framesampler"]
    fc = pipe.named_steps["facecropper"]
    print(
        f"Extracting faces from {len(paths)} video(s): {fs.n_frames} frames each, "
        f"{fc.size} px crops"
    )
    if cache_dir is None:
        print("  (--no-cache: the faces are found but not stored)")
    with _scheduler_address(args.scheduler) as scheduler:
        pipe.set_params(facecropper__scheduler=scheduler)
        _find_faces(pipe, paths, cache_dir)
    return 0


# ---------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------


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


def _label_free_once(pipe: Any, paths: list) -> tuple[Any, Any]:
    """Compute the steps up to ``features`` once; return their output and the head.

    The frame sampler, the face step and the per-frame feature extractors
    learn nothing from the videos or their labels, so their output is the
    same in every fold: the folds then refit only the head (pooling, scaler,
    classifier). A pipeline without a ``features`` step (the self-blended
    preset) is returned whole, with the paths.
    """
    from sklearn.base import clone

    names = list(getattr(pipe, "named_steps", {}))
    if "features" not in names or names[-1] == "features":
        return paths, pipe
    cut = names.index("features") + 1
    t = time.perf_counter()
    features = clone(pipe[:cut]).fit_transform(paths)
    print(
        f"  features of the {len(paths)} videos computed once for all folds "
        f"[{time.perf_counter() - t:.1f} s]; each fold refits "
        + " -> ".join(names[cut:])
    )
    return features, pipe[cut:]


def _cross_validate(
    pipe: Any, paths: list, y: Any, groups: Any, k: int, explicit: bool
) -> Any:
    """Run grouped CV; print and return the log losses of the folds."""
    import numpy as np
    from sklearn.base import clone
    from sklearn.model_selection import GroupKFold, cross_validate

    from sklearn_deepfake.pipeline._pipeline import _groups_fit_params

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


def _cmd_fit(args: argparse.Namespace) -> int:
    """Fit the default pipeline on a labelled folder and save it."""
    import numpy as np

    from sklearn_deepfake.pipeline._pipeline import _groups_fit_params

    cache_dir = _cache_dir(args)
    pipe = _build_pipeline(args, cache_dir)
    explicit_cal = _CALIBRATION_CV in parse_set(args.set)
    data = _load_training(args.data_dir)
    paths, y, groups = list(data.paths), np.asarray(data.target), data.groups
    if len(np.unique(y)) < 2:
        raise ValueError(f"{args.data_dir} holds only one class; fit needs both")
    print(
        f"{len(paths)} training videos ({int(y.sum())} fake, "
        f"{len(np.unique(groups))} groups) from {args.data_dir}"
    )
    t0 = time.perf_counter()
    if cache_dir is not None:
        print("Finding faces:")
        _find_faces(pipe, paths, cache_dir)
    else:
        print("--no-cache: the faces are found again at every fit")
    k = min(args.cv, len(np.unique(groups)))
    if k >= 2:
        _cross_validate(pipe, paths, y, groups, k, explicit_cal)
    elif args.cv >= 2:
        print("Skipping cross-validation: fewer than 2 groups")
    cal = _set_calibration_cv(pipe, y, [np.arange(len(y))], explicit_cal)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # already reported while finding faces
        pipe.fit(paths, y, **_groups_fit_params(pipe, groups))
    print(
        f"Fitted on all {len(paths)} videos{cal.replace(';', ',')} "
        f"[{time.perf_counter() - t:.1f} s]"
    )
    atomic_dump(pipe, args.output)
    print(f"Saved {args.output}  [total {time.perf_counter() - t0:.1f} s]")
    return 0


# ---------------------------------------------------------------------------
# predict
# ---------------------------------------------------------------------------


def _first_file(folders: Sequence[Path], name: str) -> str | None:
    for folder in dict.fromkeys(folders):
        if (folder / name).is_file():
            return os.fspath(folder / name)
    return None


def _predict_inputs(
    inputs: Sequence[str], sample: str | None
) -> tuple[list[str], str | None, str | None]:
    """Videos to score, the sample submission and the true labels, if any."""
    import pandas as pd

    if len(inputs) == 1 and os.path.isdir(inputs[0]):
        root = Path(inputs[0])
        folder = root / "test_videos" if (root / "test_videos").is_dir() else root
        videos = list_videos(folder, recursive=folder == root)
        sample = sample or _first_file([folder, root], "sample_submission.csv")
        labels = _first_file([folder, root, folder.parent], "test_labels.csv")
    else:
        videos = find_videos(inputs)
        first = Path(videos[0]).parent
        labels = _first_file([first, first.parent], "test_labels.csv")
    if sample is not None:
        listed = [os.path.basename(str(n)) for n in pd.read_csv(sample)["filename"]]
        on_disk = {os.path.basename(v): v for v in videos}
        unlisted = [v for v in videos if os.path.basename(v) not in set(listed)]
        if unlisted and len(inputs) == 1 and os.path.isdir(inputs[0]):
            warnings.warn(
                f"{len(unlisted)} video(s) are not in {sample} and are not "
                f"scored: {short_list(unlisted)}",
                UserWarning,
                stacklevel=2,
            )
            videos = [on_disk[n] for n in listed if n in on_disk]
    if not videos:
        raise FileNotFoundError("no video to score in " + ", ".join(inputs))
    return videos, sample, labels


def _configure_model(
    model: Any, args: argparse.Namespace, scheduler: str | None = None
) -> str:
    """Apply --cache/--n-jobs/--device/--scheduler to the model's face step."""
    steps = getattr(model, "named_steps", {})
    if "facecropper" not in steps:
        return "the model has no facecropper step; --cache/--device not applied"
    fc = steps["facecropper"]
    cache_dir = _cache_dir(args)
    update: dict[str, Any] = {"cache_dir": cache_dir, "verbose": 1}
    if args.n_jobs is not None:
        update["n_jobs"] = args.n_jobs
    if args.device is not None:
        update["device"] = args.device
    if scheduler is not None:
        update["scheduler"] = scheduler
    fc.set_params(**update)
    fc.fit(None)  # learns nothing: validates and resolves the device again
    return f"face cache {cache_dir}" if cache_dir else "no face cache"


def _print_scores(submission: Any, labels_path: str) -> None:
    import numpy as np
    from sklearn.metrics import log_loss, roc_auc_score

    truth = read_labels(labels_path)
    rows = submission[submission["filename"].isin(list(truth))]
    if rows.empty:
        print(f"{labels_path} labels none of the written rows")
        return
    y = np.array([truth[n] for n in rows["filename"]])
    p = rows["label"].to_numpy(dtype=float)
    loss = log_loss(y, p, labels=[0, 1])
    auc = roc_auc_score(y, p) if len(np.unique(y)) == 2 else float("nan")
    print(
        f"Against {labels_path} ({len(rows)} videos): log loss {loss:.3f}, "
        f"AUC {auc:.3f}   (constant 0.5: {np.log(2):.3f})"
    )


def _cmd_predict(args: argparse.Namespace) -> int:
    """Score videos with a saved model and write a complete submission."""
    import joblib
    import numpy as np

    from sklearn_deepfake.submission import write_submission

    if not os.path.isfile(args.model):
        raise FileNotFoundError(f"model file {args.model!r} not found")
    t0 = time.perf_counter()
    videos, sample, labels = _predict_inputs(args.videos, args.sample_submission)
    model = joblib.load(args.model)
    with _scheduler_address(args.scheduler) as scheduler:
        note = _configure_model(model, args, scheduler)
        print(f"Scoring {len(videos)} video(s) with {args.model} ({note})")
        proba, failed = predict_in_chunks(model, videos)
    for path, message in failed.items():
        print(f"warning: cannot score {path}: {message}", file=sys.stderr)
    submission = write_submission(
        args.output, videos, proba, sample_submission=sample, fallback=args.fallback
    )
    scored = {os.path.basename(v): p for v, p in zip(videos, proba) if np.isfinite(p)}
    fallbacks = [n for n in submission["filename"] if n not in scored]
    print(
        f"Wrote {args.output}: {len(submission)} rows, {len(fallbacks)} with the "
        f"fallback {args.fallback}"
        + (f" ({short_list(fallbacks)})" if fallbacks else "")
        + f"  [{time.perf_counter() - t0:.1f} s]"
    )
    if labels is not None:
        _print_scores(submission, labels)
    return 0


# ---------------------------------------------------------------------------
# demo
# ---------------------------------------------------------------------------


def _cmd_demo(args: argparse.Namespace) -> int:
    """Synthesise a DFDC-layout folder, then fit, score and submit."""
    if args.dir is not None:
        if os.path.exists(args.dir) and not os.path.isdir(args.dir):
            raise NotADirectoryError(f"--dir {args.dir!r} exists and is not a folder")
        root = os.path.abspath(args.dir)
        temporary = False
    else:
        root = tempfile.mkdtemp(prefix="sklearn-deepfake-demo-")
        temporary = not args.keep
    try:
        _run_demo(
            root,
            n_jobs=args.n_jobs,
            n_originals=args.n_originals,
            seed=args.seed,
            device=args.device,
        )
    finally:
        if temporary:
            shutil.rmtree(root, ignore_errors=True)
    if temporary:
        print("(temporary folder removed; use --keep or --dir DIR to keep the files)")
    else:
        print(f"Files kept in {root}")
    return 0


def _run_demo(
    root: str, *, n_jobs: int, n_originals: int, seed: int, device: str = "cpu"
) -> None:
    import numpy as np
    from sklearn.metrics import log_loss, roc_auc_score

    from sklearn_deepfake.datasets import load_dfdc, make_dfdc_folder
    from sklearn_deepfake.pipeline._pipeline import (
        _groups_fit_params,
        make_default_pipeline,
    )
    from sklearn_deepfake.submission import write_submission

    t0 = time.perf_counter()
    print(f"sklearn-deepfake {__version__} demo")
    print(f"Writing synthetic videos to {root} ...")
    make_dfdc_folder(
        root,
        n_originals=n_originals,
        fakes_per_original=1,
        n_test=n_originals,
        random_state=seed,
    )
    train = load_dfdc(root)
    test = load_dfdc(root, subset="test")
    y, groups = np.asarray(train.target), np.asarray(train.groups)
    print(
        f"  {len(train.paths)} training videos ({int(y.sum())} fake, "
        f"{len(np.unique(groups))} source groups), {len(test.paths)} test "
        f"videos  [{time.perf_counter() - t0:.1f} s]"
    )

    cache_dir = os.path.join(root, ".face-cache")
    pipe = make_default_pipeline(
        n_frames=16, size=64, cache_dir=cache_dir, n_jobs=n_jobs, device=device
    )
    print(
        "\nPipeline: make_default_pipeline(n_frames=16, size=64)\n  "
        + " -> ".join(pipe.named_steps)
    )
    every = list(train.paths) + list(test.paths)
    print(f"\nFinding faces in all {len(every)} videos (first pass, MTCNN):")
    first = _find_faces(pipe, every, cache_dir)
    t = time.perf_counter()
    pipe[:2].fit_transform(every)
    second = time.perf_counter() - t
    print(
        f"  second pass over the same {len(every)} videos: {second:.2f} s, read "
        f"from the face cache ({first['seconds'] / max(second, 1e-3):.0f}x faster)"
    )

    print()
    k = min(5, len(np.unique(groups)))
    _cross_validate(pipe, list(train.paths), y, groups, k, explicit=False)

    cal = _set_calibration_cv(pipe, y, [np.arange(len(y))], explicit=False)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no-face warnings were shown above
        pipe.fit(list(train.paths), y, **_groups_fit_params(pipe, groups))
        proba = pipe.predict_proba(list(test.paths))[:, fake_column(pipe)]
    print(
        f"\nFitted on all {len(y)} training videos{cal.replace(';', ',')}, "
        f"scored the test videos  [{time.perf_counter() - t:.1f} s]"
    )
    if test.target is not None:
        loss = log_loss(test.target, proba, labels=[0, 1])
        auc = roc_auc_score(test.target, proba)
        print(
            f"  test log loss {loss:.3f}, AUC {auc:.3f} on {len(proba)} videos   "
            f"(constant 0.5: {np.log(2):.3f})"
        )
    out = os.path.join(root, "submission.csv")
    sample = os.path.join(root, "sample_submission.csv")
    write_submission(out, test.paths, proba, sample_submission=sample)
    print(f"  wrote {out} ({len(proba)} rows, sample_submission order)")
    print(f"\nDone in {time.perf_counter() - t0:.1f} s.")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
