"""The pristine scene of a synthetic video: identities, background, motion.

The identities are head patches cut out of two scikit-image photographs
(:func:`_identity`); :func:`_draw_scene` draws every random choice of one
pristine video, and :func:`_warp_face` places a face in a frame.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from sklearn_deepfake.datasets._synthetic_speech import (
    _draw_speech,
    _open_mouth,
    _Speech,
)

# Face boxes (x1, y1, x2, y2) found by facenet-pytorch's MTCNN on the full
# 512 x 512 source photographs (probabilities 0.99999 and 0.9991).
_SOURCE_BOXES = {
    "astronaut": (181.0, 62.0, 268.0, 172.0),
    "camera": (199.0, 119.0, 254.0, 192.0),
}


# Left and right mouth corners (x, y) that the same MTCNN call found.
_SOURCE_MOUTHS = {
    "astronaut": ((201.7, 139.2), (245.3, 141.9)),
    "camera": ((231.2, 180.4), (243.5, 181.9)),
}


# name -> (source photograph, mirror, per-channel gains, gamma, horizontal stretch)
_IDENTITY_RECIPES: dict[
    str, tuple[str, bool, tuple[float, float, float], float, float]
] = {
    "astronaut": ("astronaut", False, (1.0, 1.0, 1.0), 1.0, 1.0),
    "astronaut_mirror_cool": ("astronaut", True, (0.88, 0.97, 1.12), 1.1, 1.0),
    "cameraman_warm": ("camera", False, (1.06, 0.9, 0.74), 1.0, 1.0),
    "astronaut_wide_dark": ("astronaut", False, (0.95, 0.88, 0.82), 1.35, 1.15),
    "cameraman_mirror_cool": ("camera", True, (0.86, 0.96, 1.08), 0.9, 1.0),
    "astronaut_narrow_warm": ("astronaut", True, (1.08, 0.97, 0.86), 0.95, 0.88),
}


#: Names of the face identities that :func:`make_face_videos` draws from.
IDENTITIES: tuple[str, ...] = tuple(_IDENTITY_RECIPES)


_BACKGROUNDS = ("coffee", "rocket", "brick", "grass", "gravel")


_ROTATIONS = (0, 90, 180, 270)


# Face patch around the source box, as fractions of the box width / height.
_PATCH_MARGIN = (0.9, 0.75)  # horizontal, vertical margin on each side


# Semi-axes of the feathered ellipse that cuts the head out of the photograph,
# as fractions of the face box width / height (centred on the box centre).
_HEAD_AXES = (0.8, 0.85)


@dataclass(frozen=True)
class _Identity:
    name: str
    rgb: np.ndarray  # float32 (h, w, 3) in [0, 1], the head patch
    alpha: np.ndarray  # float32 (h, w), feathered head mask
    box: tuple[float, float, float, float]  # face box inside the patch
    mouth: tuple[tuple[float, float], tuple[float, float]]  # corners in the patch


@functools.cache
def _identity(name: str) -> _Identity:
    """Build (once) the head patch of one identity."""
    import skimage.data

    source, mirror, gains, gamma, stretch = _IDENTITY_RECIPES[name]
    image = getattr(skimage.data, source)()
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    image = image[:, :, :3].astype(np.float32) / 255.0
    x1, y1, x2, y2 = _SOURCE_BOXES[source]
    w, h = x2 - x1, y2 - y1
    px1 = max(int(x1 - _PATCH_MARGIN[0] * w), 0)
    py1 = max(int(y1 - _PATCH_MARGIN[1] * h), 0)
    px2 = min(int(np.ceil(x2 + _PATCH_MARGIN[0] * w)), image.shape[1])
    py2 = min(int(np.ceil(y2 + _PATCH_MARGIN[1] * h)), image.shape[0])
    rgb = image[py1:py2, px1:px2]
    box = [x1 - px1, y1 - py1, x2 - px1, y2 - py1]
    mouth = [[x - px1, y - py1] for x, y in _SOURCE_MOUTHS[source]]
    if mirror:
        rgb = rgb[:, ::-1]
        width = rgb.shape[1]
        box = [width - box[2], box[1], width - box[0], box[3]]
        mouth = [[width - x, y] for x, y in mouth[::-1]]
    rgb = np.clip(rgb ** np.float32(gamma) * np.asarray(gains, np.float32), 0, 1)
    if stretch != 1.0:
        import cv2

        new_w = round(rgb.shape[1] * stretch)
        rgb = cv2.resize(rgb, (new_w, rgb.shape[0]), interpolation=cv2.INTER_AREA)
        box = [box[0] * stretch, box[1], box[2] * stretch, box[3]]
        mouth = [[x * stretch, y] for x, y in mouth]
    alpha = _ellipse_mask(
        rgb.shape[:2],
        center=((box[0] + box[2]) / 2, (box[1] + box[3]) / 2),
        axes=(_HEAD_AXES[0] * (box[2] - box[0]), _HEAD_AXES[1] * (box[3] - box[1])),
        angle=0.0,
        feather=0.15 * (box[2] - box[0]),
    )
    rgb = np.ascontiguousarray(rgb, dtype=np.float32)
    corners = ((mouth[0][0], mouth[0][1]), (mouth[1][0], mouth[1][1]))
    return _Identity(name, rgb, alpha, (box[0], box[1], box[2], box[3]), corners)


def _ellipse_mask(
    shape: tuple[int, int],
    center: tuple[float, float],
    axes: tuple[float, float],
    angle: float,
    feather: float,
) -> np.ndarray:
    """Soft elliptical mask in [0, 1]; ``feather`` is the blur width in pixels."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    theta = np.deg2rad(angle)
    dx, dy = xx - center[0], yy - center[1]
    u = dx * np.cos(theta) + dy * np.sin(theta)
    v = -dx * np.sin(theta) + dy * np.cos(theta)
    # signed distance (approximately, in pixels) from the ellipse border
    r = np.sqrt((u / max(axes[0], 1e-3)) ** 2 + (v / max(axes[1], 1e-3)) ** 2)
    dist = (1.0 - r) * min(axes)
    mask = 0.5 * (1.0 + np.tanh(dist / max(feather, 1e-3) * 2.0))
    return mask.astype(np.float32)


