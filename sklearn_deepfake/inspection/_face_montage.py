"""A grid of one video's face crops coloured by their fake score, as a Display."""

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
from sklearn_deepfake.utils._plotting import check_axes, import_pyplot

__all__ = ["FaceMontageDisplay"]


@fill_doc(_VIDEO_DOCS)
class FaceMontageDisplay(_VideoDisplay):
    """A grid of one video's face crops, each framed by its fake score.

    The crops are tiled into one image; each tile gets a border whose colour
    goes from green (real) to red (fake) and its score written in a corner.
    Use :meth:`from_estimator` or :meth:`from_predictions` to build one.

    Parameters
    ----------
    crops : ndarray of uint8, shape (n_faces, size, size, 3)
        Face crops to show.
    scores : ndarray of float, shape (n_faces,), default=None
        Fake probability of each crop; no frames or numbers when None.
    frames : ndarray of int, shape (n_faces,), default=None
        Frame ordinal of each crop, written under its score.
    name : str, default=None
        Title of the plot.

    Attributes
    ----------
    %(ax_figure_)s
    image_ : matplotlib AxesImage
        The tiled crops.
    texts_ : list of matplotlib Text
        One label per tile (empty without scores and frames).
    borders_ : list of matplotlib Rectangle
        One coloured frame per tile (empty without scores).

    Examples
    --------
    %(example_track)s
    >>> from sklearn_deepfake.inspection import FaceMontageDisplay
    >>> disp = FaceMontageDisplay.from_predictions(track, [0.2, 0.5, 0.9])
    >>> len(disp.texts_), len(disp.borders_)
    (3, 3)
    """

    def __init__(
        self,
        *,
        crops: Any,
        scores: Any = None,
        frames: Any = None,
        name: str | None = None,
    ) -> None:
        self.crops = crops
        self.scores = scores
        self.frames = frames
        self.name = name

    # the shared constructor, listed here so that it is documented here
    from_estimator = _VideoDisplay.__dict__["from_estimator"]

    @classmethod
    @fill_doc(_VIDEO_DOCS)
    def from_predictions(
        cls,
        tracks: FaceTracks,
        frame_scores: Any = None,
        *,
        max_faces: int = 16,
        track: int | None = None,
        n_cols: int | None = None,
        name: str | None = None,
        ax: Any = None,
    ) -> FaceMontageDisplay:
        """Tile a video's face crops with scores computed elsewhere.

        Parameters
        ----------
        %(tracks)s
        frame_scores : array-like, default=None
            %(frame_scores_values)s
            None shows the crops only.
        max_faces : int, default=16
            At most this many crops, evenly spaced over the video.
        track : int, default=None
            Only the crops of this face track; all tracks when None.
        %(n_cols)s
        %(name)s
        %(ax)s

        Returns
        -------
        display : FaceMontageDisplay
        """
        tracks = _check_tracks(tracks)
        rows = np.arange(len(tracks))
        if track is not None:
            rows = rows[np.asarray(tracks.track_ids) == track]
        rows = rows[_evenly(len(rows), int(max_faces))]
        scores = None
        if frame_scores is not None:
            scores = _row_scores(tracks, frame_scores)[rows]
        disp = cls(
            crops=np.asarray(tracks.crops)[rows],
            scores=scores,
            frames=_row_frames(tracks)[rows],
            name=name if name is not None else _video_name(tracks.path),
        )
        return disp.plot(ax=ax, n_cols=n_cols)

    @fill_doc(_VIDEO_DOCS)
    def plot(
        self, ax: Any = None, *, n_cols: int | None = None, cmap: str = "RdYlGn_r"
    ) -> FaceMontageDisplay:
        """Draw the montage.

        Parameters
        ----------
        %(ax)s
        %(n_cols)s
        cmap : str, default="RdYlGn_r"
            Colormap of the borders (score 0 to 1).

        Returns
        -------
        display : FaceMontageDisplay
            ``self``, with ``ax_``, ``figure_``, ``image_``, ``texts_`` and
            ``borders_`` set.
        """
        plt = import_pyplot()
        from matplotlib.patches import Rectangle

        ax, fig = check_axes(ax)
        crops = np.asarray(self.crops, dtype=np.uint8)
        n = len(crops)
        size = crops.shape[1] if crops.ndim == 4 and n else 8
        cols = int(n_cols) if n_cols else max(1, int(np.ceil(np.sqrt(max(n, 1)))))
        n_rows = max(1, int(np.ceil(n / cols)))
        gap = max(2, size // 16)
        step = size + gap
        mosaic = np.full(
            (n_rows * step + gap, cols * step + gap, 3), 255, dtype=np.uint8
        )
        # top-left pixel of each tile
        corners = [(gap + i // cols * step, gap + i % cols * step) for i in range(n)]
        for crop, (y0, x0) in zip(crops, corners):
            mosaic[y0 : y0 + size, x0 : x0 + size] = crop
        self.image_ = ax.imshow(mosaic)
        colors = plt.get_cmap(cmap)
        self.texts_, self.borders_ = [], []
        for i, (y0, x0) in enumerate(corners):
            parts = []
            if self.scores is not None:
                score = float(np.asarray(self.scores)[i])
                border = Rectangle(
                    (x0 - 0.5, y0 - 0.5),
                    size,
                    size,
                    fill=False,
                    linewidth=2,
                    edgecolor=colors(score),
                )
                ax.add_patch(border)
                self.borders_.append(border)
                parts.append(f"{score:.2f}")
            if self.frames is not None:
                parts.append(f"#{int(np.asarray(self.frames)[i])}")
            if parts:
                self.texts_.append(
                    ax.text(
                        x0 + 1,
                        y0 + 1,
                        " ".join(parts),
                        va="top",
                        ha="left",
                        fontsize="x-small",
                        color="white",
                        bbox={"facecolor": "black", "alpha": 0.5, "pad": 1},
                    )
                )
        ax.set_axis_off()
        if not n:
            ax.text(0.5, 0.5, "no face found", ha="center", transform=ax.transAxes)
        if self.name:
            ax.set_title(self.name, fontsize="medium")
        self.ax_, self.figure_ = ax, fig
        return self
