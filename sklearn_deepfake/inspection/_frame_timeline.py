"""Plots of a detector's decisions, in scikit-learn's Display style.

Each Display stores what it draws in ``__init__``, is built with
``from_estimator`` (runs the model) or ``from_predictions`` (takes scores
already computed) and draws with ``plot(ax=None, ...)``, after which
``ax_`` and ``figure_`` hold the matplotlib axes and figure. matplotlib is
an optional dependency (``pip install "sklearn-deepfake[plot]"``), imported
only when something is drawn.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
from sklearn.base import is_classifier
from sklearn.metrics import (
    DetCurveDisplay,
    RocCurveDisplay,
    auc,
    det_curve,
    roc_curve,
)
from sklearn.model_selection import GroupKFold, StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline

from sklearn_deepfake.utils import FaceTracks
from sklearn_deepfake.utils._plotting import check_axes, import_pyplot

__all__ = [
    "FaceMontageDisplay",
    "FrameScoreTimelineDisplay",
    "GroupedDETDisplay",
    "GroupedROCDisplay",
]


def _video_name(path: str) -> str:
    return str(path).replace("\\", "/").rsplit("/", 1)[-1]


# ----------------------------------------------------------------------
# Per-video displays
# ----------------------------------------------------------------------


def _split_estimator(estimator: Any, X: Any) -> tuple[Any, list]:
    """Return the frame scorer and ``X`` transformed up to it.

    ``estimator`` is a fitted model with ``predict_frame_proba`` (such as
    :class:`~sklearn_deepfake.nets.FaceCNNClassifier`), or a fitted
    :class:`~sklearn.pipeline.Pipeline` whose last step has it; then ``X``
    goes through the earlier steps first (video paths in, face tracks out).
    """
    if isinstance(estimator, FaceTracks):
        raise TypeError("Pass the fitted estimator first, then the face tracks.")
    final, head = estimator, None
    if isinstance(estimator, Pipeline):
        final, head = estimator[-1], estimator[:-1]
    if not hasattr(final, "predict_frame_proba"):
        raise TypeError(
            f"{type(final).__name__} has no predict_frame_proba; pass a fitted "
            "FaceCNNClassifier (or a Pipeline ending with one), or use "
            "from_predictions with frame scores you computed."
        )
    if isinstance(X, (FaceTracks, str)):
        X = [X]
    X = list(X)
    if head is not None and len(head):
        X = head.transform(X)
    return final, list(X)


def _pick_video(X: list, video: int) -> FaceTracks:
    if not -len(X) <= int(video) < len(X):
        raise IndexError(f"video={video} is out of range for {len(X)} videos.")
    track = X[int(video)]
    if not isinstance(track, FaceTracks):
        raise TypeError(
            f"Expected FaceTracks at position {video}, got {type(track).__name__}."
        )
    return track


def _score_one_video(estimator: Any, X: Any, video: int) -> tuple:
    """Return ``(frame scorer, face tracks, frame scores)`` of ``X[video]``."""
    if isinstance(X, (FaceTracks, str)):
        X = [X]
    X = list(X)
    final, tracks = _split_estimator(estimator, [X[int(video)]])
    track = _pick_video(tracks, 0)
    return final, track, final.predict_frame_proba([track])[0]


def _row_scores(track: FaceTracks, frame_scores: Any) -> np.ndarray:
    """Turn per-row or per-frame scores into one score per row of ``track``."""
    scores = np.asarray(frame_scores, dtype=np.float64).ravel()
    if len(scores) == len(track):
        return scores
    if len(scores) == len(track.frame_indices):
        return scores[track.frame_pos]
    raise ValueError(
        f"frame_scores has {len(scores)} values; expected one per face crop "
        f"({len(track)}) or one per sampled frame ({len(track.frame_indices)}) "
        f"of {track.path!r}."
    )


def _evenly(n: int, k: int) -> np.ndarray:
    """``k`` (at most ``n``) evenly spaced positions in ``range(n)``."""
    if n == 0 or k <= 0:
        return np.zeros(0, dtype=int)
    return np.unique(np.linspace(0, n - 1, min(n, k)).round().astype(int))


class FrameScoreTimelineDisplay:
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
    threshold : float, default=0.5
        Decision threshold drawn as a horizontal line.
    name : str, default=None
        Title of the plot (the video's file name by default).

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the timeline.
    figure_ : matplotlib Figure
        Figure holding ``ax_``.
    lines_ : list of matplotlib Line2D
        One line per face track.
    thumbnail_axes_ : list of matplotlib Axes
        Inset axes holding the thumbnails.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_deepfake.inspection import FrameScoreTimelineDisplay
    >>> from sklearn_deepfake.utils._testing import make_tiny_face_tracks
    >>> track = make_tiny_face_tracks(1, empty=())[0]
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

    @classmethod
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
        tracks : FaceTracks
            The video's face record (from
            :class:`~sklearn_deepfake.faces.FaceCropper`).
        frame_scores : array-like
            One fake probability per face crop (``len(tracks)`` values, as
            returned by ``FaceCNNClassifier.predict_frame_proba``) or one per
            sampled frame (``len(tracks.frame_indices)`` values).
        video_score : float, default=None
            The video's pooled probability, drawn as a dashed line.
        n_thumbnails : int, default=6
            Face crops of the main track shown above the plot.
        threshold : float, default=0.5
            Decision threshold.
        name : str, default=None
            Title; the video's file name by default.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.

        Returns
        -------
        display : FrameScoreTimelineDisplay
        """
        if not isinstance(tracks, FaceTracks):
            raise TypeError(f"tracks must be FaceTracks, got {type(tracks).__name__}.")
        scores = _row_scores(tracks, frame_scores)
        main = np.flatnonzero(tracks.track_ids == 0)
        if not len(main):
            main = np.arange(len(tracks))
        picked = main[_evenly(len(main), int(n_thumbnails))]
        frames = tracks.frame_indices[tracks.frame_pos]
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

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X: Any,
        *,
        video: int = 0,
        n_thumbnails: int = 6,
        threshold: float = 0.5,
        name: str | None = None,
        ax: Any = None,
    ) -> FrameScoreTimelineDisplay:
        """Score one video's faces with a fitted model and plot them.

        Parameters
        ----------
        estimator : estimator
            A fitted :class:`~sklearn_deepfake.nets.FaceCNNClassifier`, or a
            fitted pipeline ending with one (then ``X`` may be video paths).
        X : list of FaceTracks or of video paths
            The videos; only ``X[video]`` is scored.
        video : int, default=0
            Which video of ``X`` to plot.
        n_thumbnails : int, default=6
            Face crops shown above the plot.
        threshold : float, default=0.5
            Decision threshold.
        name : str, default=None
            Title; the video's file name by default.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.

        Returns
        -------
        display : FrameScoreTimelineDisplay
        """
        final, track, scores = _score_one_video(estimator, X, video)
        video_score = float(final.predict_proba([track])[0, 1])
        return cls.from_predictions(
            track,
            scores,
            video_score=video_score,
            n_thumbnails=n_thumbnails,
            threshold=threshold,
            name=name,
            ax=ax,
        )

    def plot(self, ax: Any = None, *, show_thumbnails: bool = True) -> Any:
        """Draw the timeline.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
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


class FaceMontageDisplay:
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
    ax_ : matplotlib Axes
        Axes with the montage.
    figure_ : matplotlib Figure
        Figure holding ``ax_``.
    image_ : matplotlib AxesImage
        The tiled crops.
    texts_ : list of matplotlib Text
        One label per tile (empty without scores and frames).
    borders_ : list of matplotlib Rectangle
        One coloured frame per tile (empty without scores).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_deepfake.inspection import FaceMontageDisplay
    >>> from sklearn_deepfake.utils._testing import make_tiny_face_tracks
    >>> track = make_tiny_face_tracks(1, empty=())[0]
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

    @classmethod
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
        tracks : FaceTracks
            The video's face record.
        frame_scores : array-like, default=None
            One fake probability per crop or per sampled frame (as for
            :meth:`FrameScoreTimelineDisplay.from_predictions`); None shows
            the crops only.
        max_faces : int, default=16
            At most this many crops, evenly spaced over the video.
        track : int, default=None
            Only the crops of this face track; all tracks when None.
        n_cols : int, default=None
            Tiles per row; about a square grid when None.
        name : str, default=None
            Title; the video's file name by default.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.

        Returns
        -------
        display : FaceMontageDisplay
        """
        if not isinstance(tracks, FaceTracks):
            raise TypeError(f"tracks must be FaceTracks, got {type(tracks).__name__}.")
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
            frames=tracks.frame_indices[tracks.frame_pos[rows]],
            name=name if name is not None else _video_name(tracks.path),
        )
        return disp.plot(ax=ax, n_cols=n_cols)

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X: Any,
        *,
        video: int = 0,
        max_faces: int = 16,
        track: int | None = None,
        n_cols: int | None = None,
        name: str | None = None,
        ax: Any = None,
    ) -> FaceMontageDisplay:
        """Score one video's faces with a fitted model and tile them.

        Parameters
        ----------
        estimator : estimator
            A fitted :class:`~sklearn_deepfake.nets.FaceCNNClassifier`, or a
            fitted pipeline ending with one (then ``X`` may be video paths).
        X : list of FaceTracks or of video paths
            The videos; only ``X[video]`` is shown.
        video : int, default=0
            Which video of ``X`` to show.
        max_faces : int, default=16
            At most this many crops.
        track : int, default=None
            Only this face track; all when None.
        n_cols : int, default=None
            Tiles per row.
        name : str, default=None
            Title; the video's file name by default.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.

        Returns
        -------
        display : FaceMontageDisplay
        """
        _, one, scores = _score_one_video(estimator, X, video)
        return cls.from_predictions(
            one,
            scores,
            max_faces=max_faces,
            track=track,
            n_cols=n_cols,
            name=name,
            ax=ax,
        )

    def plot(
        self, ax: Any = None, *, n_cols: int | None = None, cmap: str = "RdYlGn_r"
    ) -> FaceMontageDisplay:
        """Draw the montage.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        n_cols : int, default=None
            Tiles per row; about a square grid when None.
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
        for i, crop in enumerate(crops):
            r, c = divmod(i, cols)
            y0, x0 = gap + r * step, gap + c * step
            mosaic[y0 : y0 + size, x0 : x0 + size] = crop
        self.image_ = ax.imshow(mosaic)
        colors = plt.get_cmap(cmap)
        self.texts_, self.borders_ = [], []
        for i in range(n):
            r, c = divmod(i, cols)
            y0, x0 = gap + r * step, gap + c * step
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


# ----------------------------------------------------------------------
# Curves over the folds of a grouped cross-validation
# ----------------------------------------------------------------------


def _make_display(cls: type, name: str | None, **values: Any) -> Any:
    """Build a scikit-learn curve display whatever its name argument is called."""
    params = inspect.signature(cls.__init__).parameters
    key = "name" if "name" in params else "estimator_name"
    return cls(**values, **{key: name})


def _fold_ids(cv: Any, X: Any, y: Any, groups: Any) -> tuple[list, np.ndarray]:
    """Materialise the splits and each sample's test fold."""
    splits = list(cv.split(X, y, groups))
    folds = np.full(len(y), -1, dtype=int)
    for k, (_, test) in enumerate(splits):
        if np.any(folds[test] >= 0):
            raise ValueError("The cross-validation splits must not overlap.")
        folds[test] = k
    if np.any(folds < 0):
        raise ValueError(
            "Every sample must be in exactly one test fold (a partition, as "
            "GroupKFold makes)."
        )
    return splits, folds


