"""On-disk face store: one checksummed record per (video content, plan, parameters).

Face extraction is deterministic and is the expensive step, so
:class:`~sklearn_deepfake.faces.FaceCropper` keeps its output in a
:class:`FaceStore`: every cross-validation fold, every later ``fit`` with
other classifier parameters and a rerun after an interruption read the tracks
back instead of decoding the video again, and with a store the cropper hands
out :class:`LazyFaceTracks`, records of a few hundred bytes that read their
arrays from disk when asked.

Layout of a store folder ``root``::

    root/ab/abcdef....skdf   one record per key (fan-out by the key's prefix)
    root/ab/abcdef....seen   JSON sidecar: full-content hash of the video and
                             the (path, size, mtime_ns) triples it was seen under

Layout of a record file (all integers little-endian)::

    8 bytes   magic b"SKDFFACE"
    4 bytes   uint32 length H of the JSON header
    4 bytes   uint32 zlib.crc32 of the JSON header
    H bytes   JSON header: format version, metadata, crop format, and for each
              array section its dtype, shape, offset, length and crc32
    ...       the sections, each starting at a multiple of 64 bytes

The key of a record is a hash of the video's *content key* (its size and a
blake2b hash of 10 sampled 64-KiB blocks), the frames its plan asks for, the
parameters that change the tracks and the format version, so a renamed or
moved video keeps its record. A change that misses the sampled blocks is
caught by the sidecar: when a file's ``(size, mtime_ns)`` is not among those
the record was seen under, the whole file is hashed once and compared with the
full-content hash taken at extraction.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import struct
import tempfile
import threading
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from sklearn_deepfake.exceptions import StoreCorruptionError
from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._ragged import _TRACK_ARRAYS, FaceTracks, _record_repr

__all__ = ["FaceStore", "LazyFaceTracks"]

#: Docstring text shared by the store's methods (see ``fill_doc``).
_DOCS = {
    "record": """Parameters
----------
path : str or path-like
    The video file.
indices : array-like of int
    The frames its plan asks for.
