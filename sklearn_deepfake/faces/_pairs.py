"""Pair-aware face extraction: detect on each original, reuse its boxes on its fakes.

In DFDC every fake was rendered from one original video (its ``original`` in
``metadata.json``) and differs from it only inside the face region: the
frames, the camera and the head positions are the same. Detecting the faces
of an original once and cutting every fake made from it with the same crop
boxes, at the same frame indices, gives pixel-aligned (fake, original) crop
pairs (for difference masks and pair mixup) and skips face detection on most
of a training set (DFDC has about five fakes per original).
"""

from __future__ import annotations

import copy
import dataclasses
import os
import warnings
from functools import partial
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from sklearn_deepfake.exceptions import VideoReadError, VideoReadWarning
from sklearn_deepfake.faces._geometry import crop_square as _crop
from sklearn_deepfake.faces._store import _file_id
from sklearn_deepfake.utils._checks import join_some
from sklearn_deepfake.utils._parallel import map_videos
from sklearn_deepfake.utils._ragged import FaceTracks, FramePlan, check_per_video

__all__ = ["extract_pairs", "originals_from_metadata", "pair_partners"]

#: ``FaceTracks.meta`` key holding the path of the original whose boxes cut
#: a fake's crops (set only on records cut that way).
PAIR_KEY = "original"


def _norm(path: str) -> str:
    return os.path.normcase(os.path.realpath(os.fspath(path)))


def _resolve_original(original: Any, fake_path: str) -> str | None:
    """Path of a fake's original: as given, or beside the fake (DFDC names)."""
    if original is None or (isinstance(original, float) and np.isnan(original)):
        return None
    original = os.fspath(original)
    if not original:
        return None
    if os.path.isabs(original) or os.path.exists(original):
        return original
    return os.path.join(os.path.dirname(fake_path), original)


def _as_plans(X: Any) -> list[FramePlan]:
    X = check_per_video(X, kind=(FramePlan, str))
    if any(isinstance(x, str) for x in X):
        from sklearn_deepfake.video import FrameSampler

        paths = [x for x in X if isinstance(x, str)]
        plans = iter(FrameSampler().fit_transform(paths))
        X = [x if isinstance(x, FramePlan) else next(plans) for x in X]
    return list(X)


