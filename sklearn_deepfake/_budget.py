"""Predict within a time budget: fewer frames per video when time runs short."""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["BudgetRun", "TimeBudget", "predict_with_budget"]

# Observations of the cost model kept for its fit (the most recent ones).
_WINDOW = 50


def _check_number(name: str, value: Any, *, low: float, strict: bool) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or (value <= low if strict else value < low)
    ):
        sign = ">" if strict else ">="
        raise ValueError(f"{name} must be a finite number {sign} {low}, got {value!r}.")
    return float(value)


def _check_int(name: str, value: Any, *, low: int) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < low
    ):
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}.")
    return int(value)


class TimeBudget:
    """Plan frames per video so that a run over many videos ends in time.

    The cost of scoring one video is modelled as ``a + b * k`` seconds for
    ``k`` frames: ``a`` is what a video costs whatever its frame count
    (opening and probing the file, decoder start, the head of the model),
    ``b`` the cost of one more frame (decoding, face detection, the CNN).
    Both are fitted by least squares (constrained non-negative) to the
    measured times of the videos scored so far, leaving out the first one
    once three are measured, because it also pays one-off costs (model
    load, device start). Before each video (or batch of videos),
    :meth:`plan` returns the largest frame count ``k <= max_frames`` such
    that the videos left, all at ``k`` frames, fit in the time left with a
    ``safety`` margin, and at most twice the largest frame count measured
    (so the cost of a frame count never measured is at most twice one that
    was, whatever the error of the fitted slope). The first video, before
    anything is measured, is scored at ``min_frames``.

    When even ``min_frames`` cannot be afforded for every video left, the
    next videos are still scored at ``min_frames`` as long as one more
    fits in the time left; after that :meth:`plan` returns 0, meaning "do
    not score, use the fallback". A video is started only when its predicted
    cost fits in the time left, so the run ends within the budget unless one
    video takes longer than predicted by more than the margin.

    This is a plain planner, not an estimator: it holds the state of one
    run. :func:`predict_with_budget` drives it over a fitted model.

    Parameters
    ----------
    seconds : float
        The whole budget, in seconds, counted from ``start``.
    n_videos : int
        Number of videos the run must give a row to.
    min_frames : int, default=4
        Fewest frames a scored video gets (the floor).
    max_frames : int, default=32
        Most frames a video gets, however much time is left.
    safety : float, default=0.1
        Relative margin: the videos left must fit in the time left when
        their predicted cost is multiplied by ``1 + safety``.
    clock : callable, default=time.perf_counter
        Returns the current time in seconds; give a fake clock to test.
    start : float, default=None
        Value of ``clock()`` when the budget started (for example when the
        program started, before the model was loaded); ``None`` means now.

    Attributes
    ----------
    n_done : int
        Videos recorded so far (scored or not).

    See Also
    --------
    predict_with_budget : Scores a list of videos within a budget.

    Examples
    --------
    A fake clock and a cost of ``0.5 + 0.25 * k`` seconds per video:

    >>> from sklearn_deepfake import TimeBudget
    >>> now = [0.0]
    >>> budget = TimeBudget(60.0, n_videos=10, max_frames=32, clock=lambda: now[0])
    >>> plans = []
    >>> for _ in range(10):
    ...     k = budget.plan()
    ...     plans.append(k)
    ...     now[0] += 0.5 + 0.25 * k
    ...     budget.record(k, 0.5 + 0.25 * k)
    >>> plans
    [4, 8, 16, 24, 25, 25, 26, 27, 29, 32]
    >>> now[0]  # seconds used of the 60
    59.0
    """

    def __init__(
        self,
        seconds: float,
        n_videos: int,
        *,
        min_frames: int = 4,
        max_frames: int = 32,
        safety: float = 0.1,
        clock: Callable[[], float] = time.perf_counter,
        start: float | None = None,
    ) -> None:
        self.seconds = _check_number("seconds", seconds, low=0, strict=True)
        self.n_videos = _check_int("n_videos", n_videos, low=0)
        self.min_frames = _check_int("min_frames", min_frames, low=1)
        self.max_frames = _check_int("max_frames", max_frames, low=1)
        if self.max_frames < self.min_frames:
            raise ValueError(
                f"max_frames ({max_frames}) must be >= min_frames ({min_frames})."
            )
        self.safety = _check_number("safety", safety, low=0, strict=False)
        if not callable(clock):
            raise ValueError(f"clock must be callable, got {clock!r}.")
        self.clock = clock
        self.start = float(clock()) if start is None else float(start)
        self.n_done = 0
        self._frames: list[float] = []
        self._times: list[float] = []

    def elapsed(self) -> float:
        """Seconds since the budget started."""
        return float(self.clock()) - self.start

    def remaining(self) -> float:
        """Seconds left in the budget (negative once it is overrun)."""
        return self.seconds - self.elapsed()

    def cost_model(self) -> tuple[float, float] | None:
        """Fitted ``(a, b)`` of the cost ``a + b * k`` of one video, or None.

        Returns None before any video is measured. While every measured
        video had the same frame count, ``a`` is 0 and the whole cost is
        put on the frames, which overestimates the cost of more frames.
        """
        k = np.asarray(self._frames, dtype=float)
        t = np.asarray(self._times, dtype=float)
        if len(k) >= 3:  # the first video also paid the one-off costs
            k, t = k[1:], t[1:]
        k, t = k[-_WINDOW:], t[-_WINDOW:]
        if len(k) == 0:
            return None
        if np.ptp(k) == 0:
            return 0.0, float(t.mean() / k[0])
        b, a = np.polyfit(k, t, 1)
        if b <= 0:  # more frames did not cost more: all cost is per video
            return float(t.mean()), 0.0
        if a < 0:  # through the origin
            return 0.0, float((k * t).sum() / (k * k).sum())
        return float(a), float(b)

    def predict_cost(self, n_frames: int, n_videos: int = 1) -> float:
        """Predicted seconds for ``n_videos`` videos at ``n_frames`` frames.

        NaN before any video is measured.
        """
        model = self.cost_model()
        if model is None:
            return float("nan")
        a, b = model
        return n_videos * (a + b * n_frames)

    def plan(self, n_videos: int = 1) -> int:
        """Frames per video for the next ``n_videos`` videos (0: do not score).

        Parameters
        ----------
        n_videos : int, default=1
            Size of the next batch, all scored with the same frame count.

        Returns
        -------
        n_frames : int
            Between ``min_frames`` and ``max_frames``, or 0 when the batch
            cannot be scored in the time left (its videos get the fallback).
        """
        remaining = self.remaining()
        if remaining <= 0:
            return 0
        model = self.cost_model()
        if model is None:
            return self.min_frames
        a, b = model
        margin = 1.0 + self.safety
        n_left = max(self.n_videos - self.n_done, n_videos)
        per_video = remaining / margin / n_left
        if b > 0:
            k = min(self.max_frames, math.floor((per_video - a) / b))
        else:
            k = self.max_frames if a <= per_video else 0
        # Extrapolate at most to twice the most frames measured: a slope fitted
        # on close frame counts is mostly noise, and a + 2bk <= 2 (a + bk).
        k = min(k, 2 * int(max(self._frames[-_WINDOW:])))
        if k >= self.min_frames:
            return int(k)
        if margin * self.predict_cost(self.min_frames, n_videos) <= remaining:
            return self.min_frames
        return 0

    def record(self, n_frames: int, seconds: float, n_videos: int = 1) -> None:
        """Record that ``n_videos`` videos at ``n_frames`` frames took ``seconds``.

        Record skipped videos too (``n_frames=0``, ``seconds=0``): they count
        as done but do not enter the cost model.
        """
        n_videos = _check_int("n_videos", n_videos, low=1)
        self.n_done += n_videos
        if n_frames > 0:
            self._frames.append(float(n_frames))
            self._times.append(float(seconds) / n_videos)


