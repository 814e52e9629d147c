"""Options and face-step helpers shared by the ``sklearn-deepfake`` commands.

The subcommand modules of this package (``_fit``, ``_tune``, ...) build
their pipelines and face caches here, so that every command computes the same
cache keys. ``--preset`` offers the pipeline's own ``PRESETS``; nothing
heavier than scikit-learn is imported at module level (no torch, no video
library), so ``--help`` loads no network.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sklearn_deepfake.cli._utils import (
    check_params,
    default_cache_dir,
    parse_set,
    short_list,
    summarize_tracks,
)
from sklearn_deepfake.pipeline import PRESETS

_SET_HELP = (
    "set a pipeline parameter, e.g. classifier__eps=0.02 or "
    "facecropper__detect_every=2 (repeatable; values are Python literals, "
    "otherwise strings)"
)


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _at_least(low: int) -> Any:
    def parse(text: str) -> int:
        value = _int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    return parse


_positive_int = _at_least(1)
_non_negative_int = _at_least(0)


def _n_jobs(text: str) -> int:
    value = _int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must not be 0 (use 1, 2, ... or -1)")
    return value


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1], got {value}")
    return value


def _hours(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(
            f"expected a positive number of hours, got {text!r}"
        )
    return value


def _add_runtime_options(
    parser: argparse.ArgumentParser, device_default: Any, *, scheduler: bool = False
) -> None:
    """--cache/--no-cache, --n-jobs and --device; --scheduler when asked."""
    cache = parser.add_mutually_exclusive_group()
    cache.add_argument(
        "--cache",
        metavar="DIR",
        help="face cache folder (default: $SKLEARN_DEEPFAKE_CACHE or "
        "~/.cache/sklearn-deepfake/faces)",
    )
    cache.add_argument(
        "--no-cache",
        action="store_true",
        help="do not read or write the face cache",
    )
    _add_n_jobs_option(parser)
    what = "auto" if device_default == "auto" else "the model's own"
    parser.add_argument(
        "--device",
        default=device_default,
        metavar="D",
        help=f"device of the face detector: auto, cpu, cuda, cuda:1 ... "
        f"(default: {what})",
    )
    if scheduler:
        _add_scheduler_option(parser)


def _add_network_runtime_option(parser: argparse.ArgumentParser) -> None:
    """--runtime: torch or onnxruntime for the face descriptor networks."""
    parser.add_argument(
        "--runtime",
        default="torch",
        choices=("torch", "onnxruntime"),
        help="what runs the face descriptor networks on the CPU: onnxruntime "
        "gives the same scores faster after a few seconds' export; needs "
        "pip install 'sklearn-deepfake[onnx]' (default: torch)",
    )


def _add_n_jobs_option(
    parser: argparse.ArgumentParser, default: int | None = None
) -> None:
    """--n-jobs: videos processed in parallel (None: one at a time)."""
    parser.add_argument(
        "--n-jobs",
        type=_n_jobs,
        default=default,
        metavar="N",
        help="videos processed in parallel; -1 uses every core (default: 1)",
    )


def _add_model_argument(parser: argparse.ArgumentParser) -> None:
    """MODEL: a model file that ``fit`` wrote."""
    parser.add_argument("model", metavar="MODEL", help="model saved by 'fit'")


def _add_output_option(
    parser: argparse.ArgumentParser, metavar: str, help: str, *, required: bool = True
) -> None:
    """-o/--output: the file the command writes."""
    parser.add_argument("-o", "--output", required=required, metavar=metavar, help=help)


def _add_fallback_option(
    parser: argparse.ArgumentParser, default: float, help: str
) -> None:
    """--fallback: the probability of a video that cannot be scored."""
    parser.add_argument(
        "--fallback", type=_probability, default=default, metavar="P", help=help
    )


def _scheduler(text: str) -> int | str:
    from sklearn_deepfake.utils._parallel import check_scheduler

    try:
        return check_scheduler(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected tcp://HOST:PORT or a number of workers >= 1, got {text!r}"
        ) from None


def _add_scheduler_option(parser: argparse.ArgumentParser) -> None:
    """--scheduler: run the face step on a dask cluster."""
    parser.add_argument(
        "--scheduler",
        type=_scheduler,
        default=None,
        metavar="ADDRESS|N",
        help="run the face step on dask: the tcp address of a running "
        "scheduler (tcp://HOST:8786), or a number of local worker processes; "
        "the face cache must be on storage every worker sees (needs the 'dask' "
        "extra; default: joblib with --n-jobs)",
    )


@contextlib.contextmanager
def _scheduler_address(scheduler: int | str | None) -> Iterator[str | None]:
    """Yield ``--scheduler`` as an address (N local workers: one cluster)."""
    if not isinstance(scheduler, int):
        yield scheduler
        return
    from sklearn_deepfake.utils._parallel import local_cluster

    print(f"Starting a local dask cluster of {scheduler} worker processes")
    with local_cluster(scheduler) as address:
        yield address


def _add_pipeline_options(parser: argparse.ArgumentParser) -> None:
    """--preset, --n-frames, --size and --set: they decide the face cache keys."""
    parser.add_argument(
        "--preset",
        choices=PRESETS,
        default="default",
        help="named recipe of make_default_pipeline: 'default' (weight-free "
        "context features), 'swap' (context + MTCNN embeddings + dlib face "
        "shapes + frame-to-frame noise on 64 pairs of consecutive frames, "
        "needs the 'landmarks' extra; a "
        "logistic regression fitted on every frame, "
        "best on real face swaps in benchmarks/bench_quality.py) or "
        "'self-blended' (a FaceCNNClassifier that also trains on self-blended "
        "fakes of the real videos, so a folder of real videos only is enough) "
        "or 'dfdc' (the DFDC winners' recipe for a GPU: an ensemble of "
        "FaceCNNClassifiers, EfficientNet-B7 at 380 px by default; "
        "--set classifier__estimator__weights=PATH without a model hub) "
        "or 'general' (the recipe chosen by benchmarks/bench_cross_method.py; "
        "'scan' uses it already fitted) or 'general-blend' (its runner-up, "
        "whose identity head learns from self-blended copies of the real "
        "videos) (default: default)",
    )
    parser.add_argument(
        "--n-frames",
        type=_positive_int,
        default=None,
        metavar="N",
        help="frames sampled per video (default: the preset's: 128 for 'swap', "
        "read as 64 pairs of consecutive frames, 8 for 'general', 32 otherwise)",
    )
    parser.add_argument(
        "--size",
        type=_positive_int,
        default=None,
        metavar="S",
        help="side of the face crops in pixels (default: 128)",
    )
    parser.add_argument(
        "--set",
        action="extend",
        nargs="+",
        default=[],
        metavar="STEP__PARAM=VALUE",
        help=_SET_HELP,
    )


def _cache_dir(args: argparse.Namespace) -> str | None:
    if args.no_cache:
        return None
    return os.path.abspath(args.cache) if args.cache else default_cache_dir()


def _build_pipeline(args: argparse.Namespace, cache_dir: str | None) -> Any:
    """Build the default pipeline with the options and ``--set`` applied.

    ``extract`` and ``fit`` both build their face steps here, so that their
    frame plans and FaceCropper parameters, hence the cache keys, agree.
    """
    from sklearn_deepfake.pipeline._pipeline import make_default_pipeline

    kwargs: dict[str, Any] = {}
    if args.n_frames is not None:
        kwargs["n_frames"] = args.n_frames
    if args.size is not None:
        kwargs["size"] = args.size
    params = parse_set(args.set)
    if getattr(args, "preset", "default") == "dfdc":
        # the dfdc preset checks its weights when built: pass them now
        for key in ("weights", "pretrained", "backbone"):
            if f"classifier__estimator__{key}" in params:
                kwargs[key] = params[f"classifier__estimator__{key}"]
        if getattr(args, "command", None) == "extract":
            kwargs["pretrained"] = False  # extraction needs no network weights
    pipe = make_default_pipeline(
        preset=getattr(args, "preset", "default"),
        features=getattr(args, "features", None),
        calibration=getattr(args, "calibration", None),
        cache_dir=cache_dir,
        device=args.device,
        n_jobs=args.n_jobs,
        verbose=0,
        **kwargs,
    )
    check_params(pipe, params)
    return pipe.set_params(**params)


def _count_records(cache_dir: str | None) -> int:
    if cache_dir is None or not os.path.isdir(cache_dir):
        return 0
    return sum(1 for _ in Path(cache_dir).glob("*/*.skdf"))


def _find_faces(pipe: Any, paths: list[str], cache_dir: str | None) -> dict:
    """Run the pipeline's first two steps (with a progress bar); print a summary."""
    from sklearn.base import clone

    before = _count_records(cache_dir)
    faces = clone(pipe[:2]).set_params(facecropper__verbose=1)
    t = time.perf_counter()
    tracks = faces.fit_transform(paths)
    seconds = time.perf_counter() - t
    info = summarize_tracks(tracks)
    info["seconds"] = seconds
    new = _count_records(cache_dir) - before
    print(
        f"  {info['videos']} videos in {seconds:.1f} s: faces in "
        f"{info['with_faces']} ({info['crops']} crops), no face in "
        f"{len(info['no_face'])}, unreadable {len(info['unreadable'])}"
    )
    if cache_dir is not None:
        print(f"  face cache {cache_dir}: {new} new record(s)")
    if info["no_face"]:
        print(f"  no face: {short_list(info['no_face'])}")
    if info["unreadable"]:
        print(f"  unreadable: {short_list(info['unreadable'])}")
    return info


