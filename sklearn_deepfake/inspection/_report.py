"""explain_video: a self-contained HTML report on one video's prediction."""

from __future__ import annotations

import base64
import datetime
import html
import io
import os
from typing import Any

import numpy as np

from sklearn_deepfake.inspection._display_utils import _evenly, _row_frames
from sklearn_deepfake.utils._checks import write_atomic
from sklearn_deepfake.utils._ragged import FaceTracks

__all__ = ["explain_video"]

_CSS = """
body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.5em; }
.score { font-size: 2.2em; font-weight: bold; }
.fake { color: #b30000; } .real { color: #006b1b; }
table { border-collapse: collapse; } td, th { padding: 3px 10px; text-align: left;
border-bottom: 1px solid #ddd; vertical-align: top; } th { white-space: nowrap; }
img { max-width: 100%; } .note { color: #555; font-size: 0.9em; }
"""


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img(data: str, alt: str, kind: str) -> str:
    return (
        f'<img class="{kind}" alt="{html.escape(alt)}" '
        f'src="data:image/png;base64,{data}">'
    )


def _split_at_faces(model: Any) -> int:
    """Count the leading pipeline steps that turn paths into FaceTracks."""
    from sklearn_deepfake.faces import FaceCropper

    steps = [s for _, s in getattr(model, "steps", [])]
    for i, step in enumerate(steps):
        if isinstance(step, FaceCropper):
            return i + 1
    raise TypeError(
        "explain_video needs a fitted pipeline from video paths with a "
        f"FaceCropper step; got {type(model).__name__}."
    )


def _timeline_figure(track: FaceTracks, scores: np.ndarray | None) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.2 if scores is not None else 1.6))
    frames = np.asarray(track.frame_indices)
    fps = float(track.fps) or 0.0
    unit = "s" if fps > 0 else "frame"
    scale = 1.0 / fps if fps > 0 else 1.0
    if scores is not None:
        ax, ax_faces = fig.subplots(
            2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]}
        )
        rows_frame = _row_frames(track)
        for tid in np.unique(track.track_ids):
            sel = np.asarray(track.track_ids) == tid
            ax.plot(
                rows_frame[sel] * scale,
                scores[sel],
                marker="o",
                ms=3,
                label=f"face track {int(tid)}",
            )
        ax.axhline(0.5, color="grey", lw=0.8, ls="--")
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel("P(fake) of frame")
        if len(np.unique(track.track_ids)) > 1:
            ax.legend(fontsize=8)
    else:
        ax_faces = fig.subplots(1, 1)
    found = np.asarray(track.face_found, dtype=float)
    ax_faces.bar(
        frames * scale,
        found,
        width=(frames[1] - frames[0]) * scale * 0.9 if len(frames) > 1 else scale,
        color="tab:green",
    )
    ax_faces.set_ylim(0, 1.05)
    ax_faces.set_yticks([0, 1], ["no", "yes"])
    ax_faces.set_ylabel("face")
    ax_faces.set_xlabel("time (s)" if unit == "s" else "frame")
    return fig


def _montage_figure(
    model: Any, tracks: list[FaceTracks], n_faces: int, **cam_kw: Any
) -> tuple[Any, str | None, str | None]:
    """Crops with heatmaps (when the model has a CNN), else plain crops.

    Returns the figure, the Grad-CAM layer's name (None without heatmaps)
    and why there are no heatmaps.
    """
    from matplotlib.figure import Figure

    from sklearn_deepfake.inspection._gradcam import (
        GradCAMDisplay,
        _cam_network,
        _find,
        _panel_grid,
        _resolve_layer,
    )

    track = tracks[0]
    rows = _evenly(len(track), n_faces)
    n_ax_rows, cols = _panel_grid(len(rows))
    fig = Figure(figsize=(2 * cols, 2.3 * n_ax_rows))
    axes = fig.subplots(n_ax_rows, cols, squeeze=False)
    reason = None
    try:
        found = _find(model)
    except TypeError:
        found, reason = None, "the model has no CNN to explain with Grad-CAM."
    except ValueError as exc:  # a CNN, but no frame-level target
        found, reason = None, str(exc)
    layer_name = None
    if found is not None and len(rows):
        _, backbone, _ = _cam_network(found)
        layer_name, _ = _resolve_layer(backbone, cam_kw.get("layer"))
        GradCAMDisplay.from_estimator(model, tracks, n_faces=n_faces, ax=axes, **cam_kw)
    else:
        GradCAMDisplay(
            np.asarray(track.crops[rows]),
            np.zeros((len(rows), *track.crops.shape[1:3]), np.float32),
            _row_frames(track)[rows],
        ).plot(ax=axes, n_faces=n_faces, alpha=0.0)
    return fig, layer_name, reason


def _model_summary(model: Any) -> str:
    parts = []
    for name, step in model.steps:
        label = f"{name}: {type(step).__name__}"
        backbone = getattr(step, "backbone", None)
        if isinstance(backbone, str):
            label += f"({backbone})"
        parts.append(label)
    return " → ".join(parts)


