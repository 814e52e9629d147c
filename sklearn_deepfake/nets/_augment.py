"""Training-time augmentation of face crops (numpy / OpenCV / torch only).

:class:`FaceAugmenter` transforms one ``uint8 (S, S, 3)`` RGB crop and its
five landmarks with a random subset of photometric and geometric changes,
each applied with its own probability and drawn from a
:class:`numpy.random.Generator`, so that a seeded generator gives the same
result every time. :func:`erase_face_part` blanks the eyes, nose or mouth
found from the landmarks, and :func:`cutmix_batch` mixes a batch of crops
with area-weighted labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_AUGMENT",
    "FaceAugmenter",
    "cutmix_batch",
    "erase_face_part",
    "face_part_box",
]

#: Probability of each augmentation (``"cutmix"`` is per batch, the others
#: per crop). ``FaceCNNClassifier(augment=...)`` overrides entries of it.
DEFAULT_AUGMENT: dict[str, float] = {
    "flip": 0.5,
    "color": 0.5,
    "noise": 0.15,
    "blur": 0.1,
    "jpeg": 0.3,
    "downscale": 0.15,
    "cutout": 0.15,
    "rotate": 0.2,
    "face_part": 0.2,
    "cutmix": 0.0,
}

_FACE_PARTS = ("eyes", "nose", "mouth")
# Landmark order: left eye, right eye, nose, left mouth corner, right mouth
# corner. A horizontal flip swaps left and right.
_FLIP_ORDER = np.array([1, 0, 2, 4, 3])


def _has_landmarks(landmarks: np.ndarray | None) -> bool:
    return (
        landmarks is not None
        and np.shape(landmarks) == (5, 2)
        and bool(np.isfinite(landmarks).all())
        and bool(np.any(landmarks != 0))
    )


def face_part_box(
    landmarks: np.ndarray, part: str, size: int | tuple[int, int]
) -> tuple[int, int, int, int]:
    """Return the pixel box ``(x1, y1, x2, y2)`` of one face part.

    The box is built from the five landmarks and scaled by the distance
    between the eyes, then clipped to the image.

    Parameters
    ----------
    landmarks : ndarray of shape (5, 2)
        Left eye, right eye, nose, left and right mouth corner, ``(x, y)``
        in pixels of the crop.
    part : {"eyes", "nose", "mouth"}
        Which part.
    size : int or (int, int)
        Side of the square crop, or its ``(height, width)``.

    Returns
    -------
    box : tuple of int
        ``x2`` and ``y2`` are exclusive.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.nets._augment import face_part_box
    >>> lm = np.array([[12, 16], [20, 16], [16, 22], [13, 28], [19, 28]], float)
    >>> face_part_box(lm, "nose", 32)
    (12, 18, 21, 27)
    """
    if part not in _FACE_PARTS:
        raise ValueError(f"part must be one of {_FACE_PARTS}, got {part!r}.")
    h, w = (size, size) if np.ndim(size) == 0 else tuple(size)
    lm = np.asarray(landmarks, dtype=np.float64)
    eye_dist = max(float(np.linalg.norm(lm[1] - lm[0])), 2.0)
    if part == "eyes":
        pts, pad_x, pad_y = lm[:2], 0.35 * eye_dist, 0.25 * eye_dist
    elif part == "nose":
        pts, pad_x, pad_y = lm[2:3], 0.4 * eye_dist, 0.4 * eye_dist
    else:
        pts, pad_x, pad_y = lm[3:], 0.3 * eye_dist, 0.25 * eye_dist
    x1 = int(np.floor(pts[:, 0].min() - pad_x))
    x2 = int(np.ceil(pts[:, 0].max() + pad_x)) + 1
    y1 = int(np.floor(pts[:, 1].min() - pad_y))
    y2 = int(np.ceil(pts[:, 1].max() + pad_y)) + 1
    return max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)


def erase_face_part(
    image: np.ndarray, landmarks: np.ndarray, part: str, *, value: int = 0
) -> np.ndarray:
    """Return a copy of ``image`` with one face part blanked out.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB face crop.
    landmarks : ndarray of shape (5, 2)
        The crop's five landmarks in pixels.
    part : {"eyes", "nose", "mouth"}
        Part to blank; its box comes from :func:`face_part_box`.
    value : int, default=0
        Fill value.

    Returns
    -------
    erased : ndarray of uint8, shape (H, W, 3)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.nets._augment import erase_face_part
    >>> img = np.full((32, 32, 3), 200, np.uint8)
    >>> lm = np.array([[12, 16], [20, 16], [16, 22], [13, 28], [19, 28]], float)
    >>> out = erase_face_part(img, lm, "eyes")
    >>> int(out[16, 16, 0]), int(out[2, 2, 0])
    (0, 200)
    """
    out = np.array(image, copy=True)
    x1, y1, x2, y2 = face_part_box(landmarks, part, image.shape[:2])
    if x2 > x1 and y2 > y1:
        out[y1:y2, x1:x2] = value
    return out


class FaceAugmenter:
    """Random augmentation of one face crop, reproducible from a generator.

    Geometric changes come first (horizontal flip, small rotation; the
    landmarks follow them), then face-part erasure (eyes, nose or mouth,
    from the landmarks) and cutout, then photometric changes (brightness,
    contrast, saturation and hue jitter, Gaussian blur, downscale-upscale,
    Gaussian noise) and last a JPEG re-compression at a random quality, as
    the DFDC test videos were re-encoded.

    Parameters
    ----------
    probs : mapping of str to float, default=None
        Probability of each augmentation; keys from :data:`DEFAULT_AUGMENT`
        (missing keys keep their default). ``"cutmix"`` is ignored here
        (it acts on batches, see :func:`cutmix_batch`).
    max_rotation : float, default=10
        Largest rotation in degrees.
    jpeg_quality : (int, int), default=(30, 95)
        Range of JPEG qualities.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.nets._augment import FaceAugmenter
    >>> img = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    >>> aug = FaceAugmenter({"jpeg": 1.0})
    >>> out = aug(img, None, np.random.default_rng(1))
    >>> out.shape, out.dtype
    ((32, 32, 3), dtype('uint8'))
    """

    def __init__(
        self,
        probs: Mapping[str, float] | None = None,
        *,
        max_rotation: float = 10.0,
        jpeg_quality: tuple[int, int] = (30, 95),
    ) -> None:
        self.probs = resolve_augment(probs)
        self.max_rotation = float(max_rotation)
        self.jpeg_quality = (int(jpeg_quality[0]), int(jpeg_quality[1]))

    def __call__(
        self,
        image: np.ndarray,
        landmarks: np.ndarray | None,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Return an augmented copy of ``image`` (same shape, uint8)."""
        import cv2

        p = self.probs
        img = np.array(image, dtype=np.uint8, copy=True)
        h, w = img.shape[:2]
        lm = None
        if _has_landmarks(landmarks):
            lm = np.asarray(landmarks, dtype=np.float64).copy()
        if rng.random() < p["flip"]:
            img = np.ascontiguousarray(img[:, ::-1])
            if lm is not None:
                lm[:, 0] = (w - 1) - lm[:, 0]
                lm = lm[_FLIP_ORDER]
        if rng.random() < p["rotate"]:
            angle = rng.uniform(-self.max_rotation, self.max_rotation)
            mat = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, 1.0)
            img = cv2.warpAffine(
                img, mat, (w, h), flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REFLECT_101,
            )  # fmt: skip
            if lm is not None:
                lm = lm @ mat[:, :2].T + mat[:, 2]
        if lm is not None and rng.random() < p["face_part"]:
            img = erase_face_part(img, lm, _FACE_PARTS[rng.integers(3)])
        if rng.random() < p["cutout"]:
            ch, cw = (int(rng.uniform(0.15, 0.35) * s) + 1 for s in (h, w))
            y0, x0 = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
            img[y0 : y0 + ch, x0 : x0 + cw] = 0
        if rng.random() < p["color"]:
            img = self._jitter(img, rng)
        if rng.random() < p["blur"]:
            sigma = rng.uniform(0.3, 1.5)
            img = cv2.GaussianBlur(img, (0, 0), sigmaX=sigma)
        if rng.random() < p["downscale"]:
            f = rng.uniform(0.3, 0.75)
            small = cv2.resize(
                img, (max(int(w * f), 4), max(int(h * f), 4)),
                interpolation=cv2.INTER_AREA,
            )  # fmt: skip
            img = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        if rng.random() < p["noise"]:
            sigma = rng.uniform(2.0, 12.0)
            noisy = img.astype(np.float32) + rng.normal(0, sigma, img.shape)
            img = np.clip(noisy, 0, 255).astype(np.uint8)
        if rng.random() < p["jpeg"]:
            q = int(rng.integers(self.jpeg_quality[0], self.jpeg_quality[1] + 1))
            ok, buf = cv2.imencode(
                ".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, q],
            )  # fmt: skip
            if ok:
                img = cv2.cvtColor(
                    cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB
                )
        return np.ascontiguousarray(img, dtype=np.uint8)

    @staticmethod
    def _jitter(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        import cv2

        x = img.astype(np.float32)
        x *= rng.uniform(0.75, 1.25)  # brightness
        mean = x.mean()
        x = (x - mean) * rng.uniform(0.75, 1.25) + mean  # contrast
        gray = x @ np.array([0.299, 0.587, 0.114], np.float32)
        x = gray[..., None] + (x - gray[..., None]) * rng.uniform(0.7, 1.3)
        x = np.clip(x, 0, 255).astype(np.uint8)
        hsv = cv2.cvtColor(x, cv2.COLOR_RGB2HSV)
        shift = int(rng.integers(-8, 9))  # OpenCV hue is in [0, 180)
        hsv[..., 0] = ((hsv[..., 0].astype(np.int16) + shift) % 180).astype(np.uint8)
        return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def resolve_augment(augment: Any) -> dict[str, float]:
    """Turn ``augment`` (True/None, False or a mapping) into probabilities."""
    if augment is None or augment is True:
        return dict(DEFAULT_AUGMENT)
    if augment is False:
        return dict.fromkeys(DEFAULT_AUGMENT, 0.0)
    if not isinstance(augment, Mapping):
        raise ValueError(
            "augment must be True, False, None or a dict of probabilities, got "
            f"{augment!r}."
        )
    unknown = sorted(set(augment) - set(DEFAULT_AUGMENT))
    if unknown:
        raise ValueError(
            f"Unknown augmentations {unknown}; choose from {sorted(DEFAULT_AUGMENT)}."
        )
    probs = dict(DEFAULT_AUGMENT)
    for key, value in augment.items():
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"augment[{key!r}] must be in [0, 1], got {value!r}.")
        probs[key] = float(value)
    return probs