def _add_data_dir_argument(parser: argparse.ArgumentParser) -> None:
    """DATA_DIR: the labelled folder that ``fit`` and ``tune`` read."""
    parser.add_argument(
        "data_dir",
        metavar="DATA_DIR",
        help="DFDC root (metadata.json) or a folder with real/ and fake/ subfolders",
    )


def _read_training(data_dir: str) -> Any:
    """``load_dfdc``, or ``load_video_folder`` when there is no metadata.json."""
    from sklearn_deepfake.datasets import load_dfdc, load_video_folder

    if not os.path.isdir(data_dir):
        raise FileNotFoundError(f"DATA_DIR {data_dir!r} is not a folder")
    try:
        return load_dfdc(data_dir)
    except FileNotFoundError as exc:
        if "metadata.json" not in str(exc) or "missing" in str(exc):
            raise
    try:
        return load_video_folder(data_dir)
    except ValueError:
        raise ValueError(
            f"{data_dir} holds neither a DFDC metadata.json nor real/ and fake/ "
            "subfolders (a FaceForensics++ layout? load it with "
            "sklearn_deepfake.datasets.load_faceforensics)"
        ) from None


def _load_training(data_dir: str, command: str) -> tuple[list[str], Any, Any]:
    """Paths, labels and groups of the videos of ``DATA_DIR``.

    A folder of one class only is an error: ``command`` (``fit``, ``tune``)
    needs both.
    """
    import numpy as np

    data = _read_training(data_dir)
    paths, y, groups = list(data.paths), np.asarray(data.target), data.groups
    if len(np.unique(y)) < 2:
        raise ValueError(f"{data_dir} holds only one class; {command} needs both")
    return paths, y, groups


@dataclass(frozen=True)
class _Training:
    """What ``fit`` and ``tune`` train on: the pipeline and DATA_DIR's videos."""

    data_dir: str
    cache_dir: str | None
    pipe: Any
    paths: list[str]
    y: Any
    groups: Any

    @classmethod
    def load(cls, args: argparse.Namespace, command: str) -> _Training:
        """Build the pipeline from the options and read DATA_DIR for ``command``."""
        cache_dir = _cache_dir(args)
        pipe = _build_pipeline(args, cache_dir)
        paths, y, groups = _load_training(args.data_dir, command)
        return cls(args.data_dir, cache_dir, pipe, paths, y, groups)

    def find_faces(self, without_cache: str) -> None:
        """Print what the training videos are, then find their faces (cached).

        Without a cache nothing is computed ahead: ``without_cache`` says when
        the faces are found instead.
        """
        import numpy as np

        print(
            f"{len(self.paths)} training videos ({int(self.y.sum())} fake, "
            f"{len(np.unique(self.groups))} groups) from {self.data_dir}"
        )
        if self.cache_dir is not None:
            print("Finding faces:")
            _find_faces(self.pipe, self.paths, self.cache_dir)
        else:
            print(without_cache)
