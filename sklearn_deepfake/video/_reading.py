"""Probing and decoding video files: two backends behind one interface.

The face step decodes each video once, in one forward pass, converting only
the frames it wants (see :func:`iter_frames`). Seeking per frame is avoided on
purpose: DFDC clips have keyframes 250 frames apart, so every seek decodes
hundreds of frames again.

Frame ordinals are 0-based positions in presentation order. Container frame
counts are estimates for some formats, so ordinals past the real end of a
stream are simply not yielded.
"""

from __future__ import annotations

import math
import os
import stat
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from sklearn_deepfake.exceptions import VideoReadError

__all__ = ["VideoInfo", "iter_frames", "probe_video", "read_frames"]

_BACKENDS = ("auto", "pyav", "opencv")
# Measured on 2 cores (benchmarks/bench_decode.py): PyAV with non-reference
# frames skipped is the fastest on both 1080p DFDC clips and 480p clips.
_AUTO_BACKEND = "pyav"
# Codecs whose decoders honour ``skip_frame="NONREF"`` exactly (a skipped
# frame is never used as a reference, so the kept frames are bit-identical).
_SKIP_NONREF_CODECS = frozenset({"h264", "hevc"})
# Upper bound on how far decode order and presentation order can drift apart
# (H.264 and HEVC allow at most 16 reordered frames).
_REORDER_MARGIN = 64
# Give up on a stream after this many consecutive packets that fail to decode.
_MAX_CONSECUTIVE_ERRORS = 64
_MOV_FORMATS = ("mov", "mp4")


@dataclass(frozen=True)
class VideoInfo:
    """What the container headers say about a video; nothing is decoded.

    Parameters
    ----------
    n_frames : int
        Number of video frames the container reports, or an estimate from
        ``duration * fps`` when it reports none; ``0`` when unknown.
    fps : float
        Average frame rate (``0.0`` when unknown).
    width, height : int
        Display size in pixels, after rotation is applied.
    rotation : int
        Clockwise rotation in degrees (0, 90, 180 or 270) that turns decoded
        frames upright. The readers apply it themselves.
    duration : float
        Duration of the video stream in seconds (``0.0`` when unknown).
    codec : str
        Name of the video codec (``"h264"``, ``"hevc"``, ...).
    has_audio : bool
        Whether the file also holds an audio stream.

    Examples
    --------
    >>> from sklearn_deepfake.video import VideoInfo
    >>> info = VideoInfo(n_frames=300, fps=29.97, width=1920, height=1080,
    ...                  rotation=0, duration=10.01, codec="h264", has_audio=True)
    >>> info.n_frames / info.fps
    10.01...
    """

    n_frames: int
    fps: float
    width: int
    height: int
    rotation: int
    duration: float
    codec: str
    has_audio: bool


# --------------------------------------------------------------------------
# file checks and probing
# --------------------------------------------------------------------------


def _check_file(path: str | os.PathLike) -> str:
    """Return ``path`` as ``str`` if it is a non-empty regular file, else raise."""
    path = os.fspath(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"Video file not found: {path!r}.") from None
    except OSError as exc:
        raise VideoReadError(f"{path}: cannot access the file ({exc}).") from exc
    if stat.S_ISDIR(st.st_mode):
        raise VideoReadError(f"{path}: is a directory, not a video file.")
    if not stat.S_ISREG(st.st_mode):
        # FIFOs and devices could block the decoder forever.
        raise VideoReadError(f"{path}: is not a regular file.")
    if st.st_size == 0:
        raise VideoReadError(f"{path}: file is empty (0 bytes).")
    return path


