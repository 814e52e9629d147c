"""Read and write folders in the layout of the DFDC Kaggle competition.

The layout::

    root/
      train_sample_videos/
        metadata.json        {"name.mp4": {"label": "FAKE", "split": "train",
                                           "original": "other.mp4"}, ...}
        *.mp4
      test_videos/*.mp4
      sample_submission.csv  filename,label (label = 0.5)
      test_labels.csv        optional: filename,label[,original]

The full DFDC training set has the same ``metadata.json`` in each of its
``dfdc_train_part_*`` folders; :func:`load_dfdc` reads them all.
"""

from __future__ import annotations

import csv
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils import Bunch, check_random_state

from sklearn_deepfake.datasets._synthetic import (
    IDENTITIES,
    _check_options,
    _make_one_video,
)
from sklearn_deepfake.utils._checks import join_some

__all__ = ["load_dfdc", "make_dfdc_folder"]

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
_LABELS = {"FAKE": 1, "REAL": 0, "1": 1, "0": 0}


def _random_names(rng: np.random.RandomState, n: int) -> list[str]:
    """``n`` distinct DFDC-style names: ten lowercase letters + ``.mp4``."""
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        name = "".join(letters[rng.randint(26, size=10)]) + ".mp4"
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def make_dfdc_folder(
    root: str | os.PathLike,
    *,
    n_originals: int = 4,
    fakes_per_original: int = 1,
    n_test: int = 4,
    frame_size: tuple[int, int] = (192, 144),
    n_frames: int = 24,
    fps: float = 25.0,
    face_size: float | tuple[float, float] = (0.35, 0.5),
    manipulation: str = "blend",
    write_test_labels: bool = True,
    n_parts: int | None = None,
    random_state: int | np.random.RandomState | None = None,
) -> Bunch:
    """Write a small synthetic dataset in the DFDC layout.

    Every original is a pristine video of :func:`make_face_videos`; each of
    its fakes is a twin (same scene, motion and identity) with its own draw of
    the face manipulation. The test folder holds ``n_test // 2`` such
    real/fake pairs, plus one more real video when ``n_test`` is odd.

    Parameters
    ----------
    root : str or path-like
        Dataset root; created if needed. Existing files with the same names
        are overwritten.
    n_originals : int, default=4
        Real training videos.
    fakes_per_original : int, default=1
        Fake training videos made from each original (``0``: all real).
    n_test : int, default=4
        Test videos (``0``: an empty ``test_videos`` folder).
    frame_size : tuple of (int, int), default=(192, 144)
        ``(width, height)`` of every video.
    n_frames : int, default=24
        Frames per video.
    fps : float, default=25.0
        Frame rate.
    face_size : float or tuple of (float, float), default=(0.35, 0.5)
        Face height as a fraction of the frame height (see
        :func:`make_face_videos`).
    manipulation : {"blend", "swap"}, default="blend"
        How fakes are made.
    write_test_labels : bool, default=True
        Also write ``root/test_labels.csv`` (``filename,label,original``),
        which :func:`load_dfdc` reads for ``subset="test"``.
    n_parts : int or None, default=None
        ``None`` writes the training videos into ``train_sample_videos/``.
        An int writes them into ``dfdc_train_part_0/`` ...
        ``dfdc_train_part_{n_parts - 1}/``, each with its own
        ``metadata.json``, as the full DFDC training set is split; original
        ``j`` and its fakes go to part ``j % n_parts``.

        .. versionadded:: 0.1
    random_state : int, RandomState instance or None, default=None
        Seed; the same seed writes byte-identical files with the same names.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With ``root`` (str), ``train_paths``, ``train_target``,
        ``train_groups``, ``train_originals`` (the path of each training
        video's original, None for the originals themselves), ``test_paths``
        (in ``sample_submission.csv`` order), ``test_target`` (the true test
        labels, 1 = FAKE) and ``test_groups``. Training videos are in the
        order :func:`load_dfdc` reads them.

    See Also
    --------
    load_dfdc : Read the folder back.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn_deepfake.datasets import load_dfdc, make_dfdc_folder
    >>> root = tempfile.mkdtemp()
    >>> info = make_dfdc_folder(root, n_originals=1, n_test=0, n_frames=2,
    ...                         random_state=0)
    >>> data = load_dfdc(root)
    >>> data.target, data.groups
    (array([0, 1]), array([0, 0]))
    >>> sorted(os.listdir(root))
    ['sample_submission.csv', 'test_labels.csv', 'test_videos', 'train_sample_videos']
    """
    for name, value, low in [
        ("n_originals", n_originals, 1),
        ("fakes_per_original", fakes_per_original, 0),
        ("n_test", n_test, 0),
        ("n_parts", 1 if n_parts is None else n_parts, 1),
    ]:
        if not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    width, height, face_range, _ = _check_options(
        n_frames=n_frames,
        fps=fps,
        frame_size=frame_size,
        n_faces=1,
        face_size=face_size,
        rotation=0,
        manipulation=manipulation,
        codec="libx264",
    )
    rng = check_random_state(random_state)
    n_train = n_originals * (1 + fakes_per_original)
    n_pairs, n_extra = divmod(n_test, 2)
    names = _random_names(rng, n_train + n_test)
    if n_parts is None:
        train_dirs = [Path(root) / "train_sample_videos"]
    else:
        train_dirs = [Path(root) / f"dfdc_train_part_{k}" for k in range(n_parts)]
    test_dir = Path(root) / "test_videos"
    for folder in [*train_dirs, test_dir]:
        folder.mkdir(parents=True, exist_ok=True)
    common: dict[str, Any] = {
        "width": width,
        "height": height,
        "n_frames": int(n_frames),
        "fps": float(fps),
        "n_faces": 1,
        "face_size": face_range,
        "motion": True,
        "rotation": 0,
        "manipulation": manipulation,
        "identities": IDENTITIES,
        "codec": "libx264",
        "crf": 20,
    }

    def seed() -> int:
        return int(rng.randint(np.iinfo(np.int32).max))

    # (name, folder, scene seed, manipulation seed or None, original name)
    jobs: list[tuple[str, Path, int, int | None, str | None]] = []
    it = iter(names)
    for j in range(n_originals):
        original, scene = next(it), seed()
        train_dir = train_dirs[j % len(train_dirs)]
        jobs.append((original, train_dir, scene, None, None))
        jobs.extend(
            (next(it), train_dir, scene, seed(), original)
            for _ in range(fakes_per_original)
        )
    for p in range(n_pairs + n_extra):
        original, scene = next(it), seed()
        jobs.append((original, test_dir, scene, None, None))
        if p < n_pairs:
            jobs.append((next(it), test_dir, scene, seed(), original))
    for name, folder, scene, manip, _ in jobs:
        _make_one_video(
            os.fspath(folder / name), scene_seed=scene, manip_seed=manip, **common
        )

    train = sorted((j for j in jobs if j[1] != test_dir), key=lambda j: (j[1], j[0]))
    for train_dir in train_dirs:
        metadata = {
            name: {
                "label": "FAKE" if original else "REAL",
                "split": "train",
                "original": original,
            }
            for name, folder, _, _, original in train
            if folder == train_dir
        }
        text = json.dumps(metadata, indent=1) + "\n"
        _write_text(train_dir / "metadata.json", text)
    test = sorted((j for j in jobs if j[1] == test_dir), key=lambda j: j[0])
    lines = ["filename,label"] + [f"{j[0]},0.5" for j in test]
    _write_text(Path(root) / "sample_submission.csv", "\n".join(lines) + "\n")
    if write_test_labels:
        rows = ["filename,label,original"] + [
            f"{name},{'FAKE' if orig else 'REAL'},{orig or name}"
            for name, _, _, _, orig in test
        ]
        _write_text(Path(root) / "test_labels.csv", "\n".join(rows) + "\n")

    def groups(rows: list) -> np.ndarray:
        keys = [orig or name for name, _, _, _, orig in rows]
        return np.unique(keys, return_inverse=True)[1].reshape(-1)

    return Bunch(
        root=os.fspath(root),
        train_paths=[os.fspath(j[1] / j[0]) for j in train],
        train_target=np.array([int(j[4] is not None) for j in train], dtype=int),
        train_groups=groups(train),
        train_originals=[os.fspath(j[1] / j[4]) if j[4] else None for j in train],
        test_paths=[os.fspath(j[1] / j[0]) for j in test],
        test_target=np.array([int(j[4] is not None) for j in test], dtype=int),
        test_groups=groups(test),
    )


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _label_code(value: Any, where: str) -> int:
    key = str(value).strip().upper()
    if key not in _LABELS:
        raise ValueError(
            f"Unknown label {value!r} for {where}; expected 'REAL' or 'FAKE'."
        )
    return _LABELS[key]