def extract_pairs(
    cropper: BaseEstimator,
    X: Any,
    originals: Any,
) -> list[FaceTracks]:
    """Extract face tracks, detecting faces on originals only.

    Videos whose entry of ``originals`` is empty (the real ones) go through
    ``cropper`` as usual. Every other video (a fake) is cut with the tracks
    of its original: the same frame indices, the same crop boxes, the same
    detector boxes, probabilities, landmarks and track ids; only its crops
    are its own. Face detection, most of the cost of extraction, then runs
    once per original instead of once per video, and each fake's crops are
    pixel-aligned with its original's (the pairs that
    :class:`~sklearn_deepfake.nets.FaceCNNClassifier`'s
    ``part_erasure="diff"`` and ``pair_mixup`` use). The fake's record names
    its original in ``meta["original"]``.

    An original that is not among ``X`` but exists on disk is extracted too
    (and not returned). A fake whose original cannot be found, or could not
    be read, has no face, or has another frame size, gets its own detection,
    with a warning naming it.

    Parameters
    ----------
    cropper : FaceCropper
        The extraction settings. Its ``cache_dir`` (face store), ``n_jobs``
        and ``scheduler`` are used for both passes; a fake's stored record
        is keyed by its own content, its frames, the cropper's parameters
        and its original's content. An unfitted cropper is cloned and
        fitted; a fitted one is used as is.
    X : list of str or FramePlan
        The videos, one per element (paths are sampled with
        ``FrameSampler()``'s defaults).
    originals : list of (str or None)
        For each video, the path of its original, or its file name in the
        same folder (as DFDC's ``metadata.json`` gives it); None or ``""``
        for a video that is its own source (a real one).

    Returns
    -------
    tracks : list of FaceTracks
        One record per video, in input order.

    See Also
    --------
    sklearn_deepfake.faces.FaceCropper : Per-video extraction.
    sklearn_deepfake.datasets.load_dfdc : Gives ``frame["original"]``.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn_deepfake.datasets import load_dfdc, make_dfdc_folder
    >>> from sklearn_deepfake.faces import FaceCropper, extract_pairs
    >>> root = tempfile.mkdtemp()
    >>> _ = make_dfdc_folder(root, n_originals=1, fakes_per_original=2,
    ...                      n_test=0, n_frames=4, random_state=0)
    >>> data = load_dfdc(root)
    >>> tracks = extract_pairs(FaceCropper(size=32, device="cpu"), data.paths,
    ...                        data.frame["original"].tolist())
    >>> real = int(np.flatnonzero(data.target == 0)[0])
    >>> fake = int(np.flatnonzero(data.target == 1)[0])
    >>> bool((tracks[fake].crop_boxes == tracks[real].crop_boxes).all())
    True
    >>> tracks[fake].meta["original"] == data.paths[real]
    True
    """
    try:
        check_is_fitted(cropper)
    except NotFittedError:
        cropper = clone(cropper).fit()
    if getattr(cropper, "pairs", None) is not None:  # pairing is done here
        cropper = copy.copy(cropper)
        cropper.pairs = None
    plans = _as_plans(X)
    originals = list(originals)
    if len(originals) != len(plans):
        raise ValueError(
            f"originals has {len(originals)} entries for {len(plans)} videos; "
            "give one per video (None for a real one)."
        )
    where = {_norm(p.path): i for i, p in enumerate(plans)}
    # sources: the plans that get a detection (reals, extra originals, orphans)
    sources: list[FramePlan] = []
    source_of: dict[str, int] = {}
    fakes: list[tuple[int, str]] = []  # (video, original path)
    missing: list[str] = []

    def add_source(plan: FramePlan) -> int:
        key = _norm(plan.path)
        if key not in source_of:
            source_of[key] = len(sources)
            sources.append(plan)
        return source_of[key]

    for i, plan in enumerate(plans):
        orig = _resolve_original(originals[i], plan.path)
        if orig is None or _norm(orig) == _norm(plan.path):
            add_source(plan)
        elif _norm(orig) in where:
            fakes.append((i, orig))
        elif os.path.isfile(orig):
            add_source(dataclasses.replace(plan, path=os.fspath(orig)))
            fakes.append((i, orig))
        else:
            missing.append(plan.path)
            add_source(plan)
    for _, orig in fakes:
        if _norm(orig) in where:
            add_source(plans[where[_norm(orig)]])
    if missing:
        shown = join_some(missing)
        warnings.warn(
            f"{len(missing)} fake video(s) have no original on disk or in X, so "
            f"their faces are detected on their own: {shown}",
            UserWarning,
            stacklevel=2,
        )
    source_tracks = cropper.transform(sources)
    out: list[FaceTracks | None] = [None] * len(plans)
    for plan, tracks in zip(sources, source_tracks):
        if _norm(plan.path) in where:
            out[where[_norm(plan.path)]] = tracks
    if fakes:
        jobs = [
            (plans[i], source_tracks[source_of[_norm(orig)]], os.fspath(orig))
            for i, orig in fakes
        ]
        worker = _copy_without_scheduler(cropper)
        cut = map_videos(
            partial(_cut_fake_safe, worker),
            jobs,
            n_jobs=cropper.n_jobs,
            verbose=cropper.verbose,
            desc="pairs",
            scheduler=cropper.scheduler,
        )
        for (i, _), tracks in zip(fakes, cut):
            out[i] = tracks
    return out  # type: ignore[return-value]


def _copy_without_scheduler(cropper: BaseEstimator) -> BaseEstimator:
    """Return a shallow copy of ``cropper`` that pickles (no dask client)."""
    worker = copy.copy(cropper)
    worker.scheduler = None
    return worker


