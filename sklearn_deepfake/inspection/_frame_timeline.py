"""A timeline of one video's per-frame fake scores, as a Display."""

from __future__ import annotations

from typing import Any

import numpy as np

from sklearn_deepfake.inspection._display_utils import _DOCS as _VIDEO_DOCS
from sklearn_deepfake.inspection._display_utils import (
    _check_tracks,
    _evenly,
    _row_frames,
    _row_scores,
    _video_name,
    _VideoDisplay,
)
from sklearn_deepfake.utils import FaceTracks
from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._plotting import check_axes

__all__ = ["FrameScoreTimelineDisplay"]


@fill_doc(_VIDEO_DOCS)
class FrameScoreTimelineDisplay(_VideoDisplay):
    """Per-frame fake scores of one video along time, with face thumbnails.

    One line per face track (score of each sampled frame in which that face
    was found), the decision threshold, the pooled video score if known, and
    a row of face crops above the plot at the frames they come from. Use
    :meth:`from_estimator` or :meth:`from_predictions` to build one.

    Parameters
    ----------
    frames : ndarray of int, shape (n_rows,)
        Frame ordinal of each scored face crop.
    scores : ndarray of float, shape (n_rows,)
        Fake probability of each face crop.
    track_ids : ndarray of int, shape (n_rows,)
        Face track of each crop (0 is the main face).
    fps : float, default=0.0
        Frame rate; when positive the x-axis is in seconds.
    thumbnails : ndarray of uint8, shape (n_thumbs, size, size, 3), default=None
        Face crops to show above the plot.
    thumbnail_frames : ndarray of int, shape (n_thumbs,), default=None
        Frame ordinal of each thumbnail.
    video_score : float, default=None
        The video's pooled fake probability.
    %(threshold)s
    name : str, default=None
        Title of the plot (the video's file name by default).

    Attributes
    ----------
    %(ax_figure_)s
    lines_ : list of matplotlib Line2D
        One line per face track.
    thumbnail_axes_ : list of matplotlib Axes
        Inset axes holding the thumbnails.

    Examples
    --------
    %(example_track)s
    >>> import numpy as np
    >>> from sklearn_deepfake.inspection import FrameScoreTimelineDisplay
    >>> scores = np.linspace(0.1, 0.9, len(track))
    >>> disp = FrameScoreTimelineDisplay.from_predictions(track, scores)
    >>> len(disp.lines_), len(disp.thumbnail_axes_)
    (1, 3)
    """

    def __init__(
        self,
        *,
        frames: Any,
        scores: Any,
        track_ids: Any,
        fps: float = 0.0,
        thumbnails: Any = None,
        thumbnail_frames: Any = None,
        video_score: float | None = None,
        threshold: float = 0.5,
        name: str | None = None,
    ) -> None:
        self.frames = frames
        self.scores = scores
        self.track_ids = track_ids
        self.fps = fps
        self.thumbnails = thumbnails
        self.thumbnail_frames = thumbnail_frames
        self.video_score = video_score
        self.threshold = threshold
        self.name = name

    # the shared constructor, listed here so that it is documented here
    from_estimator = _VideoDisplay.__dict__["from_estimator"]
    _from_model_keys = ("video_score",)

    @classmethod
    def _from_model(cls, scorer: Any, track: FaceTracks) -> dict[str, Any]:
        return {"video_score": float(scorer.predict_proba([track])[0, 1])}

    @classmethod
    @fill_doc(_VIDEO_DOCS)
    def from_predictions(
        cls,
        tracks: FaceTracks,
        frame_scores: Any,
        *,
        video_score: float | None = None,
        n_thumbnails: int = 6,
        threshold: float = 0.5,
        name: str | None = None,
        ax: Any = None,
    ) -> FrameScoreTimelineDisplay:
        """Plot frame scores computed elsewhere.

        Parameters
        ----------
        %(tracks)s
        frame_scores : array-like
            %(frame_scores_values)s
        video_score : float, default=None
            The video's pooled probability, drawn as a dashed line.
        n_thumbnails : int, default=6
            Face crops of the main track shown above the plot.
        %(threshold)s
        %(name)s
        %(ax)s

        Returns
        -------
        display : FrameScoreTimelineDisplay
        """
        tracks = _check_tracks(tracks)
        scores = _row_scores(tracks, frame_scores)
        main = np.flatnonzero(tracks.track_ids == 0)
        if not len(main):
            main = np.arange(len(tracks))
        picked = main[_evenly(len(main), int(n_thumbnails))]
        frames = _row_frames(tracks)
        disp = cls(
            frames=frames,
            scores=scores,
            track_ids=np.asarray(tracks.track_ids),
            fps=float(tracks.fps),
            thumbnails=np.asarray(tracks.crops)[picked],
            thumbnail_frames=frames[picked],
            video_score=video_score,
            threshold=threshold,
            name=name if name is not None else _video_name(tracks.path),
        )
        return disp.plot(ax=ax)

    @fill_doc(_VIDEO_DOCS)
    def plot(self, ax: Any = None, *, show_thumbnails: bool = True) -> Any:
        """Draw the timeline.

        Parameters
        ----------
        %(ax)s
        show_thumbnails : bool, default=True
            Draw the face crops above the plot.

        Returns
        -------
        display : FrameScoreTimelineDisplay
            ``self``, with ``ax_``, ``figure_``, ``lines_`` and
            ``thumbnail_axes_`` set.
        """
        ax, fig = check_axes(ax)
        frames = np.asarray(self.frames, dtype=np.float64)
        scores = np.asarray(self.scores, dtype=np.float64)
        track_ids = np.asarray(self.track_ids)
        scale = 1.0 / self.fps if self.fps and self.fps > 0 else 1.0
        x = frames * scale
        self.lines_ = []
        for t in np.unique(track_ids):
            rows = np.flatnonzero(track_ids == t)
            rows = rows[np.argsort(x[rows], kind="stable")]
            (line,) = ax.plot(
                x[rows], scores[rows], marker="o", markersize=3, label=f"face {t}"
            )
            self.lines_.append(line)
        self.threshold_line_ = ax.axhline(
            self.threshold, color="0.5", linewidth=0.8, linestyle=":"
        )
        self.video_line_ = None
        if self.video_score is not None:
            self.video_line_ = ax.axhline(
                self.video_score,
                color="k",
                linestyle="--",
                linewidth=1,
                label=f"video score {self.video_score:.2f}",
            )
        ax.set_ylim(0, 1)
        ax.set_xlabel("time (s)" if scale != 1.0 else "frame")
        ax.set_ylabel("P(fake)")
        if len(x):
            lo, hi = float(x.min()), float(x.max())
            pad = max((hi - lo) * 0.06, scale)
            ax.set_xlim(lo - pad, hi + pad)
        if self.lines_ or self.video_line_ is not None:
            ax.legend(loc="lower right", fontsize="small")
        self.thumbnail_axes_ = []
        thumbs = self.thumbnails
        if show_thumbnails and thumbs is not None and len(thumbs):
            left, right = ax.get_xlim()
            width = (right - left) / max(len(thumbs), 4) * 0.9
            tx = np.asarray(self.thumbnail_frames, dtype=np.float64) * scale
            for crop, centre in zip(thumbs, tx):
                inset = ax.inset_axes(
                    [centre - width / 2, 1.02, width, 0.22],
                    transform=ax.get_xaxis_transform(),
                )
                inset.imshow(crop)
                inset.set_axis_off()
                self.thumbnail_axes_.append(inset)
        title = self.name or ""
        ax.set_title(title, pad=70 if self.thumbnail_axes_ else 6, fontsize="medium")
        self.ax_, self.figure_ = ax, fig
        return self