def _open_container(path: str) -> Any:
    import av

    try:
        return av.open(path, metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise VideoReadError(
            f"{path}: not a readable video container ({reason}; a truncated file "
            "whose index (moov atom) is missing also gives this)."
        ) from exc


def _video_stream(container: Any, path: str) -> Any:
    import av

    # Cover art (an "attached picture") is a one-image stream, not a video.
    cover = av.stream.Disposition.attached_pic
    streams = [s for s in container.streams.video if not s.disposition & cover]
    if not streams:
        kinds = sorted(
            {
                "cover art" if s.type == "video" else str(s.type)
                for s in container.streams
            }
        ) or ["none"]
        raise VideoReadError(
            f"{path}: has no video stream (streams found: {', '.join(kinds)})."
        )
    stream = streams[0]
    if not stream.codec_context.width or not stream.codec_context.height:
        raise VideoReadError(f"{path}: the video stream has no frame size.")
    return stream


def _iter_boxes(f: Any, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """Yield ``(type, payload_start, box_end)`` of the ISO-BMFF boxes in a range."""
    pos = start
    while pos + 8 <= end:
        f.seek(pos)
        header = f.read(8)
        if len(header) < 8:
            return
        size, kind = struct.unpack(">I4s", header)
        payload = pos + 8
        if size == 1:
            large = f.read(8)
            if len(large) < 8:
                return
            size = struct.unpack(">Q", large)[0]
            payload = pos + 16
        elif size == 0:
            size = end - pos
        if size < payload - pos:
            return
        yield kind, payload, min(pos + size, end)
        pos += size


def _child(f: Any, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    for k, payload, box_end in _iter_boxes(f, start, end):
        if k == kind:
            return payload, box_end
    return None


def _mov_rotation(path: str) -> int:
    """Clockwise display rotation of the first video track of an MP4/MOV file.

    Read from the track header (``tkhd``) matrix, which holds what FFmpeg
    turns into the display matrix. Only headers are read.
    """
    with open(path, "rb") as f:
        end = os.fstat(f.fileno()).st_size
        moov = _child(f, 0, end, b"moov")
        if moov is None:
            return 0
        for kind, start, stop in _iter_boxes(f, *moov):
            if kind != b"trak":
                continue
            mdia = _child(f, start, stop, b"mdia")
            hdlr = mdia and _child(f, *mdia, b"hdlr")
            if not hdlr:
                continue
            f.seek(hdlr[0] + 8)  # version/flags, pre_defined
            if f.read(4) != b"vide":
                continue
            tkhd = _child(f, start, stop, b"tkhd")
            if tkhd is None:
                return 0
            f.seek(tkhd[0])
            version = f.read(1)
            skip = 32 if version == b"\x01" else 20
            f.seek(tkhd[0] + 4 + skip + 16)
            raw = f.read(36)
            if len(raw) < 36:
                return 0
            a, b, _, c, d, *_ = struct.unpack(">9i", raw)
            if a == b == c == d == 0:
                return 0
            degrees = math.degrees(math.atan2(b, a))
            return round(degrees / 90.0) % 4 * 90
    return 0


def _fraction_to_float(value: Fraction | None) -> float:
    try:
        return float(value) if value else 0.0
    except (TypeError, ZeroDivisionError):
        return 0.0


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Read the headers of a video file; nothing is decoded.

    Parameters
    ----------
    path : str or os.PathLike
        Path of the video file. The extension does not matter: the container
        is recognised from its content.

    Returns
    -------
    info : VideoInfo
        Frame count, frame rate, display size, rotation, duration, codec and
        whether an audio stream is present.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist; the message names it.
    VideoReadError
        If the file is a directory, is empty, is not a media container (or
        is truncated so that its index is lost), or has no video stream.

    See Also
    --------
    iter_frames : Decode chosen frames of a video.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn_deepfake.video import probe_video
    >>> path = os.path.join(tempfile.mkdtemp(), "missing.mp4")
    >>> probe_video(path)
    Traceback (most recent call last):
    ...
    FileNotFoundError: Video file not found: '...missing.mp4'.
    """
    path = _check_file(path)
    container = _open_container(path)
    try:
        stream = _video_stream(container, path)
        fps = _fraction_to_float(stream.average_rate) or _fraction_to_float(
            stream.guessed_rate
        )
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        else:
            duration = 0.0
        n_frames = int(stream.frames or 0)
        if n_frames <= 0 and duration > 0 and fps > 0:
            n_frames = round(duration * fps)
        rotation = 0
        if any(name in container.format.name for name in _MOV_FORMATS):
            try:
                rotation = _mov_rotation(path)
            except (OSError, struct.error):
                rotation = 0
        width = int(stream.codec_context.width)
        height = int(stream.codec_context.height)
        if rotation in (90, 270):
            width, height = height, width
        return VideoInfo(
            n_frames=max(n_frames, 0),
            fps=fps,
            width=width,
            height=height,
            rotation=rotation,
            duration=max(duration, 0.0),
            codec=str(stream.codec_context.name),
            has_audio=bool(container.streams.audio),
        )
    finally:
        container.close()


# --------------------------------------------------------------------------
# decoding
# --------------------------------------------------------------------------


def _check_indices(indices: Any) -> np.ndarray:
    arr = np.asarray(indices)
    if arr.ndim != 1:
        raise ValueError(f"indices must be one-dimensional, got shape {arr.shape}.")
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.issubdtype(arr.dtype, np.floating) or not np.all(
            np.equal(np.mod(arr, 1), 0)
        ):
            raise ValueError(f"indices must be integers, got dtype {arr.dtype}.")
    arr = np.unique(arr.astype(np.int64))
    if arr[0] < 0:
        raise ValueError(f"indices must be non-negative, got {int(arr[0])}.")
    return arr


def _check_max_size(max_size: Any) -> int | None:
    if max_size is None:
        return None
    if isinstance(max_size, bool) or not isinstance(max_size, (int, np.integer)):
        raise ValueError(f"max_size must be None or a positive int, got {max_size!r}.")
    if max_size < 1:
        raise ValueError(f"max_size must be None or a positive int, got {max_size}.")
    return int(max_size)


def _target_size(width: int, height: int, max_size: int | None) -> tuple[int, int]:
    """Size ``(width, height)`` after capping the longer side at ``max_size``."""
    if max_size is None or max(width, height) <= max_size:
        return width, height
    scale = max_size / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _resolve_backend(backend: str) -> str:
    if backend not in _BACKENDS:
        raise ValueError(f"backend must be one of {_BACKENDS}, got {backend!r}.")
    return _AUTO_BACKEND if backend == "auto" else backend


def _truncated_error(path: str, n_read: int, expected: int, detail: str) -> str:
    of = f" of {expected}" if expected else ""
    return (
        f"{path}: decoding stopped after {n_read}{of} frames ({detail}); "
        "the file is truncated or corrupt."
    )


def _pts_ranks(path: str, index: int, last: int) -> dict[int, int] | None:
    """Map packet pts to presentation ordinals, from a demux-only pass.

    Returns None when the stream does not allow it (missing or repeated
    timestamps); the caller then counts decoded frames instead.
    """
    import av

    container = av.open(path, metadata_errors="ignore")
    try:
        stream = container.streams[index]
        pts: list[int] = []
        for packet in container.demux(stream):
            if packet.size == 0 or packet.is_discard:
                continue
            if packet.pts is None:
                return None
            pts.append(packet.pts)
            if len(pts) > last + _REORDER_MARGIN:
                break
    except av.error.FFmpegError:
        return None
    finally:
        container.close()
    if len(set(pts)) != len(pts):
        return None
    return {p: i for i, p in enumerate(sorted(pts))}


def _iter_pyav(
    path: str, wanted: np.ndarray, max_size: int | None, *, skip_nonref: bool = True
) -> Iterator[tuple[int, np.ndarray]]:
    """Open the file now (so errors are raised early) and return the decoder.

    ``skip_nonref=False`` decodes every frame (for benchmarks and checks).
    """
    container = _open_container(path)
    try:
        stream = _video_stream(container, path)
        expected = _exact_count(container, stream)
        codec = stream.codec_context.name
        last = int(wanted[-1])
        skip = skip_nonref and codec in _SKIP_NONREF_CODECS
        ranks = _pts_ranks(path, stream.index, last) if skip else None
    except BaseException:
        container.close()
        raise
    return _decode_pyav(container, stream, path, wanted, max_size, expected, ranks)


def _decode_pyav(
    container: Any,
    stream: Any,
    path: str,
    wanted: np.ndarray,
    max_size: int | None,
    expected: int,
    ranks: dict[int, int] | None,
) -> Iterator[tuple[int, np.ndarray]]:
    import av

    last = int(wanted[-1])
    want = set(wanted.tolist())
    try:
        stream.thread_type = "AUTO"
        ctx = stream.codec_context
        count = 0  # frames accounted for (output or skipped) so far
        n_yielded = 0
        errors = 0
        last_error = ""
        done = False
        demux = container.demux(stream)
        while not done:
            try:
                packet = next(demux)
            except StopIteration:
                break
            except av.error.FFmpegError as exc:
                last_error = f"demuxing failed: {exc}"
                break
            if ranks is not None:
                # A non-reference frame is never used to decode another one,
                # so skipping the unwanted ones leaves the kept frames exact.
                own = ranks.get(packet.pts) if packet.pts is not None else None
                skip = own is not None and own not in want
                ctx.skip_frame = "NONREF" if skip else "DEFAULT"
            try:
                frames = packet.decode()
            except av.error.FFmpegError as exc:
                errors += 1
                last_error = f"decoding failed: {exc}"
                if errors >= _MAX_CONSECUTIVE_ERRORS:
                    break
                continue
            errors = 0
            for frame in frames:
                if ranks is None:
                    ordinal = count
                    count += 1
                else:
                    ordinal = ranks.get(frame.pts, -1)
                    count = max(count, ordinal + 1)
                if ordinal in want:
                    n_yielded += 1
                    yield ordinal, _pyav_to_rgb(frame, max_size)
                if ordinal >= last:
                    done = True
                    break
        if not done and (last_error or (expected and count < expected)):
            raise VideoReadError(
                _truncated_error(path, count, expected, last_error or "early end")
            )
        if last_error and n_yielded < len(want):
            # The decoder recovered, but some wanted frames were lost.
            raise VideoReadError(
                f"{path}: {len(want) - n_yielded} of the {len(want)} wanted frames "
                f"could not be decoded ({last_error}); the file is corrupt."
            )
    finally:
        container.close()


def _exact_count(container: Any, stream: Any) -> int:
    """Frame count the decoder must reach, or 0 when it is only an estimate.

    MP4/MOV sample tables give the exact number of frames; other containers
    estimate it from the duration, so running short there is no error.
    """
    if any(name in container.format.name for name in _MOV_FORMATS):
        return int(stream.frames or 0)
    return 0


def _pyav_to_rgb(frame: Any, max_size: int | None) -> np.ndarray:
    width, height = _target_size(frame.width, frame.height, max_size)
    if (width, height) != (frame.width, frame.height):
        rgb = frame.to_ndarray(
            width=width, height=height, format="rgb24", interpolation="AREA"
        )
    else:
        rgb = frame.to_ndarray(format="rgb24")
    # frame.rotation is counter-clockwise, as is np.rot90.
    quarter_turns = round((frame.rotation or 0) / 90) % 4
    if quarter_turns:
        rgb = np.ascontiguousarray(np.rot90(rgb, k=quarter_turns))
    return rgb


def _iter_opencv(
    path: str, wanted: np.ndarray, max_size: int | None
) -> Iterator[tuple[int, np.ndarray]]:
    """Open the file now (so errors are raised early) and return the decoder."""
    import cv2

    container = _open_container(path)  # same checks and messages as PyAV
    try:
        expected = _exact_count(container, _video_stream(container, path))
    finally:
        container.close()
    cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        raise VideoReadError(f"{path}: OpenCV cannot open this file as a video.")
    # Frames come out upright (OpenCV's default, made explicit here).
    cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
    return _decode_opencv(cap, path, wanted, max_size, expected)


def _decode_opencv(
    cap: Any, path: str, wanted: np.ndarray, max_size: int | None, expected: int
) -> Iterator[tuple[int, np.ndarray]]:
    import cv2

    try:
        want = set(wanted.tolist())
        last = int(wanted[-1])
        count = 0
        for ordinal in range(last + 1):
            if not cap.grab():
                break
            count += 1
            if ordinal not in want:
                continue
            ok, bgr = cap.retrieve()
            if not ok or bgr is None:
                break
            height, width = bgr.shape[:2]
            size = _target_size(width, height, max_size)
            if size != (width, height):
                bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
            yield ordinal, np.ascontiguousarray(bgr[:, :, ::-1])
        else:
            return
        if expected and count < expected:
            raise VideoReadError(_truncated_error(path, count, expected, "early end"))
    finally:
        cap.release()


def iter_frames(
    path: str | os.PathLike,
    indices: Sequence[int] | np.ndarray,
    *,
    backend: str = "auto",
    max_size: int | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Decode chosen frames of a video in one forward pass.

    The file is opened and checked when this function is called; frames are
    decoded lazily as the iterator is consumed. Only the wanted frames are
    converted to RGB, and decoding stops right after the last wanted one.

    Parameters
    ----------
    path : str or os.PathLike
        Path of the video file (any extension; the content decides).
    indices : array-like of int
        Frame ordinals (0-based, presentation order) to read. They are sorted
        and de-duplicated. Ordinals past the real end of the stream are not
        yielded and raise nothing, since container frame counts are
        sometimes estimates.
    backend : {"auto", "pyav", "opencv"}, default="auto"
        Decoder. ``"pyav"`` uses PyAV with FFmpeg's frame threads and skips
        decoding of unwanted non-reference frames of H.264/HEVC streams
        (which changes no other frame). ``"opencv"`` uses
        :class:`cv2.VideoCapture` with ``grab``/``retrieve``. ``"auto"``
        is ``"pyav"``, measured fastest on 2 cores for both 1080p and 480p
        clips (``benchmarks/bench_decode.py``).
    max_size : int, default=None
        If given, frames whose longer side exceeds it are downscaled (area
        interpolation) while being converted, keeping the aspect ratio. This
        bounds memory for 4K videos.

    Yields
    ------
    ordinal : int
        Frame ordinal.
    frame : ndarray of uint8, shape (height, width, 3)
        The frame in RGB, turned upright according to the rotation metadata.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist (raised by the call itself).
    VideoReadError
        Raised by the call itself if the file cannot be opened as a video
        (see :func:`probe_video`). Raised *after* the frames that could be
        decoded were yielded if the stream is truncated or corrupt before
        the last wanted frame: catch it and keep the frames received.
    ValueError
        If ``indices``, ``backend`` or ``max_size`` is invalid.

    See Also
    --------
    read_frames : The same frames, stacked into one array.
    probe_video : Read the headers only.

    Examples
    --------
    >>> from sklearn_deepfake.datasets import make_face_videos
    >>> from sklearn_deepfake.video import iter_frames
    >>> (path,) = make_face_videos(1, n_frames=10, frame_size=(96, 64)).paths
    >>> [(i, f.shape) for i, f in iter_frames(path, [2, 5, 50])]
    [(2, (64, 96, 3)), (5, (64, 96, 3))]
    """
    path = _check_file(path)
    wanted = _check_indices(indices)
    max_size = _check_max_size(max_size)
    backend = _resolve_backend(backend)
    if wanted.size == 0:
        container = _open_container(path)  # still report an unreadable file
        try:
            _video_stream(container, path)
        finally:
            container.close()
        return iter(())
    if backend == "pyav":
        return _iter_pyav(path, wanted, max_size)
    return _iter_opencv(path, wanted, max_size)


def read_frames(
    path: str | os.PathLike, indices: Sequence[int] | np.ndarray, **kwargs: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Decode chosen frames of a video into one array.

    A convenience wrapper around :func:`iter_frames`; prefer the iterator
    for many or large frames.

    Parameters
    ----------
    path : str or os.PathLike
        Path of the video file.
    indices : array-like of int
        Frame ordinals to read.
    **kwargs : dict
        ``backend`` and ``max_size``, passed to :func:`iter_frames`.

    Returns
    -------
    read : ndarray of int64, shape (n_read,)
        Ordinals of the frames actually read (those past the end of the
        stream are missing).
    frames : ndarray of uint8, shape (n_read, height, width, 3)
        The RGB frames, upright.

    Raises
    ------
    FileNotFoundError, VideoReadError, ValueError
        As :func:`iter_frames`. A truncated stream raises
        :class:`VideoReadError` and the frames read before are lost; use
        :func:`iter_frames` to keep them.

    Examples
    --------
    >>> from sklearn_deepfake.datasets import make_face_videos
    >>> from sklearn_deepfake.video import read_frames
    >>> (path,) = make_face_videos(1, n_frames=10, frame_size=(96, 64)).paths
    >>> read, frames = read_frames(path, [0, 9])
    >>> read, frames.shape, frames.dtype
    (array([0, 9]), (2, 64, 96, 3), dtype('uint8'))
    """
    ordinals: list[int] = []
    frames: list[np.ndarray] = []
    for ordinal, frame in iter_frames(path, indices, **kwargs):
        ordinals.append(ordinal)
        frames.append(frame)
    read = np.asarray(ordinals, dtype=np.int64)
    if not frames:
        return read, np.zeros((0, 0, 0, 3), dtype=np.uint8)
    shapes = {f.shape for f in frames}
    if len(shapes) > 1:
        raise VideoReadError(
            f"{os.fspath(path)}: frame size changes within the stream "
            f"({sorted(shapes)}); use iter_frames to read such videos."
        )
    return read, np.stack(frames)
