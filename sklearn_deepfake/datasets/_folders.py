"""Load a generic folder tree of labelled (or unlabelled) videos."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils import Bunch

from sklearn_deepfake.datasets._dfdc import VIDEO_EXTENSIONS, _videos_bunch

__all__ = ["load_video_folder"]

# Folder names (case-insensitive) that mean a class.
_CLASS_FOLDERS = {
    "real": 0,
    "original": 0,
    "originals": 0,
    "pristine": 0,
    "fake": 1,
    "fakes": 1,
    "manipulated": 1,
    "deepfake": 1,
    "deepfakes": 1,
}
_LABEL_ARGS = {"real": 0, "fake": 1, 0: 0, 1: 1}


def _list_videos(folder: Path, extensions: tuple[str, ...]) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.suffix.lower() in extensions
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def load_video_folder(
    root: str | os.PathLike,
    *,
    label: str | int | None = None,
    groups: str = "auto",
    extensions: tuple[str, ...] = VIDEO_EXTENSIONS,
) -> Bunch:
    """Load video paths and labels from a folder tree.

    With ``label=None``, ``root`` must hold class folders (names compared
    without case): ``real``, ``original(s)`` or ``pristine`` give label 0,
    ``fake(s)``, ``manipulated`` or ``deepfake(s)`` give label 1. Videos are
    found recursively below them. With ``label`` given, every video below
    ``root`` gets that label (for example a folder of real videos only).

    Parameters
    ----------
    root : str or path-like
        Folder to read.
    label : {"real", "fake", 0, 1} or None, default=None
        Label of every video; None reads it from the class folders.
    groups : {"auto", "subfolder", "stem", "file"}, default="auto"
        How videos are grouped for grouped cross-validation.
        ``"subfolder"``: by the first folder below the class folder (for
        example ``real/actor07/a.mp4`` and ``fake/actor07/b.mp4`` share a
        group). ``"stem"``: a fake shares the group of the real video whose
        file stem equals its own, or equals the part of its stem before the
        first ``_`` (FaceForensics++ names fakes ``000_003.mp4`` after their
        target ``000.mp4``). ``"file"``: one group per video. ``"auto"``:
        ``"subfolder"`` when any video sits in a subfolder, otherwise
        ``"stem"``.
    extensions : tuple of str, default=(".mp4", ".avi", ".mov", ".mkv", \
".webm", ".m4v")
        File suffixes (lower case) counted as videos. Hidden files are skipped.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With ``paths`` (list of str, sorted), ``target`` (int array, 1 =
        fake), ``groups`` (int codes in row order), ``filenames`` (paths
        relative to ``root``), ``frame`` (pandas.DataFrame of all these) and
        ``root``.

    Raises
    ------
    FileNotFoundError
        When ``root`` does not exist or holds no video.
    ValueError
        When ``label`` or ``groups`` is invalid, or no class folder is found.

    See Also
    --------
    load_dfdc : Load a folder in the DFDC layout.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn_deepfake.datasets import load_video_folder, make_face_videos
    >>> root = tempfile.mkdtemp()
    >>> _ = make_face_videos(1, n_frames=2, directory=os.path.join(root, "REAL"),
    ...                      prefix="clip", random_state=0)
    >>> _ = make_face_videos(1, n_frames=2, directory=os.path.join(root, "fake"),
    ...                      prefix="clip", manipulated=True, random_state=0)
    >>> data = load_video_folder(root)
    >>> data.filenames, data.target, data.groups
    (['REAL/clip000.mp4', 'fake/clip000.mp4'], array([0, 1]), array([0, 0]))
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"Video folder {root} does not exist.")
    if groups not in ("auto", "subfolder", "stem", "file"):
        raise ValueError(
            f"groups must be 'auto', 'subfolder', 'stem' or 'file', got {groups!r}."
        )
    key = label.lower() if isinstance(label, str) else label
    if key is not None and key not in _LABEL_ARGS:
        raise ValueError(f"label must be 'real', 'fake', 0, 1 or None; got {label!r}.")
    extensions = tuple(e.lower() for e in extensions)

    # (path, label, folder that holds the class)
    entries: list[tuple[Path, int, Path]] = []
    if key is not None:
        entries = [(p, _LABEL_ARGS[key], root) for p in _list_videos(root, extensions)]
    else:
        class_dirs = [
            (d, _CLASS_FOLDERS[d.name.lower()])
            for d in sorted(root.iterdir())
            if d.is_dir() and d.name.lower() in _CLASS_FOLDERS
        ]
        if not class_dirs:
            raise ValueError(
                f"No class folder in {root}: expected subfolders named real/fake "
                "(or original/manipulated); pass label='real' or label='fake' "
                "to read a folder of videos that share one label. A "
                "FaceForensics++ layout (original_sequences/, "
                "manipulated_sequences/)? Use load_faceforensics. A DFDC "
                "folder (metadata.json)? Use load_dfdc."
            )
        for folder, value in class_dirs:
            entries.extend((p, value, folder) for p in _list_videos(folder, extensions))
    if not entries:
        raise FileNotFoundError(
            f"No video files ({', '.join(extensions)}) found in {root}."
        )
    entries.sort(key=lambda e: e[0].relative_to(root).as_posix())

    rel_in_class = [e[0].relative_to(e[2]) for e in entries]
    mode = groups
    if mode == "auto":
        mode = "subfolder" if any(len(r.parts) > 1 for r in rel_in_class) else "stem"
    if mode == "file":
        keys = [r.as_posix() for r in rel_in_class]
    elif mode == "subfolder":
        keys = [r.parts[0] if len(r.parts) > 1 else r.as_posix() for r in rel_in_class]
    else:
        real_stems = {e[0].stem for e in entries if e[1] == 0}
        keys = []
        for path, value, _ in entries:
            stem = path.stem
            if value == 1 and stem not in real_stems:
                head = stem.split("_")[0]
                stem = head if head in real_stems else stem
            keys.append(stem)
    return _listing_bunch(root, entries, keys)


def _listing_bunch(
    root: Path,
    entries: Sequence[tuple[Any, ...]],
    keys: Sequence[str],
    *,
    before_group: dict[str, Any] | None = None,
    after_group: dict[str, Any] | None = None,
) -> Bunch:
    """Return the dataset Bunch of the videos ``entries`` found under ``root``.

    Parameters
    ----------
    root : Path
        The dataset folder; file names are given relative to it.
    entries : sequence of tuple
        ``(path, target, ...)`` of each video, in the order of the output.
    keys : sequence of str
        Group key of each video; the groups are coded 0, 1, ... in order of
        first appearance.
    before_group, after_group : dict, default=None
        More per-video columns, by name, placed before and after ``group``
        in the frame, and after ``filenames`` in the Bunch.

    Returns
    -------
    data : Bunch
        ``paths``, ``target``, ``groups``, ``filenames``, the extra columns,
        ``frame`` and ``root``.
    """
    import pandas as pd

    before_group = before_group or {}
    after_group = after_group or {}
    codes: dict[str, int] = {}
    groups = np.array([codes.setdefault(k, len(codes)) for k in keys], dtype=int)
    paths = [os.fspath(e[0]) for e in entries]
    filenames = [e[0].relative_to(root).as_posix() for e in entries]
    target = np.array([e[1] for e in entries], dtype=int)
    frame = pd.DataFrame(
        {
            "filename": filenames,
            "label": np.where(target == 1, "FAKE", "REAL"),
            "target": target,
            **before_group,
            "group": groups,
            **after_group,
            "path": paths,
        }
    )
    return _videos_bunch(
        frame, root, target=target, groups=groups, **before_group, **after_group
    )
