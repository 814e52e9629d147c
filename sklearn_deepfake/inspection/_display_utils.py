"""Helpers of the Displays: passing keywords on; picking, scoring, spacing a video."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from sklearn_deepfake.utils import FaceTracks
from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._plotting import _PLOT_DOCS

#: Docstring entries of the Displays of one video (FaceMontageDisplay,
#: FrameScoreTimelineDisplay, GradCAMDisplay).
_DOCS = {
    **_PLOT_DOCS,
    "tracks": """tracks : FaceTracks
    The video's face record (from
    :class:`~sklearn_deepfake.faces.FaceCropper`).""",
    "X": """X : list of FaceTracks or of video paths
    The videos; only ``X[video]`` is used.""",
    # what the values of a video's ``frame_scores`` are
    "frame_scores_values": """One fake probability per face crop
(``len(tracks)`` values, as returned by
``FaceCNNClassifier.predict_frame_proba``) or one per sampled frame
(``len(tracks.frame_indices)`` values).""",
    "video": """video : int, default=0
    Position in ``X`` of the video to show.""",
    "name": """name : str, default=None
    Title; the video's file name by default.""",
    "n_cols": """n_cols : int, default=None
    Tiles per row; about a square grid when None.""",
    "threshold": """threshold : float, default=0.5
    Decision threshold, drawn as a horizontal line.""",
    # the start of the examples of FaceMontageDisplay and
    # FrameScoreTimelineDisplay
    "example_track": """The face record of a tiny synthetic video:

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from sklearn_deepfake.utils._testing import make_tiny_face_tracks
>>> track = make_tiny_face_tracks(1, empty=())[0]""",
}


def _check_passed_on(
    caller: str, target: Callable, kwargs: Mapping[str, Any], filled: Iterable[str] = ()
) -> None:
    """Refuse, as Python would, a keyword that ``caller`` cannot pass on.

    ``caller`` (its name is used in the message) passes ``kwargs`` on to
    ``target``, filling the ``filled`` keywords itself; checking first makes
    a typo fail before the model runs.
    """
    params = inspect.signature(target).parameters
    filled = set(filled)
    for key in kwargs:
        param = params.get(key)
        if param is None or param.kind is not param.KEYWORD_ONLY or key in filled:
            raise TypeError(f"{caller}() got an unexpected keyword argument {key!r}")


def _video_name(path: str) -> str:
    return str(path).replace("\\", "/").rsplit("/", 1)[-1]


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


def _check_tracks(tracks: Any) -> FaceTracks:
    """Return ``tracks``, the face record of one video, or raise TypeError."""
    if not isinstance(tracks, FaceTracks):
        raise TypeError(f"tracks must be FaceTracks, got {type(tracks).__name__}.")
    return tracks


def _score_one_video(estimator: Any, X: Any, video: int) -> tuple:
    """Return ``(frame scorer, face tracks, frame scores)`` of ``X[video]``."""
    if isinstance(X, (FaceTracks, str)):
        X = [X]
    X = list(X)
    if not -len(X) <= int(video) < len(X):
        raise IndexError(f"video={video} is out of range for {len(X)} videos.")
    final, (track,) = _split_estimator(estimator, [X[int(video)]])
    if not isinstance(track, FaceTracks):
        raise TypeError(
            f"Expected FaceTracks at position {video}, got {type(track).__name__}."
        )
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


def _row_frames(track: FaceTracks) -> np.ndarray:
    """Frame ordinal of each row (face crop) of ``track``."""
    return np.asarray(track.frame_indices)[np.asarray(track.frame_pos)]


def _evenly(n: int, k: int) -> np.ndarray:
    """``k`` (at most ``n``) evenly spaced positions in ``range(n)``."""
    if n == 0 or k <= 0:
        return np.zeros(0, dtype=int)
    return np.unique(np.linspace(0, n - 1, min(n, k)).round().astype(int))


class _VideoDisplay:
    """``from_estimator`` of the Displays drawn from one video's frame scores.

    A subclass defines ``from_predictions(tracks, frame_scores, *, ...)``;
    ``from_estimator`` scores the faces of the chosen video with the model
    and passes the scores on, with the keywords it was given.
    """

    #: Keywords of ``from_predictions`` that ``from_estimator`` fills from
    #: the model (see ``_from_model``) instead of taking them from the caller.
    _from_model_keys: tuple[str, ...] = ()

    @classmethod
    def _from_model(cls, scorer: Any, track: FaceTracks) -> dict[str, Any]:
        """Return the ``_from_model_keys`` keywords, from the fitted frame scorer."""
        return {}

    @classmethod
    @fill_doc(_DOCS)
    def from_estimator(
        cls, estimator: Any, X: Any, *, video: int = 0, **kwargs: Any
    ) -> Any:
        """Score one video's faces with a fitted model and plot them.

        Parameters
        ----------
        estimator : estimator
            A fitted :class:`~sklearn_deepfake.nets.FaceCNNClassifier`, or a
            fitted pipeline ending with one (then ``X`` may be video paths).
        %(X)s
        %(video)s
        **kwargs
            The keyword arguments of :meth:`from_predictions`, with its
            defaults: ``max_faces``, ``track``, ``n_cols``, ``name`` and
            ``ax`` for :class:`FaceMontageDisplay`; ``n_thumbnails``,
            ``threshold``, ``name`` and ``ax`` for
            :class:`FrameScoreTimelineDisplay`, whose ``video_score`` is the
            model's probability of the video. Any other keyword raises
            ``TypeError`` before the video is scored.

        Returns
        -------
        display : FaceMontageDisplay or FrameScoreTimelineDisplay
            The plotted display.
        """
        _check_passed_on(
            f"{cls.__name__}.from_estimator",
            cls.from_predictions,
            kwargs,
            cls._from_model_keys,
        )
        scorer, track, scores = _score_one_video(estimator, X, video)
        return cls.from_predictions(
            track, scores, **cls._from_model(scorer, track), **kwargs
        )
