"""FaceCropper: decode sampled frames, detect faces with MTCNN, cut face tracks."""

from __future__ import annotations

import copy
import os
import queue
import threading
import warnings
from itertools import pairwise
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from sklearn_deepfake.exceptions import NoFaceWarning, VideoReadError, VideoReadWarning
from sklearn_deepfake.faces._detector import (
    Detections,
    detect_faces,
    detect_near,
    get_mtcnn,
    resolve_detect_scale,
)
from sklearn_deepfake.faces._geometry import crop_square as _crop
from sklearn_deepfake.faces._store import FaceStore
from sklearn_deepfake.faces._tracking import (
    TrackRows,
    fill_track,
    iou,
    link_tracks,
    same_faces,
    smooth_boxes,
)
from sklearn_deepfake.utils._device import resolve_device
from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._parallel import check_scheduler, map_videos
from sklearn_deepfake.utils._param_validation import (
    HasMethods,
    Integral,
    Interval,
    ParamsValidationMixin,
    Real,
    StrOptions,
)
from sklearn_deepfake.utils._ragged import (
    _STEP_DOCS,
    FaceTracks,
    FramePlan,
    check_per_video,
)


class FaceCropper(ParamsValidationMixin, TransformerMixin, BaseEstimator):
    """Detect faces with MTCNN and return the face tracks of each video.

    For each video, the frames of its :class:`~sklearn_deepfake.utils.FramePlan`
    are decoded in one forward pass, MTCNN (facenet-pytorch, weights shipped
    in its wheel) runs on downscaled copies of every ``detect_every``-th of
    them, and the detections are linked into tracks by box overlap. Frames
    between two detector calls that found the same faces get interpolated
    boxes; where the faces disagree (one appeared, one vanished, a box
    jumped), the detector runs on every frame in between, so tracking never
    invents a face. Crops are cut from the full-resolution frames.

    Only one video's decoded frames are held in memory at a time.

    Parameters
    ----------
    size : int, default=224
        Side length in pixels of each square face crop.
    margin : float, default=0.3
        Context added around the face box: each side of the square crop is
        ``(1 + 2 * margin)`` times the box's longer side.
    clip_box : {"frame", "track"}, default="frame"
        ``"frame"`` cuts each frame around that frame's (smoothed) box.
        ``"track"`` cuts every frame of a track with one square box that
        covers the face over the whole clip, so that the face moves inside a
        still window (clips for 3-D CNNs, as the 5th-place DFDC solution did).
    max_faces : int, default=2
        Keep at most this many tracks per video, best first (score: fraction
        of frames present x mean probability x mean box side).
    min_face_size : float, default=40
        Smallest face, in source pixels (shorter box side), to keep. The
        whole-frame search also needs a face of at least 20 px in the
        downscaled frame it sees (60 px of a 1080p frame at the automatic
        scale); a video in which it finds no face at all is searched again at
        twice the scale, and then, if its frames are small, for faces down to
        a twelfth of the frame's shorter side (20 px in a 240p video), so that
        a low-resolution copy of a clip keeps its faces.
    min_confidence : float, default=0.7
        Detections with a lower MTCNN probability are dropped. Faces in
        compressed 1080p DFDC frames score 0.70-0.98, so do not raise it much;
        spurious detections are removed by ``min_track_fraction`` instead.
    thresholds : tuple of 3 float, default=(0.6, 0.7, 0.7)
        MTCNN's P-net, R-net and O-net thresholds.
    detect_scale : float or "auto", default="auto"
        Factor applied to frames before detection. ``"auto"`` shrinks them so
        that the shorter side is 360 px (a third of 1080p); when no face is
        found on any detector frame at that scale, they are tried again at
        twice the scale, so a video of small faces is not lost. Once faces
        are found, later whole-frame searches of the video shrink frames
        further, until the smallest face found is 40 px (faces half its size
        are still detected): large faces in small videos cost far less.
    detect_every : int, default=4
        Run the detector on every ``detect_every``-th decoded frame (and the
        last one); frames in between are tracked. ``1`` detects on all frames.
        A face the detector missed on frames between two detections of it (at
        most ``2 * detect_every`` frames apart) is interpolated there too.
    full_every : int, default=4
        Every ``full_every``-th detector frame searches the whole (downscaled)
        frame, which finds faces that appear; the detector frames in between
        search only around the faces already found (three face-widths, at a
        resolution where the face is 100 px), which costs a fraction of a
        whole-frame call. When a known face is not found there, the whole
        frame is searched. ``1`` searches the whole frame every time; on
        CUDA the whole frame is always searched (in one batch).
    iou_threshold : float, default=0.3
        Box overlap that links two detections into one track.
    smooth : int, default=3
        Window (in rows) of the moving average applied to crop boxes, so that
        crops do not jitter. ``1`` switches smoothing off.
    min_track_fraction : float, default=0.25
        Tracks detected on fewer than this fraction of the detector calls are
        dropped as spurious (unless no track passes).
    backend : {"auto", "pyav", "opencv"}, default="auto"
        Video decoding backend, see :func:`~sklearn_deepfake.video.iter_frames`.
    max_size : int or None, default=1920
        Frames with a longer side above this are downscaled while decoding
        (caps memory for 4K video); boxes are still reported in source pixels.
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        Device for MTCNN. ``"auto"`` picks CUDA when available. On CUDA the
        detector frames of a video are sent in one batch.
    cache_dir : str, path-like or FaceStore, default=None
        The face store (a folder, or a
        :class:`~sklearn_deepfake.faces.FaceStore` that also sets the crop
        format). When given, each video's tracks are stored there, keyed by
        the file's content (not its path: a moved or renamed dataset keeps
        its records), the planned frames and the parameters that change the
        tracks, and read back on the next call instead of decoding the video
        again: all folds of a cross-validation, later fits with other
        classifier parameters and a rerun after an interruption share them.
        ``transform`` then returns
        :class:`~sklearn_deepfake.faces.LazyFaceTracks`, which hold a few
        hundred bytes and read their arrays from the store on access.
        Records are written atomically; a corrupt one is named in a warning
        and recomputed. Videos that failed to decode are not stored. See
        :ref:`user_guide_cache`.
    n_jobs : int or None, default=None
        Videos processed in parallel with :class:`joblib.Parallel` (each
        worker uses one torch thread). ``None`` means 1 unless in a
        :func:`joblib.parallel_config` context. Ignored when ``scheduler``
        is given.
    scheduler : None, str, int or distributed.Client, default=None
        Run the videos as tasks on a dask.distributed cluster instead of
        joblib: a scheduler address (``"tcp://HOST:8786"``), an existing
        :class:`distributed.Client`, or a number ``N`` (or ``"local:N"``) of
        local worker processes with one thread each, started and closed by
        each :meth:`transform`. Each video is one task with a key derived
        from the video and the parameters; a worker that dies has its videos
        re-run on the others. Workers write into ``cache_dir``, which must
        then be on storage that every worker and the caller see; warnings
        raised on the workers are emitted again in the caller. Needs
        ``pip install "sklearn-deepfake[dask]"``.

        .. versionadded:: 0.1
    pairs : {"metadata"} or None, default=None
        ``"metadata"``: pair-aware extraction of DFDC-layout folders. A
        video listed in the ``metadata.json`` of its folder with an
        ``original`` that exists beside it is cut with that original's
        tracks (same frames, same crop boxes; no face detection on it), as
        :func:`~sklearn_deepfake.faces.extract_pairs` does; the original is
        extracted as well when it is not among ``X``. Videos without such an
        entry (test videos, reals) are extracted on their own. None: every
        video on its own.

        .. versionadded:: 0.2
    verbose : int, default=0
        ``> 0`` shows a progress bar.

    Attributes
    ----------
    device_ : torch.device
        The device resolved in :meth:`fit`.

    See Also
    --------
    sklearn_deepfake.video.FrameSampler : Produces the frame plans consumed here.

    Notes
    -----
    A video that cannot be decoded, or in which no face is found, gets a
    :class:`~sklearn_deepfake.utils.FaceTracks` record with zero rows and a
    warning naming the file; it is never dropped. A file that breaks off
    mid-stream keeps the faces of the frames that decoded, with a warning.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_deepfake.datasets import make_face_videos
    >>> from sklearn_deepfake.video import FrameSampler
    >>> from sklearn_deepfake.faces import FaceCropper
    >>> paths = make_face_videos(n_videos=2, n_frames=8, random_state=0).paths
    >>> steps = make_pipeline(FrameSampler(n_frames=4), FaceCropper(size=64))
    >>> tracks = steps.fit_transform(paths)
    >>> len(tracks), tracks[0].crops.shape
    (2, (4, 64, 64, 3))
    """

    def __init__(
        self,
        size: int = 224,
        *,
        margin: float = 0.3,
        clip_box: str = "frame",
        max_faces: int = 2,
        min_face_size: float = 40,
        min_confidence: float = 0.7,
        thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
        detect_scale: float | str = "auto",
        detect_every: int = 4,
        full_every: int = 4,
        iou_threshold: float = 0.3,
        smooth: int = 3,
        min_track_fraction: float = 0.25,
        backend: str = "auto",
        max_size: int | None = 1920,
        device: Any = "auto",
        cache_dir: str | os.PathLike | None = None,
        n_jobs: int | None = None,
        scheduler: Any = None,
        pairs: str | None = None,
        verbose: int = 0,
    ) -> None:
        self.size = size
        self.margin = margin
        self.clip_box = clip_box
        self.max_faces = max_faces
        self.min_face_size = min_face_size
        self.min_confidence = min_confidence
        self.thresholds = thresholds
        self.detect_scale = detect_scale
        self.detect_every = detect_every
        self.full_every = full_every
        self.iou_threshold = iou_threshold
        self.smooth = smooth
        self.min_track_fraction = min_track_fraction
        self.backend = backend
        self.max_size = max_size
        self.device = device
        self.cache_dir = cache_dir
        self.n_jobs = n_jobs
        self.scheduler = scheduler
        self.pairs = pairs
        self.verbose = verbose

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "size": [Interval(Integral, 8, None, closed="left")],
        "margin": [Interval(Real, 0, None, closed="left")],
        "clip_box": [StrOptions({"frame", "track"})],
        "max_faces": [Interval(Integral, 1, None, closed="left")],
        "min_face_size": [Interval(Real, 0, None, closed="left")],
        "min_confidence": [Interval(Real, 0, 1, closed="both")],
        "thresholds": ["array-like"],
        "detect_scale": [Interval(Real, 0, 1, closed="right"), StrOptions({"auto"})],
        "detect_every": [Interval(Integral, 1, None, closed="left")],
        "full_every": [Interval(Integral, 1, None, closed="left")],
        "iou_threshold": [Interval(Real, 0, 1, closed="right")],
        "smooth": [Interval(Integral, 1, None, closed="left")],
        "min_track_fraction": [Interval(Real, 0, 1, closed="both")],
        "backend": [StrOptions({"auto", "pyav", "opencv"})],
        "max_size": [Interval(Integral, 64, None, closed="left"), None],
        # a str or a torch.device, checked by resolve_device in fit (torch is
        # not imported before then)
        "device": "no_validation",
        "cache_dir": [str, os.PathLike, FaceStore, None],
        "n_jobs": [Integral, None],
        "scheduler": [
            Interval(Integral, 1, None, closed="left"),
            str,
            HasMethods(["submit"]),
            None,
        ],
        "pairs": [StrOptions({"metadata"}), None],
        "verbose": ["verbose"],
    }

    def _check_params(self) -> None:
        thresholds = tuple(self.thresholds)
        if len(thresholds) != 3 or not all(0 <= float(t) <= 1 for t in thresholds):
            raise ValueError(
                f"thresholds must be 3 floats in [0, 1], got {self.thresholds!r}."
            )
        check_scheduler(self.scheduler)

    @classmethod
    def _get_test_params(cls) -> dict[str, Any]:
        """Cheap constructor arguments for the common tests."""
        return {"size": 32, "device": "cpu", "n_jobs": 1}

    @classmethod
    def _search_space(cls, trial: Any, prefix: str) -> dict[str, Any]:
        """Default Optuna space: crop margin and size."""
        margin, size = f"{prefix}margin", f"{prefix}size"
        return {
            margin: trial.suggest_float(margin, 0.1, 0.5, step=0.1),
            size: trial.suggest_categorical(size, [64, 128, 224]),
        }

    # ------------------------------------------------------------------ API
    @fill_doc(_STEP_DOCS)
    def fit(self, X: Any = None, y: Any = None) -> FaceCropper:
        """Validate the parameters and resolve the device.

        Parameters
        ----------
        X : list of FramePlan or str, default=None
            Ignored.
        %(fit_y_returns)s
        """
        self._validate_params()
        self.device_ = resolve_device(self.device)
        return self

    def transform(self, X: Any) -> list[FaceTracks]:
        """Return the face tracks of each video.

        Parameters
        ----------
        X : list of FramePlan or str
            Frame plans from :class:`~sklearn_deepfake.video.FrameSampler`,
            or video paths (sampled with ``FrameSampler()``'s defaults).

        Returns
        -------
        tracks : list of FaceTracks
            One record per video, in input order.
        """
        check_is_fitted(self)
        X = check_per_video(X, kind=(FramePlan, str))
        if any(isinstance(x, str) for x in X):
            from sklearn_deepfake.video import FrameSampler

            paths = [x for x in X if isinstance(x, str)]
            plans = iter(FrameSampler().fit_transform(paths))
            X = [x if isinstance(x, FramePlan) else next(plans) for x in X]
        if self.pairs == "metadata":
            from sklearn_deepfake.faces._pairs import (
                extract_pairs,
                originals_from_metadata,
            )

            single = copy.copy(self)
            single.pairs = None
            return extract_pairs(single, X, originals_from_metadata(X))
        cropper = self
        if self.scheduler is not None:  # workers get a cropper without it
            cropper = copy.copy(self)  # (a distributed.Client does not pickle)
            cropper.scheduler = None
        return map_videos(
            cropper._crop_safe,
            X,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
            desc="faces",
            scheduler=self.scheduler,
        )

    def __setstate__(self, state: dict) -> None:
        # croppers pickled before ``scheduler`` or ``pairs`` existed
        state.setdefault("scheduler", None)
        state.setdefault("pairs", None)
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = []
        tags.non_deterministic = False
        return tags

    # ------------------------------------------------------------ internals
    def _crop_safe(self, plan: FramePlan) -> FaceTracks:
        """Never let one video end a batch: any failure gives a flagged record."""
        try:
            return self._crop_cached(plan)
        except Exception as exc:  # a decoder or detector failure on one file
            error = f"{type(exc).__name__}: {exc}"
            warnings.warn(
                f"{plan.path}: face extraction failed ({error}); the video gets "
                "an empty face track.",
                VideoReadWarning,
                stacklevel=2,
            )
            return FaceTracks.empty(
                plan.path, int(self.size), fps=plan.fps, error=error
            )

    def _face_store(self) -> FaceStore | None:
        """Return the store named by ``cache_dir`` (``None`` without one)."""
        if self.cache_dir is None or isinstance(self.cache_dir, FaceStore):
            return self.cache_dir
        return FaceStore(self.cache_dir)

    def _store_params(self) -> dict:
        """Return the parameters that change the tracks (part of the record key)."""
        skip = {"cache_dir", "n_jobs", "verbose", "device", "scheduler", "pairs"}
        return {k: v for k, v in self.get_params().items() if k not in skip}

    def _crop_cached(self, plan: FramePlan) -> FaceTracks:
        """Read the tracks of ``plan`` from the store, or extract and store them."""
        store = self._face_store()
        if store is None or plan.error is not None:
            return self._crop_one(plan)
        params = self._store_params()
        tracks = store.get(plan.path, plan.indices, params)
        if tracks is not None:
            if not len(tracks):
                _warn_no_face(plan.path, tracks.n_frames)
            return tracks
        tracks = self._crop_one(plan)
        if tracks.error is not None:
            return tracks
        try:
            return store.put(plan.path, plan.indices, params, tracks)
        except OSError as exc:  # a full or read-only store: keep the faces
            warnings.warn(
                f"{plan.path}: its faces could not be written to the face store "
                f"{store.root} ({type(exc).__name__}: {exc}); they are kept in "
                "memory.",
                UserWarning,
                stacklevel=2,
            )
            return tracks

    def _crop_one(self, plan: FramePlan) -> FaceTracks:
        """Decode, detect, track and crop one video (the per-video unit of work).

        On the CPU, MTCNN runs with one torch thread: its hundreds of tiny
        operations gain nothing from a second thread, and when the cores are
        shared (decoding in the prefetch thread, other processes) every
        operation's thread barrier waits for a descheduled thread.
        """
        if self.device_.type != "cpu":
            return self._crop_one_threaded(plan)
        from sklearn_deepfake.utils._device import torch_threads

        with torch_threads(1):
            return self._crop_one_threaded(plan)

    def _crop_one_threaded(self, plan: FramePlan) -> FaceTracks:
        from sklearn_deepfake.video import iter_frames

        size = int(self.size)
        if plan.error is not None:
            return FaceTracks.empty(plan.path, size, fps=plan.fps, error=plan.error)
        net = get_mtcnn(self.device_)
        step = int(self.detect_every)
        stream = self.device_.type != "cuda"  # on GPU, one batch per video
        frames: list[np.ndarray] = []
        read: list[int] = []
        coarse: dict[int, Detections] = {}
        error = None
        scale = 1.0
        try:
            # Decoding runs in a thread (PyAV and torch both release the GIL):
            # MTCNN works on frame k while frame k + 1 is being decoded.
            frames_iter = iter_frames(
                plan.path, plan.indices, backend=self.backend, max_size=self.max_size
            )
            if _PREFETCH:
                frames_iter = _prefetch(frames_iter)
            for idx, frame in frames_iter:
                if not frames:
                    scale = resolve_detect_scale(self.detect_scale, frame.shape)
                read.append(idx)
                frames.append(frame)
                pos = len(frames) - 1
                if stream and pos % step == 0:
                    coarse[pos] = self._detect_tracked(net, frames, pos, scale, coarse)
                    if self.detect_scale == "auto" and len(coarse[pos]):
                        scale = _shrink_to_faces(scale, coarse[pos])
        except (VideoReadError, OSError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
            warnings.warn(
                f"{plan.path}: decoding stopped after {len(frames)} of "
                f"{len(plan.indices)} wanted frames ({error}); "
                "faces are taken from the frames that decoded.",
                VideoReadWarning,
                stacklevel=2,
            )
        src_hw = (plan.height, plan.width)
        if not frames:
            return FaceTracks.empty(
                plan.path,
                size,
                frame_size=src_hw,
                fps=plan.fps,
                error=error or "no frame could be decoded",
            )
        frame_hw = frames[0].shape[:2]
        if not plan.height or not plan.width:
            src_hw = frame_hw
        # Boxes are reported in source pixels; frames may have been shrunk.
        to_src = src_hw[0] / frame_hw[0]
        wanted = sorted(set(range(0, len(frames), step)) | {len(frames) - 1})
        todo = [p for p in wanted if p not in coarse]
        coarse.update(self._detect(net, frames, todo, scale))
        rows = self._track_faces(net, frames, coarse, scale, to_src)
        if not rows:
            _warn_no_face(plan.path, len(frames))
            return FaceTracks.empty(
                plan.path,
                size,
                frame_indices=read,
                frame_size=src_hw,
                fps=plan.fps,
                error=error,
            )
        return self._cut(plan, frames, read, rows, src_hw, to_src, error)

    def _detector_kw(self, min_face_size: float | None = None) -> dict:
        """Return the detection settings shared by whole-frame and local searches.

        ``min_face_size`` overrides the parameter of the same name (the
        second search of a face-less low-resolution video).
        """
        return {
            "min_face_size": (
                self.min_face_size if min_face_size is None else min_face_size
            ),
            "thresholds": tuple(float(t) for t in self.thresholds),
            "min_confidence": float(self.min_confidence),
        }

    def _detect(
        self,
        net: Any,
        frames: list[np.ndarray],
        pos: list[int],
        scale: float,
        min_face_size: float | None = None,
    ) -> dict:
        kw = {**self._detector_kw(min_face_size), "batch": self.device_.type == "cuda"}
        if not pos:
            return {}
        dets = detect_faces(net, [frames[p] for p in pos], scale=scale, **kw)
        return dict(zip(pos, dets))

    def _detect_tracked(
        self,
        net: Any,
        frames: list[np.ndarray],
        pos: int,
        scale: float,
        coarse: dict[int, Detections],
    ) -> Detections:
        """Detector call at ``pos``: the whole frame, or only around known faces.

        Every ``full_every``-th detector frame (and any frame after one with no
        face) runs MTCNN on the whole downscaled frame, which finds new faces.
        The others look only around the faces of the previous detector frame,
        a few milliseconds each; if any of those faces is not found again,
        the whole frame is searched after all.
        """
        step = int(self.detect_every)
        prev = coarse.get(pos - step)
        if (pos // step) % int(self.full_every) == 0 or prev is None or not len(prev):
            return self._detect(net, frames, [pos], scale)[pos]
        kw = self._detector_kw()
        boxes, probs, lms = [], [], []
        for box in prev.boxes:
            near = detect_near(net, frames[pos], box, **kw)
            if not len(near):
                return self._detect(net, frames, [pos], scale)[pos]
            best = _pick_near(near, box, np.reshape(boxes, (-1, 4)))
            if best is None:
                continue  # two previous boxes found the same face
            boxes.append(near.boxes[best])
            probs.append(near.probs[best])
            lms.append(near.landmarks[best])
        return Detections(np.stack(boxes), np.asarray(probs), np.stack(lms))

    def _track_faces(
        self,
        net: Any,
        frames: list[np.ndarray],
        dets: dict[int, Detections],
        scale: float,
        to_src: float,
        min_face_size: float | None = None,
    ) -> list[TrackRows]:
        """Link the detections into face tracks (``min_face_size``: as in _detect)."""
        n = len(frames)
        step = int(self.detect_every)
        coarse = sorted(dets)
        if (
            self.detect_scale == "auto"
            and scale < 1.0
            and not any(map(len, dets.values()))
        ):
            # Nothing anywhere: the faces may be too small for this scale.
            scale = min(1.0, 2 * scale)
            dets = self._detect(net, frames, coarse, scale, min_face_size)
        limit = self.min_face_size if min_face_size is None else min_face_size
        small = _small_face_size(limit, frames[0].shape)
        if small < limit and not any(map(len, dets.values())):
            # Still nothing: in a low-resolution video every face may be
            # smaller than min_face_size. Track with a smaller limit instead.
            dets = self._detect(net, frames, coarse, scale, small)
            return self._track_faces(net, frames, dets, scale, to_src, small)
        # Where the faces at two consecutive detector calls do not pair up,
        # detect on every frame in between instead of guessing.
        gaps = [
            p
            for a, b in pairwise(coarse)
            if b - a > 1 and not same_faces(dets[a], dets[b], self.iou_threshold)
            for p in range(a + 1, b)
        ]
        if gaps:
            dets.update(self._detect(net, frames, gaps, scale, min_face_size))
        dets = self._search_near_tracks(net, frames, dets, 2 * step, min_face_size)
        if to_src != 1.0:
            dets = {
                p: Detections(d.boxes * to_src, d.probs, d.landmarks * to_src)
                for p, d in dets.items()
            }
        tracks = link_tracks(
            dets, iou_threshold=float(self.iou_threshold), max_gap=2 * step
        )
        rows = [fill_track(t, max_fill=2 * step) for t in tracks]
        if not rows:
            return []
        n_calls = len(dets)
        keep = [
            r for r in rows if r.n_detections >= self.min_track_fraction * n_calls
        ] or rows

        def score(r: TrackRows) -> float:
            side = np.sqrt(np.prod(r.boxes[:, 2:] - r.boxes[:, :2], axis=1)).mean()
            return len(r.positions) / n * float(r.probs.mean()) * float(side)

        keep.sort(key=score, reverse=True)
        return keep[: int(self.max_faces)]

    def _search_near_tracks(
        self,
        net: Any,
        frames: list[np.ndarray],
        dets: dict[int, Detections],
        reach: int,
        min_face_size: float | None = None,
    ) -> dict[int, Detections]:
        """Look again, locally, where a track's face was not found.

        For every detector frame within ``reach`` positions of a track (before
        its start, inside it, after its end) where that track has no
        detection, MTCNN runs on the region around the track's nearest box,
        with the same smallest face as the whole-frame search
        (``min_face_size``, None: the parameter).
        """
        tracks = link_tracks(
            dets, iou_threshold=float(self.iou_threshold), max_gap=reach
        )
        kw = self._detector_kw(min_face_size)
        dets = dict(dets)
        for track in tracks:
            have = np.asarray(track.positions)
            lo, hi = have.min() - reach, have.max() + reach
            for p in sorted(dets):
                if p < lo or p > hi or p in track.positions:
                    continue
                ref = track.boxes[int(np.argmin(np.abs(have - p)))]
                near = detect_near(net, frames[p], ref, **kw)
                if not len(near):
                    continue
                best = _pick_near(near, ref, dets[p].boxes)
                if best is None:
                    continue  # already there (linked to another track)
                d = dets[p]
                dets[p] = Detections(
                    np.concatenate([d.boxes, near.boxes[best : best + 1]]),
                    np.concatenate([d.probs, near.probs[best : best + 1]]),
                    np.concatenate([d.landmarks, near.landmarks[best : best + 1]]),
                )
        return dets

    def _cut(
        self,
        plan: FramePlan,
        frames: list[np.ndarray],
        read: list[int],
        rows: list[TrackRows],
        src_hw: tuple[int, int],
        to_src: float,
        error: str | None,
    ) -> FaceTracks:
        size = int(self.size)
        crops, crop_boxes, lms, tids = [], [], [], []
        boxes, probs, pos, detected = [], [], [], []
        for tid, r in enumerate(rows):
            if self.clip_box == "track":
                union = np.concatenate([r.boxes[:, :2].min(0), r.boxes[:, 2:].max(0)])
                squares = np.repeat(_square(union[None], self.margin), len(r.boxes), 0)
            else:
                squares = _square(smooth_boxes(r.boxes, int(self.smooth)), self.margin)
            for k, p in enumerate(r.positions):
                sq = squares[k]
                crops.append(_crop(frames[p], sq / to_src, size))
                side = sq[2] - sq[0]
                lms.append((r.landmarks[k] - sq[:2]) * (size / side))
                crop_boxes.append(sq)
            boxes.append(r.boxes)
            probs.append(r.probs)
            pos.append(r.positions)
            detected.append(r.detected)
            tids.append(np.full(len(r.positions), tid))
        frame_pos = np.concatenate(pos)
        found = np.zeros(len(read), dtype=bool)
        found[frame_pos] = True
        return FaceTracks(
            path=plan.path,
            frame_indices=np.asarray(read),
            face_found=found,
            crops=np.stack(crops),
            boxes=np.concatenate(boxes),
            crop_boxes=np.stack(crop_boxes),
            probs=np.concatenate(probs),
            landmarks=np.stack(lms),
            track_ids=np.concatenate(tids),
            frame_pos=frame_pos,
            detected=np.concatenate(detected),
            frame_size=src_hw,
            fps=plan.fps,
            error=error,
        )


#: With ``detect_scale="auto"``, once faces are found, later whole-frame
#: searches shrink frames until the smallest face found is this many pixels
#: (MTCNN's pyramid starts at 20 px, so faces half that size are still seen).
AUTO_FACE_SIDE = 40.0


#: A video in which no face of ``min_face_size`` is found is searched again
#: for faces down to this fraction of the frame's shorter side (20 px in a
#: 240p video), never below MTCNN's 20 px: the faces of a low-resolution copy
#: of a clip are smaller than the limit suited to HD video.
_SMALL_FACE_FRACTION = 1 / 12


def _small_face_size(min_face_size: float, frame_shape: tuple[int, ...]) -> float:
    """Return the smaller face limit of the second search of a face-less video."""
    return min(
        float(min_face_size), max(20.0, min(frame_shape[:2]) * _SMALL_FACE_FRACTION)
    )


def _shrink_to_faces(scale: float, found: Detections) -> float:
    """Lower the detection scale to what the faces found need, never raise it."""
    side = np.minimum(
        found.boxes[:, 2] - found.boxes[:, 0], found.boxes[:, 3] - found.boxes[:, 1]
    ).min()
    return float(min(scale, AUTO_FACE_SIDE / max(side, 1.0)))


def _pick_near(near: Detections, ref: np.ndarray, known: np.ndarray) -> int | None:
    """Row of ``near`` that overlaps ``ref`` most; None if ``known`` has it.

    A face counts as known when its box overlaps one of ``known`` (boxes of
    shape (n, 4)) by an IoU above 0.5.
    """
    best = int(np.argmax(iou(ref[None], near.boxes)[0]))
    if len(known) and iou(near.boxes[best][None], known).max() > 0.5:
        return None
    return best


def _warn_no_face(path: str, n_frames: int) -> None:
    warnings.warn(
        f"{path}: no face found in {n_frames} decoded frames; "
        "the video gets an empty face track.",
        NoFaceWarning,
        stacklevel=4,
    )


def _square(boxes: np.ndarray, margin: float) -> np.ndarray:
    """Square boxes centred on ``boxes``, sides grown by ``margin`` on each side."""
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    side = np.max(boxes[:, 2:] - boxes[:, :2], axis=1) * (1 + 2 * margin)
    half = np.maximum(side, 1.0)[:, None] / 2
    return np.concatenate([centre - half, centre + half], axis=1)


_PREFETCH = os.environ.get("SKDF_PREFETCH", "1") == "1"


def _prefetch(iterator: Any, depth: int = 4) -> Any:
    """Run ``iterator`` in a background thread, ``depth`` items ahead.

    Exceptions raised by the iterator are re-raised in the caller, after the
    items produced before them.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def work() -> None:
        try:
            for item in iterator:
                while not stop.is_set():
                    try:
                        q.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put((done, None))
        except BaseException as exc:  # handed to the consumer
            q.put((done, exc))

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        while True:
            item, exc = q.get()
            if item is done:
                if exc is not None:
                    raise exc
                return
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
