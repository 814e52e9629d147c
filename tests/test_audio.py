"""Sound tracks: synthetic talking faces, AudioFeatures and AVSyncFeatures."""

from __future__ import annotations

import hashlib
import os
import warnings

import av
import numpy as np
import pytest

from sklearn_deepfake.datasets import make_dfdc_folder, make_face_videos
from sklearn_deepfake.exceptions import NoAudioWarning, VideoReadWarning
from sklearn_deepfake.features import (
    AudioFeatures,
    AVSyncFeatures,
    log_mel_spectrogram,
    read_audio,
)
from sklearn_deepfake.utils import FaceTracks
from sklearn_deepfake.video import probe_video

# Frontal faces: MTCNN places the mouth corners of the profile "cameraman"
# identities off the mouth, which AVSyncFeatures documents as a limit.
FRONTAL = ("astronaut", "astronaut_mirror_cool", "astronaut_wide_dark")


@pytest.fixture(scope="module")
def talking(tmp_path_factory):
    """4 talking-face videos with sound, then their 4 audio-manipulated twins."""
    return make_face_videos(
        n_videos=8,
        n_frames=40,
        manipulated=0.5,
        manipulation="audio",
        identities=FRONTAL,
        directory=tmp_path_factory.mktemp("talking"),
        random_state=1,
    )


def _md5(path):
    with open(path, "rb") as fh:
        return hashlib.md5(fh.read()).hexdigest()


