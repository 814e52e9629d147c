"""The ``demo`` subcommand: the whole pipeline on small synthetic videos."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import warnings

from sklearn_deepfake import __version__
from sklearn_deepfake.cli._fit import fit_reporting
from sklearn_deepfake.cli._options import _add_n_jobs_option, _at_least, _find_faces
from sklearn_deepfake.utils._labels import fake_column

NAME = "demo"
HELP = "run the whole pipeline on small synthetic videos (offline, CPU)"
DESCRIPTION = """\
Make a small synthetic dataset in the DFDC layout (train_sample_videos/ with
metadata.json, test_videos/, sample_submission.csv, test_labels.csv), then run
the default pipeline on it: find the faces (cached), grouped cross-validated
log loss, fit on all training videos, test log loss and a submission.csv.
Runs offline on CPU in about a minute."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``demo`` to its parser."""
    parser.add_argument(
        "--dir",
        metavar="DIR",
        help="write the videos and submission.csv to DIR and keep them "
        "(default: a temporary folder, removed at the end)",
    )
    _add_n_jobs_option(parser, default=1)
    parser.add_argument(
        "--device",
        default="cpu",
        metavar="D",
        help="device of the face detector (default: cpu)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the temporary folder and print its path",
    )
    parser.add_argument(
        "--n-originals",
        type=_at_least(2),
        default=6,
        metavar="N",
        help="number of real source videos (at least 2, 3 for cross-validation); "
        "each gets one fake twin in the training set, and the test set has N "
        "videos (default: 6)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="random seed of the data (default: 0)"
    )


def run(args: argparse.Namespace) -> int:
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
    from sklearn_deepfake.pipeline import make_default_pipeline
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
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no-face warnings were shown above
        cal = fit_reporting(pipe, list(train.paths), y, groups, k, explicit=False)
        proba = pipe.predict_proba(list(test.paths))[:, fake_column(pipe)]
    print(
        f"\nFitted on all {len(y)} training videos{cal.replace(';', ',')}, "
        f"scored the test videos  [{time.perf_counter() - t:.1f} s with the "
        "features and the report]"
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
