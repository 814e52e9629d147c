"""Helpers of the ``sklearn-deepfake`` command line (private).

Kept apart from :mod:`sklearn_deepfake.cli` so that the subcommands stay
short. Nothing here imports torch or the video libraries at module level.
"""

from __future__ import annotations

import ast
import contextlib
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

#: Environment variable naming the default face cache folder.
CACHE_ENV = "SKLEARN_DEEPFAKE_CACHE"

#: Videos predicted per ``predict_proba`` call in ``predict``.
PREDICT_CHUNK = 64


class UsageError(Exception):
    """Bad command-line input found after parsing; the CLI exits with 2."""


def default_cache_dir() -> str:
    """Face cache folder shared by ``extract``, ``fit`` and ``predict``.

    Returns
    -------
    path : str
        ``$SKLEARN_DEEPFAKE_CACHE`` when set, otherwise
        ``~/.cache/sklearn-deepfake/faces``.

    Examples
    --------
    >>> import os
    >>> from sklearn_deepfake.cli._utils import default_cache_dir
    >>> os.environ["SKLEARN_DEEPFAKE_CACHE"] = "/tmp/faces"
    >>> default_cache_dir()
    '/tmp/faces'
    >>> del os.environ["SKLEARN_DEEPFAKE_CACHE"]
    """
    env = os.environ.get(CACHE_ENV)
    if env:
        return os.path.abspath(os.path.expanduser(env))
    return os.path.join(os.path.expanduser("~"), ".cache", "sklearn-deepfake", "faces")


def parse_set(items: Sequence[str] | None) -> dict[str, Any]:
    """Parse ``step__param=value`` strings into a ``set_params`` dictionary.

    Values are read with :func:`ast.literal_eval` (numbers, ``None``,
    ``True``, tuples, quoted strings ...); anything else is kept as the raw
    string, so ``features__backbone=resnet18`` needs no quotes.

    Parameters
    ----------
    items : sequence of str or None
        The ``--set`` arguments, in order; a later one wins.

    Returns
    -------
    params : dict
        Parameter name -> value.

    Raises
    ------
    UsageError
        When an item has no ``=`` or an empty name.

    Examples
    --------
    >>> from sklearn_deepfake.cli._utils import parse_set
    >>> parse_set(["classifier__eps=0.02", "features__backbone=resnet18",
    ...            "facecropper__thresholds=(0.5, 0.6, 0.6)", "memory=None"])
    ... # doctest: +NORMALIZE_WHITESPACE
    {'classifier__eps': 0.02, 'features__backbone': 'resnet18',
     'facecropper__thresholds': (0.5, 0.6, 0.6), 'memory': None}
    """
    params: dict[str, Any] = {}
    for item in items or ():
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(
                f"--set expects step__param=value, got {item!r} (a video or "
                "folder after --set? put positional arguments first, or use --)"
            )
        try:
            value = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            value = text.strip()
        params[name] = value
    return params


def check_params(estimator: Any, params: dict[str, Any]) -> None:
    """Raise :class:`UsageError` for parameter names ``estimator`` lacks.

    The message lists the valid names that share the unknown name's step
    prefix (or the valid step names when the step itself is unknown).

    Parameters
    ----------
    estimator : estimator
        Usually the default pipeline.
    params : dict
        Names to check.

    Examples
    --------
    >>> from sklearn.pipeline import Pipeline
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_deepfake.cli._utils import UsageError, check_params
    >>> pipe = Pipeline([("clf", LogisticRegression())])
    >>> check_params(pipe, {"clf__C": 2.0})
    >>> try:
    ...     check_params(pipe, {"clf__CC": 2.0})
    ... except UsageError as exc:
    ...     print(str(exc)[:58])
    unknown parameter 'clf__CC'; valid names under 'clf__': cl
    """
    valid = sorted(estimator.get_params(deep=True))
    for name in params:
        if name in valid:
            continue
        prefix = name.rpartition("__")[0]
        if prefix:
            prefix += "__"
            under = [v for v in valid if v.startswith(prefix)]
            if under:
                raise UsageError(
                    f"unknown parameter {name!r}; valid names under {prefix!r}: "
                    + ", ".join(under)
                )
        steps = sorted({v.partition("__")[0] + "__" for v in valid if "__" in v})
        raise UsageError(
            f"unknown parameter {name!r}; valid names start with one of: "
            + ", ".join(steps)
        )


