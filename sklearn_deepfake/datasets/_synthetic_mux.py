"""Encoding a synthetic video: frames and an optional AAC track, muxed to MP4."""

from __future__ import annotations

import os

import numpy as np

from sklearn_deepfake.datasets._synthetic_speech import (
    _SAMPLE_RATE,
)


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