@functools.cache
def _background_image(name: str) -> np.ndarray:
    import skimage.data

    image = getattr(skimage.data, name)()
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3].astype(np.float32) / 255.0)


@dataclass(frozen=True)
class _FaceMotion:
    identity: str
    scale: np.ndarray  # (n_frames,) source pixels -> frame pixels
    squeeze: np.ndarray  # (n_frames,) horizontal squeeze (head turning)
    angle: np.ndarray  # (n_frames,) in-plane rotation, degrees counter-clockwise
    center: np.ndarray  # (n_frames, 2) face box centre in the frame


@dataclass(frozen=True)
class _Scene:
    width: int
    height: int
    n_frames: int
    background: str
    bg_tint: np.ndarray
    bg_window: np.ndarray  # (n_frames, 4): x, y, w, h of the crop in the image
    bg_blur: float
    faces: tuple[_FaceMotion, ...]
    noise_seed: int
    speech: _Speech | None = None  # what the first face says (audio only)
    mouth: np.ndarray | None = None  # (n_frames,) first face's mouth opening


def _draw_scene(
    rng: np.random.RandomState,
    *,
    width: int,
    height: int,
    n_frames: int,
    n_faces: int,
    face_size: tuple[float, float],
    motion: bool,
    identities: tuple[str, ...],
    fps: float | None = None,
) -> _Scene:
    """Draw every random choice of one pristine video from ``rng``.

    With ``fps`` given, the first face also speaks: the speech is drawn last,
    so that the other draws (and the videos without audio) do not change.
    """
    t = np.linspace(0.0, 1.0, n_frames, dtype=np.float64)
    background = _BACKGROUNDS[rng.randint(len(_BACKGROUNDS))]
    bg = _background_image(background)
    bh, bw = bg.shape[:2]
    # crop window with the frame's aspect ratio, panning and zooming slowly
    aspect = width / height
    win_h0 = rng.uniform(0.45, 0.8) * min(bh, bw / aspect)
    zoom = 1.0 + (rng.uniform(-0.12, 0.12) if motion else 0.0) * t
    win_h = win_h0 * zoom
    win_w = win_h * aspect
    start = rng.uniform(0, 1, size=2)
    end = start + (rng.uniform(-0.25, 0.25, size=2) if motion else 0.0)
    frac = np.clip(start[None, :] + (end - start)[None, :] * t[:, None], 0, 1)
    wx = frac[:, 0] * (bw - win_w)
    wy = frac[:, 1] * (bh - win_h)
    bg_window = np.stack([wx, wy, win_w, win_h], axis=1)
    bg_tint = rng.uniform(0.75, 1.15, size=3).astype(np.float32)
    bg_blur = float(rng.uniform(0.0, 1.5))

    faces = []
    chosen = rng.choice(len(identities), size=n_faces, replace=False)
    slot_w = width / max(n_faces, 1)
    for k in range(n_faces):
        ident = _identity(identities[chosen[k]])
        src_w = ident.box[2] - ident.box[0]
        src_h = ident.box[3] - ident.box[1]
        face_h = rng.uniform(*face_size) * height
        # amplitudes of the motion
        if motion:
            scale_amp = rng.uniform(0.04, 0.12)
            angle_amp = rng.uniform(4.0, 14.0)
            squeeze_amp = rng.uniform(0.05, 0.18)
            freq = rng.uniform(0.5, 1.5, size=3)
            phase = rng.uniform(0, 2 * np.pi, size=3)
        else:
            scale_amp = angle_amp = squeeze_amp = 0.0
            freq = np.ones(3)
            phase = np.zeros(3)
        rel = 1.0 + scale_amp * np.sin(2 * np.pi * freq[0] * t + phase[0])
        # the face box must fit in the frame, and with two faces the head
        # cut-out must fit in the face's own half of the frame
        face_h = min(face_h, 0.85 * width * src_h / src_w / (1 + scale_amp))
        head_half_w = _HEAD_AXES[0] * src_w / src_h * face_h * (1 + scale_amp)
        if n_faces > 1 and head_half_w > 0.48 * slot_w:
            face_h *= 0.48 * slot_w / head_half_w
            head_half_w = 0.48 * slot_w
        scale = face_h / src_h * rel
        angle = angle_amp * np.sin(2 * np.pi * freq[1] * t + phase[1])
        squeeze = 1.0 - squeeze_amp * (
            0.5 + 0.5 * np.sin(2 * np.pi * freq[2] * t + phase[2])
        )
        # the face box must stay inside the frame and, with two faces, the
        # whole head cut-out inside the face's own half of the frame
        box_half_w = 0.5 * src_w * scale.max()
        box_half_h = 0.5 * src_h * scale.max() * 1.1
        lo_x = k * slot_w + (head_half_w if n_faces > 1 else box_half_w + 2)
        hi_x = (k + 1) * slot_w - (head_half_w if n_faces > 1 else box_half_w + 2)
        lo_y, hi_y = box_half_h + 2, height - box_half_h - 2
        if hi_x < lo_x:
            lo_x = hi_x = (k + 0.5) * slot_w
        if hi_y < lo_y:
            lo_y = hi_y = height / 2
        p0 = np.array([rng.uniform(lo_x, hi_x), rng.uniform(lo_y, hi_y)])
        p1 = np.array([rng.uniform(lo_x, hi_x), rng.uniform(lo_y, hi_y)])
        if not motion:
            p1 = p0
        center = p0[None, :] + (p1 - p0)[None, :] * t[:, None]
        faces.append(
            _FaceMotion(
                identity=ident.name,
                scale=scale,
                squeeze=squeeze,
                angle=angle,
                center=center,
            )
        )
    noise_seed = int(rng.randint(np.iinfo(np.int32).max))
    speech = None if fps is None else _draw_speech(rng, n_frames / fps)
    return _Scene(
        width=width,
        height=height,
        n_frames=n_frames,
        background=background,
        bg_tint=bg_tint,
        bg_window=bg_window,
        bg_blur=bg_blur,
        faces=tuple(faces),
        noise_seed=noise_seed,
        speech=speech,
        mouth=None if speech is None else speech.openness(np.arange(n_frames) / fps),
    )