@dataclass
class BudgetRun:
    """What :func:`predict_with_budget` did, one entry per video.

    Parameters
    ----------
    proba : ndarray of shape (n_videos,)
        P(FAKE) of each video; the fallback where it was not scored or its
        prediction failed.
    n_frames : ndarray of shape (n_videos,)
        Frames per video planned (0 where the video was not scored).
    seconds : ndarray of shape (n_videos,)
        Measured seconds of each scored video (its share of its batch);
        NaN where not scored.
    predicted : ndarray of shape (n_videos,)
        Seconds the cost model predicted for each scored video when it was
        planned; NaN for the first batch and for videos not scored.
    fallback : ndarray of shape (n_videos,)
        True where the video got the fallback: not scored within the
        budget, or its prediction failed.
    failed : dict
        Path -> one-line error message, for the videos whose prediction
        raised.
    budget : float
        The budget in seconds.
    elapsed : float
        Seconds from the budget's start to the end of the last video.
    """

    proba: np.ndarray
    n_frames: np.ndarray
    seconds: np.ndarray
    predicted: np.ndarray
    fallback: np.ndarray
    failed: dict[str, str] = field(default_factory=dict)
    budget: float = 0.0
    elapsed: float = 0.0


def _samplers(model: Any) -> dict[str, Any]:
    """Parameter path -> FrameSampler for every sampler inside ``model``."""
    from sklearn_deepfake.video import FrameSampler

    if not hasattr(model, "get_params"):
        return {}
    return {
        key: value
        for key, value in model.get_params(deep=True).items()
        if isinstance(value, FrameSampler)
    }


