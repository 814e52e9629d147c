"""Manipulations of a synthetic video's inner face: blend and swap.

:func:`_draw_manipulation` draws the random choices of one manipulated twin
and :func:`_manipulate` applies them to a rendered frame: the inner face is
altered inside a feathered elliptical mask and blended back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sklearn_deepfake.datasets._synthetic_scene import (
    _IDENTITY_RECIPES,
    _ellipse_mask,
    _identity,
    _mouth,
    _Scene,
    _warp_face,
)

_MANIPULATIONS = ("blend", "swap", "audio")


@dataclass(frozen=True)
class _Manipulation:
    kind: str
    gains: np.ndarray  # (3,) colour gains of the inner face
    offset: np.ndarray  # (3,) colour offsets
    blur: float  # > 0: Gaussian blur sigma; < 0: unsharp-mask amount
    warp_scale: float  # relative enlargement of the inner face
    warp_shift: np.ndarray  # (2,) shift as a fraction of the face size
    jitter: np.ndarray  # (n_frames, 3): per-frame scale / shift jitter
    donor: tuple[str, ...]  # swapped-in identity per face ("swap")
    mask_axes: tuple[float, float]  # inner-face ellipse, fractions of the box


def _draw_manipulation(
    rng: np.random.RandomState, kind: str, scene: _Scene, identities: tuple[str, ...]
) -> _Manipulation:
    gains = rng.uniform(0.88, 1.12, size=3)
    offset = rng.uniform(-0.04, 0.04, size=3)
    blur = rng.uniform(0.7, 1.4) if rng.rand() < 0.5 else -rng.uniform(0.6, 1.2)
    donors = []
    for face in scene.faces:
        # prefer a donor cut from the same photograph: same head pose, so the
        # inner faces line up (as a face swap aligns landmarks)
        source = _IDENTITY_RECIPES[face.identity][0]
        others = [name for name in identities if name != face.identity]
        alike = [name for name in others if _IDENTITY_RECIPES[name][0] == source]
        pool = alike or others
        donors.append(pool[rng.randint(len(pool))] if pool else face.identity)
    return _Manipulation(
        kind=kind,
        gains=gains.astype(np.float32),
        offset=offset.astype(np.float32),
        blur=float(blur),
        warp_scale=float(rng.uniform(0.04, 0.09)),
        warp_shift=rng.uniform(-0.03, 0.03, size=2),
        jitter=rng.normal(0.0, 1.0, size=(scene.n_frames, 3)),
        donor=tuple(donors),
        mask_axes=(float(rng.uniform(0.36, 0.42)), float(rng.uniform(0.42, 0.5))),
    )


def _manipulate(
    frame: np.ndarray,
    scene: _Scene,
    manip: _Manipulation,
    i: int,
) -> np.ndarray:
    import cv2

    out = frame
    for k, face in enumerate(scene.faces):
        ident = _identity(face.identity)
        fw = (ident.box[2] - ident.box[0]) * face.scale[i] * face.squeeze[i]
        fh = (ident.box[3] - ident.box[1]) * face.scale[i]
        cx, cy = face.center[i]
        mask = _ellipse_mask(
            frame.shape[:2],
            center=(cx, cy + 0.05 * fh),
            axes=(manip.mask_axes[0] * fw, manip.mask_axes[1] * fh),
            angle=-face.angle[i],
            feather=0.12 * fw,
        )
        if manip.kind == "swap":
            donor = manip.donor[k]
            altered, donor_alpha = _warp_face(
                donor, face, i, scene.width, scene.height, _mouth(scene, k, i)
            )
            altered = altered * donor_alpha[..., None] + out * (
                1 - donor_alpha[..., None]
            )
            # partial colour transfer towards the target face (mean matching)
            inside = mask > 0.5
            if inside.any():
                shift = out[inside].mean(axis=0) - altered[inside].mean(axis=0)
                altered = altered + 0.6 * shift
        else:
            jit = manip.jitter[i]
            s = 1.0 + manip.warp_scale * (1.0 + 0.25 * jit[0])
            dx = (manip.warp_shift[0] + 0.004 * jit[1]) * fw
            dy = (manip.warp_shift[1] + 0.004 * jit[2]) * fh
            m = np.array(
                [[s, 0, (1 - s) * cx + dx], [0, s, (1 - s) * cy + dy]], np.float64
            )
            altered = cv2.warpAffine(
                out, m, (scene.width, scene.height), borderMode=cv2.BORDER_REFLECT
            )
        altered = altered * manip.gains + manip.offset
        sigma = abs(manip.blur) * max(fw / 64.0, 0.5)
        smooth = cv2.GaussianBlur(altered, (0, 0), sigma)
        if manip.blur > 0:
            altered = smooth
        else:
            altered = altered + (altered - smooth)  # unsharp mask
        out = out + mask[..., None] * (altered - out)
    return out
