"""Sound-track features: one fixed-width row per video, from its audio only.

In DFDC a video is FAKE when its face, its voice or both were manipulated,
so the sound track carries part of the signal. :class:`AudioFeatures` reads
only the audio packets of each file (video packets are demuxed and dropped,
never decoded), resamples the sound to mono at a fixed rate with
``av.AudioResampler``, and summarises a log-mel spectrogram and its MFCCs
(own filterbank and DCT in NumPy/SciPy: no librosa, no torchaudio) into one
row per video.
"""

from __future__ import annotations

import math
import os
import warnings
from typing import Any, ClassVar

import numpy as np
import scipy.fft

from sklearn_deepfake.exceptions import NoAudioWarning, VideoReadWarning
from sklearn_deepfake.features._handcrafted import _DOCS as _FEATURE_DOCS
from sklearn_deepfake.features._handcrafted import _N_JOBS
from sklearn_deepfake.utils._checks import check_int_range, check_video_paths
from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._parallel import map_videos
from sklearn_deepfake.utils._param_validation import (
    Integral,
    Interval,
    Real,
)
from sklearn_deepfake.utils._ragged import _STEP_DOCS, _NothingLearned

__all__ = ["AudioFeatures", "log_mel_spectrogram", "read_audio"]

#: Constraints of the parameters every sound transformer has.
_SOUND_CONSTRAINTS: dict[str, Any] = {
    "sample_rate": [Interval(Integral, 4000, 96000, closed="both")],
    "silence_db": [Interval(Real, -200.0, 0.0, closed="right")],
    "n_jobs": _N_JOBS,
}

#: Docstring text of the feature transformers, and that of the sound ones.
_DOCS = {
    **_FEATURE_DOCS,
    "sample_rate": """sample_rate : int, default=16000
    Rate (Hz) the sound is resampled to before analysis.""",
}

# Floor of the power and dB values: keeps logs finite on digital silence.
_EPS = 1e-10
_SCALAR_NAMES = (
    "has_audio_stream",
    "has_audio",
    "duration",
    "silence_fraction",
    "rms_db_mean",
    "rms_db_std",
    "rms_db_max",
    "zcr_mean",
    "zcr_std",
    "centroid_mean",
    "centroid_std",
    "rolloff_mean",
    "rolloff_std",
    "flatness_mean",
    "flatness_std",
    "syllabic_modulation",
)


class _NoAudioStream(Exception):
    """The file holds no audio stream."""


def _undecodable(path: str, reason: str) -> Exception:
    """Build the VideoReadError of an audio stream of which nothing decodes."""
    from sklearn_deepfake.exceptions import VideoReadError

    exc = VideoReadError(f"{path}: cannot decode audio: {reason}")
    exc.has_audio_stream = True  # type: ignore[attr-defined]
    return exc


def read_audio(
    path: str | os.PathLike,
    *,
    sample_rate: int = 16000,
    max_duration: float | None = None,
) -> np.ndarray:
    """Decode the first audio stream of a file as mono float32 samples.

    Only audio packets are decoded: the demuxer reads the other streams'
    packets and drops them, so no video frame is ever decoded.

    Parameters
    ----------
    path : str or path-like
        Video (or audio) file.
    sample_rate : int, default=16000
        Output sample rate in Hz; the sound is resampled and mixed down to
        mono with ``av.AudioResampler``.
    max_duration : float, default=None
        Keep only the first ``max_duration`` seconds (decoding stops there).
        ``None`` reads the whole track.

    Returns
    -------
    samples : ndarray of float32, shape (n_samples,)
        Samples in [-1, 1]. Empty when the file has no audio stream.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    sklearn_deepfake.exceptions.VideoReadError
        If the file cannot be opened, or its audio cannot be decoded at all.
        When decoding fails part way, the samples decoded so far are returned
        and a :class:`~sklearn_deepfake.exceptions.VideoReadWarning` is
        emitted.

    Examples
    --------
    >>> from sklearn_deepfake.datasets import make_face_videos
    >>> from sklearn_deepfake.features import read_audio
    >>> data = make_face_videos(1, n_frames=5, audio=True, random_state=0)
    >>> x = read_audio(data.paths[0], sample_rate=8000)
    >>> x.dtype, x.shape[0] >= 8000 * 5 // 25
    (dtype('float32'), True)
    """
    try:
        samples, partial = _decode_audio(os.fspath(path), sample_rate, max_duration)
    except _NoAudioStream:
        return np.zeros(0, np.float32)
    if partial:
        warnings.warn(
            f"Audio of {os.fspath(path)!r} could only be decoded in part: {partial}",
            VideoReadWarning,
            stacklevel=2,
        )
    return samples


