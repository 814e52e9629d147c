"""The ``extract`` subcommand: fill the face cache for videos."""

from __future__ import annotations

import argparse

from sklearn_deepfake.cli._options import (
    _add_pipeline_options,
    _add_runtime_options,
    _build_pipeline,
    _cache_dir,
    _find_faces,
    _scheduler_address,
)
from sklearn_deepfake.cli._utils import find_videos

NAME = "extract"
HELP = "find the faces of videos and store them in the face cache"
DESCRIPTION = (
    "Fill the face cache for video files and folders (every "
    "video inside, recursively; for a DFDC root, its train and test "
    "folders). Use the same --n-frames, --size and --set as 'fit', so "
    "that 'fit' and 'predict' find the faces already there."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``extract`` to its parser."""
    parser.add_argument("videos", nargs="+", metavar="VIDEO", help="files/folders")
    _add_pipeline_options(parser)
    _add_runtime_options(parser, "auto", scheduler=True)


def run(args: argparse.Namespace) -> int:
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
