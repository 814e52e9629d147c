"""Training tricks on pixel-aligned (fake, original) crop pairs.

:func:`~sklearn_deepfake.faces.extract_pairs` cuts every fake with its
original's boxes, so crop ``r`` of a fake and the crop of its original at the
same frame and track show the same pixels except where the face was
manipulated. Two augmentations use that:

- :func:`difference_mask` and :func:`erase_by_difference`: where the fake
  differs from its original, black out a face part, so that the network
  cannot rest on one manipulated region (the 1st-place DFDC solution);
- :func:`mix_pair`: a convex mix of a fake crop and its original crop with a
  soft label (real/fake mixup on aligned pairs, the 3rd-place DFDC solution).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sklearn_deepfake.nets._augment import (
    _FACE_PARTS,
    _has_landmarks,
    face_part_box,
)

__all__ = ["difference_mask", "erase_by_difference", "mix_pair"]

#: Thresholds of :func:`difference_mask` (abs-difference in 0-255 levels,
#: SSIM dissimilarity ``(1 - ssim) / 2`` in [0, 1]).
_THRESHOLDS = {"absdiff": 12.0, "ssim": 0.05}
#: Fewer differing pixels than this fraction of the crop: no usable mask.
MIN_MASK_FRACTION = 0.005


def _gray(img: np.ndarray) -> np.ndarray:
    return np.asarray(img, np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def difference_mask(
    fake: np.ndarray,
    original: np.ndarray,
    *,
    method: str = "ssim",
    sigma: float | None = None,
    threshold: float | None = None,
) -> np.ndarray:
    """Return where an aligned fake crop differs from its original crop.

    Parameters
    ----------
    fake, original : ndarray of uint8, shape (H, W, 3)
        Crops cut with the same box from the same frame of the fake and of
        its original.
    method : {"ssim", "absdiff"}, default="ssim"
        ``"ssim"``: the dissimilarity ``(1 - SSIM) / 2`` of the grey levels,
        with Gaussian windows of ``sigma``; ``"absdiff"``: the mean absolute
        difference over the colour channels, smoothed by a Gaussian of
        ``sigma``.
    sigma : float, default=None
        Smoothing in pixels; ``None`` uses ``max(1, W / 64)``.
    threshold : float, default=None
        Pixels above it are in the mask; ``None`` uses 0.05 for ``"ssim"``
        and 12 grey levels for ``"absdiff"``.

    Returns
    -------
    mask : ndarray of bool, shape (H, W)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.nets import difference_mask
    >>> rng = np.random.default_rng(0)
    >>> original = rng.integers(60, 200, (32, 32, 3), dtype=np.uint8)
    >>> fake = original.copy()
    >>> fake[8:16, 8:16] = 255 - fake[8:16, 8:16]
    >>> mask = difference_mask(fake, original, method="absdiff")
    >>> bool(mask[12, 12]), bool(mask[28, 28])
    (True, False)
    """
    import cv2

    if method not in _THRESHOLDS:
        raise ValueError(f"method must be 'ssim' or 'absdiff', got {method!r}.")
    fake = np.asarray(fake)
    original = np.asarray(original)
    if fake.shape != original.shape:
        raise ValueError(
            f"fake and original crops differ in shape: {fake.shape} and "
            f"{original.shape}."
        )
    s = float(sigma) if sigma is not None else max(1.0, fake.shape[1] / 64.0)
    t = _THRESHOLDS[method] if threshold is None else float(threshold)
    if method == "absdiff":
        diff = np.abs(fake.astype(np.float32) - original.astype(np.float32))
        diff = cv2.GaussianBlur(diff.mean(axis=2), (0, 0), s)
        return diff > t

    def blur(a: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(a, (0, 0), s)

    a, b = _gray(fake), _gray(original)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    ssim = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )
    return (1.0 - ssim) / 2.0 > t


def erase_by_difference(
    fake: np.ndarray,
    original: np.ndarray,
    landmarks: np.ndarray | None,
    rng: np.random.Generator,
    *,
    method: str = "ssim",
    value: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Black out a face part of a fake crop where it differs from its original.

    The difference mask (:func:`difference_mask`) is intersected with the
    box of one face part (eyes, nose or mouth, from the landmarks; see
    :func:`~sklearn_deepfake.nets._augment.face_part_box`) drawn with a
    probability proportional to how much of the mask it holds, and those
    pixels are set to ``value``. Without landmarks, or when the mask misses
    every part, the whole mask is blacked out. When the crops hardly differ
    (under 0.5 % of the pixels), nothing is erased.

    Parameters
    ----------
    fake, original : ndarray of uint8, shape (H, W, 3)
        Aligned crops (same box, same frame).
    landmarks : ndarray of shape (5, 2) or None
        Landmarks of the crops, in crop pixels.
    rng : numpy.random.Generator
        Draws the part.
    method : {"ssim", "absdiff"}, default="ssim"
        See :func:`difference_mask`.
    value : int, default=0
        Fill value.

    Returns
    -------
    erased : ndarray of uint8, shape (H, W, 3)
        A copy of ``fake``.
    mask : ndarray of bool, shape (H, W)
        The pixels that were erased.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.nets import erase_by_difference
    >>> rng = np.random.default_rng(0)
    >>> original = rng.integers(60, 200, (32, 32, 3), dtype=np.uint8)
    >>> fake = original.copy()
    >>> fake[20:30, 10:22] = 255 - fake[20:30, 10:22]
    >>> lm = np.array([[12, 12], [20, 12], [16, 18], [13, 25], [19, 25]], float)
    >>> out, erased = erase_by_difference(fake, original, lm, rng,
    ...                                   method="absdiff")
    >>> bool(erased.any()), bool((out[erased] == 0).all()), bool(erased[2, 2])
    (True, True, False)
    """
    mask = difference_mask(fake, original, method=method)
    out = np.array(fake, copy=True)
    if mask.mean() < MIN_MASK_FRACTION:
        return out, np.zeros_like(mask)
    erased = mask
    if _has_landmarks(landmarks):
        weights, parts = [], []
        for part in _FACE_PARTS:
            x1, y1, x2, y2 = face_part_box(landmarks, part, mask.shape)
            inside = np.zeros_like(mask)
            inside[y1:y2, x1:x2] = True
            parts.append(inside & mask)
            weights.append(float(parts[-1].sum()))
        total = sum(weights)
        if total > 0:
            k = int(rng.choice(len(parts), p=np.asarray(weights) / total))
            erased = parts[k]
    out[erased] = value
    return out, erased