def _cut_fake_safe(
    cropper: BaseEstimator, job: tuple[FramePlan, FaceTracks, str]
) -> FaceTracks:
    """Cut one fake with its original's tracks, or detect on it as a fallback."""
    plan, source, original = job
    reason = None
    if source.error is not None or not len(source):
        reason = "its original has no face track" + (
            f" ({source.error})" if source.error else ""
        )
    else:
        try:
            return _cut_fake_cached(cropper, plan, source, original)
        except _NotAligned as exc:
            reason = str(exc)
        except Exception as exc:  # a decoder failure on this one file
            reason = f"{type(exc).__name__}: {exc}"
    warnings.warn(
        f"{plan.path}: not cut with the boxes of its original {original} "
        f"({reason}); its faces are detected on their own.",
        UserWarning,
        stacklevel=2,
    )
    return cropper._crop_safe(plan)


class _NotAligned(ValueError):
    """A fake that cannot share its original's boxes (other frame size)."""


def _cut_fake_cached(
    cropper: BaseEstimator, plan: FramePlan, source: FaceTracks, original: str
) -> FaceTracks:
    store = cropper._face_store()
    if store is None:
        return _cut_fake(cropper, plan, source, original)
    params = {
        **cropper._store_params(),
        "pair_source": _file_id(original).content,
        "pair_frames": np.asarray(source.frame_indices).tolist(),
    }
    tracks = store.get(plan.path, plan.indices, params)
    if tracks is not None:
        return _with_original(tracks, original)
    tracks = _cut_fake(cropper, plan, source, original)
    if tracks.error is not None:
        return tracks
    try:
        return store.put(plan.path, plan.indices, params, tracks)
    except OSError as exc:
        warnings.warn(
            f"{plan.path}: its faces could not be written to the face store "
            f"{store.root} ({type(exc).__name__}: {exc}); they are kept in memory.",
            UserWarning,
            stacklevel=2,
        )
        return tracks


def _with_original(tracks: FaceTracks, original: str) -> FaceTracks:
    """Return ``tracks`` with ``meta`` naming the original's current path."""
    if tracks.meta.get(PAIR_KEY) == os.fspath(original):
        return tracks
    from sklearn_deepfake.faces._store import LazyFaceTracks

    meta = {**tracks.meta, PAIR_KEY: os.fspath(original)}
    if isinstance(tracks, LazyFaceTracks):
        return LazyFaceTracks(
            tracks.root,
            tracks.key,
            tracks.path,
            n_rows=len(tracks),
            size=tracks.crop_size,
            n_frames=tracks.n_frames,
            frame_size=tracks.frame_size,
            fps=tracks.fps,
            error=tracks.error,
            meta=meta,
        )
    return dataclasses.replace(tracks, meta=meta)


