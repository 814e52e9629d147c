"""Tests of sklearn_deepfake.video._reading: probing, decoding, bad files."""

import os
import re
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from sklearn_deepfake.exceptions import VideoReadError
from sklearn_deepfake.video import VideoInfo, iter_frames, probe_video, read_frames

BACKENDS = ["pyav", "opencv"]
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DFDC_CLIP = SHARED / "dfdc-1080p" / "abofeumbvv.mp4"


def _level(i):
    """Grey level of frame i in the videos written here (distinct by >= 8)."""
    return 16 + (8 * i) % 224


def _write_video(
    path,
    n_frames=20,
    width=64,
    height=48,
    *,
    rate=10,
    faststart=False,
    rotation=None,
    pts=None,
    noise=False,
    fmt="mp4",
    codec="libx264",
):
    """Write frame i as a flat grey image of level ``_level(i)``.

    ``rotation`` is counter-clockwise, as PyAV's ``set_display_rotation``;
    the top-left quarter is white so orientation can be checked.
    """
    options = {"movflags": "+faststart"} if faststart else {}
    rng = np.random.default_rng(0)
    with av.open(str(path), "w", format=fmt, options=options) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast"} if codec == "libx264" else {}
        if pts is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i in range(n_frames):
            img = np.full((height, width, 3), _level(i), dtype=np.uint8)
            if rotation is not None:
                img[: height // 2, : width // 2] = 255
            if noise:
                img = rng.integers(0, 256, img.shape, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            if pts is not None:
                frame.pts = int(pts[i])
                frame.time_base = Fraction(1, 1000)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return str(path)


def _drain(iterator):
    """Consume ``iterator``; return the items and the VideoReadError, if any."""
    got = []
    try:
        for item in iterator:
            got.append(item)
    except VideoReadError as exc:
        return got, exc
    return got, None


def _levels(frames):
    return [float(f.mean()) for _, f in frames]


# --------------------------------------------------------------------------
# probe_video
# --------------------------------------------------------------------------


def test_probe_video_reads_headers(tmp_path):
    path = _write_video(tmp_path / "a.mp4", n_frames=20, width=64, height=48, rate=10)
    info = probe_video(path)
    assert isinstance(info, VideoInfo)
    assert info == VideoInfo(
        n_frames=20,
        fps=10.0,
        width=64,
        height=48,
        rotation=0,
        duration=pytest.approx(2.0, abs=0.11),
        codec="h264",
        has_audio=False,
    )


def test_probe_video_accepts_pathlike_and_any_extension(tmp_path):
    good = _write_video(tmp_path / "a.mp4", n_frames=5)
    for name in ["clip.avi", "clip"]:
        other = tmp_path / name
        other.write_bytes(Path(good).read_bytes())
        assert probe_video(other).n_frames == 5
        read, frames = read_frames(other, [0, 4])
        np.testing.assert_array_equal(read, [0, 4])
        assert frames.shape == (2, 48, 64, 3)


@pytest.mark.parametrize("func", [probe_video, read_frames, iter_frames])
def test_missing_file_raises_file_not_found_naming_it(tmp_path, func):
    path = tmp_path / "nope" / "missing_clip.mp4"
    args = (path,) if func is probe_video else (path, [0])
    with pytest.raises(FileNotFoundError, match=r"missing_clip\.mp4"):
        func(*args)


@pytest.mark.parametrize("func", [probe_video, read_frames, iter_frames])
@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "empty"),
        (
            bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8)),
            "not a readable video container",
        ),
        (b"this is a text file, not a video\n" * 50, "not a readable video container"),
    ],
    ids=["zero_bytes", "random_bytes", "text"],
)
def test_bad_file_raises_video_read_error(tmp_path, func, content, match):
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    args = (path,) if func is probe_video else (path, [0])
    with pytest.raises(VideoReadError, match=match):
        func(*args)


def test_directory_raises_video_read_error(tmp_path):
    with pytest.raises(VideoReadError, match="is a directory"):
        probe_video(tmp_path)
    with pytest.raises(VideoReadError, match="is a directory"):
        iter_frames(tmp_path, [0])


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    with pytest.raises(VideoReadError, match="not a regular file"):
        probe_video(fifo)


