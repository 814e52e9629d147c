"""Fixed-length face clips for 3-D CNNs: cutting, augmenting and batching.

A :class:`~sklearn_deepfake.utils.FaceTracks` record holds one row per
(track, sampled frame) where that face is present. :func:`make_clips` cuts
each track into windows of ``clip_len`` *consecutive* sampled frames, never
across a frame where the face was missing; :func:`clip_augment` applies one
random draw of photometric and geometric changes to every frame of a clip
alike; :func:`to_tensor` turns a batch of clips into the normalised
``(B, 3, T, H, W)`` float tensor the networks of
:mod:`sklearn_deepfake.nets._models3d` expect.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral
from typing import Any

import cv2
import numpy as np

from sklearn_deepfake.nets._compress import compress_frames
from sklearn_deepfake.utils._ragged import FaceTracks

__all__ = ["clip_augment", "clip_frames", "clip_windows", "make_clips", "to_tensor"]


def make_clips(
    tracks: FaceTracks,
    *,
    clip_len: int = 16,
    stride: int = 8,
    size: int | None = None,
    track: str = "best",
    min_clip_len: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Cut the face tracks of one video into fixed-length clips.

    Each track is split into runs of consecutive sampled frames (its
    ``frame_pos`` increasing by one); a clip never spans a frame in which the
    face is missing. Windows of ``clip_len`` frames start every ``stride``
    frames of a run, plus one window ending on the run's last frame when the
    stride would leave frames out.

    Parameters
    ----------
    tracks : FaceTracks
        Faces of one video (for 3-D CNNs, preferably cut with
        ``FaceCropper(clip_box="track")`` so that the window is still).
    clip_len : int, default=16
        Frames per clip.
    stride : int, default=8
        Frames between the starts of two clips of a run.
    size : int, default=None
        Side of the output frames; ``None`` keeps the crops' size.
    track : {"best", "all"}, default="best"
        ``"best"`` uses track 0 (the largest, most confident face; the
        lowest track id when track 0 is absent); ``"all"`` cuts every track.
    min_clip_len : int, default=None
        Runs shorter than ``clip_len`` but at least this long give one clip,
        padded by repeating their last frame. ``None`` means ``clip_len``:
        short runs give no clip.

    Returns
    -------
    clips : ndarray of uint8, shape (n_clips, clip_len, S, S, 3)
        RGB clips; ``n_clips`` is 0 for a video without (long enough) faces.
    track_ids : ndarray of int64, shape (n_clips,)
        Track of each clip.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.nets._clips import make_clips
    >>> from sklearn_deepfake.utils import FaceTracks
    >>> pos = np.array([0, 1, 2, 3, 4, 6, 7, 8])  # face missing in frame 5
    >>> video = FaceTracks(
    ...     "a.mp4", frame_indices=np.arange(9), face_found=np.isin(np.arange(9), pos),
    ...     crops=np.zeros((8, 16, 16, 3), np.uint8), boxes=np.zeros((8, 4)),
    ...     crop_boxes=np.zeros((8, 4)), probs=np.ones(8),
    ...     landmarks=np.zeros((8, 5, 2)), track_ids=np.zeros(8, int), frame_pos=pos,
    ...     detected=np.ones(8, bool))
    >>> clips, ids = make_clips(video, clip_len=3, stride=2, size=8)
    >>> clips.shape, ids.tolist()
    ((3, 3, 8, 8, 3), [0, 0, 0])
    """
    if not isinstance(tracks, FaceTracks):
        raise TypeError(f"tracks must be a FaceTracks record, got {type(tracks)}.")
    clip_len = _check_int("clip_len", clip_len)
    stride = _check_int("stride", stride)
    if size is not None:
        size = _check_int("size", size)
    if track not in ("best", "all"):
        raise ValueError(f"track must be 'best' or 'all', got {track!r}.")
    if min_clip_len is None:
        min_clip_len = clip_len
    min_clip_len = _check_int("min_clip_len", min_clip_len)
    if min_clip_len > clip_len:
        raise ValueError(
            f"min_clip_len ({min_clip_len}) must not exceed clip_len ({clip_len})."
        )
    side = tracks.crop_size if size is None else size
    index, clip_tracks = clip_windows(
        tracks, clip_len=clip_len, stride=stride, track=track, min_clip_len=min_clip_len
    )
    if not len(index):
        return (
            np.zeros((0, clip_len, side, side, 3), np.uint8),
            np.zeros(0, np.int64),
        )
    return clip_frames(tracks, index, size), clip_tracks