def cutmix_batch(
    x: Any, y: Any, rng: np.random.Generator, *, alpha: float = 1.0
) -> tuple[Any, Any, float]:
    """Paste a box of a shuffled copy of the batch into each crop (CutMix).

    One box, of area fraction ``1 - lam`` with ``lam ~ Beta(alpha, alpha)``,
    is cut from crop ``perm[i]`` and pasted into crop ``i``; the labels mix
    in proportion to the pasted area actually kept inside the image.

    Parameters
    ----------
    x : torch.Tensor of shape (B, C, H, W) or (B, C, T, H, W)
        Batch of crops or clips (any dtype).
    y : torch.Tensor of shape (B,)
        Float labels (or soft labels) in [0, 1].
    rng : numpy.random.Generator
        Source of the box and the permutation.
    alpha : float, default=1.0
        Beta distribution parameter.

    Returns
    -------
    x_mixed : torch.Tensor
        New tensor; ``x`` is left unchanged.
    y_mixed : torch.Tensor
        ``(1 - a) * y + a * y[perm]`` with ``a`` the pasted area fraction.
    area : float
        The pasted area fraction ``a``.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn_deepfake.nets._augment import cutmix_batch
    >>> x = torch.stack([torch.zeros(3, 8, 8), torch.ones(3, 8, 8)])
    >>> xm, ym, a = cutmix_batch(x, torch.tensor([0.0, 1.0]), np.random.default_rng(0))
    >>> bool(torch.allclose(ym[0], xm[0].mean()))
    True
    """
    import torch

    n, (h, w) = x.shape[0], x.shape[-2:]
    perm = torch.as_tensor(rng.permutation(n), device=x.device)
    lam = float(rng.beta(alpha, alpha))
    cut = np.sqrt(1.0 - lam)
    ch, cw = round(h * cut), round(w * cut)
    cy, cx = int(rng.integers(h)), int(rng.integers(w))
    y1, y2 = max(cy - ch // 2, 0), min(cy + (ch - ch // 2), h)
    x1, x2 = max(cx - cw // 2, 0), min(cx + (cw - cw // 2), w)
    out = x.clone()
    # The same box on every frame when x holds clips (B, C, T, H, W).
    out[..., y1:y2, x1:x2] = x[perm][..., y1:y2, x1:x2]
    area = (y2 - y1) * (x2 - x1) / float(h * w)
    y = torch.as_tensor(y)
    y_mixed = (1.0 - area) * y + area * y[perm.to(y.device)]
    return out, y_mixed, area
