"""Synthetic face videos: real face photographs moving over natural backgrounds.

The faces come from two photographs bundled with scikit-image (no download):

- ``skimage.data.astronaut()``: Eileen Collins, NASA portrait, public domain.
- ``skimage.data.camera()``: a man with a camera on a tripod, CC0 (photographed
  by Lav Varshney); grayscale, face seen nearly in profile.

More "identities" are variants of these two photographs (mirroring, colour and
tone changes, horizontal stretch). They are *not* different people: only two
persons exist in this data. The backgrounds are crops of scikit-image's CC0
textures (brick, grass, gravel) and public-domain photographs (coffee, rocket),
none of which contains a face.

A manipulated video is the exact twin of a pristine one (same scene, motion,
identity and noise) in which the inner face is altered inside a feathered
elliptical mask and blended back, frame by frame, at the video's resolution:
a colour shift, a blur or sharpen mismatch and a small, slightly jittering
warp (``manipulation="blend"``), or the inner face of another identity pasted
with partial colour matching (``manipulation="swap"``). These are the kinds of
traces that blending-based face forgeries leave, so a classifier has a real,
known signal to learn.

With ``audio=True`` the first face speaks: its mouth opens and closes with a
random train of syllables (the lower lip and chin are pulled down and a dark
mouth cavity appears between the mouth corners), and the video gets an AAC
sound track whose voice (a harmonic source with a slowly varying pitch,
shaped by formants that follow the mouth opening, plus short noise bursts)
has the mouth opening as its amplitude envelope. An audio-manipulated twin
(``manipulation="audio"``) has the pristine twin's exact frames and a voice
that follows another utterance, so that sound and lips disagree, as in the
DFDC fakes whose voice was swapped.
"""

from __future__ import annotations

import functools
import numbers
import os
import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.utils import Bunch, check_random_state

__all__ = ["IDENTITIES", "make_face_videos"]

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
_MANIPULATIONS = ("blend", "swap", "audio")

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


# Sample rate of the sound track (Hz), and how far the lower lip drops when
# the mouth is fully open, as a fraction of the mouth width.
_SAMPLE_RATE = 16000
_MOUTH_DROP = 0.35


@dataclass(frozen=True)
class _Speech:
    """A train of syllables and the voice that says them."""

    onsets: np.ndarray  # (n_syllables,) start of each syllable, seconds
    durations: np.ndarray  # (n_syllables,) seconds
    peaks: np.ndarray  # (n_syllables,) largest mouth opening, in (0, 1]
    fricative: np.ndarray  # (n_syllables,) bool: a noise burst before the onset
    formants: np.ndarray  # (n_syllables, 2) F2 and F3 of the vowel, Hz
    f0: float  # mean fundamental frequency, Hz
    wobble: tuple[float, float, float]  # pitch variation: depth, rate (Hz), phase
    noise_seed: int

    def openness(self, t: np.ndarray) -> np.ndarray:
        """Mouth opening in [0, 1] at times ``t`` (seconds)."""
        t = np.asarray(t, dtype=np.float64)
        out = np.zeros(t.shape, dtype=np.float64)
        for onset, duration, peak in zip(self.onsets, self.durations, self.peaks):
            u = (t - onset) / duration
            inside = (u > 0.0) & (u < 1.0)
            out[inside] += peak * np.sin(np.pi * u[inside]) ** 2
        return np.clip(out, 0.0, 1.0)


def _draw_speech(
    rng: np.random.RandomState,
    duration: float,
    voice: tuple[float, tuple[float, float, float]] | None = None,
) -> _Speech:
    """Draw syllables (about 4 per second, with pauses) and a voice."""
    onsets, durations, peaks = [], [], []
    t = rng.uniform(0.0, 0.15)
    while t < duration:
        length = rng.uniform(0.12, 0.3)
        onsets.append(t)
        durations.append(length)
        peaks.append(rng.uniform(0.45, 1.0))
        pause = rng.rand() < 0.25
        t += length + (rng.uniform(0.15, 0.5) if pause else rng.uniform(0.0, 0.06))
    n = len(onsets)
    fricative = rng.rand(n) < 0.4
    formants = np.column_stack([rng.uniform(900, 2200, n), rng.uniform(2300, 3000, n)])
    if voice is None:
        f0 = float(rng.uniform(100.0, 220.0))
        wobble = (
            float(rng.uniform(0.04, 0.1)),
            float(rng.uniform(0.3, 1.2)),
            float(rng.uniform(0.0, 2 * np.pi)),
        )
    else:
        f0, wobble = voice
    return _Speech(
        onsets=np.asarray(onsets),
        durations=np.asarray(durations),
        peaks=np.asarray(peaks),
        fricative=fricative,
        formants=formants,
        f0=f0,
        wobble=wobble,
        noise_seed=int(rng.randint(np.iinfo(np.int32).max)),
    )


