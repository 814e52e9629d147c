"""``sklearn-deepfake scan``: P(FAKE) of any videos with a shipped model."""

from __future__ import annotations

import argparse
import contextlib
import csv
import html
import io
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from sklearn_deepfake.cli._options import (
    _add_fallback_option,
    _add_network_runtime_option,
    _add_output_option,
    _positive_int,
)

#: Chunk of videos sent through the face step at once.
SCAN_CHUNK = 16
#: P(FAKE) given to a video that cannot be read or shows no face.
FALLBACK = 0.5


NAME = "scan"
HELP = "P(FAKE) of videos with the shipped model (no training needed)"
DESCRIPTION = (
    "Score video files and folders (searched recursively) with "
    "a shipped pretrained model (default: 'general'; see the model card "
    "in the docs), a file written by save_pretrained, or a model saved by "
    "'fit'. Prints P(FAKE) per video. A video that cannot be read, or in "
    "which no face is found, gets the --fallback probability and a "
    "warning, and still gets its row. A score is a probability under the "
    "model's training data, not a forensic verdict."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``scan`` to its parser."""
    parser.add_argument("videos", nargs="+", metavar="VIDEO_OR_FOLDER")
    _add_output_option(
        parser,
        "CSV",
        "also write path,p_fake (one row per video, written atomically)",
        required=False,
    )
    parser.add_argument(
        "--report",
        metavar="DIR",
        help="write an HTML explanation per video and an index.html into DIR",
    )
    parser.add_argument(
        "--model",
        default="general",
        metavar="NAME_OR_FILE",
        help="shipped model name, save_pretrained JSON file or joblib model "
        "from 'fit' (default: general)",
    )
    _add_fallback_option(
        parser,
        FALLBACK,
        f"P(FAKE) of unreadable or face-less videos (default: {FALLBACK})",
    )
    parser.add_argument(
        "--n-jobs",
        type=_positive_int,
        default=None,
        metavar="N",
        help="videos decoded and searched for faces in parallel",
    )
    parser.add_argument(
        "--cache-dir",
        default=None,
        metavar="DIR",
        help="face store to read and fill (default: none; with --report, a "
        "temporary one, so that the reports decode no video again)",
    )
    parser.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda"),
        help="device of the face networks (default: auto)",
    )
    _add_network_runtime_option(parser)


def _load_model(name: str, args: argparse.Namespace) -> Any:
    from sklearn_deepfake.features._onnx_runtime import set_runtime
    from sklearn_deepfake.pretrained import PRETRAINED, load_pretrained

    runtime = {"cache_dir": args.cache_dir, "device": args.device}
    cnn_runtime = getattr(args, "runtime", "torch")
    if name in PRETRAINED or name.endswith(".json"):
        return load_pretrained(name, n_jobs=args.n_jobs, runtime=cnn_runtime, **runtime)
    if not os.path.isfile(name):
        raise FileNotFoundError(
            f"model {name!r} is neither a shipped model {PRETRAINED} nor a file."
        )
    import joblib

    model = joblib.load(name)
    steps = getattr(model, "named_steps", {})
    if "facecropper" in steps:
        model.set_params(
            facecropper__n_jobs=args.n_jobs,
            **{f"facecropper__{k}": v for k, v in runtime.items()},
        )
    set_runtime(model, cnn_runtime)
    return model


def _face_stop(model: Any) -> int:
    names = list(getattr(model, "named_steps", {}))
    if "facecropper" not in names:
        raise ValueError(
            "scan needs a pipeline with a 'facecropper' step (video paths in)."
        )
    return names.index("facecropper") + 1


def scan_videos(
    model: Any, paths: list[str], *, fallback: float = FALLBACK
) -> tuple[np.ndarray, list[str]]:
    """P(FAKE) and a note per video; fallback for unreadable or face-less ones.

    Videos go through the face step in chunks; a chunk that fails is retried
    video by video, and a video that still fails gets ``fallback`` with a
    ``UserWarning`` naming it, as does a video without a face.
    """
    from sklearn_deepfake.cli._utils import one_line
    from sklearn_deepfake.utils._labels import fake_column

    stop = _face_stop(model)
    head, tail = model[:stop], model[stop:]
    col = fake_column(model)
    proba = np.full(len(paths), float(fallback))
    notes = [""] * len(paths)

    def score(idx: list[int]) -> None:
        tracks = head.transform([paths[i] for i in idx])
        keep = [k for k, t in enumerate(tracks) if len(t)]
        for k, t in enumerate(tracks):
            if not len(t):
                why = f"unreadable ({t.error})" if t.error else "no face found"
                notes[idx[k]] = why
                warnings.warn(
                    f"{paths[idx[k]]}: {why}; P(FAKE) set to the fallback {fallback}.",
                    UserWarning,
                    stacklevel=3,
                )
        if keep:
            p = tail.predict_proba([tracks[k] for k in keep])[:, col]
            for k, v in zip(keep, p):
                proba[idx[k]] = float(v)
                notes[idx[k]] = f"{len(tracks[k])} faces"

    for start in range(0, len(paths), SCAN_CHUNK):
        idx = list(range(start, min(start + SCAN_CHUNK, len(paths))))
        try:
            score(idx)
            continue
        except Exception:  # retry one by one so that one video cannot sink all
            pass
        for i in idx:
            try:
                score([i])
            except Exception as exc:
                notes[i] = f"failed ({one_line(exc)})"
                warnings.warn(
                    f"{paths[i]}: cannot be scored ({one_line(exc)}); P(FAKE) "
                    f"set to the fallback {fallback}.",
                    UserWarning,
                    stacklevel=2,
                )
    return proba, notes


def _write_csv(path: str, paths: list[str], proba: np.ndarray) -> None:
    from sklearn_deepfake.utils._checks import write_atomic

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["path", "p_fake"])
    for p, v in zip(paths, proba):
        writer.writerow([p, f"{v:.6f}"])
    write_atomic(buf.getvalue(), path)


def _write_reports(
    model: Any, folder: str, paths: list[str], proba: np.ndarray, notes: list[str]
) -> None:
    from sklearn_deepfake.cli._utils import one_line
    from sklearn_deepfake.inspection._report import _explain
    from sklearn_deepfake.utils._checks import write_atomic

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    rows = []
    for i, path in enumerate(paths):
        stem = Path(path).stem or "video"
        name = f"{stem}.html" if f"{stem}.html" not in used else f"{stem}_{i}.html"
        used.add(name)
        try:
            _explain(model, path, out / name, n_faces=8, layer=None, method="gradcam")
            link = f'<a href="{html.escape(name)}">{html.escape(path)}</a>'
        except Exception as exc:
            warnings.warn(
                f"{path}: no report ({one_line(exc)}).", UserWarning, stacklevel=2
            )
            link = html.escape(path)
        rows.append(
            f"<tr><td>{proba[i]:.3f}</td><td>{link}</td>"
            f"<td>{html.escape(notes[i])}</td></tr>"
        )
    page = "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            "<title>sklearn-deepfake scan</title></head><body>",
            "<h1>sklearn-deepfake scan</h1>",
            "<p>P(FAKE) is a probability under the model's training data, "
            "not a forensic verdict.</p>",
            "<table><tr><th>P(FAKE)</th><th>video</th><th>note</th></tr>",
            *rows,
            "</table></body></html>",
        ]
    )
    write_atomic(page, out / "index.html")


def run(args: argparse.Namespace) -> int:
    """Score videos with a shipped or saved model; print P(FAKE) per video."""
    from sklearn_deepfake.cli._utils import find_videos

    paths = find_videos(args.videos)
    with contextlib.ExitStack() as stack:
        if args.report and args.cache_dir is None:
            # The reports read every video's faces again: keep them in a
            # temporary face store so that no video is decoded twice.
            args.cache_dir = stack.enter_context(
                tempfile.TemporaryDirectory(prefix="skdf-scan-")
            )
        return _scan(args, paths)


def _scan(args: argparse.Namespace, paths: list[str]) -> int:
    model = _load_model(args.model, args)
    print(f"Scanning {len(paths)} video(s) with model {args.model!r}", flush=True)
    proba, notes = scan_videos(model, paths, fallback=args.fallback)
    width = max(len(p) for p in paths)
    print(f"{'P(FAKE)':>7}  {'video':<{width}}  note")
    for p, v, n in zip(paths, proba, notes):
        print(f"{v:7.3f}  {p:<{width}}  {n}")
    if args.output:
        _write_csv(args.output, paths, proba)
        print(f"Wrote {args.output}: {len(paths)} rows")
    if args.report:
        _write_reports(model, args.report, paths, proba, notes)
        print(f"Wrote {len(paths)} report(s) and index.html to {args.report}")
    return 0