def _positive_scores(
    estimator: Any,
    X: Any,
    y: Any,
    *,
    groups: Any,
    cv: Any,
    method: str,
    pos_label: Any,
    n_jobs: int | None,
    params: dict | None,
) -> tuple[np.ndarray, np.ndarray, Any]:
    """Out-of-fold scores of the positive class and each sample's fold."""
    y = np.asarray(y)
    if cv is None or isinstance(cv, int):
        n = 5 if cv is None else int(cv)
        cv = GroupKFold(n) if groups is not None else StratifiedKFold(n)
    splits, folds = _fold_ids(cv, X, y, groups)
    if method == "auto":
        method = (
            "predict_proba"
            if hasattr(estimator, "predict_proba")
            else "decision_function"
        )
    out = cross_val_predict(
        estimator,
        X,
        y,
        groups=groups,
        cv=splits,
        method=method,
        n_jobs=n_jobs,
        params=params,
    )
    classes = np.unique(y)
    if len(classes) != 2:
        raise ValueError(f"y must have two classes, got {len(classes)}.")
    if pos_label is None:
        pos_label = classes[1]
    if method == "predict_proba":
        score = out[:, int(np.flatnonzero(classes == pos_label)[0])]
    else:
        score = out if pos_label == classes[1] else -out
    return np.asarray(score, dtype=np.float64), folds, pos_label


