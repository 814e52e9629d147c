"""The ``sklearn-deepfake`` command line.

One function per subcommand (``_cmd_<name>``), registered in
:func:`_build_parser`; :func:`main` parses the arguments, runs the
subcommand and turns failures into exit codes:

- ``0``: success;
- ``1``: the command failed; a one-line message goes to stderr (add
  ``--traceback`` to see where);
- ``2``: usage error (bad or missing arguments);
- ``130``: interrupted with Ctrl-C.

Heavy imports (torch, the face detector) happen inside the subcommands, so
``sklearn-deepfake --help`` answers at once.
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
from typing import Any

from sklearn_deepfake import __version__

__all__ = ["main"]

_DESCRIPTION = """\
Deepfake video detection with scikit-learn pipelines.

Videos go through FrameSampler (which frames to read), FaceCropper (MTCNN
face tracks), per-frame features and TemporalPooling (one row per video),
then any scikit-learn classifier."""

_DEMO_HELP = """\
Make a small synthetic dataset in the DFDC layout (train_sample_videos/ with
metadata.json, test_videos/), find and crop the faces in every video, and,
when the feature steps are installed, fit a small weight-free classifier:
grouped cross-validated log loss, test log loss and a submission.csv.
Runs offline on CPU in about a minute."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _n_jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value == 0:
        raise argparse.ArgumentTypeError("must not be 0 (use 1, 2, ... or -1)")
    return value


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
        "--keep",
        action="store_true",
        help="keep the temporary folder and print its path",
    )
    demo.add_argument(
        "--n-originals",
        type=_positive_int,
        default=6,
        metavar="N",
        help="number of real source videos; each gets one fake twin in the "
        "training set, and the test set has N videos (default: 6)",
    )
    demo.add_argument(
        "--seed", type=int, default=0, help="random seed of the data (default: 0)"
    )
    demo.set_defaults(func=_cmd_demo)
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
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"sklearn-deepfake {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.traceback:
            traceback.print_exc()
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"sklearn-deepfake {args.command}: error: {message}", file=sys.stderr)
        return 1


# ---------------------------------------------------------------------------
# demo
# ---------------------------------------------------------------------------


def _cmd_demo(args: argparse.Namespace) -> int:
    """Synthesise a DFDC-layout folder, crop its faces, fit and score a model."""
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
            root, n_jobs=args.n_jobs, n_originals=args.n_originals, seed=args.seed
        )
    finally:
        if temporary:
            shutil.rmtree(root, ignore_errors=True)
    if temporary:
        print("(temporary folder removed; use --keep or --dir DIR to keep the files)")
    else:
        print(f"Files kept in {root}")
    return 0


def _run_demo(root: str, *, n_jobs: int, n_originals: int, seed: int) -> None:
    from sklearn_deepfake.datasets import load_dfdc, make_dfdc_folder

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
    train = load_dfdc(root, subset="train")
    test = load_dfdc(root, subset="test")
    print(
        f"  {len(train.paths)} training videos ({int(sum(train.target))} fake), "
        f"{len(test.paths)} test videos  [{time.perf_counter() - t0:.1f} s]"
    )

    print("\nFinding faces (FrameSampler -> FaceCropper):")
    tracks_train, tracks_test = _crop_faces(
        [("train", train.paths), ("test", test.paths)], n_jobs=n_jobs
    )

    model = _weight_free_model()
    if model is None:
        print(
            "\nThe feature steps (sklearn_deepfake.features) are not installed; "
            "skipping the classifier."
        )
    else:
        _fit_and_score(model, train, test, tracks_train, tracks_test, root)
    print(f"\nDone in {time.perf_counter() - t0:.1f} s.")