def _group_codes(names: list[str], originals: list[str | None]) -> np.ndarray:
    """Code the connected components of the (video, original) links, in order."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for name, original in zip(names, originals):
        find(name)
        if isinstance(original, str) and original:
            ra, rb = find(name), find(original)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    codes: dict[str, int] = {}
    out = np.empty(len(names), dtype=int)
    for i, name in enumerate(names):
        out[i] = codes.setdefault(find(name), len(codes))
    return out


def _videos_on_disk(folder: Path) -> set[str]:
    return {
        p.name
        for p in folder.iterdir()
        if p.is_file()
        and p.suffix.lower() in VIDEO_EXTENSIONS
        and not p.name.startswith(".")
    }


def _read_metadata(path: Path) -> dict[str, dict]:
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM is not an error
    except FileNotFoundError:
        raise FileNotFoundError(
            f"No metadata.json in {path.parent} (expected {path})."
        ) from None
    if not text.strip():
        raise ValueError(
            f"{path} is empty ({path.stat().st_size} bytes): a download or "
            "extraction cut short? Fetch that part's metadata.json again, or "
            "move the folder aside to load the others."
        )
    try:
        metadata = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"Malformed JSON in {path}: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}."
        ) from None
    if not isinstance(metadata, dict):
        raise ValueError(
            f"{path} must hold a JSON object mapping file names to entries, "
            f"got {type(metadata).__name__}."
        )
    if not metadata:
        raise ValueError(f"{path} lists no video (it holds an empty object).")
    for name, entry in metadata.items():
        if not isinstance(entry, dict) or "label" not in entry:
            raise ValueError(
                f"Entry {name!r} in {path} must be an object with a 'label' key, "
                f"got {entry!r}."
            )
    return metadata


def _find_train_folders(root: Path) -> list[Path]:
    if (root / "metadata.json").is_file():
        return [root]
    if (root / "train_sample_videos").is_dir():
        return [root / "train_sample_videos"]
    parts = sorted(p.parent for p in root.glob("*/metadata.json"))
    if parts:
        return parts
    raise FileNotFoundError(
        f"No metadata.json found in {root}: expected {root / 'metadata.json'}, "
        f"{root / 'train_sample_videos' / 'metadata.json'} or "
        f"{root / '*' / 'metadata.json'}."
    )


def _check_labels(metadata: dict[str, dict], path: Path) -> None:
    """Raise one ValueError naming ``path`` and every unknown label in it."""
    bad = {
        name: entry["label"]
        for name, entry in metadata.items()
        if str(entry["label"]).strip().upper() not in _LABELS
    }
    if bad:
        values = sorted({repr(v) for v in bad.values()})
        shown = ", ".join(f"{n!r}: {v!r}" for n, v in list(bad.items())[:5])
        more = " ..." if len(bad) > 5 else ""
        raise ValueError(
            f"{path} has {len(bad)} entr{'y' if len(bad) == 1 else 'ies'} with "
            f"a label other than REAL or FAKE (any case; 0 and 1 also work): "
            f"{shown}{more}. Labels "
            f"found: {', '.join(values)}; fix or remove those entries."
        )


def _unsourced_fakes(rows: list[dict], missing_original: str) -> None:
    """Warn or raise for fakes without an ``original`` (``missing_original``)."""
    lacking = [r for r in rows if r["target"] == 1 and r["original"] is None]
    if not lacking or missing_original == "ignore":
        return
    files = sorted({os.path.join(os.path.dirname(r["path"]), "metadata.json")
                    for r in lacking})  # fmt: skip
    names = [r["filename"] for r in lacking]
    shown = join_some(names)
    message = (
        f"{len(names)} FAKE video(s) in {', '.join(files)} have no 'original': "
        f"{shown}. Each is put in a group of its own, so grouped splits cannot "
        "keep it on its source's side (its source may leak into the other "
        "fold). Pass missing_original='ignore' to accept this, or complete "
        "the metadata."
    )
    if missing_original == "raise":
        raise ValueError(message)
    warnings.warn(message, UserWarning, stacklevel=4)


def _part_codes(parts: list[str], names: list[str], originals: list) -> np.ndarray:
    """Code each row by its part, merging parts that a fake links to another."""
    part_of = dict(zip(names, parts))
    linked = [part_of.get(o) if isinstance(o, str) else None for o in originals]
    return _group_codes(parts, linked)


def _videos_bunch(frame: Any, root: str | os.PathLike, **fields: Any) -> Bunch:
    """Return a loader's Bunch of the videos listed in ``frame``.

    ``paths`` and ``filenames`` are ``frame``'s ``path`` and ``filename``
    columns; ``fields`` (``target``, ``groups``, ...) follow, then ``frame``
    itself and ``root``.
    """
    return Bunch(
        paths=frame["path"].tolist(),
        filenames=frame["filename"].tolist(),
        **fields,
        frame=frame,
        root=os.fspath(root),
    )


def _load_train(
    root: Path, missing_original: str = "warn", group_by: str = "original"
) -> Bunch:
    import pandas as pd

    rows = []
    for folder in _find_train_folders(root):
        meta_path = folder / "metadata.json"
        metadata = _read_metadata(meta_path)
        _check_labels(metadata, meta_path)
        on_disk = _videos_on_disk(folder)
        _check_listed(folder, list(metadata), on_disk, meta_path)
        for name in sorted(metadata):
            entry = metadata[name]
            original = entry.get("original")
            if original is not None and not isinstance(original, str):
                raise ValueError(
                    f"Entry {name!r} in {meta_path} has a non-string 'original': "
                    f"{original!r}."
                )
            original = original or None
            rows.append(
                {
                    **entry,
                    "filename": name,
                    "label": str(entry["label"]).strip().upper(),
                    "target": _label_code(entry["label"], f"{name!r} in {meta_path}"),
                    "original": original,
                    "part": str(entry.get("part") or folder.name),
                    "path": os.fspath(folder / name),
                }
            )
    _unsourced_fakes(rows, missing_original)
    frame = pd.DataFrame(rows)
    names = [row["filename"] for row in rows]
    originals = [row["original"] for row in rows]
    if group_by == "part":
        parts = [row["part"] for row in rows]
        frame["group"] = _part_codes(parts, names, originals)
        if len(set(parts)) == 1:
            warnings.warn(
                f"group_by='part' found a single part ({parts[0]!r}) under "
                f"{root}: every video is in one group, so no grouped split "
                "is possible. Use group_by='original' for this folder.",
                UserWarning,
                stacklevel=3,
            )
    else:
        frame["group"] = _group_codes(names, originals)
    first = ["filename", "label", "target", "original", "group", "path", "part"]
    frame = frame[first + [c for c in frame.columns if c not in first]]
    return _videos_bunch(
        frame,
        root,
        target=frame["target"].to_numpy(dtype=int),
        groups=frame["group"].to_numpy(dtype=int),
        originals=[
            os.path.join(os.path.dirname(row["path"]), row["original"])
            if row["original"]
            else None
            for row in rows
        ],
    )


def _read_csv_rows(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames or []
        lacking = [c for c in required if c not in fields]
        if lacking:
            raise ValueError(
                f"{path} must have the column(s) {lacking}; found {fields}."
            )
        return [row for row in reader if row.get(required[0]) not in (None, "")]


def _load_test(root: Path) -> Bunch:
    import pandas as pd

    folder = root / "test_videos"
    if not folder.is_dir():
        raise FileNotFoundError(f"No test_videos folder in {root}.")
    on_disk = _videos_on_disk(folder)
    submission = root / "sample_submission.csv"
    if submission.is_file():
        names = [row["filename"] for row in _read_csv_rows(submission, ("filename",))]
        _check_listed(folder, names, on_disk, submission)
    else:
        names = sorted(on_disk)
        warnings.warn(
            f"No {submission}; reading the {len(names)} videos of {folder} in "
            "sorted order.",
            UserWarning,
            stacklevel=3,
        )
    frame = pd.DataFrame(
        {"filename": names, "path": [os.fspath(folder / n) for n in names]}
    )
    target = groups = None
    labels_path = root / "test_labels.csv"
    if labels_path.is_file():
        rows = {
            row["filename"]: row
            for row in _read_csv_rows(labels_path, ("filename", "label"))
        }
        unlabelled = [n for n in names if n not in rows]
        if unlabelled:
            raise ValueError(
                f"{labels_path} has no label for {len(unlabelled)} test video(s): "
                + ", ".join(unlabelled[:5])
            )
        frame["label"] = [rows[n]["label"].strip().upper() for n in names]
        target = np.array(
            [_label_code(rows[n]["label"], f"{n!r} in {labels_path}") for n in names],
            dtype=int,
        )
        frame["target"] = target
        originals = [rows[n].get("original") or None for n in names]
        originals = [None if o == n else o for o, n in zip(originals, names)]
        frame["original"] = originals
        groups = _group_codes(names, originals)
        frame["group"] = groups
        paired = [os.fspath(folder / o) if o else None for o in originals]
    else:
        paired = [None] * len(names)
    return _videos_bunch(frame, root, target=target, groups=groups, originals=paired)


def _check_listed(folder: Path, listed: list, on_disk: set, source: Path) -> None:
    """Raise for listed videos absent from ``folder``; warn for unlisted ones."""
    missing = sorted(name for name in listed if not (folder / name).is_file())
    if missing:
        shown = join_some(missing)
        raise FileNotFoundError(
            f"{len(missing)} video(s) listed in {source} are missing from "
            f"{folder}: {shown}"
        )
    extra = sorted(on_disk - set(listed))
    if extra:
        shown = join_some(extra)
        warnings.warn(
            f"{len(extra)} video(s) in {folder} are not in {source} and "
            f"are ignored: {shown}",
            UserWarning,
            stacklevel=4,
        )


def load_dfdc(
    root: str | os.PathLike,
    *,
    subset: str = "train",
    missing_original: str = "warn",
    group_by: str = "original",
) -> Bunch:
    """Load video paths, labels and leakage groups of a DFDC-style folder.

    Parameters
    ----------
    root : str or path-like
        The dataset root (holding ``train_sample_videos/``, ``test_videos/``
        and ``sample_submission.csv``), a folder that holds ``metadata.json``
        itself, or a folder of ``dfdc_train_part_*/metadata.json`` parts.
    subset : {"train", "test"}, default="train"
        ``"train"`` reads the videos listed in ``metadata.json`` (sorted by
        name; parts in sorted order). ``"test"`` reads ``test_videos/`` in
        the order of ``sample_submission.csv`` (sorted file names, with a
        warning, when that file is absent); labels and groups come from
        ``test_labels.csv`` when it exists.
    missing_original : {"warn", "raise", "ignore"}, default="warn"
        What to do when FAKE entries of ``metadata.json`` have no
        ``original`` (some DFDC parts and re-packaged copies lack it): each
        such fake becomes a group of its own, which grouped splits cannot
        keep with its source. ``"warn"`` names them in a UserWarning,
        ``"raise"`` raises a ValueError instead, ``"ignore"`` says nothing.
        Labels are read in any case (``fake``, ``Real``).
    group_by : {"original", "part"}, default="original"
        What ``groups`` hold for ``subset="train"``. ``"original"``: a fake
        and its original (and all fakes of that original) share a group.
        ``"part"``: the videos of one ``dfdc_train_part_*`` folder (or of
        one ``part`` value, when the metadata has that key) share a group;
        parts linked by a fake whose original is in another part are merged.
        Validating on whole parts is harder than on held-out originals: the
        actors of a part rarely appear in another. A folder with one part
        gives one group (with a warning). Ignored for ``subset="test"``.

        .. versionadded:: 0.1

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        paths : list of str
            Video paths, one per row.
        target : ndarray of int, shape (n_videos,) or None
            ``1`` for FAKE, ``0`` for REAL; None for an unlabelled test set.
        groups : ndarray of int, shape (n_videos,) or None
            Leakage groups for grouped cross-validation: a fake and its
            ``original`` (and all fakes of that original) share a code;
            codes are numbered in row order. None when unknown. With
            ``group_by="part"``, one code per part.
        originals : list of (str or None)
            Path of each video's original (beside it, as the metadata
            names it), None for a video without one; the input of
            :func:`~sklearn_deepfake.faces.extract_pairs`.
        filenames : list of str
            File names as written in the metadata.
        frame : pandas.DataFrame
            One row per video: ``filename``, ``label``, ``target``,
            ``original``, ``group``, ``path``, ``part`` (training only: the
            folder, or the metadata's ``part``) and any other metadata key.
        root : str
            The ``root`` given.

    Raises
    ------
    FileNotFoundError
        When the folder, its ``metadata.json`` or a listed video is missing.
    ValueError
        When a ``metadata.json`` is empty, is not valid JSON, is not a
        mapping of entries with a ``label`` or lists no video, or has labels
        that are neither REAL nor FAKE in any case (the message names the
        file, the entries and the labels found).

    Warns
    -----
    UserWarning
        Naming videos found on disk that the metadata does not list; they are
        not returned. Naming the FAKE entries without an ``original`` (see
        ``missing_original``).

    See Also
    --------
    make_dfdc_folder : Write a synthetic folder in this layout.
    load_video_folder : Load a ``real/`` + ``fake/`` folder tree.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn_deepfake.datasets import load_dfdc, make_dfdc_folder
    >>> root = tempfile.mkdtemp()
    >>> _ = make_dfdc_folder(root, n_originals=2, n_test=2, n_frames=2,
    ...                      random_state=0)
    >>> train = load_dfdc(root)
    >>> len(train.paths), int(train.target.sum()), len(set(train.groups))
    (4, 2, 2)
    >>> load_dfdc(root, subset="test").target
    array([1, 0])

    Grouping by DFDC part:

    >>> root = tempfile.mkdtemp()
    >>> _ = make_dfdc_folder(root, n_originals=4, n_parts=2, n_test=0,
    ...                      n_frames=2, random_state=0)
    >>> data = load_dfdc(root, group_by="part")
    >>> data.groups, sorted(set(data.frame["part"]))
    (array([0, 0, 0, 0, 1, 1, 1, 1]), ['dfdc_train_part_0', 'dfdc_train_part_1'])
    """
    if subset not in ("train", "test"):
        raise ValueError(f"subset must be 'train' or 'test', got {subset!r}.")
    if missing_original not in ("warn", "raise", "ignore"):
        raise ValueError(
            "missing_original must be 'warn', 'raise' or 'ignore', got "
            f"{missing_original!r}."
        )
    if group_by not in ("original", "part"):
        raise ValueError(f"group_by must be 'original' or 'part', got {group_by!r}.")
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"Dataset folder {root} does not exist.")
    if subset == "train":
        return _load_train(root, missing_original, group_by)
    if not (root / "test_videos").is_dir() and (root / "metadata.json").is_file():
        root = root.parent  # root named the training folder itself
    return _load_test(root)