def _decode_frames(path):
    with av.open(path) as container:
        return np.stack(
            [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        )


def _frame_rms(x, sample_rate, fps, n_frames):
    hop = sample_rate / fps
    return np.array(
        [
            np.sqrt(np.mean(x[round(i * hop) : round((i + 1) * hop)] ** 2))
            for i in range(n_frames)
        ]
    )


def _write_clip(path, samples=None, *, garbage_audio=False, n_frames=10):
    """Tiny video, with ``samples`` as AAC sound or garbage audio packets."""
    with av.open(os.fspath(path), "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 64, 64, "yuv420p"
        sound = None
        if samples is not None or garbage_audio:
            sound = out.add_stream("aac", rate=16000, layout="mono")
        for i in range(n_frames):
            img = np.full((64, 64, 3), 10 * i, np.uint8)
            out.mux(video.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        out.mux(video.encode())
        if samples is not None:
            frame = av.AudioFrame.from_ndarray(
                np.asarray(samples, np.float32)[None], format="fltp", layout="mono"
            )
            frame.sample_rate, frame.pts = 16000, 0
            out.mux(sound.encode(frame))
            out.mux(sound.encode())
        elif garbage_audio:
            rng = np.random.default_rng(0)
            for k in range(8):
                packet = av.Packet(rng.integers(0, 256, 300, np.uint8).tobytes())
                packet.stream = sound
                packet.pts = packet.dts = 1024 * k
                packet.time_base = sound.time_base
                out.mux(packet)
    return os.fspath(path)


# ---------------------------------------------------------------------------
# make_face_videos(audio=True) and manipulation="audio"


def test_talking_faces_have_a_readable_sound_track(talking):
    assert talking.target.tolist() == [0] * 4 + [1] * 4
    assert talking.groups.tolist() == [0, 1, 2, 3, 0, 1, 2, 3]
    assert len(talking.mouth) == 8
    assert talking.mouth[0].shape == (40,)
    for path in talking.paths:
        info = probe_video(path)
        assert info.has_audio
        assert info.n_frames == 40
        assert info.fps == 25.0
        with av.open(path) as container:
            assert [s.type for s in container.streams] == ["video", "audio"]
            assert container.streams.audio[0].codec_context.name == "aac"
        x = read_audio(path)
        assert x.dtype == np.float32
        assert 0.05 < np.abs(x).max() <= 1.0
        assert x.size >= 40 * 16000 // 25


def test_mouth_moves_with_the_sound(talking):
    """Pristine: the sound's loudness follows the mouth; the twin's does not."""
    corr = []
    for path, mouth in zip(talking.paths, talking.mouth):
        rms = _frame_rms(read_audio(path), 16000, 25.0, 40)
        corr.append(np.corrcoef(rms, mouth)[0, 1])
    corr = np.array(corr)
    assert (corr[:4] > 0.6).all(), corr
    assert (corr[4:] < corr[:4]).all(), corr
    # the mouth really moves: frames with an open mouth differ from closed ones
    frames = _decode_frames(talking.paths[0]).astype(np.float32)
    mouth = talking.mouth[0]
    x1, y1, x2, y2 = talking.boxes[0][int(mouth.argmax()), 0].astype(int)
    lower = slice(y1 + (y2 - y1) // 2, y2), slice(x1, x2)
    diff = np.abs(frames[mouth.argmax()][lower] - frames[mouth.argmin()][lower])
    assert diff.mean() > 8.0


def test_audio_twin_has_the_pristine_frames_and_other_sound(talking):
    pristine, twin = talking.paths[1], talking.paths[5]
    np.testing.assert_array_equal(_decode_frames(pristine), _decode_frames(twin))
    np.testing.assert_array_equal(talking.mouth[1], talking.mouth[5])
    a, b = read_audio(pristine), read_audio(twin)
    n = min(a.size, b.size)
    assert np.abs(a[:n] - b[:n]).mean() > 0.01


def test_talking_faces_deterministic(tmp_path):
    kwargs = {"n_videos": 2, "n_frames": 6, "manipulated": 0.5, "random_state": 3}
    a = make_face_videos(manipulation="audio", directory=tmp_path / "a", **kwargs)
    b = make_face_videos(manipulation="audio", directory=tmp_path / "b", **kwargs)
    assert [_md5(p) for p in a.paths] == [_md5(p) for p in b.paths]
    # a face manipulation with sound keeps the pristine twin's sound
    c = make_face_videos(audio=True, directory=tmp_path / "c", **kwargs)
    np.testing.assert_array_equal(read_audio(c.paths[0]), read_audio(c.paths[1]))
    assert c.target.tolist() == [0, 1]


def test_default_videos_are_silent_films(tiny_videos):
    assert "mouth" not in tiny_videos
    for path in tiny_videos.paths:
        assert not probe_video(path).has_audio
        assert read_audio(path).shape == (0,)


def test_audio_options_invalid(tmp_path):
    with pytest.raises(ValueError, match="audio=True"):
        make_face_videos(1, manipulation="audio", audio=False, directory=tmp_path)
    with pytest.raises(ValueError, match="audio must be"):
        make_face_videos(1, audio="yes", directory=tmp_path)
    assert not list(tmp_path.glob("*.mp4"))


def test_make_dfdc_folder_audio_manipulation(tmp_path):
    info = make_dfdc_folder(
        tmp_path,
        n_originals=1,
        n_test=2,
        n_frames=4,
        manipulation="audio",
        random_state=0,
    )
    assert info.train_target.tolist() == [0, 1] or info.train_target.tolist() == [1, 0]
    for path in info.train_paths + info.test_paths:
        assert probe_video(path).has_audio


# ---------------------------------------------------------------------------
# AudioFeatures


def test_audio_features_shape_names_and_values(talking):
    feats = AudioFeatures()
    X = feats.fit_transform(talking.paths)
    names = feats.get_feature_names_out()
    assert X.shape == (8, len(names)) == (8, 16 + 3 * 13)
    assert np.isfinite(X).all()
    col = {n: X[:, i] for i, n in enumerate(names)}
    assert (col["audio_has_audio_stream"] == 1).all()
    assert (col["audio_has_audio"] == 1).all()
    np.testing.assert_allclose(col["audio_duration"], 1.6, atol=0.1)
    # a voice between 100 and 220 Hz: centroid well below Nyquist, pauses
    assert (col["audio_centroid_mean"] < 0.4).all()
    assert (col["audio_silence_fraction"] < 0.8).all()
    assert (col["audio_rms_db_max"] > -20).all()


@pytest.mark.slow
def test_audio_features_deterministic_and_parallel(talking):
    a = AudioFeatures().fit_transform(talking.paths[:3])
    b = AudioFeatures().transform(talking.paths[:3])
    np.testing.assert_array_equal(a, b)
    c = AudioFeatures(n_jobs=2).transform(talking.paths[:3])
    np.testing.assert_allclose(a, c)
    # a row does not depend on the rest of the batch
    np.testing.assert_array_equal(AudioFeatures().transform(talking.paths[2:3]), a[2:])


def test_audio_features_max_duration(talking):
    feats = AudioFeatures(max_duration=0.5)
    X = feats.fit_transform(talking.paths[:1])
    assert X[0, 2] == pytest.approx(0.5)
    assert feats.spectrograms(talking.paths[:1])[0].shape == (48, 40)


def test_audio_features_no_audio_row_and_warning(tiny_videos, talking):
    paths = [talking.paths[0], tiny_videos.paths[0]]
    with pytest.warns(NoAudioWarning, match=os.path.basename(tiny_videos.paths[0])):
        X = AudioFeatures().fit_transform(paths)
    np.testing.assert_array_equal(X[1], 0.0)
    assert X[0, 1] == 1.0
    with pytest.warns(NoAudioWarning):
        spec = AudioFeatures(n_mels=20).spectrograms(paths)
    assert spec[1].shape == (0, 20)
    assert spec[0].shape[1] == 20


def test_audio_features_silent_audio(tmp_path):
    path = _write_clip(tmp_path / "silent.mp4", np.zeros(8000))
    with pytest.warns(NoAudioWarning, match="silent.mp4.*silent"):
        X = AudioFeatures().fit_transform([path])
    names = AudioFeatures().get_feature_names_out().tolist()
    row = dict(zip(names, X[0]))
    assert row["audio_has_audio_stream"] == 1.0
    assert row["audio_has_audio"] == 0.0
    assert row["audio_silence_fraction"] == 1.0
    assert row["audio_duration"] > 0.4
    assert np.count_nonzero(X[0]) == 3


def test_audio_features_corrupt_audio(tmp_path, broken_videos):
    bad = _write_clip(tmp_path / "bad_audio.mp4", garbage_audio=True)
    paths = [bad, broken_videos["random_bytes"], broken_videos["truncated"]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        X = AudioFeatures().fit_transform(paths)
    assert X.shape[0] == 3
    assert np.isfinite(X).all()
    assert (X[:, 1] == 0).all()  # no usable sound anywhere
    assert (X[:, 3:] == 0).all()
    messages = " ".join(str(w.message) for w in caught)
    for path in paths:
        assert os.path.basename(path) in messages
    assert any(issubclass(w.category, VideoReadWarning) for w in caught)


def test_audio_features_missing_file(talking):
    with pytest.raises(FileNotFoundError, match=r"1 of 2.*nope\.mp4"):
        AudioFeatures().transform([talking.paths[0], "nope.mp4"])


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_mfcc": 50}, "n_mfcc"),
        ({"sample_rate": 100}, "sample_rate"),
        ({"hop": 0}, "hop"),
        ({"max_duration": -1.0}, "max_duration"),
        ({"silence_db": 3.0}, "silence_db"),
        ({"n_jobs": "all"}, "n_jobs"),
    ],
)
def test_audio_features_invalid_params(params, match):
    with pytest.raises(ValueError, match=match):
        AudioFeatures(**params).fit(["x.mp4"])


def test_audio_decoding_never_decodes_video(talking, monkeypatch):
    """Only the audio stream is decoded; the video stream is discarded."""
    seen = []
    real_open = av.open

    class Spy:
        def __init__(self, container):
            self._c = container

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self._c.__exit__(*exc)

        def __getattr__(self, name):
            return getattr(self._c, name)

        def decode(self, *streams, **kwargs):
            seen.append(([s.type for s in streams], kwargs))
            for s in self._c.streams.video:
                assert s.discard == av.stream.Discard.all
            return self._c.decode(*streams, **kwargs)

        def demux(self, *args, **kwargs):  # pragma: no cover - must not happen
            raise AssertionError("demux of every stream")

    monkeypatch.setattr(av, "open", lambda *a, **k: Spy(real_open(*a, **k)))
    X = AudioFeatures().transform(talking.paths[:2])
    assert X[:, 1].tolist() == [1.0, 1.0]
    assert seen == [(["audio"], {})] * 2


def test_log_mel_spectrogram_finds_the_tone():
    t = np.arange(16000) / 16000
    low = log_mel_spectrogram(np.sin(2 * np.pi * 300 * t), n_mels=30).mean(axis=0)
    high = log_mel_spectrogram(np.sin(2 * np.pi * 3000 * t), n_mels=30).mean(axis=0)
    assert low.argmax() < high.argmax()
    silent = log_mel_spectrogram(np.zeros(100))
    assert silent.shape == (1, 40)
    assert (silent == -100).all()


# ---------------------------------------------------------------------------
# AVSyncFeatures


@pytest.fixture(scope="module")
def talking_tracks(talking):
    from sklearn_deepfake.faces import FaceCropper
    from sklearn_deepfake.video import FrameSampler

    plans = FrameSampler(strategy="all").fit_transform(talking.paths)
    return FaceCropper(size=96, device="cpu", n_jobs=1).fit_transform(plans)


@pytest.mark.slow
def test_av_sync_separates_audio_fakes(talking, talking_tracks):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    sync = AVSyncFeatures()
    X = sync.fit_transform(talking_tracks)
    names = sync.get_feature_names_out().tolist()
    assert X.shape == (8, len(names))
    assert np.isfinite(X).all()
    assert (X[:, 0] == 1).all()
    assert (X[:, 1] == 1).all()
    corr0 = X[:, names.index("av_open_corr0")]
    # every pristine video beats its own audio-manipulated twin
    assert (corr0[:4] > corr0[4:]).all(), corr0
    assert (corr0[:4] > 0.5).all(), corr0
    # and a classifier on the AVSync row, grouped by scene, ranks every fake
    # above every real video it never saw. (AudioFeatures alone cannot tell:
    # the swapped-in voice comes from the same synthesiser; on 8 videos its
    # 25 columns only add noise to such a tiny training set.)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0))
    proba = cross_val_predict(
        model,
        X,
        talking.target,
        groups=talking.groups,
        cv=GroupKFold(2),
        method="predict_proba",
    )[:, 1]
    assert proba[4:].min() > proba[:4].max(), proba


@pytest.mark.slow
def test_av_sync_deterministic_and_subset(talking_tracks):
    a = AVSyncFeatures().fit_transform(talking_tracks)
    b = AVSyncFeatures(n_jobs=2).transform(talking_tracks[::-1])[::-1]
    np.testing.assert_allclose(a, b)


@pytest.mark.slow
def test_av_sync_without_audio_or_face(tiny_videos, talking, talking_tracks):
    from sklearn_deepfake.faces import FaceCropper
    from sklearn_deepfake.video import FrameSampler

    plans = FrameSampler(strategy="all").fit_transform(tiny_videos.paths[:1])
    silent = FaceCropper(size=96, device="cpu", n_jobs=1).fit_transform(plans)
    no_face = FaceTracks.empty(talking.paths[0], size=96, fps=25.0)
    with pytest.warns(NoAudioWarning, match=os.path.basename(tiny_videos.paths[0])):
        X = AVSyncFeatures().fit_transform([silent[0], no_face])
    assert X[0, 0] == 0
    assert X[0, 1] == 1
    assert (X[0, 3:] == 0).all()
    assert X[1, 0] == 1
    assert X[1, 1] == 0
    assert (X[1, 2:] == 0).all()


def test_av_sync_missing_file_and_sparse_frames(talking):
    tracks = FaceTracks.empty("missing_video.mp4", size=8)
    with pytest.warns(VideoReadWarning, match="missing_video.mp4"):
        X = AVSyncFeatures().fit_transform([tracks])
    np.testing.assert_array_equal(X, 0.0)
    with pytest.raises(ValueError, match="max_lag"):
        AVSyncFeatures(max_lag=-1).fit([tracks])
