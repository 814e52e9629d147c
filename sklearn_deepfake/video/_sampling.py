"""FrameSampler: from video paths to lazy frame plans."""

from __future__ import annotations

import hashlib
import math
import numbers
import os
import warnings
from typing import Any, ClassVar

import numpy as np
from sklearn.utils import check_random_state

from sklearn_deepfake.exceptions import VideoReadWarning
from sklearn_deepfake.utils._checks import check_video_paths
from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._param_validation import (
    Integral,
    Interval,
    Real,
    StrOptions,
)
from sklearn_deepfake.utils._ragged import _STEP_DOCS, FramePlan, _NothingLearned
from sklearn_deepfake.video._reading import VideoInfo, probe_video

__all__ = ["FrameSampler"]

_STRATEGIES = ("uniform", "every_nth", "random", "all", "bursts")


def _video_seed(base: int, path: str) -> np.random.Generator:
    """Return a generator seeded from ``(base, file name)``, not batch order."""
    name = os.path.basename(os.path.normpath(path)).encode("utf-8", "surrogatepass")
    digest = int.from_bytes(hashlib.sha256(name).digest()[:8], "little")
    return np.random.default_rng(np.random.SeedSequence([base, digest]))


class FrameSampler(_NothingLearned):
    """Choose which frames of each video to read; nothing is decoded.

    Turns a list of video paths into a list of
    :class:`~sklearn_deepfake.utils.FramePlan`, one per video, in the same
    order. Only the container headers are read (a few milliseconds per
    file); decoding happens later, in one forward pass per video, in the face
    step. This transformer learns nothing: ``fit`` only validates the
    parameters and ``transform`` may be called without it.

    Parameters
    ----------
    n_frames : int, default=32
        Number of frames per video for the ``"uniform"``, ``"random"`` and
        ``"bursts"`` strategies (fewer when the window holds fewer frames).
    strategy : {"uniform", "every_nth", "random", "all", "bursts"}, \
default="uniform"
        How frames are chosen within the window:

        - ``"uniform"``: ``n_frames`` frames evenly spaced over the window
          (the centres of ``n_frames`` equal parts, so the last frame, whose
          existence the container may overstate, is avoided);
        - ``"every_nth"``: every ``step``-th frame from the window start;
        - ``"random"``: a sorted random subset of ``n_frames`` frames, drawn
          per video from ``(random_state, file name)``, so that a video gets
          the same frames whatever the order or subset of the batch;
        - ``"all"``: every frame of the window;
        - ``"bursts"``: ``n_frames // burst_len`` runs of ``burst_len``
          consecutive frames, the runs evenly spread over the window (for
          temporal features such as optical flow, which need neighbouring
          frames, while still covering the whole video).
    step : int, default=None
        Frame step of ``"every_nth"``. ``None`` means one frame per second
        (the rounded frame rate, or 1 when it is unknown).
    start : float, default=None
        Start of the time window in seconds; ``None`` means 0.
    end : float, default=None
        End (excluded) of the time window in seconds; ``None`` means the
        end of the video.
    burst_len : int, default=4
        Consecutive frames per run of the ``"bursts"`` strategy.
    max_frames : int, default=300
        Largest number of frames per video, whatever the strategy; the first
        ones are kept. It keeps a very long video from filling the memory
        with ``"all"`` or ``"every_nth"``. ``None`` means no limit.
    random_state : int, RandomState instance or None, default=None
        Seed of the ``"random"`` strategy. With an int, every call gives the
        same frames. A ``RandomState`` or ``None`` gives one base seed per
        :meth:`transform` call, still combined with each file name.

    See Also
    --------
    sklearn_deepfake.video.iter_frames : Decodes the frames of a plan.
    sklearn_deepfake.utils.FramePlan : The per-video output record.

    Notes
    -----
    A missing file raises :class:`FileNotFoundError` (listing every missing
    path) before any file is opened. A file that exists but cannot be probed
    (empty, not a video, no video stream, ...) gives a plan with no indices
    and its ``error`` set, plus a
    :class:`~sklearn_deepfake.exceptions.VideoReadWarning` naming it, so one
    bad file never stops a batch. The time window is ignored for a video
    whose frame rate is unknown.

    Examples
    --------
    >>> from sklearn_deepfake.datasets import make_face_videos
    >>> from sklearn_deepfake.video import FrameSampler
    >>> (path,) = make_face_videos(1, n_frames=40, fps=10, random_state=0).paths
    >>> plans = FrameSampler(n_frames=4).fit_transform([path])
    >>> plans[0].indices
    array([ 5, 15, 25, 35])
    >>> FrameSampler(strategy="every_nth", step=3, start=1.0, end=2.0).transform(
    ...     [path])[0].indices
    array([10, 13, 16, 19])
    >>> FrameSampler(n_frames=6, strategy="bursts", burst_len=3).transform(
    ...     [path])[0].indices
    array([ 9, 10, 11, 28, 29, 30])
    """

    def __init__(
        self,
        n_frames: int = 32,
        *,
        strategy: str = "uniform",
        step: int | None = None,
        start: float | None = None,
        end: float | None = None,
        burst_len: int = 4,
        max_frames: int | None = 300,
        random_state: Any = None,
    ) -> None:
        self.n_frames = n_frames
        self.strategy = strategy
        self.step = step
        self.start = start
        self.end = end
        self.burst_len = burst_len
        self.max_frames = max_frames
        self.random_state = random_state

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "n_frames": [Interval(Integral, 1, None, closed="left")],
        "strategy": [StrOptions(set(_STRATEGIES))],
        "step": [Interval(Integral, 1, None, closed="left"), None],
        "start": [Interval(Real, 0, None, closed="left"), None],
        "end": [Interval(Real, 0, None, closed="left"), None],
        "burst_len": [Interval(Integral, 1, None, closed="left")],
        "max_frames": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    }

    def _check_params(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(
                    f"{name} must be None or a finite number of seconds, got {value!r}."
                )
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError(
                f"end must be greater than start, got start={self.start!r} and "
                f"end={self.end!r}."
            )

    @classmethod
    def _get_test_params(cls) -> dict[str, Any]:
        """Cheap constructor arguments for the common tests."""
        return {"n_frames": 4}

    @classmethod
    def _search_space(cls, trial: Any, prefix: str) -> dict[str, Any]:
        """Default Optuna space: frames per video."""
        name = f"{prefix}n_frames"
        return {name: trial.suggest_categorical(name, [8, 16, 32])}

    @fill_doc(_STEP_DOCS)
    def fit(self, X: Any, y: Any = None) -> FrameSampler:
        """Validate the parameters; nothing is learned.

        Parameters
        ----------
        X : list of str or os.PathLike
            Video paths (not opened).
        %(fit_y_returns)s
        """
        return super().fit(X, y)

    @fill_doc(_STEP_DOCS)
    def transform(self, X: Any) -> list[FramePlan]:
        """Probe every video and choose the frames to read.

        %(transform_paths)s
        plans : list of FramePlan
            One plan per video, in the order of ``X``. A video that cannot
            be probed gets a plan with no indices and ``error`` set.

        Raises
        ------
        FileNotFoundError
            If any path does not exist; all missing paths are listed.
        """
        self._validate_params()
        paths = check_video_paths(X)
        if isinstance(self.random_state, numbers.Integral):
            base = int(self.random_state) % 2**63
        else:
            base = int(check_random_state(self.random_state).randint(2**31 - 1))
        plans = []
        for path in paths:  # a plain loop keeps warning stacklevels right
            plans.append(self._plan_one(path, base))
        return plans

    def _plan_one(self, path: str, base: int) -> FramePlan:
        try:
            info = probe_video(path)
        except Exception as exc:  # never stop a batch for one file
            reason = str(exc) or type(exc).__name__
            warnings.warn(
                f"Cannot read video {path!r}; it gets an empty frame plan: {reason}",
                VideoReadWarning,
                stacklevel=3,
            )
            return FramePlan(path, indices=np.zeros(0, np.int64), error=reason)
        fields = {
            "n_video_frames": info.n_frames,
            "fps": info.fps,
            "width": info.width,
            "height": info.height,
            "rotation": info.rotation,
        }
        if info.n_frames <= 0:
            reason = f"{path}: the container does not tell how many frames it holds."
            warnings.warn(
                f"Cannot plan video {path!r}; it gets an empty frame plan: {reason}",
                VideoReadWarning,
                stacklevel=3,
            )
            return FramePlan(path, np.zeros(0, np.int64), error=reason, **fields)
        first, stop = self._window(info)
        if stop <= first:
            warnings.warn(
                f"Video {path!r} has no frame in the time window "
                f"[{self.start}, {self.end}) s (duration {info.duration:.3g} s); "
                "it gets an empty frame plan.",
                VideoReadWarning,
                stacklevel=3,
            )
            return FramePlan(path, np.zeros(0, np.int64), **fields)
        indices = first + self._choose(stop - first, info, path, base)
        return FramePlan(path, indices, **fields)

    def _window(self, info: VideoInfo) -> tuple[int, int]:
        """Frame range ``[first, stop)`` of the time window."""
        first, stop = 0, info.n_frames
        if info.fps > 0:
            if self.start is not None:
                first = min(math.ceil(self.start * info.fps - 1e-6), info.n_frames)
            if self.end is not None:
                stop = min(math.ceil(self.end * info.fps - 1e-6), info.n_frames)
        return first, stop

    def _choose(self, length: int, info: VideoInfo, path: str, base: int) -> Any:
        cap = length if self.max_frames is None else min(length, self.max_frames)
        if self.strategy == "uniform":
            n = min(self.n_frames, cap)
            # Centres of n equal parts of the window: distinct while n <= length.
            return (2 * np.arange(n) + 1) * length // (2 * n)
        if self.strategy == "random":
            n = min(self.n_frames, cap)
            rng = _video_seed(base, path)
            return np.sort(rng.choice(length, size=n, replace=False))
        if self.strategy == "bursts":
            m = min(self.burst_len, length)
            k = max(1, self.n_frames // m)
            # Run starts at the centres of k equal parts of the possible starts;
            # runs merge when the window is too short to keep them apart.
            starts = (2 * np.arange(k) + 1) * (length - m + 1) // (2 * k)
            return np.unique(starts[:, None] + np.arange(m))[:cap]
        if self.strategy == "every_nth":
            step = self.step
            if step is None:
                step = max(1, round(info.fps)) if info.fps > 0 else 1
            return np.arange(0, length, step)[:cap]
        return np.arange(cap)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        return tags