params : dict
    The extraction parameters (JSON-serialisable).""",
}

#: Bump when the record layout or the extraction algorithm changes.
FORMAT_VERSION = 2
MAGIC = b"SKDFFACE"
RECORD_EXT = ".skdf"
SEEN_EXT = ".seen"
_PREFIX = struct.Struct("<8sII")
_ALIGN = 64
_BLOCK = 64 * 1024
_N_MIDDLE = 8
CROP_FORMATS = ("raw", "png", "jpeg")

#: Per-row and per-frame arrays of a FaceTracks, with their dtypes.
_ARRAYS = {name: dtype for name, dtype, _ in _TRACK_ARRAYS}


# --------------------------------------------------------------- file hashing
def content_key(path: str | os.PathLike, size: int | None = None) -> str:
    """Return a cheap content key of a file: its size and sampled blocks.

    Hashes (blake2b) the first and last 64-KiB blocks and 8 evenly spaced
    blocks in between, with the size; files under 640 KiB are hashed whole.
    The key does not depend on the file's name, folder or modification time.

    Parameters
    ----------
    path : str or path-like
        The file.
    size : int, default=None
        Its size in bytes, when already known.

    Returns
    -------
    key : str
        Hex digest.

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn_deepfake.faces._store import content_key
    >>> d = tempfile.mkdtemp()
    >>> for name in ("a.bin", "b.bin"):
    ...     with open(os.path.join(d, name), "wb") as fh:
    ...         _ = fh.write(b"same bytes")
    >>> content_key(os.path.join(d, "a.bin")) == content_key(os.path.join(d, "b.bin"))
    True
    """
    if size is None:
        size = os.stat(path).st_size
    h = hashlib.blake2b(digest_size=20)
    h.update(f"size={size};".encode())
    with open(path, "rb") as fh:
        if size <= (_N_MIDDLE + 2) * _BLOCK:
            h.update(fh.read())
        else:
            last = size - _BLOCK
            starts = np.linspace(0, last, _N_MIDDLE + 2).astype(np.int64)
            for start in starts:
                fh.seek(int(start))
                h.update(fh.read(_BLOCK))
    return h.hexdigest()


def full_hash(path: str | os.PathLike) -> str:
    """Return the blake2b hex digest of a whole file (read in 1-MiB chunks)."""
    h = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class _FileId:
    """What the store knows of a video file when it looks it up."""

    path: str
    size: int
    mtime_ns: int
    content: str

    @property
    def triple(self) -> list:
        return [self.path, self.size, self.mtime_ns]


_CONTENT_KEYS: dict[tuple, str] = {}
_CONTENT_LOCK = threading.Lock()


def _file_id(path: str | os.PathLike) -> _FileId:
    """Stat a file and return its content key (memoised per path/size/mtime)."""
    real = os.path.realpath(path)
    st = os.stat(real)
    memo = (real, st.st_size, st.st_mtime_ns, st.st_ino)
    with _CONTENT_LOCK:
        key = _CONTENT_KEYS.get(memo)
    if key is None:
        key = content_key(real, st.st_size)
        with _CONTENT_LOCK:
            if len(_CONTENT_KEYS) > 100_000:
                _CONTENT_KEYS.clear()
            _CONTENT_KEYS[memo] = key
    return _FileId(real, st.st_size, st.st_mtime_ns, key)


# ------------------------------------------------------------ atomic writing
def _atomic_write(path: str, chunks: list[bytes]) -> None:
    """Write ``chunks`` to a temporary file next to ``path``, fsync, rename."""
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# --------------------------------------------------------- crop (de)coding
def _encode_crops(
    crops: np.ndarray, fmt: str, quality: int
) -> tuple[bytes, np.ndarray]:
    """Encode each RGB crop; return the blobs and their int64 offsets."""
    import cv2

    if fmt == "jpeg":
        ext, flags = ".jpg", [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    else:
        ext, flags = ".png", [cv2.IMWRITE_PNG_COMPRESSION, 1]
    blobs = []
    for crop in crops:
        ok, buf = cv2.imencode(ext, np.ascontiguousarray(crop[..., ::-1]), flags)
        if not ok:  # pragma: no cover - cv2 failure
            raise RuntimeError(f"cv2.imencode({ext!r}) failed")
        blobs.append(buf.tobytes())
    offsets = np.zeros(len(blobs) + 1, np.int64)
    offsets[1:] = np.cumsum([len(b) for b in blobs])
    return b"".join(blobs), offsets


def _decode_crops(
    blob: Any, offsets: np.ndarray, rows: np.ndarray, size: int
) -> np.ndarray:
    import cv2

    out = np.empty((len(rows), size, size, 3), np.uint8)
    view = memoryview(blob)
    for i, r in enumerate(rows):
        buf = np.frombuffer(view[offsets[r] : offsets[r + 1]], np.uint8)
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
        if img is None or img.shape != (size, size, 3):
            raise StoreCorruptionError(f"crop {r} does not decode")
        out[i] = img[..., ::-1]
    return out


# ------------------------------------------------------------- record files
def _pack_record(tracks: FaceTracks, fmt: str, quality: int, extra: dict) -> list:
    """Serialise ``tracks`` into the record layout; return the byte chunks."""
    sections: dict[str, np.ndarray | bytes] = {}
    for name in _ARRAYS:
        if name == "crops" and fmt != "raw":
            blob, offsets = _encode_crops(tracks.crops, fmt, quality)
            sections["crops"] = blob
            sections["crop_offsets"] = offsets
        else:
            sections[name] = np.ascontiguousarray(getattr(tracks, name))
    header: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "path": tracks.path,
        "frame_size": [int(v) for v in tracks.frame_size],
        "fps": float(tracks.fps),
        "error": tracks.error,
        "meta": _jsonable(tracks.meta),
        "n_rows": len(tracks),
        "size": int(tracks.crop_size),
        "crop_format": fmt,
        **extra,
        "sections": {},
    }
    payload: list[bytes] = []
    offset = 0
    for name, value in sections.items():
        raw = value if isinstance(value, bytes) else value.tobytes()
        entry = {"offset": offset, "nbytes": len(raw), "crc": zlib.crc32(raw)}
        if not isinstance(value, bytes):
            entry["dtype"] = value.dtype.str
            entry["shape"] = list(value.shape)
        header["sections"][name] = entry
        payload.append(raw)
        pad = -len(raw) % _ALIGN
        payload.append(b"\0" * pad)
        offset += len(raw) + pad
    # Section offsets are relative to the data start, itself 64-aligned.
    head = json.dumps(header, sort_keys=True).encode()
    head += b" " * (-(_PREFIX.size + len(head)) % _ALIGN)
    prefix = _PREFIX.pack(MAGIC, len(head), zlib.crc32(head))
    return [prefix, head, *payload]


def _jsonable(meta: dict) -> dict:
    try:
        return json.loads(json.dumps(meta, default=float))
    except (TypeError, ValueError):
        return {}


def _read_header(fh: Any, record: str) -> tuple[dict, int]:
    """Read and check a record's header; return it and where the data start."""
    prefix = fh.read(_PREFIX.size)
    if len(prefix) < _PREFIX.size:
        raise StoreCorruptionError(f"{record}: truncated (no header)")
    magic, n, crc = _PREFIX.unpack(prefix)
    if magic != MAGIC:
        raise StoreCorruptionError(f"{record}: not a face-store record (bad magic)")
    head = fh.read(n)
    if len(head) < n:
        raise StoreCorruptionError(f"{record}: truncated header")
    if zlib.crc32(head) != crc:
        raise StoreCorruptionError(f"{record}: header checksum mismatch")
    try:
        header = json.loads(head)
        if not isinstance(header["sections"], dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise StoreCorruptionError(f"{record}: unparsable header") from None
    if header.get("version") != FORMAT_VERSION:
        raise StoreCorruptionError(
            f"{record}: format version {header.get('version')}, "
            f"expected {FORMAT_VERSION}"
        )
    return header, _PREFIX.size + n


def _read_section(
    fh: Any, record: str, header: dict, start: int, name: str, *, verify: bool = True
) -> Any:
    """Read one section (an array, or bytes for encoded crops) and check it."""
    entry = header["sections"][name]
    fh.seek(start + entry["offset"])
    raw = fh.read(entry["nbytes"])
    if len(raw) < entry["nbytes"]:
        raise StoreCorruptionError(f"{record}: truncated in section {name!r}")
    if verify and zlib.crc32(raw) != entry["crc"]:
        raise StoreCorruptionError(f"{record}: checksum mismatch in section {name!r}")
    if "dtype" not in entry:
        return raw
    arr = np.frombuffer(raw, dtype=np.dtype(entry["dtype"]))
    return arr.reshape(entry["shape"])


def _read_tracks(record: str, *, verify: bool = True) -> FaceTracks:
    """Read a whole record into an in-memory FaceTracks."""
    try:
        with open(record, "rb") as fh:
            header, start = _read_header(fh, record)
            arrays = {}
            for name in _ARRAYS:
                arrays[name] = _array_from(fh, record, header, start, name, verify)
    except (StoreCorruptionError, OSError):
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise StoreCorruptionError(f"{record}: {type(exc).__name__}: {exc}") from exc
    return FaceTracks(
        path=header["path"],
        frame_size=tuple(header["frame_size"]),
        fps=header["fps"],
        error=header["error"],
        meta=dict(header.get("meta") or {}),
        **arrays,
    )


def _array_from(
    fh: Any,
    record: str,
    header: dict,
    start: int,
    name: str,
    verify: bool,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    if name == "crops" and header["crop_format"] != "raw":
        offsets = _read_section(fh, record, header, start, "crop_offsets")
        blob = _read_section(fh, record, header, start, "crops", verify=verify)
        if rows is None:
            rows = np.arange(header["n_rows"])
        return _decode_crops(blob, offsets, rows, header["size"])
    arr = _read_section(fh, record, header, start, name, verify=verify)
    return arr if rows is None else arr[rows]


# ------------------------------------------------------------------ the store
class FaceStore:
    """A folder of face tracks that many processes can fill and read at once.

    :class:`~sklearn_deepfake.faces.FaceCropper` uses a store when given one
    (or a folder path) as ``cache_dir``; its ``transform`` then returns
    :class:`LazyFaceTracks`, which load their arrays from the store on
    access. A store is a plain object, not an estimator: it holds only its
    folder and format options, and pickles as such.

    Each video gets one record file per frame plan and extraction parameters,
    under ``root/<2 hex digits>/<key>.skdf``, written to a temporary file in
    the same folder, flushed to disk and renamed into place: a run killed
    mid-write leaves no partial record, and two processes writing the same
    record write the same bytes. Records are keyed by the video's content
    (its size and a hash of sampled blocks, see ``content_key``), not by
    its path, so a renamed or moved dataset keeps every record. A video
    whose ``(size, mtime_ns)`` has not been seen is hashed whole once and
    compared with the hash taken at extraction, so a change anywhere in the
    file is re-extracted. A record whose header or sections fail their
    checksums is named in a ``UserWarning`` and recomputed.

    Read more in the :ref:`User Guide <user_guide_cache>`.

    Parameters
    ----------
    root : str or path-like
        Folder of the store (created on the first write).
    crop_format : {"raw", "png", "jpeg"}, default="raw"
        How face crops are kept. ``"raw"`` stores the uint8 array as is
        (lossless, fastest to read, single rows read without touching the
        others, largest on disk); ``"png"`` is lossless, smaller and slower
        to read; ``"jpeg"`` (quality ``jpeg_quality``) is the smallest, slower
        to read than raw and lossy. Sizes and read rates are on the
        :ref:`benchmarks` page (``benchmarks/bench_store.py``). The default is
        raw because reads are the hot path of training and JPEG at quality
        95 moves the frame-to-frame noise features
        (:class:`~sklearn_deepfake.features.TemporalNoiseFeatures`) by 0.2
        of their spread; choose ``"jpeg"`` when disk is the limit and the
        pipeline uses no noise features (the ``default`` preset's P(FAKE)
        moved by 0.003). See the User Guide. Records written with another
        format are still read.
    jpeg_quality : int, default=95
        JPEG quality (1-100) when ``crop_format="jpeg"``.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn_deepfake.datasets import make_face_videos
    >>> from sklearn_deepfake.faces import FaceCropper, FaceStore
    >>> from sklearn_deepfake.video import FrameSampler
    >>> paths = make_face_videos(n_videos=2, n_frames=8, random_state=0).paths
    >>> store = FaceStore(tempfile.mkdtemp())
    >>> plans = FrameSampler(n_frames=4).fit_transform(paths)
    >>> tracks = FaceCropper(size=32, cache_dir=store).fit_transform(plans)
    >>> type(tracks[0]).__name__, len(store), tracks[0].crops.shape
    ('LazyFaceTracks', 2, (4, 32, 32, 3))
    >>> t = tracks[0]  # no I/O for the length and crop size
    >>> len(t), t.crop_size, t.boxes.shape, t.crops_at([0, 2]).shape
    (4, 32, (4, 4), (2, 32, 32, 3))
    """

    def __init__(
        self,
        root: str | os.PathLike,
        *,
        crop_format: str = "raw",
        jpeg_quality: int = 95,
    ) -> None:
        if crop_format not in CROP_FORMATS:
            raise ValueError(
                f"crop_format must be one of {CROP_FORMATS}, got {crop_format!r}."
            )
        if not (isinstance(jpeg_quality, int) and 1 <= jpeg_quality <= 100):
            raise ValueError(
                f"jpeg_quality must be an int in [1, 100], got {jpeg_quality!r}."
            )
        self.root = os.path.abspath(os.fspath(root))
        self.crop_format = crop_format
        self.jpeg_quality = jpeg_quality

    def __repr__(self) -> str:
        return f"FaceStore({self.root!r}, crop_format={self.crop_format!r})"

    def __reduce__(self) -> tuple:
        return (_make_store, (self.root, self.crop_format, self.jpeg_quality))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FaceStore) and self.__reduce__() == other.__reduce__()

    def __hash__(self) -> int:
        return hash(self.__reduce__())

    # ---------------------------------------------------------------- keys
    @fill_doc(_DOCS)
    def key(self, path: str | os.PathLike, indices: Any, params: dict) -> str:
        """Return the record key of a video, frame plan and parameters.

        %(record)s

        Returns
        -------
        key : str
            40 hex digits.
        """
        return self._key(_file_id(path), indices, params)

    def _key(self, fid: _FileId, indices: Any, params: dict) -> str:
        frames = np.ascontiguousarray(indices, dtype=np.int64)
        blob = json.dumps(
            {
                "version": FORMAT_VERSION,
                "content": fid.content,
                "indices": hashlib.blake2b(frames.tobytes()).hexdigest()[:40],
                "params": params,
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.blake2b(blob.encode(), digest_size=20).hexdigest()

    def record_path(self, key: str) -> str:
        """Return the file of record ``key`` (it may not exist)."""
        return os.path.join(self.root, key[:2], key + RECORD_EXT)

    def _seen_path(self, key: str) -> str:
        return os.path.join(self.root, key[:2], key + SEEN_EXT)

    # ------------------------------------------------------------ get / put
    @fill_doc(_DOCS)
    def get(
        self, path: str | os.PathLike, indices: Any, params: dict
    ) -> LazyFaceTracks | None:
        """Return the stored tracks of a video, or ``None`` when absent.

        A record that fails its checksums gives a ``UserWarning``
        naming the record and the video, and ``None`` (so the caller
        recomputes it). A record of a file whose bytes changed gives
        ``None``.

        %(record)s

        Returns
        -------
        tracks : LazyFaceTracks or None
            The record, read lazily; ``None`` on a miss.
        """
        fid = _file_id(path)
        key = self._key(fid, indices, params)
        record = self.record_path(key)
        if not os.path.exists(record):
            return None
        try:
            header = _verify_record(record)
        except FileNotFoundError:  # removed meanwhile (prune)
            return None
        except (StoreCorruptionError, OSError) as exc:
            what = "is corrupt" if isinstance(exc, ValueError) else "cannot be read"
            reason = str(exc).removeprefix(f"{record}: ")
            warnings.warn(
                f"face store record {record} of video {os.fspath(path)} {what} "
                f"({reason}); its faces are extracted again.",
                UserWarning,
                stacklevel=2,
            )
            return None
        if not self._same_content(key, fid, header):
            return None
        return LazyFaceTracks._from_header(self.root, key, os.fspath(path), header)

    def _same_content(self, key: str, fid: _FileId, header: dict) -> bool:
        """Whether the file is the one the record was extracted from."""
        seen = self._read_seen(key)
        triples = [t for t in seen.get("seen", []) if len(t) == 3]
        if fid.triple in triples:
            return True
        if (fid.size, fid.mtime_ns) in {(s, m) for _, s, m in triples}:
            whole = seen.get("full_hash") or header.get("full_hash")
        else:  # not seen with this size and mtime: compare the whole file
            whole = full_hash(fid.path)
            if whole != header.get("full_hash"):
                return False
        # Remember the new place (``prune`` and ``info`` look there).
        triples.append(fid.triple)
        try:
            self._write_seen(key, whole, triples[-64:])
        except OSError:  # a read-only store: nothing to remember
            pass
        return True

    def _read_seen(self, key: str) -> dict:
        try:
            with open(self._seen_path(key), "rb") as fh:
                seen = json.load(fh)
            if not isinstance(seen.get("seen"), list):
                return {}
            return seen
        except (OSError, ValueError, AttributeError):
            return {}

    def _write_seen(self, key: str, whole: str, triples: list) -> None:
        blob = json.dumps({"full_hash": whole, "seen": triples}).encode()
        _atomic_write(self._seen_path(key), [blob])

    def put(
        self,
        path: str | os.PathLike,
        indices: Any,
        params: dict,
        tracks: FaceTracks,
        *,
        whole: str | None = None,
    ) -> LazyFaceTracks:
        """Store the tracks of a video and return them as a lazy record.

        Parameters
        ----------
        path : str or path-like
            The video file the tracks were extracted from.
        indices : array-like of int
            The frames its plan asked for.
        params : dict
            The extraction parameters.
        tracks : FaceTracks
            The extracted tracks.
        whole : str, default=None
            The file's ``full_hash`` when already computed (it is
            computed here otherwise).

        Returns
        -------
        tracks : LazyFaceTracks
            The stored record.
        """
        fid = _file_id(path)
        key = self._key(fid, indices, params)
        if whole is None:
            whole = full_hash(fid.path)
        extra = {"full_hash": whole, "key": key}
        chunks = _pack_record(tracks, self.crop_format, self.jpeg_quality, extra)
        record = self.record_path(key)
        _atomic_write(record, chunks)
        self._write_seen(key, whole, [fid.triple])
        return LazyFaceTracks(
            self.root,
            key,
            os.fspath(path),
            n_rows=len(tracks),
            size=tracks.crop_size,
            n_frames=len(tracks.frame_indices),
            frame_size=tracks.frame_size,
            fps=tracks.fps,
            error=tracks.error,
            meta=_jsonable(tracks.meta),
        )

    # ------------------------------------------------------------- browsing
    def load(self, key: str) -> FaceTracks:
        """Read record ``key`` into memory, verifying every checksum.

        Raises
        ------
        KeyError
            When the record does not exist.
        StoreCorruptionError
            When it is truncated, corrupt or unparsable.
        """
        record = self.record_path(key)
        if not os.path.exists(record):
            raise KeyError(key)
        return _read_tracks(record)

    def lazy(self, key: str) -> LazyFaceTracks:
        """Return record ``key`` as a :class:`LazyFaceTracks` (header read only)."""
        record = self.record_path(key)
        with open(record, "rb") as fh:
            header, _ = _read_header(fh, record)
        return LazyFaceTracks._from_header(self.root, key, header["path"], header)

    def keys(self) -> list[str]:
        """Return the keys of all records, sorted."""
        out = []
        if not os.path.isdir(self.root):
            return out
        for shard in sorted(os.listdir(self.root)):
            folder = os.path.join(self.root, shard)
            if len(shard) != 2 or not os.path.isdir(folder):
                continue
            for name in sorted(os.listdir(folder)):
                if name.endswith(RECORD_EXT) and not name.startswith("."):
                    out.append(name[: -len(RECORD_EXT)])
        return out

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and os.path.exists(self.record_path(key))

    def _files(self) -> Iterator[tuple[str, str]]:
        if not os.path.isdir(self.root):
            return
        for shard in sorted(os.listdir(self.root)):
            folder = os.path.join(self.root, shard)
            if os.path.isdir(folder):
                for name in sorted(os.listdir(folder)):
                    yield folder, name

    def _gone(self, key: str) -> bool:
        """Whether none of the paths the record was seen under still holds it."""
        seen = self._read_seen(key).get("seen", [])
        for path, size, _ in seen:
            try:
                if os.stat(path).st_size == size:
                    return False
            except OSError:
                continue
        return True

    def info(self) -> dict:
        """Summarise the store.

        Returns
        -------
        info : dict
            ``root``, ``n_records``, ``bytes`` (on disk, sidecars included),
            ``formats`` (number of records per crop format), ``gone`` (keys
            of records whose video is gone), ``n_tmp`` (stray temporary
            files) and ``n_legacy`` (``.npz`` records of the earlier face
            cache, which are not read).
        """
        n_bytes, formats, gone, n_tmp, n, n_legacy = 0, {}, [], 0, 0, 0
        for folder, name in self._files():
            full = os.path.join(folder, name)
            try:
                n_bytes += os.path.getsize(full)
            except OSError:
                continue
            if name.endswith(".tmp"):
                n_tmp += 1
            if name.endswith(".npz"):
                n_legacy += 1
            if not name.endswith(RECORD_EXT) or name.startswith("."):
                continue
            n += 1
            key = name[: -len(RECORD_EXT)]
            try:
                with open(full, "rb") as fh:
                    fmt = _read_header(fh, full)[0].get("crop_format", "?")
            except (OSError, StoreCorruptionError):
                fmt = "corrupt"
            formats[fmt] = formats.get(fmt, 0) + 1
            if self._gone(key):
                gone.append(key)
        return {
            "root": self.root,
            "n_records": n,
            "bytes": n_bytes,
            "formats": formats,
            "gone": gone,
            "n_tmp": n_tmp,
            "n_legacy": n_legacy,
        }

    def verify(self) -> dict[str, str]:
        """Check every record's checksums.

        Returns
        -------
        failures : dict
            Key -> what is wrong, for every record that fails; empty when
            all pass.
        """
        failures = {}
        for key in self.keys():
            try:
                _verify_record(self.record_path(key))
            except (OSError, StoreCorruptionError) as exc:
                failures[key] = str(exc)
        return failures

    def prune(self, *, dry_run: bool = False) -> list[str]:
        """Remove records whose video is gone, and stray or obsolete files.

        A record's video is gone when none of the paths it was seen under
        exists with the size it had. Temporary files left by killed runs and
        ``.npz`` records of the earlier face cache (never read) go too.

        Parameters
        ----------
        dry_run : bool, default=False
            Only list what would be removed.

        Returns
        -------
        removed : list of str
            The files removed (or that would be).
        """
        removed = []
        for folder, name in list(self._files()):
            full = os.path.join(folder, name)
            if name.endswith((".tmp", ".npz")):
                removed.append(full)
            elif name.endswith(RECORD_EXT) and self._gone(name[: -len(RECORD_EXT)]):
                removed.append(full)
                seen = full[: -len(RECORD_EXT)] + SEEN_EXT
                if os.path.exists(seen):
                    removed.append(seen)
        if not dry_run:
            for full in removed:
                try:
                    os.unlink(full)
                except FileNotFoundError:
                    pass
        return removed


def _make_store(root: str, crop_format: str, jpeg_quality: int) -> FaceStore:
    return FaceStore(root, crop_format=crop_format, jpeg_quality=jpeg_quality)


def _verify_record(record: str) -> dict:
    """Check a record's header and every section's checksum; return the header."""
    try:
        with open(record, "rb") as fh:
            header, start = _read_header(fh, record)
            for name in header["sections"]:
                _read_section(fh, record, header, start, name)
            for name in _ARRAYS:
                if name not in header["sections"]:
                    raise StoreCorruptionError(f"{record}: no section {name!r}")
    except StoreCorruptionError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise StoreCorruptionError(f"{record}: malformed header ({exc})") from exc
    return header


# ------------------------------------------------------------ lazy records
_LAST_CROPS: dict[str, Any] = {}
_LAST_LOCK = threading.Lock()


class LazyFaceTracks(FaceTracks):
    """The face tracks of one video, read from a :class:`FaceStore` on access.

    Holds only the store folder, the record key and a few scalars (a few
    hundred bytes), so that a list of 100,000 of them costs what it costs
    per video. Every array attribute of
    :class:`~sklearn_deepfake.utils.FaceTracks` (``crops``, ``boxes``,
    ``landmarks``, ``frame_indices`` ...) is read from the record when
    accessed, one array at a time and its checksum verified: ``t.boxes``
    does not read the crops. ``len(t)``, ``t.crop_size`` and ``repr(t)`` need no
    I/O. :meth:`crops_at` reads only the rows asked for. :meth:`select`,
    :meth:`track` and :meth:`load` return in-memory records.

    Pickling and :func:`joblib.hash` see only the small state, and the key is
    content-based, so ``Pipeline(memory=...)`` caches lists of lazy records
    cheaply. The last crops read are kept (one array per process), so
    ``t.crops`` twice in a row reads once.

    Instances come from :meth:`FaceStore.get`, :meth:`FaceStore.put` and
    :class:`~sklearn_deepfake.faces.FaceCropper` with a store; they are not
    built by hand.

    Parameters
    ----------
    root : str
        Folder of the store.
    key : str
        Record key.
    path : str
        Path of the video.
    n_rows : int
        Number of face rows.
    size : int
        Side of the crops.
    n_frames : int
        Number of decoded frames.
    frame_size : tuple of int
        ``(height, width)`` of the source frames.
    fps : float
        Frame rate.
    error : str or None
        Why the video could not be fully read.
    meta : dict, default=None
        Free-form bookkeeping, as in FaceTracks.

    See Also
    --------
    sklearn_deepfake.faces.FaceStore : Its example reads such records.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        # ``dataclasses.replace(t, crops=...)`` builds the class from every
        # FaceTracks field: give it the in-memory record it describes.
        if "crops" in kwargs and "frame_indices" in kwargs:
            return FaceTracks(**kwargs)
        return super().__new__(cls)

    def __init__(
        self,
        root: str,
        key: str,
        path: str,
        n_rows: int,
        size: int,
        n_frames: int,
        frame_size: tuple[int, int] = (0, 0),
        fps: float = 0.0,
        error: str | None = None,
        meta: dict | None = None,
    ) -> None:
        s = object.__setattr__
        s(self, "root", os.fspath(root))
        s(self, "key", key)
        s(self, "path", os.fspath(path))
        s(self, "n_rows", int(n_rows))
        s(self, "_size", int(size))
        s(self, "n_frames", int(n_frames))
        s(self, "frame_size", tuple(int(v) for v in frame_size))
        s(self, "fps", float(fps))
        s(self, "error", error)
        s(self, "meta", dict(meta or {}))

    @classmethod
    def _from_header(
        cls, root: str, key: str, path: str, header: dict
    ) -> LazyFaceTracks:
        return cls(
            root,
            key,
            path,
            n_rows=header["n_rows"],
            size=header["size"],
            n_frames=header["sections"]["frame_indices"]["shape"][0],
            frame_size=tuple(header["frame_size"]),
            fps=header["fps"],
            error=header["error"],
            meta=header.get("meta"),
        )

    def __reduce__(self) -> tuple:
        return (
            _make_lazy,
            (
                self.root,
                self.key,
                self.path,
                self.n_rows,
                self._size,
                self.n_frames,
                self.frame_size,
                self.fps,
                self.error,
                self.meta,
            ),
        )

    @property
    def record(self) -> str:
        """The record file."""
        return os.path.join(self.root, self.key[:2], self.key + RECORD_EXT)

    def _read(self, name: str, rows: Any = None) -> np.ndarray:
        record = self.record
        try:
            with open(record, "rb") as fh:
                header, start = _read_header(fh, record)
                arr = _array_from(
                    fh, record, header, start, name, rows is None, rows=rows
                )
        except FileNotFoundError:
            raise FileNotFoundError(
                f"face store record {record} of video {self.path} is gone; "
                "extract the faces again (FaceCropper with this store)."
            ) from None
        except (KeyError, TypeError, ValueError) as exc:
            if not isinstance(exc, StoreCorruptionError):
                exc = StoreCorruptionError(f"{record}: {type(exc).__name__}: {exc}")
            raise StoreCorruptionError(
                f"{exc} (video {self.path}); run the cropper again to recompute it"
            ) from None
        arr = np.asarray(arr, dtype=_ARRAYS[name])
        if arr.flags.writeable:
            arr.setflags(write=False)
        return arr

    def _stamp(self) -> tuple | None:
        """Identify the record file's current version (for the one-slot cache)."""
        try:
            st = os.stat(self.record)
        except OSError:
            return None
        return (self.record, st.st_ino, st.st_size, st.st_mtime_ns)

    def _cached_crops(self) -> np.ndarray | None:
        stamp = self._stamp()
        with _LAST_LOCK:
            if stamp is not None and _LAST_CROPS.get("stamp") == stamp:
                return _LAST_CROPS["crops"]
        return None

    def _crops(self) -> np.ndarray:
        crops = self._cached_crops()
        if crops is not None:
            return crops
        stamp = self._stamp()
        crops = self._read("crops")
        with _LAST_LOCK:
            _LAST_CROPS.clear()
            _LAST_CROPS.update(stamp=stamp, crops=crops)
        return crops

    crops = property(_crops, doc="RGB face crops (read from the store).")
    frame_indices = property(lambda self: self._read("frame_indices"))
    face_found = property(lambda self: self._read("face_found"))
    boxes = property(lambda self: self._read("boxes"))
    crop_boxes = property(lambda self: self._read("crop_boxes"))
    probs = property(lambda self: self._read("probs"))
    landmarks = property(lambda self: self._read("landmarks"))
    track_ids = property(lambda self: self._read("track_ids"))
    frame_pos = property(lambda self: self._read("frame_pos"))
    detected = property(lambda self: self._read("detected"))

    @property
    def crop_size(self) -> int:
        """Side length of the square crops in pixels (no I/O)."""
        return self._size

    def __len__(self) -> int:
        return self.n_rows

    def crops_at(self, rows: Any) -> np.ndarray:
        """Return the crops of ``rows``, reading (or decoding) only those rows."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            if rows.shape != (self.n_rows,):
                raise IndexError(
                    f"boolean rows of shape {rows.shape} for {self.n_rows} rows"
                )
            rows = np.flatnonzero(rows)
        rows = np.arange(self.n_rows)[rows.astype(np.int64)]  # bounds, negatives
        cached = self._cached_crops()
        if cached is not None:
            return cached[rows]
        record = self.record
        try:
            with open(record, "rb") as fh:
                header, start = _read_header(fh, record)
                if header["crop_format"] != "raw":
                    return _array_from(fh, record, header, start, "crops", False, rows)
                entry = header["sections"]["crops"]
                if not len(rows) or not entry["nbytes"]:
                    return np.zeros((len(rows), *entry["shape"][1:]), np.uint8)
                with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                    data = np.frombuffer(
                        mm,
                        np.uint8,
                        count=entry["nbytes"],
                        offset=start + entry["offset"],
                    ).reshape(entry["shape"])
                    out = data[rows].copy()
                    del data
                return out
        except FileNotFoundError:
            raise FileNotFoundError(
                f"face store record {record} of video {self.path} is gone."
            ) from None

    def load(self) -> FaceTracks:
        """Return the whole record in memory (every checksum verified)."""
        return _read_tracks(self.record)

    def load_without_crops(self) -> dict[str, np.ndarray]:
        """Return every array but the crops, read in one open of the record."""
        record = self.record
        with open(record, "rb") as fh:
            header, start = _read_header(fh, record)
            return {
                name: _array_from(fh, record, header, start, name, True)
                for name in _ARRAYS
                if name != "crops"
            }

    _arrays_without_crops = load_without_crops  # what FaceTracks.select reads

    def __repr__(self) -> str:
        return _record_repr(
            "LazyFaceTracks",
            self,
            f"n_rows={self.n_rows}, n_frames={self.n_frames}, "
            f"crop_size={self._size}, key={self.key[:10]!r}",
        )


def _make_lazy(*args: Any) -> LazyFaceTracks:
    return LazyFaceTracks(*args)