def atomic_dump(obj: Any, path: str | os.PathLike) -> None:
    """Pickle ``obj`` with joblib into ``path`` atomically.

    The object is written to a temporary file in the destination folder and
    moved over ``path`` with :func:`os.replace`; if anything fails, ``path``
    is left as it was (absent or the previous complete file) and the
    temporary file is removed.

    Examples
    --------
    >>> import os, tempfile, joblib
    >>> from sklearn_deepfake.cli._utils import atomic_dump
    >>> path = os.path.join(tempfile.mkdtemp(), "model.joblib")
    >>> atomic_dump({"a": 1}, path)
    >>> joblib.load(path)
    {'a': 1}
    """
    import joblib

    from sklearn_deepfake.utils._checks import atomic_open

    with atomic_open(path, "wb") as fh:
        joblib.dump(obj, fh)


def _video_extensions() -> tuple[str, ...]:
    from sklearn_deepfake.datasets._dfdc import VIDEO_EXTENSIONS

    return VIDEO_EXTENSIONS


def list_videos(folder: Path, *, recursive: bool = True) -> list[str]:
    """Video files below ``folder`` (hidden files and folders skipped), sorted."""
    exts = _video_extensions()
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(
        os.fspath(p)
        for p in found
        if p.is_file()
        and p.suffix.lower() in exts
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def dfdc_folders(root: Path) -> list[Path]:
    """Train and test folders of a DFDC-layout root; empty if it is not one."""
    folders = []
    if (root / "metadata.json").is_file():
        folders.append(root)
    folders.extend(
        p
        for p in sorted(root.iterdir())
        if p.is_dir() and (p / "metadata.json").is_file()
    )
    if (root / "test_videos").is_dir():
        folders.append(root / "test_videos")
    return folders


def find_videos(inputs: Sequence[str]) -> list[str]:
    """Expand files and folders into a list of video paths (no duplicates).

    A folder gives every video file inside it, recursively; a DFDC root
    (``train_sample_videos/metadata.json``, ``dfdc_train_part_*``,
    ``test_videos/``) gives the videos of its train and test folders.

    Raises
    ------
    FileNotFoundError
        When an input does not exist (all missing inputs are named), or no
        video is found at all.
    """
    missing = [p for p in inputs if not os.path.exists(p)]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} input(s) not found: " + ", ".join(map(repr, missing))
        )
    paths: list[str] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            folders = dfdc_folders(p)
            if folders:
                for folder in folders:
                    paths.extend(list_videos(folder, recursive=False))
            else:
                paths.extend(list_videos(p))
        else:
            paths.append(os.fspath(p))
    paths = list(dict.fromkeys(paths))
    if not paths:
        raise FileNotFoundError(
            "no video file found in " + ", ".join(map(repr, inputs))
        )
    return paths


def read_labels(path: str | os.PathLike) -> dict[str, int]:
    r"""Read ``filename,label`` rows (REAL/FAKE or 0/1) into name -> 0/1.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn_deepfake.cli._utils import read_labels
    >>> path = os.path.join(tempfile.mkdtemp(), "test_labels.csv")
    >>> _ = open(path, "w").write("filename,label\na.mp4,FAKE\nb.mp4,0\n")
    >>> read_labels(path)
    {'a.mp4': 1, 'b.mp4': 0}
    """
    import pandas as pd

    frame = pd.read_csv(path, dtype=str)
    if not {"filename", "label"} <= set(frame.columns):
        raise ValueError(f"{path} must have 'filename' and 'label' columns.")
    codes = {"FAKE": 1, "REAL": 0, "1": 1, "0": 0, "1.0": 1, "0.0": 0}
    out = {}
    for name, label in zip(frame["filename"], frame["label"]):
        key = str(label).strip().upper()
        if key not in codes:
            raise ValueError(f"{path}: unknown label {label!r} for {name!r}.")
        out[os.path.basename(str(name))] = codes[key]
    return out


