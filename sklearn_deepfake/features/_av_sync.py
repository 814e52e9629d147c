"""Audio-visual consistency features: whether the sound follows the mouth.

A voice that was swapped or re-synthesised after filming no longer follows
the speaker's lips. :class:`AVSyncFeatures` measures, per video, how well the
loudness of the sound track tracks the mouth region of the main face.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, ClassVar

import numpy as np

from sklearn_deepfake.exceptions import NoAudioWarning
from sklearn_deepfake.features._audio import (
    _DOCS,
    _SOUND_CONSTRAINTS,
    _decode_or_warn,
)
from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._parallel import map_videos
from sklearn_deepfake.utils._param_validation import (
    Integral,
    Interval,
)
from sklearn_deepfake.utils._ragged import FaceTracks, _NothingLearned, check_per_video

__all__ = ["AVSyncFeatures"]

_NAMES = (
    "has_audio",
    "has_mouth",
    "n_frames",
    "open_corr0",
    "open_corr_max",
    "open_best_lag",
    "motion_corr0",
    "motion_corr_max",
    "motion_best_lag",
)
# Mouth box around the mouth-corner landmarks, in mouth widths: sideways from
# the centre, above and below the mouth line; and the size it is resized to.
_MOUTH_BOX = (0.75, 0.35, 0.85)
_PATCH = (24, 16)  # (width, height)


def _mouth_signals(tracks: FaceTracks) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (frame ordinals, mouth openness proxy, mouth motion) of track 0.

    The openness proxy is the darkness of the mouth box (minus its mean
    luma); the motion is the mean absolute luma difference of the box with
    the previous decoded frame, NaN where the previous decoded frame is not
    the previous frame of the video (sparse sampling) or is missing.
    """
    import cv2

    rows = np.flatnonzero(tracks.track_ids == 0)
    if rows.size == 0:
        empty = np.zeros(0)
        return np.zeros(0, np.int64), empty, empty
    rows = rows[np.argsort(tracks.frame_pos[rows], kind="stable")]
    marks = tracks.landmarks[rows].astype(np.float64)
    ok = np.isfinite(marks[:, 3:5]).all(axis=(1, 2))
    rows, marks = rows[ok], marks[ok]
    frames = tracks.frame_indices[tracks.frame_pos[rows]].astype(np.int64)
    if rows.size == 0:
        empty = np.zeros(0)
        return frames, empty, empty
    left, right = marks[:, 3], marks[:, 4]
    centre = (left + right) / 2
    # one box size per video (the median mouth width), so that landmark
    # jitter moves the box but does not rescale it
    width = float(np.median(np.hypot(*(right - left).T)))
    width = max(width, 4.0)
    size = tracks.crop_size
    gray = tracks.crops_at(rows).astype(np.float32) @ np.array(
        [0.299, 0.587, 0.114], np.float32
    )
    patches = np.empty((rows.size, _PATCH[1], _PATCH[0]), np.float32)
    sx, up, down = _MOUTH_BOX
    for j in range(rows.size):
        cx, cy = centre[j]
        x1 = int(np.clip(round(cx - sx * width), 0, size - 2))
        x2 = int(np.clip(round(cx + sx * width), x1 + 2, size))
        y1 = int(np.clip(round(cy - up * width), 0, size - 2))
        y2 = int(np.clip(round(cy + down * width), y1 + 2, size))
        patches[j] = cv2.resize(
            gray[j, y1:y2, x1:x2], _PATCH, interpolation=cv2.INTER_AREA
        )
    openness = -patches.mean(axis=(1, 2))
    motion = np.full(rows.size, np.nan)
    if rows.size > 1:
        diff = np.abs(np.diff(patches, axis=0)).mean(axis=(1, 2))
        motion[1:] = np.where(np.diff(frames) == 1, diff, np.nan)
    return frames, openness, motion


def _audio_envelope(x: np.ndarray, sample_rate: int, fps: float) -> np.ndarray:
    """RMS of the sound in a window of one frame centred on each frame time."""
    n = math.ceil(x.size / sample_rate * fps)
    half = 0.5 / fps
    env = np.zeros(n)
    for k in range(n):
        a = max(round((k / fps - half) * sample_rate), 0)
        b = min(round((k / fps + half) * sample_rate), x.size)
        if b > a:
            env[k] = np.sqrt(np.mean(np.square(x[a:b], dtype=np.float64)))
    return env


def _lagged_corr(
    frames: np.ndarray, visual: np.ndarray, audio: np.ndarray, max_lag: int
) -> np.ndarray:
    """Pearson correlation of ``visual`` with ``audio[frames + lag]`` per lag.

    NaN for a lag with fewer than 4 valid pairs or a constant signal.
    """
    out = np.full(2 * max_lag + 1, np.nan)
    for i, lag in enumerate(range(-max_lag, max_lag + 1)):
        idx = frames + lag
        ok = (idx >= 0) & (idx < audio.size) & np.isfinite(visual)
        if ok.sum() < 4:
            continue
        v, a = visual[ok], audio[idx[ok]]
        v, a = v - v.mean(), a - a.mean()
        denom = math.sqrt(float(v @ v) * float(a @ a))
        if denom > 1e-12:
            out[i] = float(v @ a) / denom
    return out


