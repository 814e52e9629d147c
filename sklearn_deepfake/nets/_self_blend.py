"""Self-blended images: pseudo-fakes made from real faces only.

:class:`SelfBlendedFaces` turns one real face crop into a pseudo-fake by
blending a slightly transformed copy of the crop back onto itself through a
soft, randomly deformed face mask (Shiohara & Yamasaki, "Detecting Deepfakes
with Self-Blended Images", CVPR 2022). :func:`make_self_blended` applies it
offline to whole videos (lists of
:class:`~sklearn_deepfake.utils.FaceTracks`), and
:class:`~sklearn_deepfake.nets.FaceCNNClassifier` applies it on the fly
(``self_blend=True``).

Only numpy and OpenCV are needed here (PyAV for the optional H.264
compression), no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np

from sklearn_deepfake.faces._geometry import face_boxes_in_crop_raw
from sklearn_deepfake.nets._compress import compress_frames
from sklearn_deepfake.utils._ragged import FaceTracks, check_per_video

__all__ = [
    "SelfBlendedFaces",
    "make_self_blended",
    "resolve_self_blend",
]

# Face outline around a face box (x1, y1, x2, y2), as fractions of its width
# and height: forehead, temples, cheeks, jaw and chin.
_OUTLINE = np.array(
    [
        [0.50, 0.06],
        [0.25, 0.12],
        [0.75, 0.12],
        [0.08, 0.35],
        [0.92, 0.35],
        [0.06, 0.58],
        [0.94, 0.58],
        [0.15, 0.82],
        [0.85, 0.82],
        [0.32, 0.96],
        [0.68, 0.96],
        [0.50, 1.00],
    ]
)
_MASK_SHAPES = ("hull", "ellipse")


def _has_landmarks(landmarks: Any) -> bool:
    return (
        landmarks is not None
        and np.shape(landmarks) == (5, 2)
        and bool(np.isfinite(landmarks).all())
        and bool(np.any(np.asarray(landmarks) != 0))
    )


class SelfBlendedFaces:
    """Make a pseudo-fake from one real face crop by blending it with itself.

    A face-swap leaves two traces a detector can learn without ever seeing
    a fake: a *blending boundary* around the pasted face and a *statistical
    mismatch* (colour, sharpness, small misalignment) between the inner face
    and the rest of the image. Self-blended images (SBI; Shiohara and
    Yamasaki, "Detecting Deepfakes with Self-Blended Images", CVPR 2022)
    reproduce both from a real face alone, so the fakes are hard (no
    identity or generator cue to latch onto) and the detector has to learn
    the generic traces, which generalise to unseen manipulation methods.

    The method, for one crop, its five landmarks and (optionally) its face
    box:

    1. **Face mask.** The convex hull of the landmarks and of a face outline
       (forehead, temples, cheeks, jaw, chin) placed on the face box, or an
       ellipse inscribed in the box (``mask_shape``). Without a box, one is
       estimated from the landmarks' geometry (eye distance and eye-mouth
       distance); without landmarks either, a centred ellipse is used. The
       outline points are jittered (``mask_deform``) and scaled
       (``mask_scale``), the filled mask is eroded or dilated
       (``mask_morph``), the landmarks' own hull is added back (so the mask
       always covers the eyes, nose and mouth), and it is Gaussian-blurred
       with a random width (``mask_blur``); values under ``1e-3`` are set to
       0, so the mask has a compact support.
    2. **Source.** A copy of the crop changed by a random small scale
       (``scale``) and shift (``translate``), colour changes (per-channel
       RGB shift, hue, saturation, brightness, contrast; probability
       ``p_color``) and a blur or a sharpening (``p_sharpen_blur``).
    3. **Blend.** ``out = mask * source + (1 - mask) * crop`` with the mask
       multiplied by a ratio drawn from ``blend_ratios``. Pixels outside the
       mask's support keep the crop's exact values.
    4. **Compression** (optional, ``p_compress``): JPEG or H.264 of the
       result. Leave it off when the blended crops are later augmented
       together with real crops (``FaceCNNClassifier``'s augmenter already
       JPEG-compresses both classes); compressing only the pseudo-fakes
       would teach the detector to spot compression instead of blending.

    Every random draw comes from the generator passed to :meth:`blend`, in a
    fixed order that does not depend on the image content, so that one seed
    always gives the same bytes and the same seed on the frames of one track
    gives the same transformation on every frame.

    This is not an estimator (it learns nothing, so it has no ``fit``), but
    it has ``get_params`` / ``set_params``, so that it can be a parameter of
    :class:`~sklearn_deepfake.nets.FaceCNNClassifier` and be cloned and tuned
    (``self_blend__blend_ratios``).

    Parameters
    ----------
    mask_shape : {"hull", "ellipse"}, default="hull"
        Shape of the face mask before deformation.
    mask_deform : float, default=0.04
        Standard deviation of the jitter of each outline point, as a
        fraction of the face size (geometric mean of the box's sides).
    mask_scale : (float, float), default=(0.85, 1.05)
        Range of the outline's random scaling about the face centre.
    mask_morph : float, default=0.06
        The mask is eroded or dilated by a disc of radius drawn in
        ``[-mask_morph, mask_morph]`` face sizes (negative: erosion).
    mask_blur : (float, float), default=(0.02, 0.08)
        Range of the standard deviation of the mask's Gaussian blur, in face
        sizes.
    blend_ratios : sequence of float, default=(0.25, 0.5, 0.75, 1, 1, 1)
        The mask is multiplied by one of these, drawn uniformly.
    scale : (float, float), default=(0.95, 1.05)
        Range of the source's scale factor about the crop centre.
    translate : float, default=0.03
        Largest shift of the source along each axis, as a fraction of the
        crop side.
    p_color : float, default=0.8
        Probability of the colour changes of the source.
    rgb_shift : float, default=20
        Largest per-channel additive shift, in grey levels.
    hue_shift : float, default=0.02
        Largest hue shift, in turns of the colour wheel.
    saturation : float, default=0.2
        Saturation factor drawn in ``[1 - saturation, 1 + saturation]``.
    brightness : float, default=0.15
        Brightness factor drawn in ``[1 - brightness, 1 + brightness]``.
    contrast : float, default=0.15
        Contrast factor drawn in ``[1 - contrast, 1 + contrast]``.
    p_sharpen_blur : float, default=0.5
        Probability of blurring (Gaussian, sigma 0.4 to 1.5 px) or
        sharpening (unsharp mask, amount 0.3 to 1.5), one of the two with
        equal chance, of the source.
    p_compress : float, default=0.0
        Probability of compressing the blended crop (see step 4).
    compress_codec : {"jpeg", "h264"}, default="jpeg"
        Codec of that compression
        (:func:`~sklearn_deepfake.nets.compress_frames`).
    jpeg_quality : (int, int), default=(40, 95)
        Range of the JPEG quality.
    crf : (int, int), default=(18, 40)
        Range of the H.264 CRF.

    See Also
    --------
    make_self_blended : Pseudo-fake videos from real face tracks, offline.
    sklearn_deepfake.nets.FaceCNNClassifier : ``self_blend`` trains on
        pseudo-fakes made on the fly.

    References
    ----------
    K. Shiohara and T. Yamasaki, "Detecting Deepfakes with Self-Blended
    Images", CVPR 2022, pp. 18720-18729.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.nets import SelfBlendedFaces
    >>> crop = np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)
    >>> lm = np.array([[22, 26], [42, 26], [32, 36], [24, 46], [40, 46]], float)
    >>> sbi = SelfBlendedFaces(blend_ratios=(1.0,))
    >>> fake, mask = sbi.blend(crop, lm, box=(10, 8, 54, 60), rng=0)
    >>> fake.shape, fake.dtype, mask.shape, float(mask.max())
    ((64, 64, 3), dtype('uint8'), (64, 64), 1.0)
    >>> bool((fake[mask == 0] == crop[mask == 0]).all())  # untouched outside
    True
    """

    def __init__(
        self,
        *,
        mask_shape: str = "hull",
        mask_deform: float = 0.04,
        mask_scale: tuple[float, float] = (0.85, 1.05),
        mask_morph: float = 0.06,
        mask_blur: tuple[float, float] = (0.02, 0.08),
        blend_ratios: Sequence[float] = (0.25, 0.5, 0.75, 1.0, 1.0, 1.0),
        scale: tuple[float, float] = (0.95, 1.05),
        translate: float = 0.03,
        p_color: float = 0.8,
        rgb_shift: float = 20.0,
        hue_shift: float = 0.02,
        saturation: float = 0.2,
        brightness: float = 0.15,
        contrast: float = 0.15,
        p_sharpen_blur: float = 0.5,
        p_compress: float = 0.0,
        compress_codec: str = "jpeg",
        jpeg_quality: tuple[int, int] = (40, 95),
        crf: tuple[int, int] = (18, 40),
    ) -> None:
        self.mask_shape = mask_shape
        self.mask_deform = mask_deform
        self.mask_scale = mask_scale
        self.mask_morph = mask_morph
        self.mask_blur = mask_blur
        self.blend_ratios = blend_ratios
        self.scale = scale
        self.translate = translate
        self.p_color = p_color
        self.rgb_shift = rgb_shift
        self.hue_shift = hue_shift
        self.saturation = saturation
        self.brightness = brightness
        self.contrast = contrast
        self.p_sharpen_blur = p_sharpen_blur
        self.p_compress = p_compress
        self.compress_codec = compress_codec
        self.jpeg_quality = jpeg_quality
        self.crf = crf

    # ------------------------------------------------------------------
    # Parameters (the scikit-learn protocol, without fitting)
    # ------------------------------------------------------------------

    _PARAMS = (
        "mask_shape",
        "mask_deform",
        "mask_scale",
        "mask_morph",
        "mask_blur",
        "blend_ratios",
        "scale",
        "translate",
        "p_color",
        "rgb_shift",
        "hue_shift",
        "saturation",
        "brightness",
        "contrast",
        "p_sharpen_blur",
        "p_compress",
        "compress_codec",
        "jpeg_quality",
        "crf",
    )

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Return the parameters as a dict (``deep`` is ignored)."""
        return {name: getattr(self, name) for name in self._PARAMS}

    def set_params(self, **params: Any) -> SelfBlendedFaces:
        """Set some parameters; returns ``self``."""
        for name, value in params.items():
            if name not in self._PARAMS:
                raise ValueError(
                    f"Invalid parameter {name!r} for SelfBlendedFaces; choose from "
                    f"{list(self._PARAMS)}."
                )
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        default = type(self)()
        changed = [
            f"{name}={getattr(self, name)!r}"
            for name in self._PARAMS
            if repr(getattr(self, name)) != repr(getattr(default, name))
        ]
        return f"SelfBlendedFaces({', '.join(changed)})"

    def validate(self) -> None:
        """Check the parameters; raises ``ValueError`` on a bad one."""
        if self.mask_shape not in _MASK_SHAPES:
            raise ValueError(
                f"mask_shape must be one of {_MASK_SHAPES}, got {self.mask_shape!r}."
            )
        for name in (
            "mask_deform",
            "mask_morph",
            "translate",
            "rgb_shift",
            "hue_shift",
            "saturation",
            "brightness",
            "contrast",
        ):
            value = getattr(self, name)
            if not isinstance(value, Real) or value < 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}.")
        for name in ("p_color", "p_sharpen_blur", "p_compress"):
            value = getattr(self, name)
            if not isinstance(value, Real) or not 0 <= value <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {value!r}.")
        for name, low in (("mask_scale", 0.0), ("mask_blur", 0.0), ("scale", 0.0)):
            value = getattr(self, name)
            if (
                np.shape(value) != (2,)
                or not value[0] <= value[1]
                or not value[0] >= low
            ):
                raise ValueError(
                    f"{name} must be a (low, high) pair with {low} <= low <= high, "
                    f"got {value!r}."
                )
        ratios = np.asarray(self.blend_ratios, dtype=float)
        if (
            ratios.ndim != 1
            or not len(ratios)
            or not ((0 < ratios) & (ratios <= 1)).all()
        ):
            raise ValueError(
                "blend_ratios must be a non-empty sequence of numbers in (0, 1], "
                f"got {self.blend_ratios!r}."
            )
        if self.compress_codec not in ("jpeg", "h264"):
            raise ValueError(
                f"compress_codec must be 'jpeg' or 'h264', got {self.compress_codec!r}."
            )

    # ------------------------------------------------------------------
    # Blending
    # ------------------------------------------------------------------

    def face_mask(
        self,
        shape: tuple[int, int],
        landmarks: Any,
        box: Any = None,
        rng: Any = None,
    ) -> np.ndarray:
        """Return a random soft face mask (step 1), before the blend ratio.

        Parameters
        ----------
        shape : (int, int)
            ``(height, width)`` of the crop.
        landmarks : ndarray of shape (5, 2) or None
            Landmarks in crop pixels; None (or all zeros) when unknown.
        box : array-like of 4 float or None, default=None
            Face box ``(x1, y1, x2, y2)`` in crop pixels (see
            ``face_boxes_in_crop_raw``); None estimates it.
        rng : int, numpy.random.Generator or None, default=None
            Source of randomness.

        Returns
        -------
        mask : ndarray of float32, shape (height, width)
            Values in [0, 1], 1 on the landmarks' hull.
        """
        rng = np.random.default_rng(rng)
        h, w = int(shape[0]), int(shape[1])
        lm = np.asarray(landmarks, np.float64) if _has_landmarks(landmarks) else None
        if lm is not None and not (
            (lm >= 0).all() and (lm[:, 0] < w).all() and (lm[:, 1] < h).all()
        ):
            lm = None  # landmarks off the crop: not this crop's face
        # Fixed number of draws whatever the content (see the class notes),
        # in units scaled by the face size below.
        jitter = rng.normal(0.0, float(self.mask_deform), (len(_OUTLINE), 2))
        grow = rng.uniform(*self.mask_scale)
        morph = rng.uniform(-1.0, 1.0) * float(self.mask_morph)
        sigma = rng.uniform(*self.mask_blur)
        draws = (jitter, grow, morph, sigma)
        mask = self._raster(h, w, _face_box(box, lm, h, w), lm, draws)
        if not mask.any():  # the face lies off the crop: use a centred one
            mask = self._raster(h, w, _face_box(None, None, h, w), None, draws)
        return mask

    def _raster(
        self,
        h: int,
        w: int,
        box: np.ndarray,
        lm: np.ndarray | None,
        draws: tuple,
    ) -> np.ndarray:
        import cv2

        jitter, grow, morph, sigma = draws
        x1, y1, x2, y2 = box
        bw, bh = x2 - x1, y2 - y1
        face = float(np.sqrt(bw * bh))
        jitter, morph, sigma = jitter * face, morph * face, sigma * face
        centre = np.array([(x1 + x2) / 2, (y1 + y2) / 2])
        hard = np.zeros((h, w), np.uint8)
        if self.mask_shape == "ellipse":
            axes = (
                max(round(0.48 * bw * grow), 1),
                max(round(0.52 * bh * grow), 1),
            )
            tilt = float(np.degrees(np.arctan2(jitter[0, 1], face)))
            c = centre + jitter[1]
            cv2.ellipse(
                hard,
                (round(float(c[0])), round(float(c[1]))),
                axes,
                tilt,
                0,
                360,
                1,
                -1,
            )
        else:
            pts = np.array([x1, y1]) + _OUTLINE * np.array([bw, bh]) + jitter
            pts = centre + (pts - centre) * grow
            if lm is not None:
                pts = np.concatenate([pts, lm])
            hull = cv2.convexHull(np.round(pts).astype(np.int32))
            cv2.fillConvexPoly(hard, hull, 1)
        radius = round(abs(morph))
        if radius >= 1:
            kernel = cv2.getStructuringElement(
                cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)
            )
            op = cv2.dilate if morph > 0 else cv2.erode
            hard = op(hard, kernel)
        core_mask = np.zeros((h, w), np.uint8)
        if lm is not None:
            core = cv2.convexHull(np.round(lm).astype(np.int32))
            cv2.fillConvexPoly(core_mask, core, 1)
            hard = np.maximum(hard, core_mask)
        mask = hard.astype(np.float32)
        if sigma > 0.3:
            mask = cv2.GaussianBlur(mask, (0, 0), sigmaX=float(sigma))
            # Keep the plateau at 1 where the hull is well inside the mask.
            top = float(mask.max())
            if top > 0:
                mask = np.minimum(mask / top, 1.0)
        mask[mask < 1e-3] = 0.0
        mask = np.where(core_mask > 0, np.maximum(mask, 0.5), mask)
        return np.clip(mask, 0.0, 1.0).astype(np.float32)

    def transform_source(self, image: np.ndarray, rng: Any = None) -> np.ndarray:
        """Return the transformed copy of the crop that is pasted back (step 2).

        Parameters
        ----------
        image : ndarray of uint8, shape (H, W, 3)
            RGB crop.
        rng : int, numpy.random.Generator or None, default=None
            Source of randomness.

        Returns
        -------
        source : ndarray of uint8, shape (H, W, 3)
        """
        import cv2

        rng = np.random.default_rng(rng)
        h, w = image.shape[:2]
        s = rng.uniform(*self.scale)
        t = rng.uniform(-1.0, 1.0, 2) * float(self.translate) * np.array([w, h])
        color = rng.random() < self.p_color
        shift = rng.uniform(-1.0, 1.0, 3) * float(self.rgb_shift)
        hue = rng.uniform(-1.0, 1.0) * float(self.hue_shift) * 180.0
        sat = 1.0 + rng.uniform(-1.0, 1.0) * float(self.saturation)
        gain = 1.0 + rng.uniform(-1.0, 1.0) * float(self.brightness)
        contr = 1.0 + rng.uniform(-1.0, 1.0) * float(self.contrast)
        filt = rng.random() < self.p_sharpen_blur
        sharpen = rng.random() < 0.5
        blur_sigma = rng.uniform(0.4, 1.5)
        amount = rng.uniform(0.3, 1.5)

        mat = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), 0.0, s)
        mat[:, 2] += t
        out = cv2.warpAffine(
            np.ascontiguousarray(image), mat, (w, h), flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT_101,
        )  # fmt: skip
        if color:
            x = out.astype(np.float32) + shift.astype(np.float32)
            x = np.clip(x, 0, 255).astype(np.uint8)
            hsv = cv2.cvtColor(x, cv2.COLOR_RGB2HSV).astype(np.float32)
            hsv[..., 0] = np.mod(hsv[..., 0] + round(hue), 180.0)
            hsv[..., 1] = np.clip(hsv[..., 1] * sat, 0, 255)
            x = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)
            mean = float(x.mean())
            x = (x - mean) * contr + mean * gain
            out = np.clip(x, 0, 255).astype(np.uint8)
        if filt:
            blurred = cv2.GaussianBlur(out, (0, 0), sigmaX=float(blur_sigma))
            if sharpen:
                x = out.astype(np.float32) * (1 + amount) - blurred * amount
                out = np.clip(x, 0, 255).astype(np.uint8)
            else:
                out = blurred
        return np.ascontiguousarray(out, dtype=np.uint8)

    def blend(
        self,
        image: np.ndarray,
        landmarks: Any,
        box: Any = None,
        rng: Any = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return a self-blended pseudo-fake of ``image`` and its mask.

        Parameters
        ----------
        image : ndarray of uint8, shape (H, W, 3)
            RGB face crop; not modified.
        landmarks : ndarray of shape (5, 2) or None
            Its landmarks in crop pixels (left eye, right eye, nose, mouth
            corners); None or all zeros when unknown.
        box : array-like of 4 float or None, default=None
            Face box ``(x1, y1, x2, y2)`` in crop pixels; None estimates it
            from the landmarks.
        rng : int, numpy.random.Generator or None, default=None
            Source of randomness; an int seeds a new generator.

        Returns
        -------
        blended : ndarray of uint8, shape (H, W, 3)
            The pseudo-fake.
        mask : ndarray of float32, shape (H, W)
            Weight of the source in each pixel (the face mask times the
            blend ratio); ``blended == image`` where it is 0 (unless
            compressed).
        """
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[-1] != 3 or image.dtype != np.uint8:
            raise ValueError(
                f"image must be uint8 of shape (H, W, 3), got {image.dtype} "
                f"{image.shape}."
            )
        self.validate()
        rng = np.random.default_rng(rng)
        mask = self.face_mask(image.shape[:2], landmarks, box, rng)
        ratios = np.asarray(self.blend_ratios, dtype=np.float32)
        mask = mask * ratios[int(rng.integers(len(ratios)))]
        source = self.transform_source(image, rng)
        compress = rng.random() < self.p_compress
        compress_seed = int(rng.integers(2**31 - 1))
        m = mask[..., None]
        mixed = source.astype(np.float32) * m + image.astype(np.float32) * (1.0 - m)
        mixed = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
        out = np.where(m > 0, mixed, image)
        if compress:
            out = compress_frames(
                out,
                self.compress_codec,
                crf=tuple(self.crf),
                quality=tuple(self.jpeg_quality),
                rng=compress_seed,
            )
        return np.ascontiguousarray(out, dtype=np.uint8), mask.astype(np.float32)

    __call__ = blend


def _face_box(box: Any, lm: np.ndarray | None, h: int, w: int) -> np.ndarray:
    """Return a usable face box in crop pixels: given, from landmarks, or centred."""
    if box is not None:
        b = np.asarray(box, np.float64).reshape(-1)
        if (
            b.shape == (4,)
            and np.isfinite(b).all()
            and b[2] - b[0] > 2
            and b[3] - b[1] > 2
        ):
            # Keep it when at least half of it lies on the crop.
            iw = min(b[2], w) - max(b[0], 0)
            ih = min(b[3], h) - max(b[1], 0)
            if iw > 0 and ih > 0 and iw * ih >= 0.5 * (b[2] - b[0]) * (b[3] - b[1]):
                return b
    if lm is not None:
        eye_dist = max(float(np.linalg.norm(lm[1] - lm[0])), 2.0)
        eyes, mouth = lm[:2].mean(axis=0), lm[3:].mean(axis=0)
        eye_mouth = max(float(mouth[1] - eyes[1]), 0.5 * eye_dist)
        # Typical MTCNN boxes: width ~2.5 eye distances, eyes at ~38 % and
        # the mouth at ~78 % of the height.
        bw = 2.5 * eye_dist
        bh = max(eye_mouth / 0.4, bw)
        cx = float(lm[:, 0].mean())
        y1 = float(eyes[1]) - 0.38 * bh
        return np.array([cx - bw / 2, y1, cx + bw / 2, y1 + bh])
    return np.array([0.2 * w, 0.15 * h, 0.8 * w, 0.9 * h])


def resolve_self_blend(self_blend: Any) -> SelfBlendedFaces | None:
    """Turn a ``self_blend`` parameter (None, bool or instance) into a method."""
    if self_blend is None or self_blend is False:
        return None
    if self_blend is True:
        method = SelfBlendedFaces()
    elif isinstance(self_blend, SelfBlendedFaces):
        method = self_blend
    else:
        raise ValueError(
            "self_blend must be None, a bool or a SelfBlendedFaces instance, got "
            f"{self_blend!r}."
        )
    method.validate()
    return method


def fake_label_for(real: Any) -> Any:
    """Return the fake label that goes with a lone real label (0, False, "REAL")."""
    if isinstance(real, (bool, np.bool_)):
        if not real:
            return True
    elif isinstance(real, (Integral, np.integer)):
        if int(real) in (0, -1):
            return type(real)(1)
    elif isinstance(real, Real):
        if float(real) in (0.0, -1.0):
            return type(real)(1.0)
    elif isinstance(real, str) and real.lower() == "real":
        return "FAKE" if real.isupper() else "Fake" if real.istitle() else "fake"
    raise ValueError(
        f"Cannot tell which label means fake when every label is {real!r}; use 0 "
        "(real) / 1 (fake), False / True or 'REAL' / 'FAKE', or give both classes."
    )


def real_fake_labels(y: Any) -> tuple[Any, Any]:
    """Return the ``(real, fake)`` labels of ``y``.

    With two classes, the fake one is chosen by
    :func:`~sklearn_deepfake.utils.fake_class_index` (1, True or "FAKE" in
    any case; else the other of 0, False or "REAL"; else the larger label);
    with one class, it is the real one and the fake label is
    :func:`fake_label_for` it.

    Examples
    --------
    >>> from sklearn_deepfake.nets._self_blend import real_fake_labels
    >>> real_fake_labels(["FAKE", "REAL", "FAKE"])
    ('REAL', 'FAKE')
    >>> real_fake_labels([0, 1]), real_fake_labels(["real"])
    ((0, 1), ('real', 'fake'))
    """
    from sklearn_deepfake.utils._labels import fake_class_index

    classes = np.unique(np.asarray(y))
    if len(classes) == 2:
        fake = fake_class_index(classes)
        real_label, fake_label = classes[1 - fake], classes[fake]
        return (
            real_label.item() if hasattr(real_label, "item") else real_label,
            fake_label.item() if hasattr(fake_label, "item") else fake_label,
        )
    if len(classes) == 1:
        real = classes[0].item() if hasattr(classes[0], "item") else classes[0]
        return real, fake_label_for(real)
    raise ValueError(
        f"y must hold one or two classes, got {len(classes)}: {classes.tolist()}."
    )


def make_self_blended(
    tracks: Any,
    y: Any = None,
    groups: Any = None,
    *,
    method: SelfBlendedFaces | None = None,
    n_per_video: int = 1,
    include_original: bool = True,
    consistent: bool = True,
    random_state: Any = None,
) -> tuple[list[FaceTracks], np.ndarray, np.ndarray]:
    """Add a self-blended pseudo-fake copy of each real video's face tracks.

    Every real video with at least one face row gives ``n_per_video`` new
    :class:`~sklearn_deepfake.utils.FaceTracks` records whose crops are
    blended with :class:`SelfBlendedFaces`; boxes, landmarks, frame
    positions and every other field are the source's. Each copy is
    labelled fake and put in its source's group, so that grouped
    cross-validation never puts a video and its self-blend on two sides.
    Any model that starts from face tracks (``FaceContextFeatures`` ->
    ``TemporalPooling`` -> classifier, ``FaceCNNClassifier``, ...) can then
    be trained on real videos alone.

    Parameters
    ----------
    tracks : list of FaceTracks
        One record per video.
    y : array-like of shape (n_videos,), default=None
        Video labels; None means every video is real (labels 0, fakes 1).
        With two classes the fake one is 1, True or "FAKE" (any case), else
        the other of 0, False or "REAL", else the larger label (see
        :func:`~sklearn_deepfake.utils.fake_class_index`); with one class it
        must be a real label (0, False, "REAL"), and the fake label is 1,
        True or "FAKE".
    groups : array-like of shape (n_videos,), default=None
        Groups of the videos; None puts each video in its own group
        (``0 .. n_videos - 1``).
    method : SelfBlendedFaces, default=None
        How to blend; None uses ``SelfBlendedFaces()``.
    n_per_video : int, default=1
        Pseudo-fake copies per real video.
    include_original : bool, default=True
        Return the input videos first, then the copies; False returns the
        copies only.
    consistent : bool, default=True
        Use the same random draws (mask deformation, colour change, blend
        ratio ...) for every row of one face track, as a real face swap is
        consistent over a video; False draws anew for each row.
    random_state : int, RandomState or None, default=None
        Seed of the draws.

    Returns
    -------
    tracks_out : list of FaceTracks
        Copies have ``path`` ``"<source path>#self_blend<k>"`` and
        ``meta["self_blend"] = {"source": <index in tracks>, "copy": k}``.
    y_out : ndarray of shape (n_out,)
        Labels (the fake label for the copies).
    groups_out : ndarray of shape (n_out,)
        Groups (the source's group for the copies).

    Examples
    --------
    >>> from sklearn_deepfake.nets import make_self_blended
    >>> from sklearn_deepfake.utils._testing import make_tiny_face_tracks
    >>> X = make_tiny_face_tracks(3, size=32)  # video 1 has no face
    >>> X2, y2, g2 = make_self_blended(X, random_state=0)
    >>> len(X2), y2.tolist(), g2.tolist()
    (5, [0, 0, 0, 1, 1], [0, 1, 2, 0, 2])
    >>> X2[3].path
    'tiny_video_0.mp4#self_blend0'
    """
    from sklearn.utils import check_random_state

    from sklearn_deepfake.utils._checks import check_groups

    tracks = check_per_video(tracks, kind=FaceTracks, name="tracks")
    n = len(tracks)
    method = SelfBlendedFaces() if method is None else method
    if not isinstance(method, SelfBlendedFaces):
        raise ValueError(f"method must be a SelfBlendedFaces, got {method!r}.")
    method.validate()
    if not isinstance(n_per_video, Integral) or n_per_video < 1:
        raise ValueError(f"n_per_video must be an int >= 1, got {n_per_video!r}.")
    y = np.zeros(n, dtype=int) if y is None else np.asarray(y)
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"y must be 1-D with one label per video ({n}).")
    real, fake = real_fake_labels(y)
    groups = np.arange(n) if groups is None else check_groups(groups, n)
    seed = int(check_random_state(random_state).randint(2**31 - 1))

    new_tracks, new_src = [], []
    for v, t in enumerate(tracks):
        if y[v] != real or not len(t):
            continue
        boxes = face_boxes_in_crop_raw(t)
        for k in range(int(n_per_video)):
            crops = np.empty_like(t.crops)
            for r in range(len(t)):
                key = int(t.track_ids[r]) if consistent else r
                rng = np.random.default_rng([seed, v, k, key, int(not consistent)])
                box = None if np.isnan(boxes[r]).any() else boxes[r]
                crops[r] = method.blend(t.crops[r], t.landmarks[r], box, rng)[0]
            new_tracks.append(_with_crops(t, crops, v, k))
            new_src.append(v)
    src = np.asarray(new_src, dtype=np.int64)
    fake_y = np.asarray([fake] * len(src), dtype=np.result_type(y, np.asarray(fake)))
    if include_original:
        out_tracks = list(tracks) + new_tracks
        y_out = np.concatenate([y.astype(fake_y.dtype), fake_y])
        g_out = np.concatenate([groups, groups[src]])
    else:
        out_tracks, y_out, g_out = new_tracks, fake_y, groups[src]
    return out_tracks, y_out, g_out


def _with_crops(t: FaceTracks, crops: np.ndarray, source: int, k: int) -> FaceTracks:
    meta = dict(t.meta)
    meta["self_blend"] = {"source": int(source), "copy": int(k)}
    return FaceTracks(
        path=f"{t.path}#self_blend{k}",
        crops=crops,
        **t._arrays_without_crops(),
        frame_size=t.frame_size,
        fps=t.fps,
        error=t.error,
        meta=meta,
    )
