"""Linking per-frame face detections into tracks, and filling the frames between.

Pure numpy, no detector: :class:`~sklearn_deepfake.faces.FaceCropper` detects
on a subset of the sampled frames and this module turns those detections into
one box per frame for every face.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sklearn_deepfake.faces._detector import Detections


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box in ``a`` with every box in ``b``."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def _affinity(a: np.ndarray, b: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Match score of boxes ``a`` against ``b``; 0 where they cannot be the same face.

    Two boxes are the same face when they overlap by ``iou_threshold`` or,
    for a face that moved fast between two detections, when their centres are
    within half a face of each other and their sizes differ by less than 1.5x.
    """
    overlap = iou(a, b)
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ca = (a[:, :2] + a[:, 2:]) / 2
    cb = (b[:, :2] + b[:, 2:]) / 2
    sa = np.maximum(a[:, 2] - a[:, 0], a[:, 3] - a[:, 1])
    sb = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
    dist = np.linalg.norm(ca[:, None] - cb[None], axis=-1)
    ratio = np.maximum(sa[:, None], sb[None]) / np.maximum(
        np.minimum(sa[:, None], sb[None]), 1e-6
    )
    near = (dist < 0.5 * np.maximum(sa[:, None], sb[None])) & (ratio < 1.5)
    ok = (overlap >= iou_threshold) | near
    return np.where(ok, overlap + 1e-3, 0.0)


def _greedy_match(affinity: np.ndarray) -> list[tuple[int, int]]:
    pairs = []
    aff = affinity.copy()
    while aff.size and aff.max() > 0:
        i, j = np.unravel_index(np.argmax(aff), aff.shape)
        pairs.append((int(i), int(j)))
        aff[i, :] = 0
        aff[:, j] = 0
    return pairs


def same_faces(a: Detections, b: Detections, iou_threshold: float) -> bool:
    """Whether two frames' detections pair up one to one."""
    if len(a) != len(b):
        return False
    if not len(a):
        return True
    return len(_greedy_match(_affinity(a.boxes, b.boxes, iou_threshold))) == len(a)


@dataclass
class Track:
    """One face followed over the detected frames of a video."""

    positions: list[int] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)
    probs: list[float] = field(default_factory=list)
    landmarks: list[np.ndarray] = field(default_factory=list)

    def add(self, pos: int, det: Detections, k: int) -> None:
        self.positions.append(pos)
        self.boxes.append(det.boxes[k])
        self.probs.append(float(det.probs[k]))
        self.landmarks.append(det.landmarks[k])


def link_tracks(
    detections: dict[int, Detections],
    *,
    iou_threshold: float = 0.3,
    max_gap: int = 8,
) -> list[Track]:
    """Link detections, frame after frame, into tracks by box overlap.

    Parameters
    ----------
    detections : dict of int to Detections
        Faces found at each detected frame position.
    iou_threshold : float, default=0.3
        Overlap that makes a detection continue a track.
    max_gap : int, default=8
        A track not seen for more than this many frame positions ends; a face
        that reappears later starts a new track.

    Returns
    -------
    tracks : list of Track
        In order of creation.
    """
    tracks: list[Track] = []
    active: list[int] = []
    for pos in sorted(detections):
        det = detections[pos]
        active = [t for t in active if pos - tracks[t].positions[-1] <= max_gap]
        matched: set[int] = set()
        if active and len(det):
            last = np.stack([tracks[t].boxes[-1] for t in active])
            for i, j in _greedy_match(_affinity(last, det.boxes, iou_threshold)):
                tracks[active[i]].add(pos, det, j)
                matched.add(j)
        for j in range(len(det)):
            if j not in matched:
                tracks.append(Track())
                tracks[-1].add(pos, det, j)
                active.append(len(tracks) - 1)
    return tracks


@dataclass
class TrackRows:
    """A track with a row for every frame position where its face is present."""

    positions: np.ndarray  # (n,) int
    boxes: np.ndarray  # (n, 4)
    probs: np.ndarray  # (n,)
    landmarks: np.ndarray  # (n, 5, 2)
    detected: np.ndarray  # (n,) bool
    n_detections: int


def fill_track(track: Track, max_fill: int) -> TrackRows:
    """Interpolate a track onto the frames between its detections.

    Frames between two detections of the track get linearly interpolated boxes
    and landmarks, and the lower of the two probabilities, when the two
    detections are at most ``max_fill`` frame positions apart. That also
    bridges a detector call that missed a face seen just before and just
    after it (MTCNN misses faces now and then on compressed frames); longer
    gaps are left without rows, so a face that left the frame is not invented.
    """
    pos = np.asarray(track.positions)
    boxes = np.stack(track.boxes).astype(np.float64)
    probs = np.asarray(track.probs, dtype=np.float64)
    lms = np.stack(track.landmarks).astype(np.float64)
    rows_pos, rows_box, rows_prob, rows_lm, rows_det = [], [], [], [], []
    for k in range(len(pos)):
        rows_pos.append(pos[k])
        rows_box.append(boxes[k])
        rows_prob.append(probs[k])
        rows_lm.append(lms[k])
        rows_det.append(True)
        if k + 1 == len(pos):
            break
        a, b = pos[k], pos[k + 1]
        if b - a > max_fill:
            continue
        for p in range(a + 1, b):
            w = (p - a) / (b - a)
            rows_pos.append(p)
            rows_box.append((1 - w) * boxes[k] + w * boxes[k + 1])
            rows_prob.append(min(probs[k], probs[k + 1]))
            rows_lm.append((1 - w) * lms[k] + w * lms[k + 1])
            rows_det.append(False)
    return TrackRows(
        positions=np.asarray(rows_pos, dtype=np.int64),
        boxes=np.asarray(rows_box, dtype=np.float64),
        probs=np.asarray(rows_prob, dtype=np.float64),
        landmarks=np.asarray(rows_lm, dtype=np.float64),
        detected=np.asarray(rows_det, dtype=bool),
        n_detections=len(pos),
    )


def smooth_boxes(boxes: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average of box centres and sides over ``window`` rows."""
    if window <= 1 or len(boxes) < 2:
        return boxes.copy()
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    half = (boxes[:, 2:] - boxes[:, :2]) / 2
    params = np.concatenate([centre, half], axis=1)
    r = window // 2
    padded = np.concatenate([params[:1].repeat(r, 0), params, params[-1:].repeat(r, 0)])
    kernel = np.ones(2 * r + 1) / (2 * r + 1)
    smoothed = np.stack(
        [np.convolve(padded[:, c], kernel, mode="valid") for c in range(4)], axis=1
    )
    return np.concatenate(
        [smoothed[:, :2] - smoothed[:, 2:], smoothed[:, :2] + smoothed[:, 2:]], axis=1
    )