class _GroupedCurveDisplay:
    """Shared logic of the per-fold curve displays."""

    _kind = ""

    def __init__(
        self,
        *,
        fold_curves: list,
        mean_curve: tuple,
        fold_names: list,
        name: str | None = None,
        pos_label: Any = None,
    ) -> None:
        self.fold_curves = fold_curves
        self.mean_curve = mean_curve
        self.fold_names = fold_names
        self.name = name
        self.pos_label = pos_label

    @classmethod
    def _curves(cls, y: np.ndarray, s: np.ndarray, pos_label: Any) -> tuple:
        raise NotImplementedError

    @classmethod
    def from_predictions(
        cls,
        y_true: Any,
        y_score: Any,
        *,
        folds: Any,
        pos_label: Any = None,
        name: str | None = None,
        ax: Any = None,
        show_folds: bool = True,
    ) -> Any:
        """Plot one curve per cross-validation fold and their mean.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            True labels.
        y_score : array-like of shape (n_samples,)
            Out-of-fold scores of the positive class (probabilities or
            decision values), for example from
            :func:`~sklearn.model_selection.cross_val_predict`.
        folds : array-like of shape (n_samples,)
            Test fold of each sample (any hashable ids).
        pos_label : int, float, bool or str, default=None
            The positive class; the larger label when None.
        name : str, default=None
            Name of the model in the legend.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        show_folds : bool, default=True
            Draw the per-fold curves as well as the mean.

        Returns
        -------
        display : GroupedROCDisplay or GroupedDETDisplay
        """
        y = np.asarray(y_true).ravel()
        s = np.asarray(y_score, dtype=np.float64).ravel()
        folds = np.asarray(folds).ravel()
        if not len(y) == len(s) == len(folds):
            raise ValueError(
                f"y_true, y_score and folds have different lengths: "
                f"{len(y)}, {len(s)}, {len(folds)}."
            )
        if pos_label is None:
            classes = np.unique(y)
            if len(classes) > 2:
                raise ValueError(f"y_true must be binary, got {len(classes)} classes.")
            pos_label = classes[-1]
        fold_curves, fold_names = [], []
        for fold in np.unique(folds):
            mask = folds == fold
            if len(np.unique(y[mask])) < 2:
                raise ValueError(
                    f"Fold {fold} holds one class only; its curve is "
                    "undefined. Use fewer folds or StratifiedGroupKFold."
                )
            fold_curves.append(cls._curves(y[mask], s[mask], pos_label))
            fold_names.append(f"fold {fold}")
        disp = cls(
            fold_curves=fold_curves,
            mean_curve=cls._mean(fold_curves),
            fold_names=fold_names,
            name=name,
            pos_label=pos_label,
        )
        return disp.plot(ax=ax, show_folds=show_folds)

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X: Any,
        y: Any,
        *,
        groups: Any = None,
        cv: Any = None,
        method: str = "auto",
        pos_label: Any = None,
        n_jobs: int | None = None,
        params: dict | None = None,
        name: str | None = None,
        ax: Any = None,
        show_folds: bool = True,
    ) -> Any:
        """Cross-validate ``estimator`` by group and plot its curves.

        Parameters
        ----------
        estimator : estimator
            An unfitted binary classifier (or pipeline); it is cloned and
            fitted once per fold by
            :func:`~sklearn.model_selection.cross_val_predict`.
        X : list of video paths or any input of ``estimator``
            The samples.
        y : array-like of shape (n_samples,)
            Labels.
        groups : array-like of shape (n_samples,), default=None
            Group of each sample (the source video for DFDC, from
            :func:`~sklearn_deepfake.datasets.load_dfdc`).
        cv : int or cross-validation splitter, default=None
            A splitter whose test folds partition the samples. An int (5
            when None) means ``GroupKFold`` when ``groups`` is given, else
            ``StratifiedKFold``.
        method : {"auto", "predict_proba", "decision_function"}, default="auto"
            Scores to use; ``"auto"`` prefers ``predict_proba``.
        pos_label : int, float, bool or str, default=None
            The positive class; the larger label when None.
        n_jobs : int, default=None
            Folds fitted in parallel.
        params : dict, default=None
            Routed to the estimator's ``fit`` (see scikit-learn's metadata
            routing).
        name : str, default=None
            Name in the legend; the estimator's class name when None.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        show_folds : bool, default=True
            Draw the per-fold curves as well as the mean.

        Returns
        -------
        display : GroupedROCDisplay or GroupedDETDisplay
        """
        if not is_classifier(estimator):
            raise TypeError(f"{type(estimator).__name__} is not a classifier.")
        score, folds, pos_label = _positive_scores(
            estimator,
            X,
            y,
            groups=groups,
            cv=cv,
            method=method,
            pos_label=pos_label,
            n_jobs=n_jobs,
            params=params,
        )
        if name is None:
            last = estimator[-1] if isinstance(estimator, Pipeline) else estimator
            name = type(last).__name__
        return cls.from_predictions(
            y,
            score,
            folds=folds,
            pos_label=pos_label,
            name=name,
            ax=ax,
            show_folds=show_folds,
        )