@fill_doc(_DOCS)
class AVSyncFeatures(_NothingLearned):
    """How well the sound's loudness follows the main face's mouth.

    For each video (a :class:`~sklearn_deepfake.utils.FaceTracks` record,
    whose ``path`` the sound is read from), two visual signals are measured
    per decoded frame of track 0 (the main face) in a box around its two
    mouth-corner landmarks: the box's darkness (an open mouth shows the dark
    mouth cavity) and its motion (mean absolute luma difference with the
    previous frame). The sound is decoded (audio packets only), and its RMS
    is taken in a one-frame window centred on each frame time. The openness
    proxy is correlated with the RMS, the motion with the frame-to-frame
    change of the RMS, at lags of ``-max_lag`` to ``max_lag`` frames (audio
    later for a positive lag). Learns nothing: ``fit`` validates parameters.

    Parameters
    ----------
    max_lag : int, default=5
        Largest lag, in frames, of the cross-correlation.
    %(sample_rate)s
    silence_db : float, default=-50.0
        Sound whose loudest frame window is below this level (dBFS) counts as
        no audio.
    %(n_jobs)s

    See Also
    --------
    AudioFeatures : Statistics of the sound alone.

    Notes
    -----
    Output columns, prefixed ``av_``: ``has_audio`` and ``has_mouth``
    (indicators that the sound and the mouth signal exist), ``n_frames``
    (frames with a mouth), then for the openness (``open_``) and the motion
    (``motion_``) signals: the correlation at lag 0 (``corr0``), the largest
    correlation over the lags (``corr_max``) and its lag in frames
    (``best_lag``). A correlation that cannot be computed (no sound, no face,
    fewer than 4 frames, constant signal, unknown frame rate) is 0, with the
    indicators telling why: the row is never NaN and a batch never stops.
    No audio stream, silence, or a missing or unreadable file give a
    :class:`~sklearn_deepfake.exceptions.NoAudioWarning` or
    :class:`~sklearn_deepfake.exceptions.VideoReadWarning` naming the file.

    Limits: this needs consecutive frames, so sample densely upstream
    (``FrameSampler(strategy="all", end=...)`` or ``"every_nth"`` with
    ``step=1``): with sparse frames only the openness signal remains. The
    mouth box follows MTCNN's landmarks, whose jitter adds motion noise;
    darkness is a crude proxy of mouth opening (teeth, beards, lighting);
    a speaker who is not the main face, off-screen voices, music and dubbing
    all lower the correlation of genuine videos. A real lip-sync model
    (SyncNet-style) would be stronger; this is a weight-free baseline.

    Examples
    --------
    >>> from sklearn_deepfake.features import AVSyncFeatures
    >>> from sklearn_deepfake.utils import FaceTracks
    >>> tracks = FaceTracks.empty("no_such_video.mp4", size=8)
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     AVSyncFeatures().fit_transform([tracks])
    array([[0., 0., 0., 0., 0., 0., 0., 0., 0.]])
    """

    def __init__(
        self,
        *,
        max_lag: int = 5,
        sample_rate: int = 16000,
        silence_db: float = -50.0,
        n_jobs: int | None = None,
    ) -> None:
        self.max_lag = max_lag
        self.sample_rate = sample_rate
        self.silence_db = silence_db
        self.n_jobs = n_jobs

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "max_lag": [Interval(Integral, 0, 100, closed="both")],
        **_SOUND_CONSTRAINTS,
    }

    @classmethod
    def _get_test_params(cls) -> dict[str, Any]:
        """Cheap constructor arguments for the common tests."""
        return {"max_lag": 2}

    def transform(self, X: Any) -> np.ndarray:
        """Compute the audio-visual consistency row of each video.

        Parameters
        ----------
        X : list of FaceTracks
            One record per video (as :class:`~sklearn_deepfake.faces.FaceCropper`
            returns them), its ``path`` naming the file to read the sound from.

        Returns
        -------
        features : ndarray of float64, shape (n_videos, 9)
            See the class Notes for the columns.
        """
        self._validate_params()
        tracks = check_per_video(X, kind=FaceTracks)
        rows = map_videos(self._row, tracks, n_jobs=self.n_jobs, desc="av-sync")
        return np.asarray(rows, dtype=np.float64).reshape(len(tracks), len(_NAMES))

    @fill_doc(_DOCS)
    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Return the output column names.

        %(input_features)s
        names : ndarray of str objects
            ``av_``-prefixed names, in column order.
        """
        return np.asarray([f"av_{n}" for n in _NAMES], dtype=object)

    def _row(self, tracks: FaceTracks) -> np.ndarray:
        row = np.zeros(len(_NAMES))
        frames, openness, motion = _mouth_signals(tracks)
        row[1] = float(frames.size >= 4)
        row[2] = frames.size
        path = tracks.path
        env = None
        x, _ = _decode_or_warn(
            path, self.sample_rate, None, "its audio-visual features are 0"
        )
        if x is not None and tracks.fps > 0 and x.size:
            env = _audio_envelope(x, self.sample_rate, tracks.fps)
            peak = 20 * np.log10(max(float(env.max(initial=0.0)), 1e-10))
            if peak < self.silence_db:
                warnings.warn(
                    f"The audio of {path!r} is silent; its "
                    "audio-visual features are 0.",
                    NoAudioWarning,
                    stacklevel=2,
                )
                env = None
        elif x is not None and x.size == 0:
            warnings.warn(
                f"The audio of {path!r} is empty; its audio-visual features are 0.",
                NoAudioWarning,
                stacklevel=2,
            )
        row[0] = float(env is not None)
        if env is None or frames.size < 4:
            return row
        lags = np.arange(-self.max_lag, self.max_lag + 1)
        change = np.abs(np.diff(env, prepend=env[:1]))
        for start, visual, audio in ((3, openness, env), (6, motion, change)):
            corr = _lagged_corr(frames, visual, audio, self.max_lag)
            if np.isfinite(corr).any():
                best = int(np.nanargmax(corr))
                row[start] = np.nan_to_num(corr[self.max_lag])
                row[start + 1] = corr[best]
                row[start + 2] = lags[best]
        return row