def _crop_faces(
    subsets: list[tuple[str, Sequence[str]]], *, n_jobs: int
) -> list[list[Any]]:
    """Run FrameSampler -> FaceCropper, printing one line per video."""
    from joblib import effective_n_jobs

    from sklearn_deepfake.faces import FaceCropper
    from sklearn_deepfake.video import FrameSampler

    sampler = FrameSampler(n_frames=16)
    cropper = FaceCropper(size=64, device="cpu", n_jobs=n_jobs).fit(None)
    batch = max(1, effective_n_jobs(n_jobs))
    total = sum(len(paths) for _, paths in subsets)
    width = len(str(total))
    done = 0
    results = []
    for name, paths in subsets:
        paths = list(paths)
        plans = sampler.fit_transform(paths)
        tracks: list[Any] = []
        for start in range(0, len(plans), batch):
            chunk = plans[start : start + batch]
            t = time.perf_counter()
            out = cropper.transform(chunk)
            seconds = (time.perf_counter() - t) / len(chunk)
            for track in out:
                done += 1
                n_frames = len(track.frame_indices)
                n_found = int(track.face_found.sum())
                note = f"  ({track.error})" if track.error else ""
                print(
                    f"  [{done:>{width}}/{total}] {name:<5} "
                    f"{os.path.basename(track.path):<24} faces in {n_found:>2}/"
                    f"{n_frames:<2} frames, {track.n_tracks} track(s), "
                    f"{seconds:.2f} s/video{note}",
                    flush=True,
                )
            tracks.extend(out)
        results.append(tracks)
    return results


def _weight_free_model() -> Any:
    """Return features -> TemporalPooling -> scaler -> logistic regression.

    ``None`` when the feature steps are not available.
    """
    try:
        from sklearn_deepfake import features
    except ImportError:
        return None
    pooling = getattr(features, "TemporalPooling", None)
    steps = [
        (name, getattr(features, cls))
        for name, cls in (
            ("spectrum", "SpectrumFeatures"),
            ("context", "FaceContextFeatures"),
        )
        if hasattr(features, cls)
    ]
    if pooling is None or not steps:
        return None
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    if len(steps) > 1 and hasattr(features, "RaggedFeatureUnion"):
        per_frame = features.RaggedFeatureUnion([(n, cls()) for n, cls in steps])
    else:
        per_frame = steps[0][1]()
    return Pipeline(
        [
            ("features", per_frame),
            ("pool", pooling(stats=("mean", "std"))),
            ("scale", StandardScaler()),
            ("clf", LogisticRegression(C=0.1, max_iter=1000)),
        ]
    )


def _fit_and_score(
    model: Any, train: Any, test: Any, tracks_train: list, tracks_test: list, root: str
) -> None:
    import numpy as np
    from sklearn.metrics import log_loss
    from sklearn.model_selection import GroupKFold, cross_val_score

    from sklearn_deepfake.submission import write_submission

    y = np.asarray(train.target)
    groups = np.asarray(train.groups)
    n_splits = min(5, len(np.unique(groups)))
    print(
        f"\nClassifier: {' -> '.join(type(s).__name__ for _, s in model.steps)}"
        f"\n  {n_splits}-fold GroupKFold on the {len(np.unique(groups))} source-video "
        "groups (a fake and its original never sit on both sides)"
    )
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        scores = -cross_val_score(
            model,
            tracks_train,
            y,
            groups=groups,
            cv=GroupKFold(n_splits=n_splits),
            scoring="neg_log_loss",
        )
        model.fit(tracks_train, y)
        proba = model.predict_proba(tracks_test)[:, 1]
    print(
        f"  CV log loss   {scores.mean():.3f} +/- {scores.std():.3f}   "
        f"(constant 0.5 scores {np.log(2):.3f})  [{time.perf_counter() - t:.1f} s]"
    )
    test_target = getattr(test, "target", None)
    if test_target is not None and len(test_target) == len(proba):
        loss = log_loss(np.asarray(test_target), proba, labels=[0, 1])
        print(f"  test log loss {loss:.3f}")
    out = os.path.join(root, "submission.csv")
    sample = _sample_submission(root)
    write_submission(out, test.filenames, proba, sample_submission=sample)
    print(f"  wrote {out} ({len(proba)} rows)")


def _sample_submission(root: str) -> str | None:
    for candidate in (
        os.path.join(root, "sample_submission.csv"),
        os.path.join(root, "test_videos", "sample_submission.csv"),
    ):
        if os.path.isfile(candidate):
            return candidate
    return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