def clip_windows(
    tracks: FaceTracks,
    *,
    clip_len: int,
    stride: int,
    track: str = "best",
    min_clip_len: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of each clip of :func:`make_clips`, without reading any crop.

    Reads only ``track_ids`` and ``frame_pos`` of the record.

    Returns
    -------
    index : ndarray of int64, shape (n_clips, clip_len)
        Row of each frame of each clip.
    track_ids : ndarray of int64, shape (n_clips,)
        Track of each clip.
    """
    min_clip_len = clip_len if min_clip_len is None else min_clip_len
    track_ids = np.asarray(tracks.track_ids)
    frame_pos = np.asarray(tracks.frame_pos)
    ids = np.unique(track_ids)
    if track == "best" and ids.size:
        ids = ids[:1] if 0 not in ids else np.array([0])
    windows: list[np.ndarray] = []  # row indices into tracks, length clip_len
    clip_tracks: list[int] = []
    for tid in ids:
        rows = np.flatnonzero(track_ids == tid)
        rows = rows[np.argsort(frame_pos[rows], kind="stable")]
        breaks = np.flatnonzero(np.diff(frame_pos[rows]) != 1) + 1
        for run in np.split(rows, breaks):
            for w in _windows(len(run), clip_len, stride, min_clip_len):
                windows.append(run[w])
                clip_tracks.append(int(tid))
    if not windows:
        return np.zeros((0, clip_len), np.int64), np.zeros(0, np.int64)
    return np.stack(windows).astype(np.int64), np.asarray(clip_tracks, np.int64)


def clip_frames(tracks: FaceTracks, index: np.ndarray, size: int | None) -> np.ndarray:
    """Return the crops of the clips ``index`` (rows from :func:`clip_windows`).

    Reads only the rows used, once each, with
    :meth:`~sklearn_deepfake.utils.FaceTracks.crops_at`.
    """
    index = np.asarray(index, np.int64).reshape(-1, np.shape(index)[-1])
    needed = np.unique(index)
    frames = tracks.crops_at(needed)
    if size is not None and size != tracks.crop_size:
        frames = np.stack([_resize(f, size) for f in frames])
    lookup = np.searchsorted(needed, index)
    return np.ascontiguousarray(frames[lookup])


def _windows(n: int, clip_len: int, stride: int, min_len: int) -> list[np.ndarray]:
    if n < clip_len:
        if n < min_len or n == 0:
            return []
        return [np.minimum(np.arange(clip_len), n - 1)]  # repeat the last frame
    starts = list(range(0, n - clip_len + 1, stride))
    if starts[-1] + clip_len < n:
        starts.append(n - clip_len)
    return [np.arange(s, s + clip_len) for s in starts]


def _check_int(name: str, value: Any) -> int:
    if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}.")
    return int(value)


def _resize(img: np.ndarray, size: int) -> np.ndarray:
    interp = cv2.INTER_AREA if img.shape[0] > size else cv2.INTER_LINEAR
    return cv2.resize(img, (size, size), interpolation=interp)


def clip_augment(
    clip: np.ndarray,
    rng: Any = None,
    *,
    p_flip: float = 0.5,
    p_color: float = 0.8,
    brightness: float = 0.2,
    contrast: float = 0.2,
    hue: float = 0.03,
    p_noise: float = 0.2,
    noise_std: tuple[float, float] = (2.0, 10.0),
    p_blur: float = 0.2,
    blur_sigma: tuple[float, float] = (0.3, 1.5),
    p_jpeg: float = 0.3,
    jpeg_quality: tuple[int, int] = (50, 95),
    p_h264: float = 0.0,
    crf: tuple[int, int] = (18, 40),
) -> np.ndarray:
    """Augment a clip with one random draw applied to all of its frames.

    Every change is drawn once per clip (whether it happens and how strong)
    and applied identically to every frame, so the clip stays temporally
    coherent: a flip flips all frames, a colour change shifts all of them
    alike. Only the Gaussian noise pattern is drawn afresh for each frame
    (its level is shared), as a camera's sensor noise is. Last, the clip
    may be re-encoded as one H.264 video, as the DFDC test videos were.

    Parameters
    ----------
    clip : ndarray of uint8, shape (T, H, W, 3)
        RGB clip; not modified.
    rng : int, numpy.random.Generator or None, default=None
        Source of randomness; an int seeds a new generator, so that a given
        seed always gives the same result.
    p_flip : float, default=0.5
        Probability of a horizontal flip.
    p_color : float, default=0.8
        Probability of a brightness / contrast / hue change.
    brightness, contrast : float, default=0.2
        Multiplicative factors are drawn in ``[1 - x, 1 + x]``.
    hue : float, default=0.03
        Hue shift drawn in ``[-hue, hue]`` turns of the colour wheel.
    p_noise : float, default=0.2
        Probability of additive Gaussian noise.
    noise_std : tuple of float, default=(2.0, 10.0)
        Range of its standard deviation, in grey levels.
    p_blur : float, default=0.2
        Probability of a Gaussian blur.
    blur_sigma : tuple of float, default=(0.3, 1.5)
        Range of its sigma in pixels.
    p_jpeg : float, default=0.3
        Probability of JPEG re-compression of each frame.
    jpeg_quality : tuple of int, default=(50, 95)
        Range of the JPEG quality.
    p_h264 : float, default=0.0
        Probability of re-encoding the whole clip with H.264 (``libx264``,
        in memory, see :func:`~sklearn_deepfake.nets.compress_frames`) at a
        random CRF, after the JPEG step; falls back to per-frame JPEG with
        a one-time warning when H.264 is unavailable.
        :class:`~sklearn_deepfake.nets.VideoCNNClassifier` uses 0.2.
    crf : tuple of int, default=(18, 40)
        Inclusive range of the H.264 constant rate factor (higher is worse).

    Returns
    -------
    ndarray of uint8, shape (T, H, W, 3)
        The augmented clip.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.nets._clips import clip_augment
    >>> clip = np.random.default_rng(0).integers(0, 255, (4, 16, 16, 3), np.uint8)
    >>> out = clip_augment(clip, 0)
    >>> out.shape, out.dtype
    ((4, 16, 16, 3), dtype('uint8'))
    >>> bool(np.array_equal(out, clip_augment(clip, 0)))
    True
    """
    clip = np.asarray(clip)
    if clip.ndim != 4 or clip.shape[-1] != 3 or clip.dtype != np.uint8:
        raise ValueError(
            f"clip must be uint8 of shape (T, H, W, 3), got {clip.dtype} {clip.shape}."
        )
    rng = np.random.default_rng(rng)
    # Draw everything first, in a fixed order, so that the draws do not depend
    # on the clip's content.
    flip = rng.random() < p_flip
    color = rng.random() < p_color
    gain = rng.uniform(1 - brightness, 1 + brightness)
    contr = rng.uniform(1 - contrast, 1 + contrast)
    hue_shift = rng.uniform(-hue, hue) * 180.0  # OpenCV's uint8 hue: 0..179
    noise = rng.random() < p_noise
    sigma_n = rng.uniform(*noise_std)
    blur = rng.random() < p_blur
    sigma_b = rng.uniform(*blur_sigma)
    jpeg = rng.random() < p_jpeg
    quality = int(rng.integers(jpeg_quality[0], jpeg_quality[1] + 1))

    out = clip[:, :, ::-1] if flip else clip
    if color:
        x = out.astype(np.float32)
        mean = x.mean(axis=(1, 2, 3), keepdims=True).mean()  # one mean per clip
        x = (x - mean) * contr + mean * gain
        out = np.clip(x, 0, 255).astype(np.uint8)
        if round(hue_shift) != 0:
            out = np.stack([_shift_hue(f, hue_shift) for f in out])
    if blur:
        out = np.stack([cv2.GaussianBlur(f, (0, 0), sigma_b) for f in out])
    if noise:
        x = out.astype(np.float32) + rng.normal(0.0, sigma_n, out.shape)
        out = np.clip(x, 0, 255).astype(np.uint8)
    if jpeg:
        out = np.stack([_jpeg(f, quality) for f in out])
    # Drawn last, so that the draws above are those of earlier versions.
    if rng.random() < p_h264:
        out = compress_frames(
            np.ascontiguousarray(out), "h264", crf=crf, quality=jpeg_quality, rng=rng
        )
    return np.ascontiguousarray(out)


def _shift_hue(rgb: np.ndarray, shift: float) -> np.ndarray:
    hsv = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2HSV)
    hsv[..., 0] = ((hsv[..., 0].astype(np.int16) + round(shift)) % 180).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    bgr = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV always encodes uint8 images
        return rgb
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def to_tensor(
    clips: np.ndarray,
    mean: Sequence[float] = (0.485, 0.456, 0.406),
    std: Sequence[float] = (0.229, 0.224, 0.225),
    *,
    channels_last: bool = True,
) -> Any:
    """Turn uint8 clips into a normalised float tensor ``(B, 3, T, H, W)``.

    Parameters
    ----------
    clips : ndarray of uint8, shape (B, T, H, W, 3) or (T, H, W, 3)
        RGB clips; a single clip gets a batch axis of 1.
    mean, std : sequence of 3 float, default=ImageNet's
        Per-channel normalisation on the ``[0, 1]`` scale.
    channels_last : bool, default=True
        Return the ``torch.channels_last_3d`` memory format (no copy of the
        layout the clips already have); ``False`` returns a contiguous tensor.

    Returns
    -------
    torch.Tensor of float32, shape (B, 3, T, H, W)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.nets._clips import to_tensor
    >>> x = to_tensor(np.full((2, 4, 8, 8, 3), 255, np.uint8), mean=(0.5,) * 3,
    ...               std=(0.5,) * 3)
    >>> tuple(x.shape), float(x.max())
    ((2, 3, 4, 8, 8), 1.0)
    """
    import torch

    clips = np.asarray(clips)
    if clips.ndim == 4:
        clips = clips[None]
    if clips.ndim != 5 or clips.shape[-1] != 3:
        raise ValueError(f"clips must have shape (B, T, H, W, 3), got {clips.shape}.")
    x = torch.from_numpy(np.ascontiguousarray(clips)).permute(0, 4, 1, 2, 3)
    x = x.float().div_(255.0)
    m = torch.as_tensor(mean, dtype=torch.float32).view(1, 3, 1, 1, 1)
    s = torch.as_tensor(std, dtype=torch.float32).view(1, 3, 1, 1, 1)
    x = (x - m) / s
    fmt = torch.channels_last_3d if channels_last else torch.contiguous_format
    return x.contiguous(memory_format=fmt)