def _face_affine(ident: _Identity, face: _FaceMotion, i: int) -> np.ndarray:
    """2x3 matrix mapping patch pixels to frame pixels at frame ``i``."""
    cx = (ident.box[0] + ident.box[2]) / 2
    cy = (ident.box[1] + ident.box[3]) / 2
    s = face.scale[i]
    theta = np.deg2rad(face.angle[i])
    c, si = np.cos(theta), np.sin(theta)
    # translate box centre to origin, scale (with horizontal squeeze), rotate
    # counter-clockwise on screen (y axis points down), move to the centre
    a = np.array([[c, si], [-si, c]]) @ np.diag([s * face.squeeze[i], s])
    offset = face.center[i] - a @ np.array([cx, cy])
    return np.hstack([a, offset[:, None]])


def _face_box(ident: _Identity, face: _FaceMotion, i: int) -> np.ndarray:
    """Upright box of the face: bounds of its rotated elliptical outline."""
    half_w = 0.5 * (ident.box[2] - ident.box[0]) * face.scale[i] * face.squeeze[i]
    half_h = 0.5 * (ident.box[3] - ident.box[1]) * face.scale[i]
    theta = np.deg2rad(face.angle[i])
    ext_w = np.hypot(half_w * np.cos(theta), half_h * np.sin(theta))
    ext_h = np.hypot(half_w * np.sin(theta), half_h * np.cos(theta))
    cx, cy = face.center[i]
    return np.array([cx - ext_w, cy - ext_h, cx + ext_w, cy + ext_h])