def calibration_cv(y: Any, train_sets: Sequence[Any], current: int) -> int:
    """Return the calibration folds that every training set can afford.

    ``CalibratedClassifierCV(cv=k)`` stratifies each training set into ``k``
    folds, so every class needs at least ``k`` videos there. Returns
    ``min(current, smallest class count over the training sets)``.

    Raises
    ------
    ValueError
        When some training set has fewer than 2 videos of a class.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.cli._utils import calibration_cv
    >>> y = np.array([0, 1] * 6)
    >>> calibration_cv(y, [np.arange(12)], 5), calibration_cv(y, [np.arange(6)], 5)
    (5, 3)
    """
    import numpy as np

    y = np.asarray(y)
    classes = np.unique(y)
    smallest = min(
        int(min((y[np.asarray(idx)] == c).sum() for c in classes)) for idx in train_sets
    )
    if smallest < 2:
        raise ValueError(
            "too few videos to calibrate: a training set has fewer than 2 videos "
            "of one class; use more videos or a smaller --cv"
        )
    return min(int(current), smallest)


def predict_in_chunks(
    model: Any, paths: Sequence[str], *, chunk_size: int = PREDICT_CHUNK
) -> tuple[Any, dict[str, str]]:
    """P(FAKE) of each video, ``chunk_size`` videos per ``predict_proba`` call.

    A chunk that raises is retried video by video; a video that still fails
    gets NaN and its error message is returned.

    Returns
    -------
    proba : ndarray of shape (n_videos,)
        NaN where the prediction failed or was not finite.
    failed : dict
        Path -> one-line error message, for the videos that failed.
    """
    import numpy as np

    from sklearn_deepfake.utils._labels import fake_column

    col = fake_column(model)
    paths = list(paths)
    proba = np.full(len(paths), np.nan)
    failed: dict[str, str] = {}
    for start in range(0, len(paths), chunk_size):
        stop = min(start + chunk_size, len(paths))
        try:
            proba[start:stop] = model.predict_proba(paths[start:stop])[:, col]
            continue
        except Exception as exc:
            print(
                f"  videos {start + 1}-{stop} failed together ({one_line(exc)}); "
                "retrying one by one",
                file=sys.stderr,
            )
        for i in range(start, stop):
            try:
                proba[i] = model.predict_proba([paths[i]])[0, col]
            except Exception as exc:
                failed[paths[i]] = one_line(exc)
    return proba, failed


def one_line(exc: BaseException) -> str:
    """``exc``'s message on one line (its type name when empty)."""
    return " ".join(str(exc).split()) or type(exc).__name__


@contextlib.contextmanager
def concise_warnings() -> Iterator[None]:
    """Print each distinct warning once as ``warning: Category: message``."""
    seen: set[tuple[type, str]] = set()

    def show(message, category, filename, lineno, file=None, line=None):
        key = (category, str(message))
        if key in seen:
            return
        seen.add(key)
        text = " ".join(str(message).split())
        print(f"warning: {category.__name__}: {text}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def summarize_tracks(tracks: Sequence[Any]) -> dict[str, Any]:
    """Count videos, videos with faces, crops, face-less and unreadable videos."""
    unreadable = [t.path for t in tracks if t.error and not len(t.frame_indices)]
    no_face = [t.path for t in tracks if not len(t) and t.path not in set(unreadable)]
    return {
        "videos": len(tracks),
        "with_faces": sum(1 for t in tracks if len(t)),
        "crops": int(sum(len(t) for t in tracks)),
        "no_face": no_face,
        "unreadable": unreadable,
    }


def short_list(names: Sequence[str], limit: int = 5) -> str:
    """Join the base names of ``names``, at most ``limit`` of them."""
    shown = [os.path.basename(n) for n in names[:limit]]
    more = len(names) - limit
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")