def _decode_audio(
    path: str, sample_rate: int, max_duration: float | None
) -> tuple[np.ndarray, str | None]:
    """Return (samples, why decoding stopped early or None)."""
    import av
    from av.stream import Discard

    from sklearn_deepfake.exceptions import VideoReadError

    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: {path!r}")
    limit = None if max_duration is None else math.ceil(max_duration * sample_rate)
    chunks: list[np.ndarray] = []
    n = 0
    partial = None
    try:
        container = av.open(path)
    except Exception as exc:  # any failure to open is a read error
        raise VideoReadError(f"{path}: cannot open: {exc}") from exc
    with container:
        if not container.streams.audio:
            raise _NoAudioStream(path)
        stream = container.streams.audio[0]
        for other in container.streams:
            if other is not stream:
                other.discard = Discard.all  # the demuxer skips their packets
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        try:
            for frame in container.decode(stream):
                frame.pts = None  # the resampler follows the sample count
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
                    n += chunks[-1].size
                if limit is not None and n >= limit:
                    break
            else:
                for out in resampler.resample(None):
                    chunks.append(out.to_ndarray().reshape(-1))
                    n += chunks[-1].size
        except Exception as exc:  # corrupt packets, truncated file, ...
            reason = str(exc) or type(exc).__name__
            if not chunks:
                raise _undecodable(path, reason) from exc
            partial = reason
    samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    if limit is not None:
        samples = samples[:limit]
    return np.ascontiguousarray(samples, dtype=np.float32), partial


def _decode_or_warn(
    path: str, sample_rate: int, max_duration: float | None, fallback: str
) -> tuple[np.ndarray | None, bool]:
    """Decode the sound of ``path``, or warn that the video gets ``fallback``.

    Returns ``(samples, whether the file has an audio stream)``; the samples
    are None when the file has no audio stream or cannot be read (a
    :class:`~sklearn_deepfake.exceptions.NoAudioWarning` or
    :class:`~sklearn_deepfake.exceptions.VideoReadWarning` says so, naming
    the file and ``fallback``). Sound decoded only in part is returned with
    a VideoReadWarning.
    """
    try:
        x, partial = _decode_audio(path, sample_rate, max_duration)
    except _NoAudioStream:
        warnings.warn(
            f"Video {path!r} has no audio stream; {fallback}.",
            NoAudioWarning,
            stacklevel=3,
        )
        return None, False
    except OSError as exc:  # a missing file or a VideoReadError
        warnings.warn(
            f"Cannot read the audio of {path!r}; {fallback}: {exc}",
            VideoReadWarning,
            stacklevel=3,
        )
        return None, bool(getattr(exc, "has_audio_stream", False))
    if partial:
        warnings.warn(
            f"Audio of {path!r} could only be decoded in part: {partial}",
            VideoReadWarning,
            stacklevel=3,
        )
    return x, True


def _mel_filterbank(
    n_mels: int, n_fft: int, sample_rate: int, fmin: float, fmax: float
) -> np.ndarray:
    """Triangular filters on the HTK mel scale, ``(n_mels, n_fft // 2 + 1)``.

    Each filter is normalised to unit area (in Hz), so that bands of
    different widths give comparable energies.
    """

    def to_mel(f: Any) -> Any:
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def to_hz(m: Any) -> Any:
        return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)

    freqs = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    edges = to_hz(np.linspace(to_mel(fmin), to_mel(fmax), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None, :] - lower) / np.maximum(centre - lower, 1e-9)
    falling = (upper - freqs[None, :]) / np.maximum(upper - centre, 1e-9)
    bank = np.clip(np.minimum(rising, falling), 0.0, None)
    bank *= 2.0 / np.maximum(upper - lower, 1e-9)
    return bank


def _frames(x: np.ndarray, length: int, hop: int) -> np.ndarray:
    """``(n_windows, length)`` view of ``x`` (zero-padded to one window)."""
    if x.size < length:
        x = np.pad(x, (0, length - x.size))
    n = 1 + (x.size - length) // hop
    return np.lib.stride_tricks.as_strided(
        x, shape=(n, length), strides=(x.strides[0] * hop, x.strides[0])
    )


