"""Dense optical flow of the face versus its surroundings, one row per video."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np

from sklearn_deepfake.faces._geometry import face_boxes_in_crop
from sklearn_deepfake.features._handcrafted import _DOCS, _N_JOBS, _FaceTrackFeatures
from sklearn_deepfake.utils._checks import list_some
from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._parallel import map_videos
from sklearn_deepfake.utils._param_validation import (
    Integral,
    Interval,
    Real,
    StrOptions,
)
from sklearn_deepfake.utils._ragged import FaceTracks, check_per_video

__all__ = ["OpticalFlowFeatures", "flow_pairs"]

_METHODS = ("farneback", "dis")

# Per-pair measurements, in this order (see the class docstring).
_PAIR_NAMES = (
    "mag_in",
    "mag_out",
    "log_ratio",
    "rel_motion",
    "residual_in",
    "coherence_in",
    "coherence_out",
    "div_in",
    "curl_in",
)
# Fraction of the face box's half size added around it before the context
# starts (keeps the blurred flow at the face's edge out of both regions).
_RING = 0.15
_EPS = 0.05
_MAX_LISTED = 5


def flow_pairs(tracks: FaceTracks, max_gap: int | str | None = None) -> np.ndarray:
    """Return the row pairs of a face track between which flow is computed.

    Two rows form a pair when they belong to the same track and their frames
    are consecutive in the sampled frames (``frame_pos`` differs by one),
    and at most ``max_gap`` source frames apart.

    Parameters
    ----------
    tracks : FaceTracks
        One video's face rows.
    max_gap : int, "auto" or None, default=None
        Largest distance in source frames between the two frames of a pair.
        ``"auto"`` is twice the smallest distance of the video's pairs (keeps
        the pairs inside the runs of ``strategy="bursts"``, and every pair of
        evenly spaced frames); ``None`` accepts any distance.

    Returns
    -------
    pairs : ndarray of int64, shape (n_pairs, 3)
        ``(row_a, row_b, gap)``: the two rows, in time order, and how many
        source frames apart they are.

    Examples
    --------
    >>> from sklearn_deepfake.utils._testing import make_synthetic_tracks
    >>> flow_pairs(make_synthetic_tracks(n_rows=3))  # frames 0, 10, 20
    array([[ 0,  1, 10],
           [ 1,  2, 10]])
    >>> flow_pairs(make_synthetic_tracks(n_rows=3), max_gap=5).shape
    (0, 3)
    >>> flow_pairs(make_synthetic_tracks(n_rows=3), max_gap="auto").shape
    (2, 3)
    """
    n = len(tracks)
    if n < 2:
        return np.zeros((0, 3), np.int64)
    a = np.arange(n - 1)
    b = a + 1
    same = tracks.track_ids[a] == tracks.track_ids[b]
    same &= tracks.frame_pos[b] - tracks.frame_pos[a] == 1
    pos_a = np.clip(tracks.frame_pos[a], 0, max(len(tracks.frame_indices) - 1, 0))
    pos_b = np.clip(tracks.frame_pos[b], 0, max(len(tracks.frame_indices) - 1, 0))
    if len(tracks.frame_indices):
        gap = tracks.frame_indices[pos_b] - tracks.frame_indices[pos_a]
    else:
        gap = np.ones(n - 1, np.int64)
    same &= gap > 0
    if isinstance(max_gap, str):
        max_gap = 2 * int(gap[same].min()) if same.any() else None
    if max_gap is not None:
        same &= gap <= max_gap
    return np.stack([a[same], b[same], gap[same]], axis=1).astype(np.int64)


@fill_doc(_DOCS)
class OpticalFlowFeatures(_FaceTrackFeatures):
    """Optical flow inside the face versus around it, summarised per video.

    Face swaps are made frame by frame, so the swapped face can shimmer,
    wobble or drift against the head and background that stay real. For each
    pair of consecutive sampled frames of a face track (same track, next
    sampled frame; see ``flow_pairs``), the two crops are converted to
    grey, resized to ``size`` pixels, and the dense flow between them is
    computed with OpenCV (``method``: Farneback or DIS). The face box mapped
    into the crop (:func:`~sklearn_deepfake.faces.face_boxes_in_crop`)
    splits the crop into the **face** (inside the box) and the **context**
    (outside the box grown by 15 %; the crops cut by
    :class:`~sklearn_deepfake.faces.FaceCropper` have a margin around the
    face). Because every crop is cut around its own detection, the motion
    of the head as a whole is mostly removed and what remains is motion
    relative to the tracked box.

    Flow is expressed in percent of the crop side per source frame (the
    flow divided by ``size`` and by the number of source frames between the
    two sampled frames), so that videos sampled with different steps stay
    comparable. Per pair the transformer measures:

    - ``mag_in`` / ``mag_out``: mean flow magnitude in the face / context;
    - ``log_ratio``: ``log((mag_in + c) / (mag_out + c))`` with ``c = 0.05``
      (a floor below which motion is noise);
    - ``rel_motion``: length of the mean face flow minus the mean context
      flow (the face moving against its surroundings);
    - ``residual_in``: mean magnitude of the face flow minus its median
      vector (non-rigid motion, warping, shimmer inside the face);
    - ``coherence_in`` / ``coherence_out``: length of the mean unit flow
      vector (1 when all pixels move the same way, near 0 for noise);
    - ``div_in`` / ``curl_in``: mean absolute divergence and curl of the
      flow in the face (per crop pixel).

    and each video's row holds the mean of every measurement over its pairs,
    the temporal standard deviation of ``mag_in``, ``mag_out`` and
    ``log_ratio``, the maximum of ``mag_in``, then ``n_pairs``, ``mean_gap``
    (source frames between paired frames) and ``has_flow``.

    **Sampling.** Flow between frames far apart (uniform sampling of a long
    video) mostly measures pose change; it works best with frames close in
    time: :class:`~sklearn_deepfake.video.FrameSampler` with
    ``strategy="bursts"`` (a few runs of consecutive frames spread over the
    video) or ``strategy="every_nth", step=1`` over a short window.
    ``max_gap`` drops pairs further apart than that; its default, ``"auto"``,
    keeps only the pairs inside the runs of bursts (the jumps between runs
    would otherwise dominate the statistics).

    **Videos without a pair** (no face, a single face row, or no pair
    within ``max_gap``) get ``fill_value`` in every flow column, 0 in
    ``n_pairs``, ``mean_gap`` and ``has_flow``, and a ``UserWarning`` naming
    them, so that a classifier after a scaler can learn a separate score for
    them. The output is one dense row per video (not per-frame rows), so it
    can go straight to a scikit-learn classifier.

    Parameters
    ----------
    method : {"farneback", "dis"}, default="farneback"
        OpenCV flow algorithm: ``calcOpticalFlowFarneback`` or the DIS
        ("ultrafast" preset) algorithm.
    size : int, default=64
        Side in pixels the crops are resized to before the flow (the cost
        grows with its square).
    max_gap : int, "auto" or None, default="auto"
        Largest distance in source frames between the two frames of a pair:
        ``"auto"`` is twice the smallest distance among the video's pairs,
        ``None`` accepts any distance (see ``flow_pairs``).
    max_pairs : int or None, default=64
        At most this many pairs per video, evenly spaced over its pairs.
        ``None`` uses every pair.
    fill_value : float, default=0.0
        Value of the flow columns of a video without any pair.

    %(n_jobs)s

    %(attributes)s

    See Also
    --------
    FaceContextFeatures : Per-frame texture statistics of face and context.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.features import OpticalFlowFeatures
    >>> from sklearn_deepfake.utils._testing import make_synthetic_tracks
    >>> flow = OpticalFlowFeatures(size=32)
    >>> X = [make_synthetic_tracks(n_rows=3, size=32)]
    >>> rows = flow.fit_transform(X)
    >>> rows.shape, flow.get_feature_names_out()[:3].tolist()
    ((1, 16), ['mean_mag_in', 'mean_mag_out', 'mean_log_ratio'])
    """

    def __init__(
        self,
        method: str = "farneback",
        *,
        size: int = 64,
        max_gap: int | str | None = "auto",
        max_pairs: int | None = 64,
        fill_value: float = 0.0,
        n_jobs: int | None = None,
    ) -> None:
        self.method = method
        self.size = size
        self.max_gap = max_gap
        self.max_pairs = max_pairs
        self.fill_value = fill_value
        self.n_jobs = n_jobs

    _allow_no_videos = False

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "method": [StrOptions(set(_METHODS))],
        "size": [Interval(Integral, 16, None, closed="left")],
        "max_gap": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
            None,
        ],
        "max_pairs": [Interval(Integral, 1, None, closed="left"), None],
        "fill_value": [Interval(Real, None, None, closed="both")],
        "n_jobs": _N_JOBS,
    }

    def _check_params(self) -> None:
        if not np.isfinite(self.fill_value):
            raise ValueError(
                f"fill_value must be a finite number, got {self.fill_value!r}."
            )

    @classmethod
    def _get_test_params(cls) -> dict[str, Any]:
        """Cheap constructor arguments for the common tests."""
        return {"size": 32}

    def _names(self) -> list[str]:
        names = [f"mean_{n}" for n in _PAIR_NAMES]
        names += ["std_mag_in", "std_mag_out", "std_log_ratio", "max_mag_in"]
        return [*names, "n_pairs", "mean_gap", "has_flow"]

    @fill_doc(_DOCS)
    def transform(self, X: Any) -> np.ndarray:
        """Compute one row of flow statistics per video.

        %(transform_tracks)s
        features : ndarray of float64, shape (n_videos, n_features_out)
            One row per video, in the order of ``X``.
        """
        self._validate_params()
        X = check_per_video(X, kind=FaceTracks)
        rows = np.empty((len(X), len(self._names())), dtype=np.float64)
        missing = []
        video_rows = map_videos(
            self._video_row, X, n_jobs=self.n_jobs, desc="OpticalFlowFeatures"
        )
        for i, (tracks, row) in enumerate(zip(X, video_rows)):
            if row is None:
                missing.append(tracks.path)
                row = np.full(rows.shape[1], float(self.fill_value))
                row[-3:] = 0.0
            rows[i] = row
        if missing:
            listed = list_some(missing, _MAX_LISTED)
            warnings.warn(
                f"{len(missing)} of {len(X)} videos have no pair of consecutive "
                f"face frames (no face, one frame, or gaps over max_gap); their "
                f"flow columns are {self.fill_value} and has_flow is 0: {listed}.",
                UserWarning,
                stacklevel=2,
            )
        return rows

    # ------------------------------------------------------------------

    def _video_row(self, tracks: FaceTracks) -> np.ndarray | None:
        pairs = flow_pairs(tracks, self.max_gap)
        if not len(pairs):
            return None
        if self.max_pairs is not None and len(pairs) > self.max_pairs:
            keep = np.linspace(0, len(pairs) - 1, int(self.max_pairs)).round()
            pairs = pairs[np.unique(keep.astype(np.int64))]
        size = int(self.size)
        boxes = face_boxes_in_crop(tracks) * (size / float(tracks.crop_size))
        gray = _resized_gray(tracks.crops, np.unique(pairs[:, :2]), size)
        flow_fn = self._flow_function()
        per_pair = np.array(
            [
                _pair_measures(flow_fn(gray[a], gray[b]), boxes[a], size, float(gap))
                for a, b, gap in pairs
            ]
        )
        per_pair = np.nan_to_num(per_pair, nan=0.0, posinf=0.0, neginf=0.0)
        summary = [
            per_pair.mean(axis=0),
            per_pair[:, :3].std(axis=0),
            per_pair[:, :1].max(axis=0),
            [len(pairs), float(pairs[:, 2].mean()), 1.0],
        ]
        return np.concatenate(summary)

    def _flow_function(self) -> Any:
        import cv2

        if self.method == "dis":
            dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
            return lambda a, b: dis.calc(a, b, None)
        winsize = max(5, int(self.size) // 8) | 1
        return lambda a, b: cv2.calcOpticalFlowFarneback(
            a, b, None, 0.5, 2, winsize, 3, 5, 1.1, 0
        )


def _resized_gray(crops: np.ndarray, rows: np.ndarray, size: int) -> dict:
    """Grey ``uint8 (size, size)`` versions of the needed rows, by row."""
    import cv2

    out = {}
    for r in rows:
        g = cv2.cvtColor(np.ascontiguousarray(crops[r]), cv2.COLOR_RGB2GRAY)
        if g.shape[0] != size:
            g = cv2.resize(g, (size, size), interpolation=cv2.INTER_AREA)
        out[int(r)] = g
    return out


def _region_masks(box: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Face (inside the box) and context (outside the grown box) masks."""
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    x1, y1, x2, y2 = (float(v) for v in box)
    inside = (xx >= x1) & (xx < x2) & (yy >= y1) & (yy < y2)
    gx, gy = _RING * (x2 - x1) / 2, _RING * (y2 - y1) / 2
    grown = (xx >= x1 - gx) & (xx < x2 + gx) & (yy >= y1 - gy) & (yy < y2 + gy)
    if not inside.any():  # a box thinner than a pixel: use the whole crop
        inside = np.ones_like(inside)
    return inside, ~grown


