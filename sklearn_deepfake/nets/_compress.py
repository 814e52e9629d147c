"""Lossy re-compression of frame stacks: H.264 (in memory) or JPEG.

The DFDC test videos were re-encoded at various qualities, so detectors
trained on pristine crops meet compression artefacts they never saw.
:func:`compress_frames` re-encodes a stack of RGB frames (a clip or the
crops of one video) with ``libx264`` at a given or random CRF through PyAV,
entirely in memory, or JPEG-compresses each frame. When H.264 encoding is
unavailable or fails, it falls back to per-frame JPEG and warns once.
"""

from __future__ import annotations

import functools
import io
import warnings
from numbers import Integral
from typing import Any

import numpy as np

__all__ = ["compress_frames"]

_CODECS = ("h264", "jpeg")
_H264_WARNED = False  # warn once per process about the JPEG fallback


def compress_frames(
    frames: np.ndarray,
    codec: str = "h264",
    *,
    crf: int | tuple[int, int] = (18, 40),
    quality: int | tuple[int, int] = (30, 95),
    preset: str = "ultrafast",
    rng: Any = None,
) -> np.ndarray:
    """Return a lossy re-compressed copy of a stack of RGB frames.

    Parameters
    ----------
    frames : ndarray of uint8, shape (T, H, W, 3) or (H, W, 3)
        RGB frames (a clip, or one video's face crops); not modified.
    codec : {"h264", "jpeg"}, default="h264"
        ``"h264"`` encodes the stack as one ``libx264`` video (YUV 4:2:0,
        25 fps, one thread, so the result is deterministic) and decodes it
        back; odd sides are padded by edge replication for the 4:2:0
        chroma and cropped back. ``"jpeg"`` compresses every frame alone.
    crf : int or (int, int), default=(18, 40)
        H.264 constant rate factor (0 lossless luma ... 51 worst), or the
        inclusive range it is drawn from.
    quality : int or (int, int), default=(30, 95)
        JPEG quality (1 worst ... 100 best), or the inclusive range it is
        drawn from; also used by the JPEG fallback.
    preset : str, default="ultrafast"
        ``libx264`` speed preset.
    rng : int, numpy.random.Generator or None, default=None
        Draws the CRF / quality when a range is given; an int seeds a new
        generator, so that a given seed always gives the same result.

    Returns
    -------
    ndarray of uint8
        Same shape as ``frames``.

    Warns
    -----
    UserWarning
        Once per process, the first time H.264 encoding is unavailable (no
        PyAV, no ``libx264``) or fails; JPEG is used instead for that call
        (and for every call when the encoder is missing).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.nets import compress_frames
    >>> clip = np.random.default_rng(0).integers(0, 255, (4, 32, 32, 3), np.uint8)
    >>> out = compress_frames(clip, "h264", crf=35)
    >>> out.shape, out.dtype, bool((out != clip).any())
    ((4, 32, 32, 3), dtype('uint8'), True)
    """
    global _H264_WARNED

    frames = np.asarray(frames)
    single = frames.ndim == 3
    stack = frames[None] if single else frames
    if stack.ndim != 4 or stack.shape[-1] != 3 or stack.dtype != np.uint8:
        raise ValueError(
            "frames must be uint8 of shape (T, H, W, 3) or (H, W, 3), got "
            f"{frames.dtype} {frames.shape}."
        )
    if codec not in _CODECS:
        raise ValueError(f"codec must be one of {_CODECS}, got {codec!r}.")
    rng = np.random.default_rng(rng)
    crf_value = _draw(crf, rng, "crf", 0, 51)
    q_value = _draw(quality, rng, "quality", 1, 100)
    out = None
    if codec == "h264" and len(stack):
        try:
            if not _h264_available():
                raise RuntimeError("PyAV with the libx264 encoder is not available")
            out = _h264(stack, crf_value, preset)
        except Exception as exc:  # any codec failure falls back to JPEG
            if not _H264_WARNED:
                _H264_WARNED = True
                warnings.warn(
                    f"H.264 re-encoding failed ({type(exc).__name__}: {exc}); "
                    "using per-frame JPEG instead (warned once).",
                    UserWarning,
                    stacklevel=2,
                )
    if out is None:
        out = np.stack([_jpeg(f, q_value) for f in stack]) if len(stack) else stack
    out = np.ascontiguousarray(out, dtype=np.uint8)
    return out[0] if single else out


def _draw(value: Any, rng: np.random.Generator, name: str, low: int, high: int) -> int:
    if isinstance(value, Integral) and not isinstance(value, bool):
        lo = hi = int(value)
    else:
        lo, hi = (int(v) for v in value)
    if not low <= lo <= hi <= high:
        raise ValueError(
            f"{name} must be an int or a (low, high) range within [{low}, {high}], "
            f"got {value!r}."
        )
    # Always draw, so the generator advances alike whatever the codec.
    return int(rng.integers(lo, hi + 1))


@functools.cache
def _h264_available() -> bool:
    try:
        import av

        av.codec.Codec("libx264", "w")
    except Exception:  # no PyAV, or a build without libx264
        return False
    return True


def _h264(stack: np.ndarray, crf: int, preset: str) -> np.ndarray:
    import av

    t, h, w, _ = stack.shape
    ph, pw = h + h % 2, w + w % 2
    if (ph, pw) != (h, w):
        stack = np.pad(stack, ((0, 0), (0, ph - h), (0, pw - w), (0, 0)), mode="edge")
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as container:
        stream = container.add_stream(
            "libx264",
            rate=25,
            options={"crf": str(crf), "preset": preset, "threads": "1"},
        )
        stream.width, stream.height, stream.pix_fmt = pw, ph, "yuv420p"
        for frame in stack:
            video_frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(frame), format="rgb24"
            )
            for packet in stream.encode(video_frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    buf.seek(0)
    with av.open(buf, mode="r") as container:
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    if len(decoded) != t:
        raise RuntimeError(f"decoded {len(decoded)} frames out of {t}")
    return np.stack(decoded)[:, :h, :w]


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    import cv2

    bgr = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV always encodes uint8 images
        return rgb
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
