"""TemporalNoiseFeatures: frame-to-frame noise of the face against its surroundings."""

from __future__ import annotations

import numbers
import warnings
from typing import Any, ClassVar

import cv2
import numpy as np

from sklearn_deepfake.faces._geometry import face_boxes_in_crop
from sklearn_deepfake.features._flow import flow_pairs
from sklearn_deepfake.features._handcrafted import _DOCS, _N_JOBS, _PerFrameFeatures
from sklearn_deepfake.utils._checks import list_some
from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._parallel import map_videos
from sklearn_deepfake.utils._param_validation import Integral, Interval, StrOptions
from sklearn_deepfake.utils._ragged import FaceTracks

__all__ = ["TemporalNoiseFeatures"]

_LANDMARKS = ("mtcnn", "dlib")
# Floor added to every energy before its logarithm (grey levels).
_FLOOR = 1e-2
# Fewer valid pixels than this in a region make a pair unusable.
_MIN_PIXELS = 20
# Pixels whose flow gradient is above this quantile are left out (occlusion
# edges, where the warp is wrong).
_FLOW_QUANTILE = 90
_MAX_LISTED = 5


def _regions_mtcnn(
    points: np.ndarray, box: np.ndarray, side: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return inner face, outer face and background masks from MTCNN's 5 points.

    The inner face is a quadrilateral from above the eyes (brows) to below
    the mouth corners; the outer face is the ellipse inscribed in the face
    box less the (slightly grown) inner face; the background is everything
    outside the face box grown by 10 % per side.
    """
    left_eye, right_eye, _, mouth_l, mouth_r = points.astype(np.float64)
    down = (mouth_l + mouth_r) / 2 - (left_eye + right_eye) / 2
    across = (right_eye - left_eye) * 0.25
    quad = np.array(
        [
            left_eye - 0.45 * down - across,
            right_eye - 0.45 * down + across,
            mouth_r + 0.25 * down + across,
            mouth_l + 0.25 * down - across,
        ]
    )
    inner = np.zeros((side, side), np.uint8)
    cv2.fillConvexPoly(inner, np.round(quad).astype(np.int32), 1)
    x0, y0, x1, y1 = (float(v) for v in box)
    face = np.zeros((side, side), np.uint8)
    centre = (round((x0 + x1) / 2), round((y0 + y1) / 2))
    axes = (max(round((x1 - x0) / 2), 1), max(round((y1 - y0) / 2), 1))
    cv2.ellipse(face, centre, axes, 0, 0, 360, 1, -1)
    grow_x, grow_y = 0.1 * (x1 - x0), 0.1 * (y1 - y0)
    background = np.ones((side, side), bool)
    background[
        max(int(y0 - grow_y), 0) : int(y1 + grow_y) + 1,
        max(int(x0 - grow_x), 0) : int(x1 + grow_x) + 1,
    ] = False
    return _finish(inner, face, background)


def _regions_dlib(
    points: np.ndarray, side: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the same three masks from dlib's 68 points.

    The inner face is the hull of the brows, eyes, nose and mouth, the face
    the hull of all points; the background starts 4 px outside the latter.
    """
    inner = np.zeros((side, side), np.uint8)
    cv2.fillConvexPoly(inner, cv2.convexHull(points[17:68].astype(np.int32)), 1)
    face = np.zeros((side, side), np.uint8)
    cv2.fillConvexPoly(face, cv2.convexHull(points.astype(np.int32)), 1)
    background = ~cv2.dilate(face, np.ones((9, 9), np.uint8)).astype(bool)
    return _finish(inner, face, background)


def _finish(
    inner: np.ndarray, face: np.ndarray, background: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # A 2-px band around the inner face's edge belongs to neither region.
    ring = face.astype(bool) & ~cv2.dilate(inner, np.ones((5, 5), np.uint8)).astype(
        bool
    )
    inner = cv2.erode(inner, np.ones((3, 3), np.uint8)).astype(bool)
    return inner, ring, background


def _log(value: float) -> float:
    return float(np.log(value + _FLOOR))


def _pair_row(
    crop_a: np.ndarray,
    crop_b: np.ndarray,
    regions: tuple[np.ndarray, np.ndarray, np.ndarray],
    sigmas: tuple[float, ...],
) -> np.ndarray | None:
    """Measure one pair of crops; None when a region is too small."""
    a = cv2.cvtColor(crop_a, cv2.COLOR_RGB2GRAY).astype(np.float32)
    b = cv2.cvtColor(crop_b, cv2.COLOR_RGB2GRAY).astype(np.float32)
    flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 9, 3, 5, 1.1, 0)
    h, w = a.shape
    grid_x, grid_y = np.meshgrid(
        np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)
    )
    map_x, map_y = grid_x + flow[..., 0], grid_y + flow[..., 1]
    warped = cv2.remap(b, map_x, map_y, cv2.INTER_LINEAR)
    valid = (map_x >= 1) & (map_x < w - 2) & (map_y >= 1) & (map_y < h - 2)
    gradient = np.abs(cv2.Sobel(flow[..., 0], cv2.CV_32F, 1, 0)) + np.abs(
        cv2.Sobel(flow[..., 1], cv2.CV_32F, 0, 1)
    )
    valid &= gradient < np.percentile(gradient, _FLOW_QUANTILE)
    inner, ring, background = (r & valid for r in regions)
    if min(inner.sum(), ring.sum(), background.sum()) < _MIN_PIXELS:
        return None
    row = []
    for sigma in sigmas:
        residual = (a - cv2.GaussianBlur(a, (0, 0), sigma)) - (
            warped - cv2.GaussianBlur(warped, (0, 0), sigma)
        )
        e_in, e_ring, e_bg = (
            _log(np.sqrt(np.mean(residual[r] ** 2))) for r in (inner, ring, background)
        )
        row += [e_in - e_bg, e_ring - e_bg, e_in - e_ring]
    low = cv2.GaussianBlur(a, (0, 0), 3.0) - cv2.GaussianBlur(warped, (0, 0), 3.0)
    row.append(_log(np.abs(low[inner]).mean()) - _log(np.abs(low[background]).mean()))
    return np.asarray(row)