def _render_background(scene: _Scene, i: int) -> np.ndarray:
    import cv2

    bg = _background_image(scene.background)
    x, y, w, h = scene.bg_window[i]
    sx, sy = scene.width / w, scene.height / h
    m = np.array([[sx, 0, -x * sx], [0, sy, -y * sy]], dtype=np.float64)
    frame = cv2.warpAffine(
        bg,
        m,
        (scene.width, scene.height),
        flags=cv2.INTER_AREA if sx < 1 else cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT,
    )
    if scene.bg_blur > 0.3:
        frame = cv2.GaussianBlur(frame, (0, 0), scene.bg_blur)
    return frame * scene.bg_tint


@functools.lru_cache(maxsize=64)
def _scaled_identity(name: str, scale: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Identity patch pre-shrunk with area averaging (avoids aliasing)."""
    import cv2

    ident = _identity(name)
    if scale >= 1.0:
        return ident.rgb, ident.alpha, 1.0
    h, w = ident.alpha.shape
    size = (max(round(w * scale), 2), max(round(h * scale), 2))
    rgb = cv2.resize(ident.rgb, size, interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(ident.alpha, size, interpolation=cv2.INTER_AREA)
    return rgb, alpha, size[0] / w


def _warp_face(
    name: str, face: _FaceMotion, i: int, width: int, height: int, mouth: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    ident = _identity(name)
    pre = float(np.round(face.scale.max() * 1.05, 3))
    rgb, alpha, factor = _scaled_identity(name, pre)
    if mouth > 0:
        corners = tuple((x * factor, y * factor) for x, y in ident.mouth)
        min_width = 0.45 * (ident.box[2] - ident.box[0]) * factor
        rgb = _open_mouth(rgb, corners, mouth, min_width)  # type: ignore[arg-type]
    m = _face_affine(ident, face, i).copy()
    m[:, :2] /= factor
    warped = cv2.warpAffine(
        np.dstack([rgb, alpha]),
        m,
        (width, height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    return warped[:, :, :3], warped[:, :, 3]


def _mouth(scene: _Scene, k: int, i: int) -> float:
    """Mouth opening of face ``k`` at frame ``i``: only the first face speaks."""
    if scene.mouth is None or k != 0:
        return 0.0
    return float(scene.mouth[i])