def test_audio_only_file_raises_no_video_stream(tmp_path):
    path = tmp_path / "audio.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=16000)
        stream.layout = "mono"
        for k in range(10):
            samples = np.zeros((1, 1024), dtype=np.float32)
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, k * 1024
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    with pytest.raises(VideoReadError, match=r"no video stream.*audio"):
        probe_video(path)
    for backend in BACKENDS:
        with pytest.raises(VideoReadError, match="no video stream"):
            iter_frames(path, [0], backend=backend)


def test_cover_art_is_not_a_video(tmp_path):
    path = tmp_path / "song.mp4"
    with av.open(str(path), "w") as out:
        audio = out.add_stream("aac", rate=16000)
        audio.layout = "mono"
        cover = out.add_stream("mjpeg")
        cover.width, cover.height, cover.pix_fmt = 16, 16, "yuvj420p"
        cover.disposition = av.stream.Disposition.attached_pic
        img = np.zeros((16, 16, 3), dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(
            format="yuvj420p"
        )
        frame.pts = 0
        out.mux(cover.encode(frame))
        out.mux(cover.encode())
        for k in range(5):
            samples = np.zeros((1, 1024), dtype=np.float32)
            sound = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            sound.sample_rate, sound.pts = 16000, k * 1024
            out.mux(audio.encode(sound))
        out.mux(audio.encode())
    with pytest.raises(VideoReadError, match=r"no video stream.*cover art"):
        probe_video(path)


def test_probe_reports_audio_stream(tmp_path):
    path = tmp_path / "av.mp4"
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        audio = out.add_stream("aac", rate=16000)
        audio.layout = "mono"
        for i in range(5):
            img = np.full((32, 32, 3), _level(i), dtype=np.uint8)
            out.mux(video.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
            samples = np.zeros((1, 1024), dtype=np.float32)
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            out.mux(audio.encode(frame))
        out.mux(video.encode())
        out.mux(audio.encode())
    info = probe_video(path)
    assert info.has_audio
    assert info.n_frames == 5
    for backend in BACKENDS:
        read, _ = read_frames(path, [0, 4], backend=backend)
        np.testing.assert_array_equal(read, [0, 4])


# --------------------------------------------------------------------------
# iter_frames / read_frames on good files
# --------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["auto", *BACKENDS])
def test_iter_frames_yields_wanted_frames_in_order(tmp_path, backend):
    path = _write_video(tmp_path / "a.mp4", n_frames=30)
    wanted = [29, 0, 3, 3, 17]  # unsorted, repeated: sorted and made unique
    got = list(iter_frames(path, wanted, backend=backend))
    assert [i for i, _ in got] == [0, 3, 17, 29]
    for (i, frame), level in zip(got, _levels(got)):
        assert frame.dtype == np.uint8
        assert frame.shape == (48, 64, 3)
        assert frame.flags.c_contiguous
        assert level == pytest.approx(_level(i), abs=3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_indices_past_the_end_are_not_yielded(tmp_path, backend):
    path = _write_video(tmp_path / "a.mp4", n_frames=10)
    read, frames = read_frames(path, [8, 9, 10, 500], backend=backend)
    np.testing.assert_array_equal(read, [8, 9])
    assert frames.shape == (2, 48, 64, 3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_frame_video(tmp_path, backend):
    path = _write_video(tmp_path / "one.mp4", n_frames=1)
    assert probe_video(path).n_frames == 1
    read, frames = read_frames(path, [0, 1, 5], backend=backend)
    np.testing.assert_array_equal(read, [0])
    assert frames[0].mean() == pytest.approx(_level(0), abs=3)


def test_empty_indices_still_check_the_file(tmp_path):
    path = _write_video(tmp_path / "a.mp4", n_frames=3)
    read, frames = read_frames(path, [])
    assert read.shape == (0,)
    assert frames.shape[0] == 0
    assert frames.dtype == np.uint8
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"garbage" * 100)
    with pytest.raises(VideoReadError):
        iter_frames(bad, [])


def test_backends_agree_pixel_for_pixel(tmp_path):
    path = _write_video(tmp_path / "n.mp4", n_frames=40, noise=True)
    wanted = [0, 7, 19, 38]
    ref_idx, ref = read_frames(path, wanted, backend="pyav")
    idx, frames = read_frames(path, wanted, backend="opencv")
    np.testing.assert_array_equal(ref_idx, idx)
    assert np.abs(ref.astype(int) - frames).mean() < 1.0


def test_pyav_fast_path_is_exact(tmp_path):
    # H.264 with B-frames: unwanted non-reference frames are skipped; the
    # kept frames must be identical to those of a full decode.
    from sklearn_deepfake.video._reading import _iter_pyav

    path = tmp_path / "b.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"bframes": "3", "b-pyramid": "normal", "preset": "fast"}
        rng = np.random.default_rng(1)
        base = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
        for i in range(60):
            img = np.roll(base, i, axis=1)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        out.mux(stream.encode())
    wanted = np.array([1, 2, 10, 31, 45, 58])
    fast = list(_iter_pyav(str(path), wanted, None))
    full = list(_iter_pyav(str(path), wanted, None, skip_nonref=False))
    assert [i for i, _ in fast] == [i for i, _ in full] == wanted.tolist()
    for (_, a), (_, b) in zip(fast, full):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("backend", BACKENDS)
def test_variable_frame_rate(tmp_path, backend):
    pts = np.cumsum([0, 40, 40, 200, 10, 10, 90, 500, 40, 40, 40, 33])
    path = _write_video(tmp_path / "vfr.mp4", n_frames=len(pts), pts=pts)
    info = probe_video(path)
    assert info.n_frames == len(pts)
    got = list(iter_frames(path, range(len(pts)), backend=backend))
    assert [i for i, _ in got] == list(range(len(pts)))
    np.testing.assert_allclose(_levels(got), [_level(i) for i in range(12)], atol=3)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("ccw", "cw"),
    [(0, 0), (90, 270), (180, 180), (270, 90)],
)
def test_rotation_is_honoured(tmp_path, backend, ccw, cw):
    path = _write_video(tmp_path / f"r{ccw}.mp4", n_frames=3, rotation=ccw)
    info = probe_video(path)
    assert info.rotation == cw
    expected_shape = (48, 64) if cw in (0, 180) else (64, 48)
    assert (info.height, info.width) == expected_shape
    _, frames = read_frames(path, [1], backend=backend)
    assert frames.shape[1:3] == expected_shape
    # The white marker was written top-left; upright means it moved with
    # the display rotation (np.rot90 turns counter-clockwise, like ``ccw``).
    source = np.zeros((48, 64), dtype=bool)
    source[:24, :32] = True
    marker = np.rot90(source, k=ccw // 90)
    white = frames[0].mean(axis=2) > 200
    assert (white == marker).mean() > 0.95


@pytest.fixture(scope="module")
def uhd_video(tmp_path_factory):
    directory = tmp_path_factory.mktemp("uhd")
    return _write_video(directory / "uhd.mp4", n_frames=2, width=3840, height=2160)


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_size_downscales_4k_frames(uhd_video, backend):
    path = uhd_video
    info = probe_video(path)
    assert (info.width, info.height) == (3840, 2160)
    read, frames = read_frames(path, [0, 1], backend=backend, max_size=640)
    np.testing.assert_array_equal(read, [0, 1])
    assert frames.shape == (2, 360, 640, 3)
    assert frames[1].mean() == pytest.approx(_level(1), abs=3)
    # frames already small enough are left alone
    _, same = read_frames(path, [0], backend=backend, max_size=4000)
    assert same.shape == (1, 2160, 3840, 3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_size_keeps_rotation(tmp_path, backend):
    path = _write_video(tmp_path / "r.mp4", n_frames=2, rotation=90)
    _, frames = read_frames(path, [0], backend=backend, max_size=32)
    assert frames.shape == (1, 32, 24, 3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_long_video_stops_after_last_wanted_frame(tmp_path, backend):
    path = _write_video(
        tmp_path / "long.mp4",
        n_frames=2000,
        width=32,
        height=32,
        rate=25,
        faststart=True,
    )
    uniform = np.linspace(0, 1999, 8).round().astype(int)
    got = list(iter_frames(path, uniform, backend=backend))
    assert [i for i, _ in got] == uniform.tolist()
    np.testing.assert_allclose(_levels(got), [_level(i) for i in uniform], atol=3)
    # Cut the file: the early frames are still read without error, which
    # shows that decoding stops at the last wanted frame instead of running
    # into the missing end.
    cut = tmp_path / "long_cut.mp4"
    data = Path(path).read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.6)])
    read, _ = read_frames(cut, range(8), backend=backend)
    np.testing.assert_array_equal(read, np.arange(8))


# --------------------------------------------------------------------------
# truncated and corrupt files
# --------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_truncated_faststart_file_yields_then_raises(tmp_path, backend):
    path = _write_video(tmp_path / "f.mp4", n_frames=60, noise=True, faststart=True)
    cut = tmp_path / "cut.mp4"
    data = Path(path).read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    assert probe_video(cut).n_frames == 60  # the index is intact
    got, error = _drain(iter_frames(cut, range(0, 60, 5), backend=backend))
    assert isinstance(error, VideoReadError)
    assert re.search(r"cut\.mp4.*truncated or corrupt", str(error))
    ordinals = [i for i, _ in got]
    assert 0 < len(ordinals) < 12
    assert ordinals == list(range(0, 5 * len(ordinals), 5))


@pytest.mark.parametrize("backend", BACKENDS)
def test_truncated_file_without_index_raises_at_open(tmp_path, backend):
    path = _write_video(tmp_path / "n.mp4", n_frames=60, noise=True)
    data = Path(path).read_bytes()
    assert data.find(b"moov") > data.find(b"mdat")  # index written at the end
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoReadError, match="moov"):
        probe_video(cut)
    with pytest.raises(VideoReadError, match=r"cut\.mp4"):
        iter_frames(cut, [0], backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_corrupt_middle_yields_then_raises(tmp_path, backend):
    path = _write_video(tmp_path / "c.mp4", n_frames=60, noise=True, faststart=True)
    data = bytearray(Path(path).read_bytes())
    n = len(data)
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, n // 2 - n // 3, dtype=np.uint8)
    data[n // 3 : n // 2] = noise.tobytes()
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(bytes(data))
    got, error = _drain(iter_frames(bad, range(60), backend=backend))
    # Frames before the damage come out, then one VideoReadError names the
    # file (PyAV goes on past the damage, OpenCV stops at it).
    assert isinstance(error, VideoReadError)
    assert "bad.mp4" in str(error)
    ordinals = [i for i, _ in got]
    assert ordinals[:5] == [0, 1, 2, 3, 4]
    assert ordinals == sorted(set(ordinals))
    assert len(ordinals) < 60


# --------------------------------------------------------------------------
# argument validation
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"backend": "ffmpeg"}, "backend must be one of"),
        ({"max_size": 0}, "max_size must be"),
        ({"max_size": 1.5}, "max_size must be"),
        ({"indices": [-1, 2]}, "non-negative"),
        ({"indices": [[1, 2]]}, "one-dimensional"),
        ({"indices": [0.5]}, "integers"),
    ],
)
def test_invalid_arguments(tmp_path, kwargs, match):
    path = _write_video(tmp_path / "a.mp4", n_frames=3)
    kwargs = {"indices": [0], **kwargs}
    indices = kwargs.pop("indices")
    with pytest.raises(ValueError, match=match):
        iter_frames(path, indices, **kwargs)


def test_float_integral_indices_are_accepted(tmp_path):
    path = _write_video(tmp_path / "a.mp4", n_frames=3)
    read, _ = read_frames(path, np.array([0.0, 2.0]))
    np.testing.assert_array_equal(read, [0, 2])


# --------------------------------------------------------------------------
# real clips (skipped without ../shared/data)
# --------------------------------------------------------------------------


@pytest.mark.shared_data
@pytest.mark.skipif(not DFDC_CLIP.exists(), reason="shared data absent")
def test_dfdc_clip_probe_and_first_frames():
    info = probe_video(DFDC_CLIP)
    assert (info.n_frames, info.width, info.height) == (300, 1920, 1080)
    assert info.fps == pytest.approx(29.97)
    assert info.has_audio
    assert info.codec == "h264"
    assert info.rotation == 0
    read, frames = read_frames(DFDC_CLIP, [0, 2], max_size=480)
    np.testing.assert_array_equal(read, [0, 2])
    assert frames.shape == (2, 270, 480, 3)