@fill_doc(_DOCS)
class TemporalNoiseFeatures(_PerFrameFeatures):
    """Frame-to-frame noise inside the face against the outer face and background.

    A camera's sensor noise changes from one frame to the next everywhere in
    the picture. A face swap pastes a generated face, which has no such noise
    of its own (and flickers in its own way), over the inner face and cheeks,
    so between two consecutive frames the swapped region changes less, or
    differently, than the real surroundings it is blended into. This
    transformer measures that, per face row:

    1. the row's crop is paired with the crop of the same face track in the
       next (or previous) *source* frame, at most ``max_gap`` frames away;
    2. dense optical flow (OpenCV Farneback) warps the partner onto the row's
       crop, so that motion is removed; pixels where the flow is unreliable
       (occlusion edges) are left out;
    3. the residual is high-passed (the crop minus its Gaussian blur at each
       of ``sigmas``) and its RMS energy is measured in three regions: the
       **inner** face (brows, eyes, nose, mouth), the **outer** face (the
       face less the inner face: cheeks, jaw, forehead) and the
       **background** (outside the face);
    4. the columns are log ratios, so that they do not depend on how noisy
       or how compressed the video is overall: for each sigma ``k``,
       ``noise{k}_inner_bg``, ``noise{k}_ring_bg`` and
       ``noise{k}_inner_ring``; then ``flicker_inner_bg``, the same ratio of
       low-frequency brightness changes (sigma 3).

    The regions come from MTCNN's five landmarks and face box
    (``landmarks="mtcnn"``, no extra dependency) or from dlib's 68 points
    (``landmarks="dlib"``, the ``landmarks`` extra, as
    :class:`FaceShapeFeatures`).

    **Sampling.** The measurement needs frames that follow each other in the
    source: sample them with
    ``FrameSampler(n_frames=2 * k, strategy="bursts", burst_len=2)``, which
    reads ``k`` pairs of consecutive frames spread over the video (the
    ``swap`` preset of :func:`~sklearn_deepfake.pipeline.make_default_pipeline` does).
    A row without a partner within ``max_gap`` (or whose regions are too
    small) gets its video's per-column median over the rows that have one; a
    video with faces but no usable pair at all (evenly spaced frames, a
    single face frame) gets zeros, which mean "no difference between face
    and surroundings", and a ``UserWarning`` naming it; a video without
    faces has no rows, as with every per-frame feature.

    The signal these columns look for: a swapped-in face's outer region
    (cheeks, jaw, forehead) tends to keep less frame-to-frame noise,
    relative to the background, than a real face's (``noise0_ring_bg`` and
    its coarser scale), while its inner face changes as much as a real
    one's. The signal needs the camera's noise to survive compression:
    expect less of it from heavily re-encoded video. What the columns add
    to the ``swap`` preset on real face swaps is on the :ref:`benchmarks`
    page (``benchmarks/bench_quality.py``).

    Parameters
    ----------
    landmarks : {"mtcnn", "dlib"}, default="mtcnn"
        Where the inner-face, outer-face and background regions come from.
    sigmas : tuple of float, default=(0.7, 1.5)
        Scales (Gaussian sigmas, in crop pixels) of the high-pass filters.
    max_gap : int, default=1
        Largest distance, in source frames, between a row and its partner.

    %(n_jobs)s

    Attributes
    ----------
    feature_names_ : ndarray of str
        ``"noise0_inner_bg"``, ``"noise0_ring_bg"``, ... ``"flicker_inner_bg"``.
    n_features_out_ : int
        ``3 * len(sigmas) + 1``.

    See Also
    --------
    OpticalFlowFeatures : How the face moves against its surroundings.
    FaceContextFeatures : Still-frame sharpness, noise and colour of face
        and surroundings.

    Examples
    --------
    >>> import dataclasses
    >>> import numpy as np
    >>> from sklearn_deepfake.features import TemporalNoiseFeatures
    >>> from sklearn_deepfake.utils._testing import make_synthetic_tracks
    >>> t = make_synthetic_tracks(n_rows=4)
    >>> t = dataclasses.replace(t, frame_indices=np.array([0, 1, 30, 31]))
    >>> feats = TemporalNoiseFeatures().fit_transform([t])
    >>> feats[0].shape
    (4, 7)
    """

    def __init__(
        self,
        landmarks: str = "mtcnn",
        *,
        sigmas: tuple[float, ...] = (0.7, 1.5),
        max_gap: int = 1,
        n_jobs: int | None = None,
    ) -> None:
        self.landmarks = landmarks
        self.sigmas = sigmas
        self.max_gap = max_gap
        self.n_jobs = n_jobs

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "landmarks": [StrOptions(set(_LANDMARKS))],
        "sigmas": [tuple, list],
        "max_gap": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": _N_JOBS,
    }

    def _check_params(self) -> None:
        sigmas = self.sigmas
        if not sigmas or not all(
            isinstance(s, numbers.Real)
            and not isinstance(s, bool)
            and np.isfinite(s)
            and s > 0
            for s in sigmas
        ):
            raise ValueError(
                f"sigmas must be a non-empty tuple of positive numbers, got {sigmas!r}."
            )
        if self.landmarks == "dlib":
            from sklearn_deepfake.features._landmarks import default_model_path

            default_model_path()  # a clear ImportError without the extra

    @classmethod
    def _get_test_params(cls) -> dict[str, Any]:
        """Cheap constructor arguments for the common tests."""
        return {}

    def _names(self) -> list[str]:
        names = []
        for k in range(len(self.sigmas)):
            names += [f"noise{k}_inner_bg", f"noise{k}_ring_bg", f"noise{k}_inner_ring"]
        return [*names, "flicker_inner_bg"]

    def _transform_videos(self, X: list[FaceTracks]) -> list[np.ndarray]:
        results = map_videos(
            self._video_result, X, n_jobs=self.n_jobs, desc="TemporalNoiseFeatures"
        )
        out = [rows for rows, _ in results]
        unpaired = [t.path for t, (_, paired) in zip(X, results) if not paired]
        if unpaired:
            warnings.warn(
                f"{len(unpaired)} of {len(X)} videos have no usable pair of face "
                f"frames (at most max_gap={self.max_gap} source frames apart, "
                "with the inner face, outer face and background in view); their "
                "temporal-noise columns are 0. Sample consecutive frames with "
                "FrameSampler(strategy='bursts', burst_len=2): "
                f"{list_some(unpaired, _MAX_LISTED)}.",
                UserWarning,
                stacklevel=3,
            )
        return out

    def _video_result(self, tracks: FaceTracks) -> tuple[np.ndarray, bool]:
        """Return the filled rows of one video and whether it had a usable pair."""
        rows = self._video_rows(tracks, len(self._names()))
        paired = not len(tracks) or np.isfinite(rows).all(axis=1).any()
        return _fill_missing(rows).astype(np.float32), bool(paired)

    def _video_rows(self, tracks: FaceTracks, d: int) -> np.ndarray:
        rows = np.full((len(tracks), d), np.nan)
        pairs = flow_pairs(tracks, int(self.max_gap))
        if not len(pairs):
            return rows
        boxes = face_boxes_in_crop(tracks)
        crops = tracks.crops  # read once (a record may load it from disk)
        side = crops.shape[1]
        points = None
        if self.landmarks == "dlib":
            from sklearn_deepfake.features._landmarks import (
                attached_landmarks68,
                default_model_path,
                landmarks68,
            )

            path = default_model_path()
            used = np.unique(pairs[:, 0])
            points = np.zeros((len(tracks), 68, 2))
            attached = attached_landmarks68(tracks, path)  # by FaceLandmarks68
            if attached is None:
                points[used] = landmarks68(crops[used], boxes[used], path)
            else:
                points[used] = attached[used]
        sigmas = tuple(float(s) for s in self.sigmas)
        # One measurement per pair, from its first row's regions, shared by
        # both rows; pairs come in time order, so only the first row can
        # already hold one (a row in the middle of a longer run keeps it).
        for a, b, _ in pairs:
            if points is None:
                regions = _regions_mtcnn(tracks.landmarks[a], boxes[a], side)
            else:
                regions = _regions_dlib(points[a], side)
            row = _pair_row(crops[a], crops[b], regions, sigmas)
            if row is not None:
                rows[b] = row
                if np.isnan(rows[a, 0]):
                    rows[a] = row
        return rows


def _fill_missing(rows: np.ndarray) -> np.ndarray:
    """Rows without a measurement get their video's column medians (or 0)."""
    ok = np.isfinite(rows).all(axis=1)
    if ok.all():
        return rows
    fill = np.median(rows[ok], axis=0) if ok.any() else np.zeros(rows.shape[1])
    rows = rows.copy()
    rows[~ok] = fill
    return rows