def _frame_count(sampler: Any) -> int | None:
    if sampler.strategy in ("uniform", "random", "bursts"):
        return sampler.n_frames
    return sampler.max_frames


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def predict_with_budget(
    model: Any,
    paths: Sequence[Any],
    seconds: float,
    *,
    min_frames: int = 4,
    max_frames: int | None = None,
    fallback: float = 0.5,
    safety: float = 0.1,
    batch_size: int = 1,
    clock: Callable[[], float] = time.perf_counter,
    start: float | None = None,
    verbose: int = 0,
) -> BudgetRun:
    """Score every video with a fitted model and finish within ``seconds``.

    The frames per video adapt to the time left: every
    :class:`~sklearn_deepfake.video.FrameSampler` inside ``model`` gets
    ``n_frames`` (and ``max_frames``) set to what :class:`TimeBudget` plans
    before each batch, from the measured cost of the videos already scored.
    Videos that cannot be scored even at ``min_frames`` in the time left
    get ``fallback``, with a warning, and every video still gets an entry.
    A video whose prediction raises also gets ``fallback`` and its message
    is kept in ``failed``. The model's parameters are restored at the end.

    Parameters
    ----------
    model : estimator
        Fitted classifier with ``predict_proba`` that takes video paths and
        holds at least one ``FrameSampler`` (for example a pipeline from
        :func:`~sklearn_deepfake.pipeline.make_default_pipeline`).
    paths : sequence of str or os.PathLike
        Videos to score, one entry each in the result, in this order.
    seconds : float
        Time budget in seconds, counted from ``start``.
    min_frames : int, default=4
        Fewest frames a scored video gets.
    max_frames : int, default=None
        Most frames a video gets; None means the model's own frame count
        (``n_frames`` of its sampler, or ``max_frames`` for the
        ``"all"``/``"every_nth"`` strategies); ``min_frames`` is lowered to
        it when larger.
    fallback : float, default=0.5
        P(FAKE) of a video that is not scored: 0.5 (the log-loss optimum
        without information) or the training prevalence of fakes.
    safety : float, default=0.1
        Relative margin on the predicted cost (see :class:`TimeBudget`).
    batch_size : int, default=1
        Videos per ``predict_proba`` call; larger batches let a parallel
        face step (``n_jobs``, ``scheduler``) work on several videos at
        once but plan the frames less often.
    clock : callable, default=time.perf_counter
        Current time in seconds.
    start : float, default=None
        ``clock()`` value at which the budget started; None means now.
    verbose : int, default=0
        With 1 or more, show a progress bar over the videos, as the other
        steps of the package do, with the frames per video, the seconds per
        video and the seconds left in the budget.

    Returns
    -------
    run : BudgetRun
        Probabilities, frames, measured and predicted seconds per video.

    Raises
    ------
    ValueError
        If ``model`` has no ``FrameSampler`` or a parameter is invalid.

    Warns
    -----
    UserWarning
        Naming how many videos got the fallback because time ran out.

    See Also
    --------
    TimeBudget : The planner.
    sklearn_deepfake.submission.write_submission : Writes the rows.

    Examples
    --------
    A toy model whose only feature is the number of frames read:

    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from sklearn_deepfake import predict_with_budget
    >>> from sklearn_deepfake.datasets import make_face_videos
    >>> from sklearn_deepfake.video import FrameSampler
    >>> data = make_face_videos(n_videos=4, n_frames=16, random_state=0)
    >>> def n_read(plans):
    ...     return np.array([[len(plan.indices)] for plan in plans])
    >>> model = make_pipeline(
    ...     FrameSampler(n_frames=8), FunctionTransformer(n_read), LogisticRegression()
    ... ).fit(data.paths, [0, 1, 0, 1])
    >>> run = predict_with_budget(model, data.paths, seconds=600)
    >>> run.n_frames  # the first video is scored at min_frames, then up to 8
    array([4, 8, 8, 8])
    >>> bool(run.fallback.any()), run.elapsed < 600
    (False, True)
    """
    paths = list(paths)
    fallback = _check_number("fallback", fallback, low=0, strict=False)
    if fallback > 1:
        raise ValueError(f"fallback must be a probability in [0, 1], got {fallback}.")
    batch_size = _check_int("batch_size", batch_size, low=1)
    samplers = _samplers(model)
    if not samplers:
        raise ValueError(
            "model holds no FrameSampler, so its frames per video cannot be "
            "adapted to a time budget."
        )
    if max_frames is None:
        counts = [_frame_count(s) for s in samplers.values()]
        if any(c is None for c in counts):
            raise ValueError(
                "a FrameSampler of model has no frame limit (strategy "
                "'all' or 'every_nth' with max_frames=None); pass max_frames."
            )
        max_frames = max(counts)
        if max_frames < min_frames:
            min_frames = max_frames
    budget = TimeBudget(
        seconds,
        len(paths),
        min_frames=min_frames,
        max_frames=max_frames,
        safety=safety,
        clock=clock,
        start=start,
    )
    from sklearn_deepfake.utils._labels import fake_class_index

    classes = getattr(model, "classes_", [0, 1])
    col = len(classes) - 1 if len(classes) != 2 else fake_class_index(classes)
    original = {key: (s.n_frames, s.max_frames) for key, s in samplers.items()}
    n = len(paths)
    run = BudgetRun(
        proba=np.full(n, fallback),
        n_frames=np.zeros(n, dtype=np.int64),
        seconds=np.full(n, np.nan),
        predicted=np.full(n, np.nan),
        fallback=np.ones(n, dtype=bool),
        budget=budget.seconds,
    )
    progress = None
    if verbose:
        from tqdm.auto import tqdm

        progress = tqdm(total=n, desc="videos", unit="video")
    try:
        for begin in range(0, n, batch_size):
            stop = min(begin + batch_size, n)
            size = stop - begin
            k = budget.plan(size)
            if k == 0:
                budget.record(0, 0.0, size)
                if progress is not None:
                    progress.update(size)
                continue
            params = {}
            for key, (n_frames, limit) in original.items():
                params[f"{key}__n_frames"] = min(n_frames, k)
                params[f"{key}__max_frames"] = k if limit is None else min(limit, k)
            model.set_params(**params)
            run.predicted[begin:stop] = budget.predict_cost(k)
            t0 = clock()
            _score(model, paths, begin, stop, col, run)
            took = clock() - t0
            budget.record(k, took, size)
            run.n_frames[begin:stop] = k
            run.seconds[begin:stop] = took / size
            if progress is not None:
                progress.set_postfix_str(
                    f"{k} frames/video, {took / size:.2f} s/video, "
                    f"{budget.remaining():.0f} s left",
                    refresh=False,
                )
                progress.update(size)
    finally:
        if progress is not None:
            progress.close()
        model.set_params(
            **{
                f"{key}__{name}": value
                for key, pair in original.items()
                for name, value in zip(("n_frames", "max_frames"), pair)
            }
        )
    run.elapsed = budget.elapsed()
    skipped = int((run.n_frames == 0).sum())
    if skipped:
        import warnings

        warnings.warn(
            f"The time budget of {budget.seconds:.0f} s ran out: {skipped} of {n} "
            f"video(s) were not scored and got the fallback {fallback}.",
            UserWarning,
            stacklevel=2,
        )
    return run


def _score(
    model: Any, paths: list, begin: int, stop: int, col: int, run: BudgetRun
) -> None:
    """Fill ``run`` for ``paths[begin:stop]``; retry one by one on failure."""
    try:
        proba = np.asarray(model.predict_proba(paths[begin:stop]))[:, col]
        indices = list(range(begin, stop))
        values = list(proba)
    except Exception as exc:
        if stop - begin == 1:
            run.failed[str(paths[begin])] = _one_line(exc)
            return
        indices, values = [], []
        for i in range(begin, stop):
            try:
                values.append(np.asarray(model.predict_proba([paths[i]]))[0, col])
                indices.append(i)
            except Exception as exc_i:
                run.failed[str(paths[i])] = _one_line(exc_i)
    for i, p in zip(indices, values):
        if np.isfinite(p):
            run.proba[i] = p
            run.fallback[i] = False
        else:
            run.failed[str(paths[i])] = "the prediction is not finite"
