"""On-disk cache of face tracks, one file per (video, extraction parameters).

Face extraction is deterministic and is the expensive step, so
:class:`~sklearn_deepfake.faces.FaceCropper` can keep its output on disk:
every cross-validation fold, every later ``fit`` with other classifier
parameters and a rerun after an interruption read the tracks back instead of
decoding the video again.

The key of a video is a hash of its identity (resolved path, size in bytes,
modification time in nanoseconds), the frames its plan asks for, the
parameters that change the tracks, and a format version. Each record is
written to a temporary file in the cache folder and renamed into place, so a
run killed mid-write leaves no partial record behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from typing import Any

import numpy as np

from sklearn_deepfake.utils._ragged import FaceTracks, FramePlan

#: Bump when the stored layout or the extraction algorithm changes.
CACHE_VERSION = 1

_ARRAYS = (
    "frame_indices",
    "face_found",
    "crops",
    "boxes",
    "crop_boxes",
    "probs",
    "landmarks",
    "track_ids",
    "frame_pos",
    "detected",
)


def file_identity(path: str) -> dict:
    """Identity of a file: resolved path, size and modification time."""
    st = os.stat(path)
    return {
        "path": os.path.realpath(path),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
    }


def cache_key(plan: FramePlan, params: dict) -> str:
    """Hex digest naming the cached tracks of ``plan`` under ``params``."""
    blob = json.dumps(
        {
            "version": CACHE_VERSION,
            "file": file_identity(plan.path),
            "indices": hashlib.sha1(plan.indices.tobytes()).hexdigest(),
            "params": params,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha1(blob.encode()).hexdigest()


def cache_file(cache_dir: str | os.PathLike, key: str) -> str:
    """Path of a record; two-level fan-out keeps folders small."""
    return os.path.join(os.fspath(cache_dir), key[:2], key + ".npz")


def save_tracks(path: str, tracks: FaceTracks) -> None:
    """Write ``tracks`` to ``path`` atomically (temporary file, then rename)."""
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    meta = {
        "path": tracks.path,
        "frame_size": list(tracks.frame_size),
        "fps": tracks.fps,
        "error": tracks.error,
    }
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(
                fh,
                meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
                **{name: getattr(tracks, name) for name in _ARRAYS},
            )
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_tracks(path: str) -> FaceTracks | None:
    """Read a record; ``None`` when it is absent or unreadable (recomputed)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(data["meta"].tobytes().decode())
            arrays: dict[str, Any] = {name: data[name] for name in _ARRAYS}
    except (OSError, ValueError, KeyError, EOFError):
        return None
    return FaceTracks(
        path=meta["path"],
        frame_size=tuple(meta["frame_size"]),
        fps=meta["fps"],
        error=meta["error"],
        **arrays,
    )