class GroupedROCDisplay(_GroupedCurveDisplay):
    """ROC curves of the folds of a (grouped) cross-validation, and their mean.

    Each fold is drawn with scikit-learn's
    :class:`~sklearn.metrics.RocCurveDisplay`; the mean curve averages the
    folds' true-positive rates on a common false-positive grid, with a band
    of one standard deviation, and its legend gives the mean and standard
    deviation of the folds' AUCs. Build one with :meth:`from_estimator`
    (runs a grouped :func:`~sklearn.model_selection.cross_val_predict`) or
    :meth:`from_predictions` (out-of-fold scores and fold ids).

    Parameters
    ----------
    fold_curves : list of tuple
        ``(fpr, tpr, roc_auc)`` of each fold.
    mean_curve : tuple
        ``(fpr, mean_tpr, std_tpr, mean_auc, std_auc)``.
    fold_names : list of str
        Legend name of each fold.
    name : str, default=None
        Name of the model.
    pos_label : int, float, bool or str, default=None
        The positive class.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the curves.
    figure_ : matplotlib Figure
        Figure holding ``ax_``.
    fold_displays_ : list of sklearn.metrics.RocCurveDisplay
        One display per fold (empty when the folds are not drawn).
    mean_line_ : matplotlib Line2D
        The mean curve.
    band_ : matplotlib PolyCollection
        Mean plus or minus one standard deviation.
    roc_aucs_ : ndarray of shape (n_folds,)
        AUC of each fold.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_deepfake.inspection import GroupedROCDisplay
    >>> rng = np.random.RandomState(0)
    >>> y = np.tile([0, 1], 20)
    >>> score = y + rng.normal(scale=0.8, size=40)
    >>> disp = GroupedROCDisplay.from_predictions(y, score, folds=np.arange(40) // 10)
    >>> len(disp.fold_displays_), disp.roc_aucs_.shape
    (4, (4,))
    """

    _kind = "roc"
    # the shared constructors, listed here so that they are documented here
    from_predictions = _GroupedCurveDisplay.__dict__["from_predictions"]
    from_estimator = _GroupedCurveDisplay.__dict__["from_estimator"]

    @classmethod
    def _curves(cls, y: np.ndarray, s: np.ndarray, pos_label: Any) -> tuple:
        fpr, tpr, _ = roc_curve(y, s, pos_label=pos_label)
        return fpr, tpr, auc(fpr, tpr)

    @staticmethod
    def _mean(curves: list) -> tuple:
        grid = np.linspace(0, 1, 201)
        tprs = []
        for fpr, tpr, _ in curves:
            t = np.interp(grid, fpr, tpr)
            t[0] = 0.0
            tprs.append(t)
        tprs = np.array(tprs)
        mean = tprs.mean(axis=0)
        mean[-1] = 1.0
        aucs = np.array([c[2] for c in curves])
        return grid, mean, tprs.std(axis=0), aucs.mean(), aucs.std()

    def plot(
        self,
        ax: Any = None,
        *,
        show_folds: bool = True,
        plot_chance_level: bool = True,
    ) -> GroupedROCDisplay:
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        show_folds : bool, default=True
            Draw the per-fold curves.
        plot_chance_level : bool, default=True
            Draw the diagonal of a random guess.

        Returns
        -------
        display : GroupedROCDisplay
            ``self``, with the attributes above set.
        """
        ax, fig = check_axes(ax)
        self.roc_aucs_ = np.array([c[2] for c in self.fold_curves])
        self.fold_displays_ = []
        if show_folds:
            for (fpr, tpr, roc_auc), fold in zip(self.fold_curves, self.fold_names):
                disp = _make_display(
                    RocCurveDisplay,
                    fold,
                    fpr=fpr,
                    tpr=tpr,
                    roc_auc=roc_auc,
                    pos_label=self.pos_label,
                ).plot(ax=ax)
                lines = disp.line_ if isinstance(disp.line_, list) else [disp.line_]
                for line in lines:
                    line.set_alpha(0.35)
                    line.set_linewidth(1)
                self.fold_displays_.append(disp)
        grid, mean, std, mean_auc, std_auc = self.mean_curve
        label = f"mean ROC (AUC = {mean_auc:.2f} ± {std_auc:.2f})"
        if self.name:
            label = f"{self.name}: {label}"
        (self.mean_line_,) = ax.plot(grid, mean, color="C0", linewidth=2, label=label)
        self.band_ = ax.fill_between(
            grid,
            np.clip(mean - std, 0, 1),
            np.clip(mean + std, 0, 1),
            color="C0",
            alpha=0.15,
            label="± 1 std. dev.",
        )
        self.chance_level_ = None
        if plot_chance_level:
            (self.chance_level_,) = ax.plot(
                [0, 1], [0, 1], color="k", linestyle="--", linewidth=0.8
            )
        suffix = (
            "" if self.pos_label is None else f" (Positive label: {self.pos_label})"
        )
        ax.set(
            xlabel="False Positive Rate" + suffix,
            ylabel="True Positive Rate" + suffix,
            xlim=(-0.01, 1.01),
            ylim=(-0.01, 1.01),
            aspect="equal",
        )
        ax.legend(loc="lower right", fontsize="small")
        self.ax_, self.figure_ = ax, fig
        return self


class GroupedDETDisplay(_GroupedCurveDisplay):
    """DET curves of the folds of a (grouped) cross-validation, and their mean.

    A detection error tradeoff curve plots the false negative rate against
    the false positive rate on normal-deviate scales, which spreads out the
    low-error region where detectors are compared. Each fold is drawn with
    scikit-learn's :class:`~sklearn.metrics.DetCurveDisplay`; the mean curve
    averages the folds' false-negative rates on a common false-positive
    grid. Build one with :meth:`from_estimator` or :meth:`from_predictions`,
    as for :class:`GroupedROCDisplay`.

    Parameters
    ----------
    fold_curves : list of tuple
        ``(fpr, fnr)`` of each fold.
    mean_curve : tuple
        ``(fpr, mean_fnr)``.
    fold_names : list of str
        Legend name of each fold.
    name : str, default=None
        Name of the model.
    pos_label : int, float, bool or str, default=None
        The positive class.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the curves.
    figure_ : matplotlib Figure
        Figure holding ``ax_``.
    fold_displays_ : list of sklearn.metrics.DetCurveDisplay
        One display per fold (empty when the folds are not drawn).
    mean_line_ : matplotlib Line2D
        The mean curve.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_deepfake.inspection import GroupedDETDisplay
    >>> rng = np.random.RandomState(0)
    >>> y = np.tile([0, 1], 20)
    >>> score = y + rng.normal(scale=0.8, size=40)
    >>> disp = GroupedDETDisplay.from_predictions(y, score, folds=np.arange(40) // 10)
    >>> len(disp.fold_displays_)
    4
    """

    _kind = "det"
    from_predictions = _GroupedCurveDisplay.__dict__["from_predictions"]
    from_estimator = _GroupedCurveDisplay.__dict__["from_estimator"]

    @classmethod
    def _curves(cls, y: np.ndarray, s: np.ndarray, pos_label: Any) -> tuple:
        fpr, fnr, _ = det_curve(y, s, pos_label=pos_label)
        return fpr, fnr

    @staticmethod
    def _mean(curves: list) -> tuple:
        grid = np.linspace(0, 1, 201)
        fnrs = []
        for fpr, fnr in curves:
            order = np.lexsort((-fnr, fpr))  # vertical steps: high fnr first
            fnrs.append(np.interp(grid, fpr[order], fnr[order]))
        return grid, np.mean(fnrs, axis=0)

    def plot(self, ax: Any = None, *, show_folds: bool = True) -> GroupedDETDisplay:
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        show_folds : bool, default=True
            Draw the per-fold curves.

        Returns
        -------
        display : GroupedDETDisplay
            ``self``, with the attributes above set.
        """
        from scipy.stats import norm

        ax, fig = check_axes(ax)
        self.fold_displays_ = []
        if show_folds:
            for (fpr, fnr), fold in zip(self.fold_curves, self.fold_names):
                disp = _make_display(
                    DetCurveDisplay, fold, fpr=fpr, fnr=fnr, pos_label=self.pos_label
                ).plot(ax=ax, alpha=0.35, linewidth=1)
                self.fold_displays_.append(disp)
        grid, mean = self.mean_curve
        tiny = np.finfo(np.float64).eps
        label = "mean DET" if not self.name else f"{self.name}: mean DET"
        (self.mean_line_,) = ax.plot(
            norm.ppf(np.clip(grid, tiny, 1 - tiny)),
            norm.ppf(np.clip(mean, tiny, 1 - tiny)),
            color="C0",
            linewidth=2,
            label=label,
        )
        if not show_folds:  # DetCurveDisplay sets ticks and labels otherwise
            ticks = [0.001, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99, 0.999]
            ax.set_xticks(norm.ppf(ticks), [f"{t:.1%}" for t in ticks])
            ax.set_yticks(norm.ppf(ticks), [f"{t:.1%}" for t in ticks])
            ax.set(
                xlim=(-3, 3),
                ylim=(-3, 3),
                xlabel="False Positive Rate",
                ylabel="False Negative Rate",
            )
        ax.legend(loc="upper right", fontsize="small")
        self.ax_, self.figure_ = ax, fig
        return self