def explain_video(
    model: Any,
    path: str | os.PathLike,
    output_html: str | os.PathLike | None = None,
    *,
    n_faces: int = 8,
    layer: Any = None,
    method: str = "gradcam",
) -> str:
    """Write a self-contained HTML report on one video's prediction.

    The report shows the video's P(FAKE); a timeline of the frames' scores
    (when the model defines per-frame scores: a
    :class:`~sklearn_deepfake.nets.FaceCNNClassifier`, or per-frame features
    mean-pooled by ``TemporalPooling(stats=("mean",))`` into affine steps and
    a linear classifier, where the video's log-odds is the mean of the
    frames') and of the frames in which a face was found; up to ``n_faces``
    face crops with their Grad-CAM heatmaps when the model has a CNN (see
    :func:`~sklearn_deepfake.inspection.grad_cam`; plain crops otherwise); and
    metadata (file, frames sampled, faces found, the model's steps). Images
    are embedded as base64 PNG, so the file needs nothing else to open.

    Parameters
    ----------
    model : Pipeline or str
        A fitted pipeline from video paths with a
        :class:`~sklearn_deepfake.faces.FaceCropper` step (as written by
        ``sklearn-deepfake fit``), or the path of its joblib file.
    path : str or path-like
        The video.
    output_html : str or path-like, default=None
        Where to write the report (atomically); ``None`` only returns it.
    n_faces : int, default=8
        Face crops shown.
    layer, method
        Grad-CAM target layer and variant (see
        :func:`~sklearn_deepfake.inspection.grad_cam`).

    Returns
    -------
    html : str
        The report.

    Examples
    --------
    Fitting a pipeline takes a while, so this example is not run:

    >>> from sklearn_deepfake import make_default_pipeline
    >>> from sklearn_deepfake.datasets import make_face_videos
    >>> from sklearn_deepfake.inspection import explain_video
    >>> data = make_face_videos(n_videos=4, manipulated=0.5)  # doctest: +SKIP
    >>> pipe = make_default_pipeline(features="cnn", backbone="resnet18")
    >>> pipe.fit(data.paths, data.target)  # doctest: +SKIP
    >>> html = explain_video(pipe, data.paths[3], "report.html")  # doctest: +SKIP
    """
    return _explain(
        model, path, output_html, n_faces=n_faces, layer=layer, method=method
    )[0]


def _explain(
    model: Any,
    path: str | os.PathLike,
    output_html: str | os.PathLike | None,
    *,
    n_faces: int,
    layer: Any,
    method: str,
) -> tuple[str, float]:
    """Build the report; return it and the video's P(FAKE)."""
    import matplotlib

    from sklearn_deepfake.inspection._gradcam import frame_scores
    from sklearn_deepfake.utils._labels import fake_column

    if isinstance(model, (str, os.PathLike)):
        import joblib

        if not os.path.isfile(model):
            raise FileNotFoundError(f"model file not found: {os.fspath(model)}")
        model = joblib.load(model)
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"video not found: {path}")
    if not isinstance(n_faces, (int, np.integer)) or n_faces < 1:
        raise ValueError(f"n_faces must be an int >= 1, got {n_faces!r}.")
    del matplotlib  # Figure objects below need no pyplot backend.

    stop = _split_at_faces(model)
    tracks = model[:stop].transform([path])
    track = tracks[0]
    tail = model[stop:]
    proba = float(tail.predict_proba(tracks)[0, fake_column(model)])

    notes = []
    scores = None
    if len(track):
        try:
            scores = frame_scores(model, tracks)[0]
        except ValueError as exc:
            notes.append(f"No per-frame scores: {exc}")
    else:
        notes.append(
            "No face was found: the score is the model's fallback for face-less videos."
        )
    timeline = _png(_timeline_figure(track, scores))
    montage, layer_name, no_cam = _montage_figure(
        model, tracks, int(n_faces), layer=layer, method=method
    )
    montage_png = _png(montage) if len(track) else None

    label = "FAKE" if proba >= 0.5 else "REAL"
    meta = [
        ("file", path),
        ("frames sampled", str(len(track.frame_indices))),
        (
            "frames with a face",
            f"{int(np.sum(track.face_found))} of {len(track.frame_indices)}",
        ),
        ("face crops", f"{len(track)} in {len(np.unique(track.track_ids))} track(s)"),
        (
            "frame size / fps",
            f"{track.frame_size[1]}x{track.frame_size[0]}, {float(track.fps):.2f} fps",
        ),
        ("model", _model_summary(model)),
        ("Grad-CAM layer", f"{layer_name} ({method})" if layer_name else "none"),
        (
            "created",
            datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        ),
    ]
    if track.error:
        meta.append(("read error", track.error))
    rows = "\n".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in meta
    )
    name = html.escape(os.path.basename(path))
    timeline_note = (
        "P(fake) of each face crop over time (top) and the sampled frames in "
        "which a face was found (bottom)."
        if scores is not None
        else "Sampled frames in which a face was found."
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>sklearn-deepfake report: {name}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Deepfake report: {name}</h1>",
        f'<p>P(FAKE) = <span class="score {label.lower()}" id="score">'
        f"{proba:.3f}</span> ({label})</p>",
        "<h2>Timeline</h2>",
        f'<p class="note">{timeline_note}</p>',
        _img(timeline, "frame-score timeline", "timeline"),
    ]
    if montage_png is not None:
        heading = "Faces and Grad-CAM heatmaps" if layer_name else "Faces"
        explain = (
            "Red areas raised the crop's fake score most (Grad-CAM on "
            f"<code>{html.escape(layer_name)}</code>, scaled per crop)."
            if layer_name
            else f"No Grad-CAM heatmaps: {html.escape(no_cam or '')}"
        )
        parts += [
            f"<h2>{heading}</h2>",
            f'<p class="note">{explain}</p>',
            _img(montage_png, heading, "heatmaps" if layer_name else "faces"),
        ]
    parts += [f'<p class="note">{html.escape(n)}</p>' for n in notes]
    parts += ["<h2>Details</h2>", f"<table>{rows}</table>", "</body></html>"]
    text = "\n".join(parts)
    if output_html is not None:
        write_atomic(text, output_html)
    return text, proba
