"""Parameter and path checks, and atomic writes, shared across modules."""

from __future__ import annotations

import contextlib
import numbers
import os
import tempfile
from collections.abc import Iterator, Sequence
from typing import IO, Any

import numpy as np

from sklearn_deepfake.utils._ragged import check_per_video

_MAX_LISTED = 10


def list_some(items: Sequence, max_listed: int = _MAX_LISTED) -> str:
    """Return the reprs of the first ``max_listed`` items, and how many more.

    Parameters
    ----------
    items : sequence
        What to list (paths, usually).
    max_listed : int, default=10
        Items shown before the rest is only counted.

    Returns
    -------
    listed : str
        Comma-separated reprs, followed by ``" and N more"`` when cut.

    Examples
    --------
    >>> from sklearn_deepfake.utils._checks import list_some
    >>> list_some(["a.mp4", "b.mp4", "c.mp4"], max_listed=2)
    "'a.mp4', 'b.mp4' and 1 more"
    """
    listed = ", ".join(repr(p) for p in items[:max_listed])
    more = len(items) - max_listed
    return listed + (f" and {more} more" if more > 0 else "")


def join_some(names: Sequence[str], limit: int = 5) -> str:
    """Join the first ``limit`` names with commas, then ``" ..."`` when cut.

    Parameters
    ----------
    names : sequence of str
        What to list (file names, usually).
    limit : int, default=5
        Names shown.

    Returns
    -------
    joined : str

    Examples
    --------
    >>> from sklearn_deepfake.utils._checks import join_some
    >>> join_some(["a.mp4", "b.mp4", "c.mp4"], limit=2)
    'a.mp4, b.mp4 ...'
    """
    return ", ".join(names[:limit]) + (" ..." if len(names) > limit else "")


def check_video_paths(X: Any) -> list[str]:
    """Validate per-video paths; raise FileNotFoundError listing missing ones.

    Parameters
    ----------
    X : sequence of str or os.PathLike
        One path per video, in any form :func:`check_per_video` accepts.

    Returns
    -------
    paths : list of str
        The paths as strings, in the order of ``X``.

    Raises
    ------
    FileNotFoundError
        If any path does not exist; the first ten missing paths are listed.

    Examples
    --------
    >>> from sklearn_deepfake.utils._checks import check_video_paths
    >>> check_video_paths(["no_such_video.mp4"])
    Traceback (most recent call last):
    ...
    FileNotFoundError: 1 of 1 video files not found: 'no_such_video.mp4'.
    """
    paths = check_per_video(X, kind=str)
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} of {len(paths)} video files not found: "
            f"{list_some(missing)}."
        )
    return paths


def check_n_jobs(n_jobs: Any) -> None:
    """Raise ValueError unless ``n_jobs`` is None or an int (not a bool).

    Examples
    --------
    >>> from sklearn_deepfake.utils._checks import check_n_jobs
    >>> check_n_jobs(2)
    >>> check_n_jobs(1.5)
    Traceback (most recent call last):
    ...
    ValueError: n_jobs must be None or an int, got 1.5.
    """
    if n_jobs is not None and (
        isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral)
    ):
        raise ValueError(f"n_jobs must be None or an int, got {n_jobs!r}.")


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike,
    mode: str = "wb",
    *,
    newline: str | None = None,
    make_dirs: bool = True,
) -> Iterator[IO]:
    """Open a temporary file beside ``path``; rename it over ``path`` on success.

    Readers never see a half-written file: the data goes to a temporary file
    in the destination folder, which is flushed, synced, given mode 0644 and
    moved over ``path`` with :func:`os.replace` when the ``with`` block ends
    normally. If the block raises, the temporary file is removed and ``path``
    is left as it was (absent or the previous complete file).

    Parameters
    ----------
    path : str or os.PathLike
        Destination.
    mode : {"wb", "w"}, default="wb"
        Binary, or UTF-8 text.
    newline : str, default=None
        Passed to :func:`open` in text mode (``""`` for CSV writers).
    make_dirs : bool, default=True
        Create missing folders; with False a missing folder raises.

    Yields
    ------
    fh : file object
        The open temporary file.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn_deepfake.utils._checks import atomic_open
    >>> path = os.path.join(tempfile.mkdtemp(), "a.txt")
    >>> with atomic_open(path, "w") as fh:
    ...     _ = fh.write("hello")
    >>> open(path, encoding="utf-8").read()
    'hello'
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}.")
    path = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(path)
    if make_dirs:
        os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp"
    )
    text = mode == "w"
    try:
        with os.fdopen(
            fd, mode, encoding="utf-8" if text else None, newline=newline
        ) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600 files
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def write_atomic(data: bytes | str, path: str | os.PathLike) -> str:
    """Write ``data`` to ``path`` through a temporary file, then rename it.

    Readers never see a half-written file, and a failed write leaves the
    old file (if any) in place (see :func:`atomic_open`). Missing folders
    are created; the file gets mode 0644.

    Parameters
    ----------
    data : bytes or str
        Content; a str is written as UTF-8 text.
    path : str or os.PathLike
        Destination.

    Returns
    -------
    path : str
        The absolute path written.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn_deepfake.utils._checks import write_atomic
    >>> path = write_atomic("hello", os.path.join(tempfile.mkdtemp(), "a.txt"))
    >>> open(path, encoding="utf-8").read()
    'hello'
    """
    with atomic_open(path, "w" if isinstance(data, str) else "wb") as fh:
        fh.write(data)
    return os.path.abspath(os.fspath(path))


def check_int_range(name: str, value: Any, low: int, high: int) -> None:
    """Raise ValueError unless ``value`` is an int (not a bool) in ``[low, high]``.

    Examples
    --------
    >>> from sklearn_deepfake.utils._checks import check_int_range
    >>> check_int_range("n_mels", 64, 4, 256)
    >>> check_int_range("n_mels", 2, 4, 256)
    Traceback (most recent call last):
    ...
    ValueError: n_mels must be an int in [4, 256], got 2.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or not low <= value <= high
    ):
        raise ValueError(f"{name} must be an int in [{low}, {high}], got {value!r}.")


def check_groups(groups: Any, n_videos: int) -> np.ndarray | None:
    """Return ``groups`` as a 1-D array of ``n_videos`` entries (None stays None).

    Examples
    --------
    >>> from sklearn_deepfake.utils._checks import check_groups
    >>> check_groups([0, 0, 1], 3).tolist()
    [0, 0, 1]
    """
    if groups is None:
        return None
    groups = np.asarray(groups)
    if groups.ndim != 1 or len(groups) != n_videos:
        raise ValueError(f"groups must be 1-D with one entry per video ({n_videos}).")
    return groups