def _spectra(
    x: np.ndarray, sample_rate: int, window: float, hop: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """Return (raw windows, power spectra, n_fft)."""
    length = max(round(window * sample_rate), 16)
    step = max(round(hop * sample_rate), 1)
    n_fft = 1 << (length - 1).bit_length()
    frames = _frames(np.asarray(x, np.float64), length, step)
    spec = np.fft.rfft(frames * np.hanning(length), n=n_fft, axis=1)
    return frames, spec.real**2 + spec.imag**2, n_fft


def log_mel_spectrogram(
    x: np.ndarray,
    sample_rate: int = 16000,
    *,
    n_mels: int = 40,
    window: float = 0.025,
    hop: float = 0.01,
    fmin: float = 20.0,
    fmax: float | None = None,
) -> np.ndarray:
    """Log-mel spectrogram of a mono signal, in dB.

    Parameters
    ----------
    x : ndarray of shape (n_samples,)
        Mono samples in [-1, 1].
    sample_rate : int, default=16000
        Sample rate of ``x`` in Hz.
    n_mels : int, default=40
        Number of mel bands.
    window : float, default=0.025
        Hann window length in seconds (the FFT size is the next power of 2).
    hop : float, default=0.01
        Step between windows in seconds.
    fmin, fmax : float, default=20.0 and None
        Frequency range of the filterbank; ``fmax=None`` is ``sample_rate/2``.

    Returns
    -------
    spectrogram : ndarray of float32, shape (n_windows, n_mels)
        ``10 * log10(power)``, floored at -100 dB. A signal shorter than a
        window is zero-padded to one window.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.features import log_mel_spectrogram
    >>> t = np.arange(16000) / 16000
    >>> S = log_mel_spectrogram(np.sin(2 * np.pi * 440 * t), n_mels=20)
    >>> S.shape, int(S.mean(axis=0).argmax())
    ((98, 20), 3)
    """
    fmax = sample_rate / 2 if fmax is None else fmax
    _, power, n_fft = _spectra(np.asarray(x), sample_rate, window, hop)
    mel = power @ _mel_filterbank(n_mels, n_fft, sample_rate, fmin, fmax).T
    return (10.0 * np.log10(np.maximum(mel, _EPS))).astype(np.float32)


def _deltas(feat: np.ndarray, width: int = 2) -> np.ndarray:
    """Regression deltas over ``±width`` windows (edges repeated)."""
    if len(feat) == 0:
        return feat
    padded = np.pad(feat, ((width, width), (0, 0)), mode="edge")
    n = len(feat)
    num = sum(
        k * (padded[width + k : width + k + n] - padded[width - k : n + width - k])
        for k in range(1, width + 1)
    )
    return num / (2 * sum(k * k for k in range(1, width + 1)))


@fill_doc(_DOCS)
class AudioFeatures(_NothingLearned):
    """One fixed-width row of sound-track statistics per video.

    Reads only the audio stream of each video (no video frame is decoded),
    resamples it to ``sample_rate`` mono, cuts it into Hann windows, and
    summarises over the non-silent windows: MFCC means and spreads, the spread
    of their deltas, spectral centroid, 85 % roll-off and flatness, loudness
    (window RMS in dBFS) statistics, zero-crossing rate, the fraction of
    silent windows and the share of loudness modulation at syllabic rates
    (2-8 Hz). Learns nothing: ``fit`` only validates the parameters.

    Parameters
    ----------
    %(sample_rate)s
    max_duration : float, default=None
        Analyse only the first ``max_duration`` seconds; ``None``: everything.
    n_mels : int, default=40
        Mel bands of the spectrogram.
    n_mfcc : int, default=13
        MFCCs kept (DCT-II of the log-mel bands, orthonormal), at most
        ``n_mels``.
    window : float, default=0.025
        Analysis window length in seconds.
    hop : float, default=0.01
        Step between windows in seconds.
    silence_db : float, default=-50.0
        A window whose RMS is below this level (dB relative to full scale) is
        silent. Spectral and MFCC statistics use only the other windows.
    %(n_jobs)s

    Attributes
    ----------
    None : the transformer is stateless.

    See Also
    --------
    read_audio : The decoding step.
    log_mel_spectrogram : The spectrogram behind the MFCCs.
    AVSyncFeatures : Whether the sound follows the mouth.

    Notes
    -----
    Output columns (see :meth:`get_feature_names_out`), all prefixed
    ``audio_``: ``has_audio_stream`` (the file has an audio stream),
    ``has_audio`` (a decodable, non-silent sound was analysed), ``duration``
    (seconds analysed), ``silence_fraction``, ``rms_db_mean/std/max``,
    ``zcr_mean/std``, ``centroid_mean/std`` and ``rolloff_mean/std`` (as
    fractions of the Nyquist frequency), ``flatness_mean/std``,
    ``syllabic_modulation``, then ``mfcc{k}_mean``, ``mfcc{k}_std`` and
    ``dmfcc{k}_std`` for each MFCC ``k``.

    Fallback rows, never a crash: a missing file raises
    :class:`FileNotFoundError` up front (all missing paths listed). A video
    without an audio stream, or whose sound is silent throughout (no window
    above ``silence_db``), gets a row of zeros except ``has_audio_stream``,
    ``duration`` and ``silence_fraction`` (1.0 for silence) where known, plus
    a :class:`~sklearn_deepfake.exceptions.NoAudioWarning` naming it. A file
    whose sound cannot be decoded at all gets the zero row with
    ``has_audio_stream`` as known and a
    :class:`~sklearn_deepfake.exceptions.VideoReadWarning`; partly decodable
    sound is analysed as far as it goes (with that warning too).

    Examples
    --------
    >>> from sklearn_deepfake.datasets import make_face_videos
    >>> from sklearn_deepfake.features import AudioFeatures
    >>> data = make_face_videos(2, n_frames=10, audio=True, random_state=0)
    >>> feats = AudioFeatures(n_mfcc=4)
    >>> X = feats.fit_transform(data.paths)
    >>> X.shape, X[:, 1]
    ((2, 28), array([1., 1.]))
    >>> feats.get_feature_names_out()[:3].tolist()
    ['audio_has_audio_stream', 'audio_has_audio', 'audio_duration']
    """

    def __init__(
        self,
        *,
        sample_rate: int = 16000,
        max_duration: float | None = None,
        n_mels: int = 40,
        n_mfcc: int = 13,
        window: float = 0.025,
        hop: float = 0.01,
        silence_db: float = -50.0,
        n_jobs: int | None = None,
    ) -> None:
        self.sample_rate = sample_rate
        self.max_duration = max_duration
        self.n_mels = n_mels
        self.n_mfcc = n_mfcc
        self.window = window
        self.hop = hop
        self.silence_db = silence_db
        self.n_jobs = n_jobs

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        **_SOUND_CONSTRAINTS,
        "max_duration": [Interval(Real, 0, None, closed="neither"), None],
        "n_mels": [Interval(Integral, 4, 256, closed="both")],
        "n_mfcc": [Interval(Integral, 1, None, closed="left")],
        "window": [Interval(Real, 0.001, 1.0, closed="right")],
        "hop": [Interval(Real, 0.0005, 1.0, closed="right")],
    }

    def _check_params(self) -> None:
        check_int_range("n_mfcc", self.n_mfcc, 1, int(self.n_mels))
        if self.max_duration is not None and not math.isfinite(self.max_duration):
            raise ValueError(
                "max_duration must be a finite number of seconds or None, got "
                f"{self.max_duration!r}."
            )

    @classmethod
    def _get_test_params(cls) -> dict[str, Any]:
        """Cheap constructor arguments for the common tests."""
        return {"n_mfcc": 4, "n_mels": 16}

    @fill_doc(_STEP_DOCS)
    def transform(self, X: Any) -> np.ndarray:
        """Compute one row of sound statistics per video.

        %(transform_paths)s
        features : ndarray of float64, shape (n_videos, n_features)
            One row per video, in the order of ``X`` (see the class Notes for
            the columns and the fallback rows).

        Raises
        ------
        FileNotFoundError
            If any path does not exist; all missing paths are listed.
        """
        rows = self._map(self._row, X, "audio")
        width = len(_SCALAR_NAMES) + 3 * self.n_mfcc
        return np.asarray(rows, dtype=np.float64).reshape(len(rows), width)

    @fill_doc(_STEP_DOCS)
    def spectrograms(self, X: Any) -> list[np.ndarray]:
        """Return the log-mel spectrogram of each video, for a neural model.

        %(transform_paths)s
        spectrograms : list of ndarray of float32, shape (n_windows_i, n_mels)
            In dB (see :func:`log_mel_spectrogram`); ``(0, n_mels)`` for a
            video without an audio stream or whose sound cannot be decoded
            (with the same warnings as :meth:`transform`).

        Examples
        --------
        >>> from sklearn_deepfake.datasets import make_face_videos
        >>> from sklearn_deepfake.features import AudioFeatures
        >>> data = make_face_videos(1, n_frames=10, audio=True, random_state=0)
        >>> AudioFeatures(n_mels=32).spectrograms(data.paths)[0].shape[1]
        32
        """
        return self._map(self._spectrogram, X, "spectrograms")

    def _map(self, func: Any, X: Any, desc: str) -> list:
        """Validate, check the paths, and apply ``func`` to every one."""
        self._validate_params()
        return map_videos(func, check_video_paths(X), n_jobs=self.n_jobs, desc=desc)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Return the output column names.

        Parameters
        ----------
        input_features : None
            Ignored (the input is a list of paths).

        Returns
        -------
        names : ndarray of str objects
            ``audio_``-prefixed names, in column order.
        """
        names = list(_SCALAR_NAMES)
        for stat in ("mean", "std"):
            names += [f"mfcc{k}_{stat}" for k in range(self.n_mfcc)]
        names += [f"dmfcc{k}_std" for k in range(self.n_mfcc)]
        return np.asarray([f"audio_{n}" for n in names], dtype=object)

    # -- per video (may run in a worker: map_videos replays its warnings) -------------

    def _load(self, path: str) -> tuple[np.ndarray | None, bool]:
        """Return (samples or None when unusable, whether a stream exists)."""
        return _decode_or_warn(
            path, self.sample_rate, self.max_duration, "it gets the no-audio row"
        )

    def _spectrogram(self, path: str) -> np.ndarray:
        x, _ = self._load(path)
        if x is None or x.size == 0:
            return np.zeros((0, self.n_mels), np.float32)
        spec = log_mel_spectrogram(
            x, self.sample_rate, n_mels=self.n_mels, window=self.window, hop=self.hop
        )
        return spec

    def _row(self, path: str) -> np.ndarray:
        width = len(_SCALAR_NAMES) + 3 * self.n_mfcc
        row = np.zeros(width)
        x, has_stream = self._load(path)
        row[0] = float(has_stream)
        if x is None:
            return row
        sr = self.sample_rate
        row[2] = x.size / sr
        frames, power, n_fft = _spectra(x, sr, self.window, self.hop)
        rms = np.sqrt(np.mean(frames**2, axis=1))
        rms_db = 20.0 * np.log10(np.maximum(rms, _EPS))
        loud = rms_db >= self.silence_db
        row[3] = 1.0 - loud.mean()
        if loud.sum() < 2:
            warnings.warn(
                f"The audio of {path!r} is silent (no window above "
                f"{self.silence_db} dBFS); it gets the no-audio row.",
                NoAudioWarning,
                stacklevel=2,
            )
            row[3] = 1.0
            return row
        row[1] = 1.0
        row[4:7] = rms_db.mean(), rms_db.std(), rms_db.max()
        signs = np.signbit(frames)
        zcr = np.mean(signs[:, 1:] != signs[:, :-1], axis=1)[loud]
        row[7:9] = zcr.mean(), zcr.std()
        p = power[loud]
        total = np.maximum(p.sum(axis=1), _EPS)
        bins = np.linspace(0.0, 1.0, p.shape[1])  # fraction of Nyquist
        centroid = (p @ bins) / total
        rolloff = bins[np.argmax(np.cumsum(p, axis=1) >= 0.85 * total[:, None], axis=1)]
        logp = np.log(np.maximum(p, _EPS))
        flatness = np.exp(logp.mean(axis=1)) / np.maximum(p.mean(axis=1), _EPS)
        row[9:15] = (
            centroid.mean(),
            centroid.std(),
            rolloff.mean(),
            rolloff.std(),
            flatness.mean(),
            flatness.std(),
        )
        row[15] = _syllabic_modulation(rms_db, 1.0 / self.hop)
        mel = power @ _mel_filterbank(self.n_mels, n_fft, sr, 20.0, sr / 2).T
        log_mel = 10.0 * np.log10(np.maximum(mel, _EPS))
        mfcc = scipy.fft.dct(log_mel, type=2, norm="ortho", axis=1)[:, : self.n_mfcc]
        delta = _deltas(mfcc)[loud]
        mfcc = mfcc[loud]
        k, start = self.n_mfcc, len(_SCALAR_NAMES)
        row[start : start + k] = mfcc.mean(axis=0)
        row[start + k : start + 2 * k] = mfcc.std(axis=0)
        row[start + 2 * k :] = delta.std(axis=0)
        return np.nan_to_num(row, nan=0.0, posinf=0.0, neginf=0.0)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        return tags


def _syllabic_modulation(rms_db: np.ndarray, rate: float) -> float:
    """Share of the loudness modulation power at 2-8 Hz (within 0.5-20 Hz)."""
    if rms_db.size < rate:  # less than a second: no usable modulation spectrum
        return 0.0
    env = rms_db - rms_db.mean()
    power = np.abs(np.fft.rfft(env * np.hanning(env.size))) ** 2
    freqs = np.fft.rfftfreq(env.size, d=1.0 / rate)
    total = power[(freqs >= 0.5) & (freqs <= 20.0)].sum()
    if total <= 0:
        return 0.0
    return float(power[(freqs >= 2.0) & (freqs <= 8.0)].sum() / total)