def _pair_measures(
    flow: np.ndarray, box: np.ndarray, size: int, gap: float
) -> np.ndarray:
    """Compute the measurements of ``_PAIR_NAMES`` for one flow field."""
    flow = flow.astype(np.float64) * (100.0 / (size * max(gap, 1.0)))
    inside, outside = _region_masks(box, size)
    mag = np.hypot(flow[..., 0], flow[..., 1])

    def mean_on(values: np.ndarray, mask: np.ndarray) -> float:
        return float(values[mask].mean()) if mask.any() else np.nan

    def coherence(mask: np.ndarray) -> float:
        if not mask.any():
            return np.nan
        unit = flow[mask] / np.maximum(mag[mask], 1e-6)[:, None]
        moving = mag[mask] > 1e-3
        if not moving.any():
            return 0.0
        return float(np.hypot(*unit[moving].mean(axis=0)))

    mag_in, mag_out = mean_on(mag, inside), mean_on(mag, outside)
    mag_out_safe = mag_in if np.isnan(mag_out) else mag_out
    mean_in = flow[inside].mean(axis=0)
    mean_out = flow[outside].mean(axis=0) if outside.any() else mean_in
    residual = flow[inside] - np.median(flow[inside], axis=0)
    du_dy, du_dx = np.gradient(flow[..., 0])
    dv_dy, dv_dx = np.gradient(flow[..., 1])
    return np.array(
        [
            mag_in,
            mag_out,
            np.log((mag_in + _EPS) / (mag_out_safe + _EPS)),
            float(np.hypot(*(mean_in - mean_out))),
            float(np.hypot(residual[:, 0], residual[:, 1]).mean()),
            coherence(inside),
            coherence(outside),
            mean_on(np.abs(du_dx + dv_dy), inside),
            mean_on(np.abs(dv_dx - du_dy), inside),
        ]
    )
