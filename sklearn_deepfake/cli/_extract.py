"""The ``extract`` subcommand: fill the face cache for videos."""

from __future__ import annotations

import argparse
from typing import Any

from sklearn_deepfake.cli._options import (
    _add_pipeline_options,
    _add_runtime_options,
    _add_scheduler_option,
    _build_pipeline,
    _cache_dir,
    _find_faces,
    _scheduler_address,
)
from sklearn_deepfake.cli._utils import find_videos


def add_subparser(commands: Any) -> None:
    """Register the ``extract`` subcommand."""
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