def mix_pair(
    fake: np.ndarray, original: np.ndarray, lam: float
) -> tuple[np.ndarray, float]:
    """Mix an aligned fake crop with its original: ``lam`` parts fake.

    Parameters
    ----------
    fake, original : ndarray of uint8, shape (H, W, 3)
        Aligned crops.
    lam : float
        Weight of the fake crop, in [0, 1].

    Returns
    -------
    mixed : ndarray of uint8, shape (H, W, 3)
        ``round(lam * fake + (1 - lam) * original)``.
    label : float
        ``lam``: the soft fake label of the mix.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.nets import mix_pair
    >>> mixed, label = mix_pair(np.full((2, 2, 3), 200, np.uint8),
    ...                         np.full((2, 2, 3), 100, np.uint8), 0.25)
    >>> int(mixed[0, 0, 0]), label
    (125, 0.25)
    """
    lam = float(lam)
    mixed = lam * fake.astype(np.float32) + (1.0 - lam) * original.astype(np.float32)
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8), lam


def partner_rows(fake: Any, original: Any) -> np.ndarray:
    """Row of ``original`` at the same track and frame as each row of ``fake``.

    ``-1`` where the original has no such row.
    """

    def keys(t: Any) -> list[tuple[int, int]]:
        frames = np.asarray(t.frame_indices)[np.asarray(t.frame_pos)]
        return list(zip(np.asarray(t.track_ids).tolist(), frames.tolist()))

    where = {k: r for r, k in enumerate(keys(original))}
    return np.array([where.get(k, -1) for k in keys(fake)], dtype=np.int64)
