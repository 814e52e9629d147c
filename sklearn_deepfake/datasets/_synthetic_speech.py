"""Speech of the synthetic talking faces: syllables, voice, open mouth.

The first face of a video with ``audio=True`` says a random train of
syllables: :func:`_draw_speech` draws it, :func:`_synthesize_voice` renders
the voice whose amplitude envelope is the mouth opening, and
:func:`_open_mouth` draws the opening on the face patch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