def _cut_fake(
    cropper: BaseEstimator, plan: FramePlan, source: FaceTracks, original: str
) -> FaceTracks:
    """Decode the fake at the original's frames and cut the original's boxes."""
    from sklearn_deepfake.video import iter_frames

    size = int(cropper.size)
    if plan.error is not None:
        raise VideoReadError(plan.error)
    src_h, src_w = (int(v) for v in source.frame_size)
    if plan.height and plan.width and (plan.height, plan.width) != (src_h, src_w):
        raise _NotAligned(
            f"frame size {plan.width}x{plan.height}, its original's {src_w}x{src_h}"
        )
    wanted = np.asarray(source.frame_indices, dtype=np.int64)
    frames: dict[int, np.ndarray] = {}
    error = None
    try:
        for idx, frame in iter_frames(
            plan.path, wanted, backend=cropper.backend, max_size=cropper.max_size
        ):
            frames[int(idx)] = frame
    except (VideoReadError, OSError, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"
        warnings.warn(
            f"{plan.path}: decoding stopped after {len(frames)} of {len(wanted)} "
            f"frames ({error}); only the rows of the frames that decoded are cut.",
            VideoReadWarning,
            stacklevel=3,
        )
    if not frames:
        raise VideoReadError(error or "no frame could be decoded")
    read = np.array([i for i in wanted if int(i) in frames], dtype=np.int64)
    position = {int(idx): k for k, idx in enumerate(read)}
    rows = np.array([int(wanted[p]) in frames for p in source.frame_pos], dtype=bool)
    boxes = np.asarray(source.crop_boxes)[rows]
    frame_pos = np.array(
        [position[int(wanted[p])] for p in np.asarray(source.frame_pos)[rows]],
        dtype=np.int64,
    )
    crops = np.zeros((len(boxes), size, size, 3), np.uint8)
    for k, (box, p) in enumerate(zip(boxes, frame_pos)):
        frame = frames[int(read[p])]
        to_src = src_h / frame.shape[0]
        crops[k] = _crop(frame, box / to_src, size)
    found = np.zeros(len(read), dtype=bool)
    found[frame_pos] = True
    return FaceTracks(
        path=plan.path,
        frame_indices=read,
        face_found=found,
        crops=crops,
        boxes=np.asarray(source.boxes)[rows],
        crop_boxes=boxes,
        probs=np.asarray(source.probs)[rows],
        landmarks=np.asarray(source.landmarks)[rows],
        track_ids=np.asarray(source.track_ids)[rows],
        frame_pos=frame_pos,
        detected=np.asarray(source.detected)[rows],
        frame_size=(src_h, src_w),
        fps=plan.fps or source.fps,
        error=error,
        meta={PAIR_KEY: os.fspath(original)},
    )


def originals_from_metadata(X: Any) -> list[str | None]:
    """Path of each video's original, from the ``metadata.json`` beside it.

    Parameters
    ----------
    X : list of str or FramePlan
        The videos.

    Returns
    -------
    originals : list of (str or None)
        None for a video that its folder's ``metadata.json`` does not list
        with an ``original`` (or when there is no such file, or it cannot be
        read).

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn_deepfake.datasets import make_dfdc_folder
    >>> from sklearn_deepfake.faces import originals_from_metadata
    >>> info = make_dfdc_folder(tempfile.mkdtemp(), n_originals=1, n_test=0,
    ...                         n_frames=2, random_state=0)
    >>> found = originals_from_metadata(info.train_paths)
    >>> found == info.train_originals, sum(o is not None for o in found)
    (True, 1)
    """
    import json

    tables: dict[str, dict] = {}
    out: list[str | None] = []
    for x in check_per_video(X, kind=(FramePlan, str)):
        path = x.path if isinstance(x, FramePlan) else x
        folder = os.path.dirname(os.fspath(path))
        if folder not in tables:
            try:
                with open(
                    os.path.join(folder, "metadata.json"), encoding="utf-8-sig"
                ) as fh:
                    table = json.load(fh)
            except (OSError, ValueError):
                table = {}
            tables[folder] = table if isinstance(table, dict) else {}
        entry = tables[folder].get(os.path.basename(path))
        original = entry.get("original") if isinstance(entry, dict) else None
        out.append(
            os.path.join(folder, original)
            if isinstance(original, str) and original
            else None
        )
    return out


def pair_partners(tracks: Any) -> np.ndarray:
    """Index of each record's original among ``tracks`` (-1 when it has none).

    A record is paired when its ``meta["original"]`` (set by
    :func:`extract_pairs`) names another record of the list: by its path,
    else by its file name when that is unique in the list.

    Parameters
    ----------
    tracks : list of FaceTracks
        One record per video.

    Returns
    -------
    partners : ndarray of int64, shape (n_videos,)

    Examples
    --------
    >>> from sklearn_deepfake.faces import pair_partners
    >>> from sklearn_deepfake.utils._testing import make_tiny_face_tracks
    >>> import dataclasses
    >>> a, b = make_tiny_face_tracks(2, size=16, empty=())
    >>> b = dataclasses.replace(b, meta={"original": a.path})
    >>> pair_partners([a, b]).tolist()
    [-1, 0]
    """
    tracks = list(tracks)
    by_path = {_norm(t.path): i for i, t in enumerate(tracks)}
    names: dict[str, list[int]] = {}
    for i, t in enumerate(tracks):
        names.setdefault(os.path.basename(t.path), []).append(i)
    out = np.full(len(tracks), -1, dtype=np.int64)
    for i, t in enumerate(tracks):
        original = (getattr(t, "meta", None) or {}).get(PAIR_KEY)
        if not original:
            continue
        j = by_path.get(_norm(original))
        if j is None:
            same = names.get(os.path.basename(original), [])
            j = same[0] if len(same) == 1 else None
        if j is not None and j != i:
            out[i] = j
    return out
