"""Per-video containers passed between pipeline steps, and their checker.

Between steps, ``X`` is a plain Python ``list`` with one element per video
(see ``STYLE.md`` section 3). This module defines the two record types that
travel in such lists, :class:`FramePlan` (what to read) and
:class:`FaceTracks` (what was found), plus :func:`check_per_video`, the one
validator that every ragged-input step calls, and :func:`flatten_frames`, a
flat view of all face crops of a list of videos.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._param_validation import ParamsValidationMixin

__all__ = ["FaceTracks", "FramePlan", "check_per_video", "flatten_frames"]

#: Docstring text shared by the per-video steps (see
#: :func:`~sklearn_deepfake.utils._docstrings.fill_doc`): the end of the
#: ``fit`` of a step that learns nothing from ``y``, and the start of the
#: ``transform`` of a step that reads video files.
_STEP_DOCS = {
    "fit_y_returns": """y : None
    Ignored.

Returns
-------
self : object
    Fitted transformer.""",
    "transform_paths": """Parameters
----------
X : list, tuple, 1-D ndarray or pandas Series of str or os.PathLike
    Video paths, one per video.

Returns
-------""",
}


def _warn_renamed(old: str, new: str, meaning: str) -> None:
    """Warn the reader of the deprecated attribute ``old`` to use ``new``."""
    warnings.warn(
        f"{old} is deprecated and will be removed in the next release; use {new} "
        f"({meaning}).",
        FutureWarning,
        stacklevel=3,
    )


def _record_repr(kind: str, record: Any, fields: str) -> str:
    """Return ``kind('<file name>', <fields>[, error=...])`` for a record."""
    extra = f", error={record.error!r}" if record.error else ""
    return f"{kind}({os.path.basename(record.path)!r}, {fields}{extra})"


def _frozen_array(a: Any, dtype: Any, shape_tail: tuple[int, ...] = ()) -> np.ndarray:
    arr = np.ascontiguousarray(a, dtype=dtype)
    if shape_tail and arr.size == 0:
        arr = arr.reshape((0, *shape_tail))
    arr.setflags(write=False)
    return arr


#: The arrays of a :class:`FaceTracks`: name, dtype and shape after the first
#: axis (the crops' side is the record's crop size). The face store writes
#: them in this order.
_TRACK_ARRAYS: tuple[tuple[str, Any, tuple[int, ...]], ...] = (
    ("frame_indices", np.int64, ()),
    ("face_found", np.bool_, ()),
    ("crops", np.uint8, ()),
    ("boxes", np.float32, (4,)),
    ("crop_boxes", np.float32, (4,)),
    ("probs", np.float32, ()),
    ("landmarks", np.float32, (5, 2)),
    ("track_ids", np.int64, ()),
    ("frame_pos", np.int64, ()),
    ("detected", np.bool_, ()),
)


@dataclass(frozen=True, eq=False, init=False)
class FramePlan:
    """Which frames of one video to read; nothing is decoded.

    Produced by :class:`~sklearn_deepfake.video.FrameSampler` and consumed by
    :class:`~sklearn_deepfake.faces.FaceCropper`.

    Parameters
    ----------
    path : str
        Path of the video file.
    indices : ndarray of int64, shape (n_wanted,)
        Sorted, unique frame ordinals (0-based, in decode order) to read.
    n_video_frames : int
        Number of frames the container reports for the whole video (an
        estimate for some files; ``0`` when unknown). Not the number of frames
        to read, which is ``len(plan)``.
    fps : float
        Average frame rate (``0.0`` when unknown).
    width, height : int
        Display size in pixels, after rotation is applied.
    rotation : int
        Clockwise rotation in degrees (0, 90, 180 or 270) that must be applied
        to decoded frames to display them upright.
    error : str or None
        Why the video cannot be read, when probing failed. A plan with an
        error has no indices; the face step returns an empty record for it.
    n_frames : int, default=None
        Deprecated spelling of ``n_video_frames`` (it was easily read as the
        ``n_frames`` of :class:`~sklearn_deepfake.video.FrameSampler`, the
        number of frames to sample); it will be removed in the next release.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.utils import FramePlan
    >>> plan = FramePlan("a.mp4", np.array([0, 10, 20]), n_video_frames=300)
    >>> len(plan), plan.n_video_frames
    (3, 300)
    """

    path: str
    indices: np.ndarray
    n_video_frames: int = 0
    fps: float = 0.0
    width: int = 0
    height: int = 0
    rotation: int = 0
    error: str | None = None

    def __init__(
        self,
        path: str | os.PathLike,
        indices: Any,
        n_video_frames: int = 0,
        fps: float = 0.0,
        width: int = 0,
        height: int = 0,
        rotation: int = 0,
        error: str | None = None,
        *,
        n_frames: int | None = None,
    ) -> None:
        if n_frames is not None:
            warnings.warn(
                "FramePlan(n_frames=) is deprecated and will be removed in the "
                "next release; use n_video_frames= (the frames in the video, "
                "not the number to sample).",
                FutureWarning,
                stacklevel=2,
            )
            n_video_frames = n_frames
        s = object.__setattr__
        s(self, "path", os.fspath(path))
        s(self, "indices", _frozen_array(indices, np.int64))
        s(self, "n_video_frames", n_video_frames)
        s(self, "fps", fps)
        s(self, "width", width)
        s(self, "height", height)
        s(self, "rotation", rotation)
        s(self, "error", error)

    def __setstate__(self, state: dict) -> None:
        # plans pickled before the rename hold ``n_frames``
        state = dict(state)
        if "n_frames" in state:
            state["n_video_frames"] = state.pop("n_frames")
        self.__dict__.update(state)

    @property
    def n_frames(self) -> int:
        """Frames the container reports (deprecated: use ``n_video_frames``).

        .. deprecated:: 0.1
            Renamed ``n_video_frames``; ``n_frames`` will be removed in the
            next release.
        """
        _warn_renamed(
            "FramePlan.n_frames",
            "FramePlan.n_video_frames",
            "the frames in the video, not the number to sample",
        )
        return self.n_video_frames

    def __len__(self) -> int:
        return len(self.indices)

    def __repr__(self) -> str:
        return _record_repr(
            "FramePlan",
            self,
            f"n_wanted={len(self.indices)}, n_video_frames={self.n_video_frames}, "
            f"size={self.width}x{self.height}, fps={self.fps:.3g}, "
            f"rotation={self.rotation}",
        )


@dataclass(frozen=True, eq=False)
class FaceTracks:
    """The faces found in one video: aligned crops and where they came from.

    One row per (track, sampled frame) pair in which that track's face is
    present, ordered by track then frame. A video without any face has zero
    rows; its ``crops`` still have the right dtype and trailing shape.

    Parameters
    ----------
    path : str
        Path of the video file.
    frame_indices : ndarray of int64, shape (n_frames,)
        Ordinals of the frames that were actually decoded.
    face_found : ndarray of bool, shape (n_frames,)
        Whether at least one face is present in each decoded frame.
    crops : ndarray of uint8, shape (n_rows, size, size, 3)
        RGB face crops.
    boxes : ndarray of float32, shape (n_rows, 4)
        Face boxes ``(x1, y1, x2, y2)`` in pixels of the upright source frame.
    crop_boxes : ndarray of float32, shape (n_rows, 4)
        The square regions (with margin) that were cut and resized into
        ``crops``, in source pixels.
    probs : ndarray of float32, shape (n_rows,)
        Detector confidence; for interpolated rows, the lower of the two
        detections interpolated between.
    landmarks : ndarray of float32, shape (n_rows, 5, 2)
        Five facial points (left eye, right eye, nose, left and right mouth
        corner), ``(x, y)`` in pixels of the crop.
    track_ids : ndarray of int64, shape (n_rows,)
        Track of each row; track 0 is the largest and most confident face.
    frame_pos : ndarray of int64, shape (n_rows,)
        Position of each row's frame in ``frame_indices``.
    detected : ndarray of bool, shape (n_rows,)
        True where the box comes from a detector call on that frame, False
        where it was interpolated between detections.
    frame_size : tuple of int
        ``(height, width)`` of the upright source frames.
    fps : float
        Frame rate of the video (``0.0`` when unknown).
    error : str or None
        Why the video could not be (fully) read; ``None`` when it was.
    """

    path: str
    frame_indices: np.ndarray
    face_found: np.ndarray
    crops: np.ndarray
    boxes: np.ndarray
    crop_boxes: np.ndarray
    probs: np.ndarray
    landmarks: np.ndarray
    track_ids: np.ndarray
    frame_pos: np.ndarray
    detected: np.ndarray
    frame_size: tuple[int, int] = (0, 0)
    fps: float = 0.0
    error: str | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        size = self.crops.shape[1] if np.ndim(self.crops) == 4 else 0
        object.__setattr__(self, "path", os.fspath(self.path))
        for name, dtype, tail in _TRACK_ARRAYS:
            tail = (size, size, 3) if name == "crops" else tail
            object.__setattr__(
                self, name, _frozen_array(getattr(self, name), dtype, tail)
            )
        n = len(self.crops)
        for name in ("boxes", "crop_boxes", "probs", "landmarks", "track_ids"):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"FaceTracks.{name} has {len(getattr(self, name))} rows, "
                    f"crops has {n}."
                )
        if len(self.face_found) != len(self.frame_indices):
            raise ValueError("face_found and frame_indices differ in length.")

    @classmethod
    def empty(
        cls,
        path: str | os.PathLike,
        size: int,
        *,
        frame_indices: Any = (),
        frame_size: tuple[int, int] = (0, 0),
        fps: float = 0.0,
        error: str | None = None,
    ) -> FaceTracks:
        """Return a record with zero faces (a face-less or unreadable video)."""
        n = len(frame_indices)
        return cls(
            path=path,
            frame_indices=np.asarray(frame_indices, dtype=np.int64),
            face_found=np.zeros(n, dtype=bool),
            crops=np.zeros((0, size, size, 3), np.uint8),
            boxes=np.zeros((0, 4), np.float32),
            crop_boxes=np.zeros((0, 4), np.float32),
            probs=np.zeros(0, np.float32),
            landmarks=np.zeros((0, 5, 2), np.float32),
            track_ids=np.zeros(0, np.int64),
            frame_pos=np.zeros(0, np.int64),
            detected=np.zeros(0, bool),
            frame_size=frame_size,
            fps=fps,
            error=error,
        )

    @property
    def n_tracks(self) -> int:
        """Number of distinct face tracks."""
        return int(np.unique(self.track_ids).size)

    @property
    def crop_size(self) -> int:
        """Side length of the square crops in pixels.

        Records that keep their crops elsewhere override it so that it needs
        no I/O.
        """
        if type(self).size is not FaceTracks.size:
            # a subclass written before ``crop_size`` existed overrides ``size``
            return int(type(self).size.fget(self))  # type: ignore[attr-defined]
        return int(self.crops.shape[1])

    @property
    def size(self) -> int:
        """Side length of the square crops in pixels (deprecated).

        .. deprecated:: 0.1
            ``size`` read as the size of the record; use :attr:`crop_size`.
            It will be removed in the next release.
        """
        _warn_renamed(
            "FaceTracks.size", "FaceTracks.crop_size", "the side of the square crops"
        )
        return self.crop_size

    def __len__(self) -> int:
        return len(self.crops)

    def crops_at(self, rows: Any) -> np.ndarray:
        """Return the crops of ``rows`` (indices or a boolean mask).

        The same as ``self.crops[rows]``; records that keep their crops on
        disk override it to read only the rows asked for.

        Parameters
        ----------
        rows : array-like of int or bool
            Which rows.

        Returns
        -------
        crops : ndarray of uint8, shape (n_selected, size, size, 3)
            The selected crops.
        """
        return self.crops[np.asarray(rows)]

    def track(self, track_id: int = 0) -> FaceTracks:
        """Return a record that keeps only the rows of one track."""
        keep = self.track_ids == track_id
        return self.select(keep)

    def select(self, rows: Any) -> FaceTracks:
        """Return a record restricted to ``rows`` (a boolean mask or indices)."""
        rows = np.asarray(rows)
        if rows.dtype != bool:
            mask = np.zeros(len(self), dtype=bool)
            mask[rows] = True
            rows = mask
        arrays = self._arrays_without_crops()
        found = np.zeros(len(arrays["frame_indices"]), dtype=bool)
        found[arrays["frame_pos"][rows]] = True
        per_frame = ("frame_indices", "face_found")
        return FaceTracks(
            path=self.path,
            frame_indices=arrays["frame_indices"],
            face_found=found,
            crops=self.crops_at(rows),
            **{k: v[rows] for k, v in arrays.items() if k not in per_frame},
            frame_size=self.frame_size,
            fps=self.fps,
            error=self.error,
            meta=dict(self.meta),
        )

    def _arrays_without_crops(self) -> dict[str, np.ndarray]:
        """Every array but the crops (a stored record reads them in one go)."""
        return {
            name: getattr(self, name) for name, _, _ in _TRACK_ARRAYS if name != "crops"
        }

    def __repr__(self) -> str:
        return _record_repr(
            "FaceTracks",
            self,
            f"n_tracks={self.n_tracks}, n_rows={len(self)}, "
            f"n_frames={len(self.frame_indices)}, crop_size={self.crop_size}",
        )


def check_per_video(
    X: Any,
    *,
    kind: type | tuple[type, ...] | None = None,
    ndim: int | None = None,
    allow_empty: bool = False,
    name: str = "X",
) -> list:
    """Validate a per-video sequence and return it as a plain ``list``.

    Parameters
    ----------
    X : list, tuple, 1-D ndarray or pandas Series
        One element per video.
    kind : type or tuple of types, default=None
        Required type of every element. ``str`` also admits
        :class:`os.PathLike` objects, which are converted to ``str``.
    ndim : int, default=None
        When given, every element must be an ndarray of this dimension
        (for per-frame feature arrays).
    allow_empty : bool, default=False
        Whether a list of zero videos is accepted.
    name : str, default="X"
        Name used in error messages.

    Returns
    -------
    X_checked : list
        The elements of ``X``, in order.

    Raises
    ------
    TypeError
        When ``X`` is not a sequence of videos, or an element has the wrong
        type; the message names the first bad index.

    Examples
    --------
    >>> from sklearn_deepfake.utils import check_per_video
    >>> check_per_video(["a.mp4", "b.mp4"], kind=str)
    ['a.mp4', 'b.mp4']
    >>> check_per_video(["a.mp4", 3], kind=str)
    Traceback (most recent call last):
    ...
    TypeError: X[1] must be str or os.PathLike, got int.
    """
    if isinstance(X, (str, bytes, os.PathLike)):
        raise TypeError(
            f"{name} must be a sequence with one element per video, got a single "
            f"{type(X).__name__}; wrap it in a list."
        )
    if hasattr(X, "to_list") and not isinstance(X, np.ndarray):  # pandas
        if getattr(X, "ndim", 1) != 1:
            raise TypeError(f"{name} must be one-dimensional, got a DataFrame.")
        X = X.to_list()
    elif isinstance(X, np.ndarray):
        if X.ndim != 1:
            raise TypeError(
                f"{name} must be a 1-D sequence with one element per video, got an "
                f"array of shape {X.shape}."
            )
        X = X.tolist()
    elif not isinstance(X, Sequence):
        raise TypeError(
            f"{name} must be a list with one element per video, got {type(X).__name__}."
        )
    X = list(X)
    if not X and not allow_empty:
        raise ValueError(f"{name} holds no videos.")
    if kind is not None:
        kinds = kind if isinstance(kind, tuple) else (kind,)
        want_path = str in kinds
        for i, x in enumerate(X):
            if want_path and isinstance(x, os.PathLike):
                X[i] = os.fspath(x)
                continue
            if not isinstance(x, kinds):
                names = " or ".join(k.__name__ for k in kinds)
                if want_path:
                    names += " or os.PathLike"
                raise TypeError(f"{name}[{i}] must be {names}, got {type(x).__name__}.")
    if ndim is not None:
        for i, x in enumerate(X):
            if not isinstance(x, np.ndarray) or x.ndim != ndim:
                got = (
                    f"array of shape {x.shape}"
                    if isinstance(x, np.ndarray)
                    else type(x).__name__
                )
                raise TypeError(f"{name}[{i}] must be a {ndim}-D ndarray, got {got}.")
    return X


def flatten_frames(
    tracks: Sequence[FaceTracks], *, field_name: str = "crops"
) -> tuple[np.ndarray, np.ndarray]:
    """Stack one field of every video's face rows into one array.

    Parameters
    ----------
    tracks : list of FaceTracks
        One record per video.
    field_name : str, default="crops"
        Per-row field to stack (``"crops"``, ``"boxes"``, ``"landmarks"`` ...).

    Returns
    -------
    stacked : ndarray
        All rows of all videos, concatenated in video order.
    video_index : ndarray of int64, shape (n_rows_total,)
        For each row, the position of its video in ``tracks``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.utils import FaceTracks, flatten_frames
    >>> empty = FaceTracks.empty("a.mp4", size=8)
    >>> crops, video = flatten_frames([empty, empty])
    >>> crops.shape, video.shape
    ((0, 8, 8, 3), (0,))
    """
    tracks = check_per_video(tracks, kind=FaceTracks, name="tracks")
    parts = [getattr(t, field_name) for t in tracks]
    stacked = np.concatenate(parts, axis=0)
    video_index = np.repeat(np.arange(len(parts)), [len(p) for p in parts])
    return stacked, video_index.astype(np.int64)


class _NothingLearned(ParamsValidationMixin, TransformerMixin, BaseEstimator):
    """A per-video transformer that learns nothing; ``fit`` validates.

    It may be used without ``fit`` (``requires_fit`` is False), takes one
    element per video (not a 2-D array) and keeps no input dtype.
    """

    @fill_doc(_STEP_DOCS)
    def fit(self, X: Any, y: Any = None) -> _NothingLearned:
        """Validate the parameters; nothing is learned.

        Parameters
        ----------
        X : list
            One element per video (not read).
        %(fit_y_returns)s
        """
        self._validate_params()
        return self

    def __sklearn_is_fitted__(self) -> bool:
        """Return True: the transformer is stateless."""
        return True

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        tags.transformer_tags.preserves_dtype = []
        return tags
