"""Write a complete, well-formed ``submission.csv``.

A competition submission must have exactly one row per listed video, a
probability in every row, and must never be left half-written by an
interrupted run. :func:`write_submission` guarantees all three.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import pandas as pd

from sklearn_deepfake.utils._checks import atomic_open
from sklearn_deepfake.utils._labels import fake_class_index
from sklearn_deepfake.utils._proba import clip_values

__all__ = ["write_submission"]


def _names(filenames: Any) -> list[str]:
    if isinstance(filenames, (str, bytes, os.PathLike)):
        raise TypeError("filenames must be a sequence of file names, not one name.")
    return [os.path.basename(os.fspath(f)) for f in filenames]


def _short(names: list[str], limit: int = 10) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _warn_files(names: list[str], what: str) -> None:
    """Warn the caller of :func:`write_submission` that ``names`` ``what``."""
    if names:
        warnings.warn(
            f"{len(names)} {what}: {_short(names)}.", UserWarning, stacklevel=3
        )


def write_submission(
    path: str | os.PathLike,
    filenames: Any,
    proba: Any,
    *,
    sample_submission: str | os.PathLike | pd.DataFrame | None = None,
    fallback: float = 0.5,
    eps: float | None = None,
    classes: Any = None,
) -> pd.DataFrame:
    """Write ``filename,label`` rows (label = P(FAKE)) atomically.

    The file is first written to a temporary file in the destination folder
    and then moved over ``path`` with :func:`os.replace`, so ``path`` always
    holds either the previous complete file or the new complete file.

    Parameters
    ----------
    path : str or os.PathLike
        Destination CSV file.
    filenames : sequence of str or os.PathLike
        Video of each prediction. Only the base name is written (and matched
        against ``sample_submission``), so full paths are fine.
    proba : array-like of shape (n_videos,) or (n_videos, 2)
        Probability that each video is FAKE; for a 2-D ``predict_proba``
        output, the column of the fake class of ``classes``.
    sample_submission : str, os.PathLike or DataFrame, default=None
        The competition's sample file (a ``filename`` column). When given,
        the output has exactly its rows, in its order: a listed file without
        a prediction gets ``fallback`` (with a warning naming it), and
        predictions for files it does not list are left out (with a warning
        naming them), because a submission with extra rows is rejected.
        When ``None``, the rows are ``filenames`` in the given order.
    fallback : float, default=0.5
        Probability written for missing, NaN or infinite predictions.
    eps : float, default=None
        When given, probabilities are clipped to ``[eps, 1 - eps]`` (after the
        fallback is applied), which bounds the log loss of any one video by
        ``-log(eps)``. ``1e-3`` to ``1e-2`` is usual for log-loss scoring.
    classes : array-like of shape (2,), default=None
        The model's ``classes_``, naming the columns of a 2-D ``proba``; the
        fake one is found with
        :func:`~sklearn_deepfake.utils.fake_class_index` (1, True or
        "FAKE"), so that ``["FAKE", "REAL"]`` uses column 0. None means
        ``[0, 1]`` (column 1).

    Returns
    -------
    submission : DataFrame
        The rows written, columns ``filename`` and ``label``.

    Raises
    ------
    ValueError
        When lengths differ, a file name has two different predictions,
        ``fallback`` or ``eps`` is out of range, or ``sample_submission``
        has no ``filename`` column.

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn_deepfake.submission import write_submission
    >>> out = os.path.join(tempfile.mkdtemp(), "submission.csv")
    >>> write_submission(out, ["/data/b.mp4", "a.mp4"], [0.9, 0.2], eps=0.01)
      filename  label
    0    b.mp4    0.9
    1    a.mp4    0.2
    >>> print(open(out).read().strip())
    filename,label
    b.mp4,0.9
    a.mp4,0.2
    """
    if not 0.0 <= float(fallback) <= 1.0:
        raise ValueError(f"fallback must lie in [0, 1], got {fallback!r}.")
    if eps is not None and not 0.0 < float(eps) < 0.5:
        raise ValueError(f"eps must lie in (0, 0.5), got {eps!r}.")
    names = _names(filenames)
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim == 2 and p.shape[1] == 2:
        p = p[:, 1 if classes is None else fake_class_index(classes)]
    if p.ndim != 1:
        raise ValueError(
            f"proba must have shape (n_videos,) or (n_videos, 2), got {p.shape}."
        )
    if len(p) != len(names):
        raise ValueError(f"Got {len(names)} filenames but {len(p)} probabilities.")

    predictions: dict[str, float] = {}
    conflicts = []
    for name, value in zip(names, p):
        if name in predictions and not (
            predictions[name] == value
            or (np.isnan(predictions[name]) and np.isnan(value))
        ):
            conflicts.append(name)
        predictions[name] = value
    if conflicts:
        raise ValueError(
            f"Files with two different predictions: {_short(sorted(set(conflicts)))}."
        )

    if sample_submission is None:
        order = list(dict.fromkeys(names))
    else:
        sample = (
            sample_submission
            if isinstance(sample_submission, pd.DataFrame)
            else pd.read_csv(sample_submission)
        )
        if "filename" not in sample.columns:
            raise ValueError("sample_submission has no 'filename' column.")
        order = [os.path.basename(str(f)) for f in sample["filename"]]
        listed = set(order)
        _warn_files(
            [n for n in predictions if n not in listed],
            "predicted file(s) are not in sample_submission and are not written",
        )
        _warn_files(
            [n for n in order if n not in predictions],
            f"listed file(s) have no prediction and get {fallback}",
        )

    labels = np.array([predictions.get(n, float(fallback)) for n in order])
    bad = ~np.isfinite(labels)
    _warn_files(
        [n for n, b in zip(order, bad) if b],
        f"file(s) have a NaN or infinite probability and get {fallback}",
    )
    labels[bad] = float(fallback)
    outside = (labels < 0.0) | (labels > 1.0)
    _warn_files(
        [n for n, o in zip(order, outside) if o],
        "probability(ies) outside [0, 1] were clipped",
    )
    labels = clip_values(labels, 0.0 if eps is None else float(eps))

    df = pd.DataFrame({"filename": order, "label": labels})
    # The folder must exist: a typo in the output folder is an error.
    with atomic_open(path, "w", newline="", make_dirs=False) as fh:
        df.to_csv(fh, index=False)
    return df
