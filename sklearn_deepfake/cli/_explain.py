"""``sklearn-deepfake explain``: an HTML report on one video's prediction."""

from __future__ import annotations

import argparse
import os

from sklearn_deepfake.cli._options import (
    _add_model_argument,
    _add_output_option,
    _positive_int,
)

NAME = "explain"
HELP = "write an HTML report on one video (score, timeline, Grad-CAM)"
DESCRIPTION = (
    "Score VIDEO with a model saved by 'fit' and write a "
    "self-contained HTML report (written atomically): P(FAKE), the "
    "per-frame scores over time when the model defines them, the frames "
    "with a face, face crops with Grad-CAM heatmaps when the model has a "
    "CNN, and metadata. Grad-CAM needs 'pip install "
    "sklearn-deepfake[explain]'."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``explain`` to its parser."""
    _add_model_argument(parser)
    parser.add_argument("video", metavar="VIDEO", help="video file")
    _add_output_option(parser, "HTML", "report to write")
    parser.add_argument(
        "--n-faces",
        type=_positive_int,
        default=8,
        metavar="N",
        help="face crops shown with their heatmaps (default: 8)",
    )
    parser.add_argument(
        "--layer",
        default=None,
        metavar="NAME",
        help="Grad-CAM target layer of the backbone, e.g. layer3 (default: its "
        "last convolutional stage)",
    )
    parser.add_argument(
        "--method",
        choices=("gradcam", "gradcam++", "hirescam", "layercam"),
        default="gradcam",
        help="CAM variant (default: gradcam)",
    )


def run(args: argparse.Namespace) -> int:
    """Score one video and write its HTML report."""
    import joblib

    from sklearn_deepfake.inspection._report import _explain

    for path, what in [(args.model, "model file"), (args.video, "video")]:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{what} not found: {path}")
    model = joblib.load(args.model)
    _, proba = _explain(
        model,
        args.video,
        args.output,
        n_faces=args.n_faces,
        layer=args.layer,
        method=args.method,
    )
    print(f"P(FAKE) = {proba:.3f} for {args.video}; report written to {args.output}")
    return 0