def _synthesize_voice(speech: _Speech, n_samples: int, sample_rate: int) -> np.ndarray:
    """Render ``speech`` as a mono float32 signal with peak 0.5.

    Additive synthesis: the harmonics of a fundamental with a slowly varying
    pitch, weighted by three formant resonances (the first rises as the mouth
    opens), times the mouth opening as the amplitude envelope; plus a short
    burst of high-passed noise before some syllables and faint room noise.
    """
    t = np.arange(n_samples, dtype=np.float64) / sample_rate
    env = speech.openness(t)
    depth, rate, phase = speech.wobble
    f0 = speech.f0 * (1.0 + depth * np.sin(2 * np.pi * rate * t + phase) + 0.06 * env)
    theta = 2 * np.pi * np.cumsum(f0) / sample_rate
    idx = np.clip(np.searchsorted(speech.onsets, t, side="right") - 1, 0, None)
    centres = (300.0 + 500.0 * env, speech.formants[idx, 0], speech.formants[idx, 1])
    gains, widths = (1.0, 0.6, 0.3), (90.0, 120.0, 160.0)
    voice = np.zeros(n_samples)
    top = min(4000.0, 0.45 * sample_rate)
    for k in range(1, int(top // (0.8 * speech.f0)) + 1):
        fk = k * f0
        amp = sum(
            g / (1.0 + ((fk - c) / b) ** 2) for g, c, b in zip(gains, centres, widths)
        )
        amp = amp * (fk < top) / k**0.5
        voice += amp * np.sin(k * theta)
    voice *= env**0.8
    noise_rng = np.random.RandomState(speech.noise_seed)
    hiss = np.diff(noise_rng.normal(0.0, 1.0, n_samples + 2), n=2) / 2.0
    bursts = np.zeros(n_samples)
    for onset, fric in zip(speech.onsets, speech.fricative):
        if fric:
            u = (t - (onset - 0.05)) / 0.07
            inside = (u > 0.0) & (u < 1.0)
            bursts[inside] += np.sin(np.pi * u[inside]) ** 2
    scale = max(np.abs(voice).max(), 1e-6)
    signal = (
        voice / scale
        + 0.25 * bursts * hiss
        + 0.003 * noise_rng.normal(0.0, 1.0, n_samples)
    )
    return (0.5 * signal / max(np.abs(signal).max(), 1e-6)).astype(np.float32)


def _open_mouth(
    rgb: np.ndarray,
    corners: tuple[tuple[float, float], tuple[float, float]],
    openness: float,
    min_width: float = 2.0,
) -> np.ndarray:
    """Return a copy of ``rgb`` with the mouth open by ``openness`` in [0, 1].

    Below the mouth line the lower lip and chin are pulled down (strongest
    between the mouth corners, fading out sideways and towards the chin) and
    a dark, feathered mouth cavity fills the gap. The mouth is taken at least
    ``min_width`` wide (a face seen in profile has close mouth corners).
    """
    import cv2

    (x1, y1), (x2, y2) = corners
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    w = max(float(np.hypot(x2 - x1, y2 - y1)), min_width, 2.0)
    drop = _MOUTH_DROP * w * float(openness)
    h, width = rgb.shape[:2]
    rx1, rx2 = max(int(cx - 0.9 * w), 0), min(int(np.ceil(cx + 0.9 * w)) + 1, width)
    ry1, ry2 = max(int(cy - 0.3 * w), 0), min(int(np.ceil(cy + 1.3 * w)) + 1, h)
    if drop <= 0.05 or rx2 - rx1 < 2 or ry2 - ry1 < 2:
        return rgb
    yy, xx = np.mgrid[ry1:ry2, rx1:rx2].astype(np.float32)
    across = np.clip((0.9 - np.abs(xx - cx) / w) / 0.45, 0.0, 1.0)
    v = (yy - cy) / w
    down = np.clip(v / 0.1, 0.0, 1.0) * np.clip((1.3 - v) / 1.0, 0.0, 1.0)
    map_y = yy - np.float32(drop) * across * down
    roi = cv2.remap(
        rgb, xx, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    r = np.sqrt(
        ((xx - cx) / (0.42 * w)) ** 2 + ((yy - cy - drop / 2) / (drop / 2 + 0.5)) ** 2
    )
    cavity = np.clip((1.0 - r) * 3.0, 0.0, 1.0) * min(1.0, 2.5 * float(openness))
    dark = np.array([0.2, 0.07, 0.08], np.float32)
    roi = roi + cavity[..., None] * (dark - roi)
    out = rgb.copy()
    out[ry1:ry2, rx1:rx2] = roi
    return out


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


def _mouth(scene: _Scene, k: int, i: int) -> float:
    """Mouth opening of face ``k`` at frame ``i``: only the first face speaks."""
    if scene.mouth is None or k != 0:
        return 0.0
    return float(scene.mouth[i])


def _render_frames(scene: _Scene, manip: _Manipulation | None):
    """Yield (upright uint8 frame, boxes (n_faces, 4)) for each frame."""
    noise_rng = np.random.RandomState(scene.noise_seed)
    for i in range(scene.n_frames):
        frame = _render_background(scene, i)
        boxes = np.zeros((len(scene.faces), 4), dtype=np.float32)
        for k, face in enumerate(scene.faces):
            rgb, alpha = _warp_face(
                face.identity, face, i, scene.width, scene.height, _mouth(scene, k, i)
            )
            frame = rgb * alpha[..., None] + frame * (1 - alpha[..., None])
            boxes[k] = _face_box(_identity(face.identity), face, i)
        if manip is not None:
            frame = _manipulate(frame, scene, manip, i)
        noise = noise_rng.normal(0.0, 0.012, size=frame.shape).astype(np.float32)
        frame = np.clip((frame + noise) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        np.clip(boxes[:, 0::2], 0, scene.width, out=boxes[:, 0::2])
        np.clip(boxes[:, 1::2], 0, scene.height, out=boxes[:, 1::2])
        yield frame, boxes


def _write_video(
    path: str,
    frames,
    *,
    width: int,
    height: int,
    fps: float,
    rotation: int,
    codec: str,
    crf: int | None,
    audio: np.ndarray | None = None,
    sample_rate: int = _SAMPLE_RATE,
) -> None:
    """Encode upright frames to ``path``, stored rotated with a display matrix.

    ``audio`` (mono float32 samples), when given, is encoded as an AAC track,
    interleaved with the frames (each frame's share of sound after it).
    """
    from fractions import Fraction

    import av

    k = rotation // 90
    stored_w, stored_h = (height, width) if k % 2 else (width, height)
    rate = Fraction(fps).limit_denominator(1001)
    options = {}
    if codec == "libx264":
        # x264's macroblock-tree rate control gives run-to-run differences
        # in this build (measured); without it, the output is byte-identical.
        options = {
            "preset": "medium",
            "crf": str(crf if crf is not None else 20),
            "x264-params": "mbtree=0",
        }
    tmp = path + ".part"
    with av.open(tmp, mode="w", format="mp4") as container:
        stream = container.add_stream(codec, rate=rate, options=options)
        stream.width = stored_w
        stream.height = stored_h
        stream.pix_fmt = "yuv420p"
        stream.codec_context.thread_count = 1  # byte-identical output
        if codec != "libx264" and crf is not None:
            stream.codec_context.qscale = max(1, min(31, crf // 4))
        if rotation:
            # FFmpeg's display matrix angle is counter-clockwise; ours is the
            # clockwise rotation a player applies (the old "rotate" tag).
            stream.set_display_rotation(-rotation)
        sound = None
        if audio is not None:
            sound = container.add_stream("aac", rate=sample_rate, layout="mono")
            sound.bit_rate = 64000
            sound.codec_context.thread_count = 1
        written = 0
        for i, (frame, _) in enumerate(frames):
            stored = np.ascontiguousarray(np.rot90(frame, k=k)) if k else frame
            vf = av.VideoFrame.from_ndarray(stored, format="rgb24")
            for packet in stream.encode(vf):
                container.mux(packet)
            if sound is not None:
                stop = min(round((i + 1) * sample_rate / fps), len(audio))
                written = _encode_audio(container, sound, audio, written, stop)
        for packet in stream.encode():
            container.mux(packet)
        if sound is not None:
            _encode_audio(container, sound, audio, written, len(audio))
            for packet in sound.encode():
                container.mux(packet)
    os.replace(tmp, path)


def _encode_audio(container, stream, audio: np.ndarray, start: int, stop: int) -> int:
    """Encode ``audio[start:stop]``; return ``stop``."""
    import av

    if stop <= start:
        return start
    chunk = np.ascontiguousarray(audio[None, start:stop], dtype=np.float32)
    frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
    frame.sample_rate = stream.rate
    frame.pts = start
    for packet in stream.encode(frame):
        container.mux(packet)
    return stop


def _check_options(
    *,
    n_frames: Any,
    fps: Any,
    frame_size: Any,
    n_faces: Any,
    face_size: Any,
    rotation: Any,
    manipulation: Any,
    codec: Any,
) -> tuple[int, int, tuple[float, float], int]:
    if not isinstance(n_frames, numbers.Integral) or n_frames < 1:
        raise ValueError(f"n_frames must be a positive integer, got {n_frames!r}.")
    if not isinstance(fps, numbers.Real) or not 1.0 <= fps <= 240.0:
        raise ValueError(f"fps must be a number in [1, 240], got {fps!r}.")
    try:
        width, height = (int(v) for v in frame_size)
    except (TypeError, ValueError):
        raise ValueError(
            f"frame_size must be (width, height), got {frame_size!r}."
        ) from None
    if width % 2 or height % 2 or min(width, height) < 64:
        raise ValueError(
            "frame_size must hold even integers of at least 64 (yuv420p), "
            f"got {frame_size!r}."
        )
    if max(width, height) > 1920 or min(width, height) > 1080:
        raise ValueError(f"frame_size is at most 1920x1080, got {frame_size!r}.")
    if not isinstance(n_faces, numbers.Integral) or n_faces not in (0, 1, 2):
        raise ValueError(f"n_faces must be 0, 1 or 2, got {n_faces!r}.")
    if isinstance(face_size, numbers.Real):
        face_size = (face_size, face_size)
    try:
        lo, hi = (float(v) for v in face_size)
    except (TypeError, ValueError):
        raise ValueError(
            f"face_size must be a float or a (min, max) pair, got {face_size!r}."
        ) from None
    if not 0.1 <= lo <= hi <= 0.8:
        raise ValueError(
            f"face_size must lie in [0.1, 0.8] with min <= max, got {face_size!r}."
        )
    if rotation not in (0, 90, 180, 270, -90):
        raise ValueError(
            f"rotation must be one of 0, 90, 180, 270 degrees, got {rotation!r}."
        )
    if manipulation not in _MANIPULATIONS:
        raise ValueError(
            f"manipulation must be one of {_MANIPULATIONS}, got {manipulation!r}."
        )
    if codec not in ("libx264", "mpeg4"):
        raise ValueError(f"codec must be 'libx264' or 'mpeg4', got {codec!r}.")
    return width, height, (lo, hi), int(rotation) % 360


def _n_manipulated(manipulated: Any, n_videos: int) -> int:
    if isinstance(manipulated, (bool, np.bool_)):
        return n_videos if manipulated else 0
    if isinstance(manipulated, numbers.Real) and 0.0 <= manipulated <= 1.0:
        return round(float(manipulated) * n_videos)
    raise ValueError(
        f"manipulated must be a bool or a fraction in [0, 1], got {manipulated!r}."
    )


def make_face_videos(
    n_videos: int = 4,
    *,
    n_frames: int = 24,
    fps: float = 25.0,
    frame_size: tuple[int, int] = (192, 144),
    n_faces: int = 1,
    face_size: float | tuple[float, float] = (0.35, 0.5),
    motion: bool = True,
    rotation: int = 0,
    manipulated: bool | float = False,
    manipulation: str = "blend",
    audio: bool | None = None,
    identities: tuple[str, ...] | None = None,
    directory: str | os.PathLike | None = None,
    prefix: str = "face_",
    codec: str = "libx264",
    crf: int | None = 20,
    random_state: int | np.random.RandomState | None = None,
) -> Bunch:
    r"""Write small MP4 videos in which real face photographs move.

    Each video shows one or two head cut-outs of real photographs (see
    :data:`IDENTITIES`) that move, zoom, roll and turn (a horizontal squeeze)
    over a slowly panning natural background, with light sensor noise. The
    true face boxes are returned, and MTCNN finds the faces: with the default
    settings, facenet-pytorch's MTCNN found every face of 20 videos (480
    frames, half of them manipulated) with an IoU above 0.5 against the
    returned box (median 0.89). Manipulated videos are exact twins of pristine
    ones except for an altered inner face.

    Parameters
    ----------
    n_videos : int, default=4
        Number of videos to write.
    n_frames : int, default=24
        Frames per video.
    fps : float, default=25.0
        Frame rate written to the container.
    frame_size : tuple of (int, int), default=(192, 144)
        ``(width, height)`` of the upright, displayed frame; even numbers of at
        least 64, at most 1920x1080 (or 1080x1920).
    n_faces : {0, 1, 2}, default=1
        Faces per video. ``0`` gives background only; ``2`` puts one face in
        each half of the frame, so they never overlap.
    face_size : float or tuple of (float, float), default=(0.35, 0.5)
        Height of the face box as a fraction of the frame height, drawn
        uniformly per video from ``(min, max)`` (before the motion's ±12 %
        zoom). Two faces may be made smaller so that they fit side by side.
    motion : bool, default=True
        Whether faces and background move. ``False`` gives still scenes.
    rotation : {0, 90, 180, 270}, default=0
        Clockwise rotation that a player must apply to the decoded frames,
        written as the stream's display matrix (the old ``rotate`` tag). The
        frames are stored rotated the other way, so a reader that honours the
        metadata displays ``frame_size`` upright; one that ignores it sees the
        picture on its side.
    manipulated : bool or float, default=False
        ``True`` makes every video manipulated, ``False`` none. A fraction
        ``f`` makes ``round(f * n_videos)`` manipulated videos; as long as
        pristine videos exist, manipulated video ``j`` is the twin of pristine
        video ``j % n_pristine`` (same scene, identity, motion and noise) and
        shares its group. Pristine videos come first.
    manipulation : {"blend", "swap", "audio"}, default="blend"
        ``"blend"``: inside a feathered ellipse over the inner face, a colour
        shift, a blur or sharpen mismatch and a small warp that jitters from
        frame to frame. ``"swap"``: the inner face of another identity (cut from the
        same photograph when the allowed identities offer one, so that the
        pose matches), colour matched in part, blended in the same way.
        ``"audio"``: the frames are exactly those of the pristine twin, but the
        voice says another train of syllables (in the same voice or, half of
        the time, another pitch), so the sound no longer follows the mouth.
        Implies ``audio=True``.
    audio : bool, default=None
        Whether the first face speaks: its mouth opens and closes with a
        random train of syllables (about four per second, with pauses) and the
        video gets a mono AAC sound track at 16 kHz whose voice has the mouth
        opening as its amplitude envelope (see the module docstring). Faces
        other than the first keep their mouths closed; with ``n_faces=0`` the
        voice is off screen. ``None`` means ``manipulation == "audio"``.
        Without audio, the files are exactly those of earlier releases.
    identities : tuple of str, default=None
        Identities to draw from; all of :data:`IDENTITIES` when None.
    directory : str or path-like, default=None
        Where to write the videos (created if needed). A new temporary
        directory when None; remove it when done.
    prefix : str, default="face\_"
        File names are ``f"{prefix}{i:03d}.mp4"``.
    codec : {"libx264", "mpeg4"}, default="libx264"
        Video encoder (pixel format yuv420p).
    crf : int or None, default=20
        Constant rate factor of libx264 (lower is better quality). For
        ``"mpeg4"`` it sets the quantiser to ``crf // 4``.
    random_state : int, RandomState instance or None, default=None
        Seed. With the same seed, the files are byte-identical.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        paths : list of str
            The video files.
        boxes : list of ndarray of float32, shape (n_frames, n_faces, 4)
            True face boxes ``(x1, y1, x2, y2)`` in pixels of the upright
            displayed frame, in the style of MTCNN boxes (forehead to chin).
        target : ndarray of int, shape (n_videos,)
            ``1`` for a manipulated video, ``0`` for a pristine one.
        groups : ndarray of int, shape (n_videos,)
            Scene index: a manipulated twin shares the group of its pristine
            video.
        identities : list of tuple of str
            Identity names of the faces of each video (left to right with two
            faces).
        directory : str
            The directory holding the videos.
        frame_size, fps, n_frames, rotation : tuple, float, int, int
            The parameters of the same names, as given.
        mouth : list of ndarray of float64, shape (n_frames,)
            Only with audio: the first face's mouth opening in [0, 1] per
            frame, which the pristine sound's envelope follows.

    See Also
    --------
    make_dfdc_folder : Write such videos in the DFDC layout.

    Notes
    -----
    Only two real persons appear: Eileen Collins (``skimage.data.astronaut``,
    NASA, public domain) and the cameraman of ``skimage.data.camera`` (CC0).
    The other identities are mirrored, re-toned or stretched variants of these
    two photographs, so group by ``identities`` only as a rough proxy.

    Examples
    --------
    >>> from sklearn_deepfake.datasets import make_face_videos
    >>> data = make_face_videos(n_videos=2, n_frames=4, manipulated=0.5,
    ...                         random_state=0)
    >>> len(data.paths), data.boxes[0].shape, data.target, data.groups
    (2, (4, 1, 4), array([0, 1]), array([0, 0]))

    A talking face and its twin whose voice was swapped:

    >>> import av
    >>> data = make_face_videos(n_videos=2, n_frames=4, manipulated=0.5,
    ...                         manipulation="audio", random_state=0)
    >>> with av.open(data.paths[1]) as container:
    ...     [s.type for s in container.streams]
    ['video', 'audio']
    """
    if not isinstance(n_videos, numbers.Integral) or n_videos < 1:
        raise ValueError(f"n_videos must be a positive integer, got {n_videos!r}.")
    width, height, face_range, rotation = _check_options(
        n_frames=n_frames,
        fps=fps,
        frame_size=frame_size,
        n_faces=n_faces,
        face_size=face_size,
        rotation=rotation,
        manipulation=manipulation,
        codec=codec,
    )
    if identities is None:
        identities = IDENTITIES
    identities = tuple(identities)
    unknown = sorted(set(identities) - set(IDENTITIES))
    if unknown or len(identities) < max(n_faces, 1):
        raise ValueError(
            f"identities must name at least {max(n_faces, 1)} of {IDENTITIES}; "
            f"got {identities!r}."
        )
    n_fake = _n_manipulated(manipulated, n_videos)
    if n_fake and n_faces == 0:
        raise ValueError("manipulated videos need a face: n_faces=0 was given.")
    if audio is None:
        audio = manipulation == "audio"
    if not isinstance(audio, (bool, np.bool_)):
        raise ValueError(f"audio must be a bool or None, got {audio!r}.")
    if manipulation == "audio" and not audio:
        raise ValueError('manipulation="audio" needs audio=True (or None).')
    rng = check_random_state(random_state)
    n_real = n_videos - n_fake
    n_scenes = n_real if n_real > 0 else n_videos
    scene_seeds = rng.randint(np.iinfo(np.int32).max, size=n_scenes)
    manip_seeds = rng.randint(np.iinfo(np.int32).max, size=n_videos)
    if directory is None:
        directory = tempfile.mkdtemp(prefix="skdf_faces_")
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)

    specs = []
    for i in range(n_videos):
        if i < n_real:
            specs.append((i, False))
        else:
            j = i - n_real
            specs.append((j % n_real if n_real > 0 else j, True))
    paths, boxes, identity_names = [], [], []
    for i, (scene_idx, fake) in enumerate(specs):
        path = os.path.join(directory, f"{prefix}{i:03d}.mp4")
        video_boxes, names = _make_one_video(
            path,
            scene_seed=int(scene_seeds[scene_idx]),
            manip_seed=int(manip_seeds[i]) if fake else None,
            width=width,
            height=height,
            n_frames=int(n_frames),
            fps=float(fps),
            n_faces=int(n_faces),
            face_size=face_range,
            motion=bool(motion),
            rotation=rotation,
            manipulation=manipulation,
            identities=identities,
            codec=codec,
            crf=crf,
            audio=bool(audio),
        )
        paths.append(path)
        boxes.append(video_boxes)
        identity_names.append(names)
    extra = {}
    if audio:
        extra["mouth"] = [
            _draw_scene_mouth(
                int(scene_seeds[scene_idx]),
                width=width,
                height=height,
                n_frames=int(n_frames),
                fps=float(fps),
                n_faces=int(n_faces),
                face_size=face_range,
                motion=bool(motion),
                identities=identities,
            )
            for scene_idx, _ in specs
        ]
    return Bunch(
        paths=paths,
        boxes=boxes,
        target=np.array([int(fake) for _, fake in specs]),
        groups=np.array([scene_idx for scene_idx, _ in specs]),
        identities=identity_names,
        directory=directory,
        frame_size=(width, height),
        fps=float(fps),
        n_frames=int(n_frames),
        rotation=rotation,
        **extra,
    )


def _draw_scene_mouth(scene_seed: int, **options: Any) -> np.ndarray:
    """Mouth opening per frame of the scene drawn from ``scene_seed``."""
    scene = _draw_scene(np.random.RandomState(scene_seed), **options)
    assert scene.mouth is not None
    return scene.mouth


def _make_one_video(
    path: str,
    *,
    scene_seed: int,
    manip_seed: int | None,
    width: int,
    height: int,
    n_frames: int,
    fps: float,
    n_faces: int,
    face_size: tuple[float, float],
    motion: bool,
    rotation: int,
    manipulation: str,
    identities: tuple[str, ...],
    codec: str,
    crf: int | None,
    audio: bool | None = None,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Write one video; return its boxes and identity names.

    ``audio=None`` means ``manipulation == "audio"`` (so that
    :func:`make_dfdc_folder` gives talking faces to that manipulation).
    """
    if audio is None:
        audio = manipulation == "audio"
    scene = _draw_scene(
        np.random.RandomState(scene_seed),
        width=width,
        height=height,
        n_frames=n_frames,
        n_faces=n_faces,
        face_size=face_size,
        motion=motion,
        identities=identities,
        fps=fps if audio else None,
    )
    manip = None
    sound = None
    speech = scene.speech
    if manip_seed is not None and n_faces > 0:
        rng = np.random.RandomState(manip_seed)
        if manipulation == "audio":
            # another utterance, in the same voice half of the time
            assert speech is not None
            voice = (speech.f0, speech.wobble) if rng.rand() < 0.5 else None
            speech = _draw_speech(rng, n_frames / fps, voice)
        else:
            manip = _draw_manipulation(rng, manipulation, scene, identities)
    if speech is not None:
        n_samples = round(n_frames * _SAMPLE_RATE / fps)
        sound = _synthesize_voice(speech, n_samples, _SAMPLE_RATE)
    all_boxes = []

    def frames():
        for frame, frame_boxes in _render_frames(scene, manip):
            all_boxes.append(frame_boxes)
            yield frame, frame_boxes

    _write_video(
        path,
        frames(),
        width=width,
        height=height,
        fps=fps,
        rotation=rotation,
        codec=codec,
        crf=crf,
        audio=sound,
    )
    boxes = np.stack(all_boxes).astype(np.float32).reshape(n_frames, n_faces, 4)
    return boxes, tuple(face.identity for face in scene.faces)
