"""Where the face lies inside its crop: crop geometry shared by features and nets.

A :class:`~sklearn_deepfake.utils.FaceTracks` row records the face box and the
region cut into the crop, both in source pixels; these functions map the first
into crop pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

from sklearn_deepfake.utils._ragged import FaceTracks

__all__ = ["face_boxes_in_crop", "face_boxes_in_crop_raw"]


def face_boxes_in_crop_raw(tracks: FaceTracks) -> np.ndarray:
    """Map each row's face box into its crop, without clipping or fallback.

    The face box (``tracks.boxes``) and the region cut into the crop
    (``tracks.crop_boxes``) are both in source pixels. Rows whose crop box is
    degenerate (zero width or height) or not finite get NaN; a box partly
    off the crop keeps its true extent. :func:`face_boxes_in_crop` builds on
    it for the features; the self-blending masks use it as it is, so that
    they can judge a box that lies half off the crop themselves.

    Parameters
    ----------
    tracks : FaceTracks
        One video's face rows.

    Returns
    -------
    boxes : ndarray of float32, shape (n_rows, 4)
        ``(x1, y1, x2, y2)`` in crop pixels, NaN where undefined.

    Examples
    --------
    >>> from sklearn_deepfake.faces._geometry import face_boxes_in_crop_raw
    >>> from sklearn_deepfake.utils._testing import make_tiny_face_tracks
    >>> face_boxes_in_crop_raw(make_tiny_face_tracks(1, empty=())[0]).shape
    (3, 4)
    """
    cb = np.asarray(tracks.crop_boxes, np.float32).reshape(-1, 4)
    b = np.asarray(tracks.boxes, np.float32).reshape(-1, 4)
    w, h = cb[:, 2] - cb[:, 0], cb[:, 3] - cb[:, 1]
    ok = (w > 0) & (h > 0) & np.isfinite(cb).all(axis=1) & np.isfinite(b).all(axis=1)
    size = np.float32(tracks.crop_size)
    sx = np.where(ok, size / np.where(ok, w, 1.0), np.nan).astype(np.float32)
    sy = np.where(ok, size / np.where(ok, h, 1.0), np.nan).astype(np.float32)
    out = np.empty((len(cb), 4), dtype=np.float32)
    out[:, 0] = (b[:, 0] - cb[:, 0]) * sx
    out[:, 2] = (b[:, 2] - cb[:, 0]) * sx
    out[:, 1] = (b[:, 1] - cb[:, 1]) * sy
    out[:, 3] = (b[:, 3] - cb[:, 1]) * sy
    return out


def face_boxes_in_crop(tracks: FaceTracks, default_margin: float = 0.3) -> np.ndarray:
    """Return each row's face box in crop pixels, ``float32 (n_rows, 4)``.

    The face box (``tracks.boxes``) and the region that was cut into the crop
    (``tracks.crop_boxes``) are both in source pixels; this maps the first into
    the second. Rows whose crop box is degenerate (zero width or height) get a
    centred box, as if the crop had been cut with ``default_margin`` on every
    side.

    Parameters
    ----------
    tracks : FaceTracks
        One video's face rows.
    default_margin : float, default=0.3
        Margin assumed for rows without a usable crop box.

    Returns
    -------
    boxes : ndarray of float32, shape (n_rows, 4)
        ``(x1, y1, x2, y2)`` in pixels of the crop, clipped to the crop.

    Examples
    --------
    >>> from sklearn_deepfake.faces._geometry import face_boxes_in_crop
    >>> from sklearn_deepfake.utils import FaceTracks
    >>> t = FaceTracks.empty("a.mp4", size=8)
    >>> face_boxes_in_crop(t).shape
    (0, 4)
    """
    size = float(tracks.crop_size)
    out = face_boxes_in_crop_raw(tracks)
    ok = np.isfinite(out).all(axis=1)
    lo = size * default_margin / (1 + 2 * default_margin)
    out[~ok] = [lo, lo, size - lo, size - lo]
    np.clip(out, 0.0, size, out=out)
    # A box squashed to nothing by clipping falls back to the default too.
    tiny = (out[:, 2] - out[:, 0] < 2) | (out[:, 3] - out[:, 1] < 2)
    out[tiny] = [lo, lo, size - lo, size - lo]
    return out


def crop_square(frame: np.ndarray, square: np.ndarray, size: int) -> np.ndarray:
    """Cut ``square`` (frame pixels) out of ``frame``, zero-padded, resized."""
    h, w = frame.shape[:2]
    x1, y1, x2, y2 = np.round(square).astype(int)
    x2, y2 = max(x2, x1 + 1), max(y2, y1 + 1)
    region = frame[max(y1, 0) : min(y2, h), max(x1, 0) : min(x2, w)]
    pad = (max(0, -y1), max(0, y2 - h), max(0, -x1), max(0, x2 - w))
    if any(pad):
        region = cv2.copyMakeBorder(region, *pad, cv2.BORDER_CONSTANT, value=0)
    if region.shape[0] == 0 or region.shape[1] == 0:
        return np.zeros((size, size, 3), np.uint8)
    shrink = region.shape[0] > size
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(region, (size, size), interpolation=interp)
