"""MTCNN face detection on downscaled frames, one detector per process."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

_DETECTORS: dict[str, Any] = {}
_LOCK = threading.Lock()

#: Shorter side, in pixels, of the frames MTCNN sees when ``detect_scale="auto"``.
#: On the DFDC 1080p sample a 105 px wide face is found on every frame at a third
#: of full size (360 px) but missed on most frames at a quarter (270 px).
AUTO_DETECT_SIDE = 360


@dataclass(frozen=True)
class Detections:
    """Faces found in one frame, in full-frame pixel coordinates."""

    boxes: np.ndarray  # (k, 4) float32, x1 y1 x2 y2
    probs: np.ndarray  # (k,) float32
    landmarks: np.ndarray  # (k, 5, 2) float32

    def __len__(self) -> int:
        return len(self.boxes)

    @classmethod
    def none(cls) -> Detections:
        return cls(
            np.zeros((0, 4), np.float32),
            np.zeros(0, np.float32),
            np.zeros((0, 5, 2), np.float32),
        )


def get_mtcnn(device: Any) -> Any:
    """Return this process's MTCNN networks for ``device``, loading them once.

    The weights ship inside the facenet-pytorch wheel, so nothing is
    downloaded.
    """
    import torch
    from facenet_pytorch import MTCNN

    key = str(device)
    with _LOCK:
        net = _DETECTORS.get(key)
        if net is None:
            net = MTCNN(keep_all=True, device=torch.device(device))
            net.eval()
            _DETECTORS[key] = net
    return net


def resolve_detect_scale(detect_scale: Any, frame_shape: tuple[int, ...]) -> float:
    """Scale factor applied to frames before detection.

    ``"auto"`` shrinks frames so that their shorter side is about
    :data:`AUTO_DETECT_SIDE` pixels (never enlarging them).
    """
    if isinstance(detect_scale, str):
        short = min(frame_shape[0], frame_shape[1])
        return float(min(1.0, AUTO_DETECT_SIDE / max(short, 1)))
    return float(detect_scale)


def detect_faces(
    net: Any,
    frames: list[np.ndarray],
    *,
    scale: float,
    min_face_size: float,
    thresholds: tuple[float, float, float],
    min_confidence: float,
    batch: bool = False,
) -> list[Detections]:
    """Run MTCNN on frames shrunk by ``scale``; boxes come back in full size.

    Parameters
    ----------
    net : facenet_pytorch.MTCNN
        Detector from :func:`get_mtcnn`.
    frames : list of ndarray of uint8, shape (H, W, 3)
        Full-size RGB frames of one video (all the same size).
    scale : float
        Factor in ``(0, 1]`` applied before detection.
    min_face_size : float
        Smallest face, in full-size pixels, to report.
    thresholds : tuple of 3 floats
        MTCNN's P-, R- and O-net thresholds.
    min_confidence : float
        Detections with a lower O-net probability are dropped.
    batch : bool, default=False
        Run all frames in one call (faster on GPU; on CPU one call per frame
        measured faster).
    """
    import torch
    from facenet_pytorch.models.utils.detect_face import detect_face

    if not frames:
        return []
    if scale < 1.0:
        small = [
            cv2.resize(f, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            for f in frames
        ]
    else:
        small = list(frames)
    # The P-net pyramid starts at faces of 20 px in the image MTCNN sees:
    # smaller ones are found unreliably, and starting lower (14 px) costs
    # more time for the same faces on the 1080p DFDC clips.
    # Smaller faces are searched at twice the scale when a video shows none.
    minsize = max(20.0, min_face_size * scale)
    groups = [np.stack(small)] if batch else [s[None] for s in small]
    out: list[Detections] = []
    with torch.inference_mode():
        for imgs in groups:
            boxes, points = detect_face(
                imgs,
                minsize,
                net.pnet,
                net.rnet,
                net.onet,
                list(thresholds),
                net.factor,
                net.device,
            )
            for b, p in zip(boxes, points):
                out.append(_to_full_size(b, p, scale, min_face_size, min_confidence))
    return out


def _to_full_size(
    box: Any, points: Any, scale: float, min_face_size: float, min_confidence: float
) -> Detections:
    box = np.asarray(box, dtype=np.float32).reshape(-1, 5)
    points = np.asarray(points, dtype=np.float32).reshape(-1, 5, 2)
    if not len(box):
        return Detections.none()
    xyxy = box[:, :4] / scale
    probs = box[:, 4]
    side = np.minimum(xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1])
    keep = (probs >= min_confidence) & (side >= min_face_size)
    return Detections(xyxy[keep], probs[keep], points[keep] / scale)


#: Side, in pixels, that a face is resized to for a local search.
LOCAL_FACE_SIDE = 100


def detect_near(
    net: Any,
    frame: np.ndarray,
    box: np.ndarray,
    *,
    min_face_size: float,
    thresholds: tuple[float, float, float],
    min_confidence: float,
) -> Detections:
    """Look for a face in the region around ``box`` (frame pixels) of one frame.

    The region is three face-widths wide, resized so that a face of the box's
    size is about :data:`LOCAL_FACE_SIDE` pixels: a face the whole-frame pass
    missed (MTCNN drops compressed, small or turned faces now and then) is
    easier to find there, and the call costs a few milliseconds.
    """
    h, w = frame.shape[:2]
    side = float(max(box[2] - box[0], box[3] - box[1]))
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    x1, y1 = int(max(0, cx - 1.5 * side)), int(max(0, cy - 1.5 * side))
    x2, y2 = int(min(w, cx + 1.5 * side)), int(min(h, cy + 1.5 * side))
    if x2 - x1 < 12 or y2 - y1 < 12:
        return Detections.none()
    region = np.ascontiguousarray(frame[y1:y2, x1:x2])
    scale = min(1.0, LOCAL_FACE_SIDE / max(side, 1.0))
    (found,) = detect_faces(
        net,
        [region],
        scale=scale,
        min_face_size=min_face_size,
        thresholds=thresholds,
        min_confidence=min_confidence,
    )
    offset = np.array([x1, y1], dtype=np.float32)
    return Detections(
        found.boxes + np.tile(offset, 2),
        found.probs,
        found.landmarks + offset,
    )
