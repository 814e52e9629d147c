"""Read a folder in FaceForensics++'s own layout, with identity groups.

The layout (as written by FaceForensics++'s download script)::

    root/
      original_sequences/
        youtube/c23/videos/033.mp4 ...         REAL (source identities)
        actors/c23/videos/01__talking.mp4 ...  REAL (DeepFakeDetection's actors)
      manipulated_sequences/
        Deepfakes/c23/videos/033_097.mp4 ...   FAKE: target 033, source 097
        Face2Face/c23/videos/...
        FaceSwap/c23/videos/...
        NeuralTextures/c23/videos/...
        FaceShifter/c23/videos/...
        DeepFakeDetection/c23/videos/01_02__talking__YVGY8LOK.mp4 ...

A fake ``A_B`` shows identity ``A`` (the target video) with the face or the
expression of identity ``B``, so it is related to both. :func:`load_faceforensics`
gives every video the group of the connected component of identities it
belongs to, so that grouped cross-validation keeps whole components on one
side of a split.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from sklearn_deepfake.datasets._dfdc import VIDEO_EXTENSIONS
from sklearn_deepfake.datasets._folders import _listing_bunch

__all__ = ["load_faceforensics"]

COMPRESSIONS = ("raw", "c23", "c40")
# Originals of the YouTube sequences, and of the actors that
# DeepFakeDetection (Google/Jigsaw's contribution) manipulates.
_ORIGINAL_SOURCES = ("youtube", "actors")
_SOURCE_OF_METHOD = {"DeepFakeDetection": "actors"}


def _videos_in(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and p.suffix.lower() in VIDEO_EXTENSIONS
        and not p.name.startswith(".")
    )


def _identities(stem: str, source: str) -> list[str]:
    """Identity keys of a video stem: ``033_097`` -> youtube 033 and 097.

    DeepFakeDetection's names put the actor ids before ``__``
    (``01_02__talking__YVGY8LOK``); its originals are ``01__talking``.
    """
    ids = stem.split("__")[0].split("_")
    return [f"{source}:{i}" for i in ids if i]


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        self.parent.setdefault(key, key)
        root = key
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[key] != root:  # path compression
            self.parent[key], key = root, self.parent[key]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def load_faceforensics(
    root: str | os.PathLike,
    compression: str = "c23",
    methods: str | list[str] | tuple[str, ...] | None = None,
) -> Bunch:
    """Load FaceForensics++ video paths, labels, methods and identity groups.

    Reads the folder tree that FaceForensics++'s download script writes:
    ``original_sequences/youtube/<compression>/videos/033.mp4`` (REAL) and
    ``manipulated_sequences/<method>/<compression>/videos/033_097.mp4``
    (FAKE; target ``033`` with the face or expression of source ``097``).
    Videos are listed, not decoded.

    Every video belongs to the identities in its name, and a fake ``A_B``
    joins ``A`` and ``B``; the ``groups`` are the connected components of
    that relation (a union-find over the identities), so a grouped splitter
    (``GroupKFold``) never puts an identity, a fake or any of its sources on
    both sides of a split.

    Read more in the :ref:`User Guide <user_guide_faceforensics>`.

    .. versionadded:: 0.1

    Parameters
    ----------
    root : str or path-like
        The FaceForensics++ root, holding ``original_sequences/`` and
        ``manipulated_sequences/``.
    compression : {"c23", "c40", "raw"}, default="c23"
        Which quality to read (``c23`` is H.264 CRF 23, ``c40`` CRF 40,
        ``raw`` CRF 0).
    methods : str, list of str or None, default=None
        Manipulation folders to read (``"Deepfakes"``, ``"Face2Face"``,
        ``"FaceSwap"``, ``"NeuralTextures"``, ``"FaceShifter"``,
        ``"DeepFakeDetection"`` or any other folder present); None reads
        every folder of ``manipulated_sequences/`` that has videos at this
        compression. The originals are always read (``[]`` reads only them).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With ``paths`` (list of str), ``target`` (int array, 1 = FAKE),
        ``groups`` (int array: the identity component of each video, numbered
        in row order), ``filenames`` (paths relative to ``root``),
        ``method`` (str array: ``"original"`` for real videos, else the
        manipulation folder), ``identities`` (list of tuples of the ids in
        each name), ``frame`` (pandas.DataFrame of all these) and ``root``.
        Rows are sorted by ``filenames``.

    Raises
    ------
    FileNotFoundError
        When ``root`` does not exist, holds neither ``original_sequences``
        nor ``manipulated_sequences``, or holds no video at ``compression``.
    ValueError
        When ``compression`` is unknown or a requested method has no folder.

    See Also
    --------
    load_dfdc : Load a folder in the DFDC layout.
    load_video_folder : Load a folder with ``real``/``fake`` subfolders.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sklearn_deepfake.datasets import load_faceforensics
    >>> root = Path(tempfile.mkdtemp())
    >>> for rel in ["original_sequences/youtube/c23/videos/000.mp4",
    ...             "original_sequences/youtube/c23/videos/003.mp4",
    ...             "original_sequences/youtube/c23/videos/010.mp4",
    ...             "manipulated_sequences/Deepfakes/c23/videos/000_003.mp4"]:
    ...     (root / rel).parent.mkdir(parents=True, exist_ok=True)
    ...     (root / rel).touch()
    >>> data = load_faceforensics(root)
    >>> data.filenames[0], data.target, data.groups
    ('manipulated_sequences/Deepfakes/c23/videos/000_003.mp4', array([1, 0, 0, 0]),
     array([0, 0, 0, 1]))
    >>> list(data.method)
    ['Deepfakes', 'original', 'original', 'original']
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"FaceForensics++ folder {root} does not exist.")
    if compression not in COMPRESSIONS:
        raise ValueError(
            f"compression must be one of {COMPRESSIONS}, got {compression!r}."
        )
    originals_dir = root / "original_sequences"
    manipulated_dir = root / "manipulated_sequences"
    if not originals_dir.is_dir() and not manipulated_dir.is_dir():
        raise FileNotFoundError(
            f"{root} is not a FaceForensics++ folder: expected "
            "original_sequences/ and manipulated_sequences/ in it (for "
            "real/fake subfolders use load_video_folder, for the DFDC layout "
            "load_dfdc)."
        )
    present = (
        sorted(d.name for d in manipulated_dir.iterdir() if d.is_dir())
        if manipulated_dir.is_dir()
        else []
    )
    if methods is None:
        wanted = [m for m in present if _videos_in(_method_dir(root, m, compression))]
    else:
        wanted = [methods] if isinstance(methods, str) else list(methods)
        unknown = [m for m in wanted if not isinstance(m, str) or m not in present]
        if unknown:
            raise ValueError(
                f"Unknown FaceForensics++ method(s) {unknown} in {root}: "
                f"manipulated_sequences/ holds {present or 'no method folder'} "
                "(names are case-sensitive)."
            )

    # (path, label, method, source of the identities)
    entries: list[tuple[Path, int, str, str]] = []
    for source in _ORIGINAL_SOURCES:
        folder = originals_dir / source / compression / "videos"
        entries.extend((p, 0, "original", source) for p in _videos_in(folder))
    for method in wanted:
        source = _SOURCE_OF_METHOD.get(method, "youtube")
        folder = _method_dir(root, method, compression)
        entries.extend((p, 1, method, source) for p in _videos_in(folder))
    if not entries:
        found = sorted(
            {
                p.parent.parent.name
                for p in root.glob("*_sequences/*/*/videos/*")
                if p.suffix.lower() in VIDEO_EXTENSIONS
            }
        )
        raise FileNotFoundError(
            f"No {compression} video in {root} "
            f"(looked in original_sequences/{{youtube,actors}}/{compression}/videos "
            f"and manipulated_sequences/<method>/{compression}/videos for "
            f"{wanted}); compressions with videos: {found or 'none'}."
        )
    entries.sort(key=lambda e: e[0].relative_to(root).as_posix())

    identities = [tuple(_identities(p.stem, source)) for p, _, _, source in entries]
    components = _UnionFind()
    for ids in identities:
        if not ids:
            continue
        for other in ids[1:]:
            components.union(ids[0], other)
    keys = [
        components.find(ids[0]) if ids else f"file:{p}"
        for ids, (p, _, _, _) in zip(identities, entries)
    ]
    return _listing_bunch(
        root,
        entries,
        keys,
        before_group={"method": np.array([e[2] for e in entries], dtype=object)},
        after_group={
            "identities": [tuple(i.split(":", 1)[1] for i in ids) for ids in identities]
        },
    )


def _method_dir(root: Path, method: str, compression: str) -> Path:
    return root / "manipulated_sequences" / method / compression / "videos"
