"""Export fitted frame models to ONNX and run them with onnxruntime.

The exported graph takes what the torch estimators take, a batch of
``uint8 (batch, size, size, 3)`` RGB face crops, and contains their own input
pre-processing (:class:`~sklearn_deepfake.nets._training.FaceNet`: scaling to
``[0, 1]``, resizing to ``input_size``, normalising with the backbone's mean
and standard deviation), so the onnxruntime wrappers only batch the crops
and, for the classifier, pool the crop scores with the same
:func:`~sklearn_deepfake.features.pool_scores` rule. Only the batch axis is
dynamic: the crop side is fixed at export.

Needs ``pip install sklearn-deepfake[onnx]`` (onnx, onnxruntime and
onnxscript, used by torch's ``dynamo`` exporter; the older TorchScript
exporter cannot translate the anti-aliased resize of the pre-processing).
"""

from __future__ import annotations

import copy
import json
import os
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from sklearn_deepfake.nets._base import (
    NET_DOCS,
    FrameScoreClassifierMixin,
    VideoClassifierMixin,
)
from sklearn_deepfake.utils._checks import write_atomic
from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._ragged import FaceTracks, check_per_video

__all__ = ["ONNXFaceClassifier", "ONNXFeatureExtractor", "export_onnx"]

_KEY = "sklearn_deepfake"
_INPUT = "crops"


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"ONNX export and inference need {module!r}: pip install "
            "'sklearn-deepfake[onnx]' (onnx, onnxruntime, onnxscript)."
        ) from exc


def _graph_module(estimator: Any) -> tuple[Any, dict[str, Any]]:
    """Build a CPU module ``uint8 (B, S, S, 3) -> (B,) or (B, D)``; its metadata."""
    import torch

    from sklearn_deepfake.features import CNNFeatureExtractor
    from sklearn_deepfake.features._onnx_runtime import embedding_graph
    from sklearn_deepfake.nets import FaceCNNClassifier

    check_is_fitted(estimator)
    if isinstance(estimator, CNNFeatureExtractor):
        backbone = copy.deepcopy(estimator.model_).cpu().float().eval()
        backbone = backbone.to(memory_format=torch.contiguous_format)
        # input_size_: the size the extractor resizes to, a face-trained
        # backbone's own when input_size is None (the graph must resize too)
        size = estimator.input_size_
        meta = {
            "kind": "feature_extractor",
            "backbone": estimator.backbone,
            "n_features_out": int(estimator.n_features_out_),
            "input_size": size,
        }
        # the extractor's own pre-processing, as runtime="onnxruntime" runs it
        graph = embedding_graph(backbone, estimator.mean_, estimator.std_, size)
        return graph.eval(), meta
    if not isinstance(estimator, FaceCNNClassifier):
        raise TypeError(
            "export_onnx supports a fitted FaceCNNClassifier or "
            f"CNNFeatureExtractor, got {type(estimator).__name__}."
        )
    net = copy.deepcopy(estimator.net_.module_).cpu().float().eval()
    net.channels_last = False
    meta = {
        "kind": "face_classifier",
        "backbone": estimator.backbone,
        "aggregation": estimator.aggregation,
        "track_pooling": estimator.track_pooling,
        "empty_proba": float(estimator.empty_proba_),
        "eps": float(estimator.eps),
        "classes": np.asarray(estimator.classes_).tolist(),
        "input_size": estimator.input_size,
    }
    if getattr(estimator, "tta", None) == "flip":
        from sklearn_deepfake.nets._speed import FlipTTA

        net = FlipTTA(net)  # the graph averages the crop and its mirror
        meta["tta"] = "flip"

    class _Graph(torch.nn.Module):
        def __init__(self, net: Any) -> None:
            super().__init__()
            self.net = net

        def forward(self, crops: Any) -> Any:
            return self.net(crops.permute(0, 3, 1, 2))  # FaceNet: NCHW uint8

    return _Graph(net).eval(), meta


def export_onnx(
    estimator: Any,
    path: str | os.PathLike,
    *,
    size: int | None = None,
    opset_version: int = 18,
) -> str:
    """Export a fitted frame model to an ONNX file.

    Parameters
    ----------
    estimator : FaceCNNClassifier or CNNFeatureExtractor
        Fitted. A classifier's graph returns one fake logit per crop; an
        extractor's graph returns ``(batch, D)`` embeddings. The aggregation
        rule, ``empty_proba_``, ``eps`` and ``classes_`` of a classifier are
        stored in the file's metadata for :class:`ONNXFaceClassifier`.
    path : str or path-like
        File to write (atomically).
    size : int, default=None
        Side of the crops the graph accepts; ``None`` uses the estimator's
        ``input_size`` (which must then be set).
    opset_version : int, default=18
        ONNX opset (18 or newer: the anti-aliased resize needs it).

    Returns
    -------
    path : str
        Absolute path of the written file.

    Examples
    --------
    >>> import os, tempfile, warnings
    >>> from sklearn_deepfake.export import ONNXFeatureExtractor, export_onnx
    >>> from sklearn_deepfake.features import CNNFeatureExtractor
    >>> from sklearn_deepfake.utils._testing import make_tiny_face_tracks
    >>> X = make_tiny_face_tracks(3, size=32)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # random init warning
    ...     ext = CNNFeatureExtractor("resnet18", device="cpu").fit(X)
    >>> path = export_onnx(ext, os.path.join(tempfile.mkdtemp(), "r18.onnx"),
    ...                    size=32)
    >>> onnx_ext = ONNXFeatureExtractor(path).fit()
    >>> [f.shape for f in onnx_ext.transform(X)]
    [(3, 512), (0, 512), (5, 512)]
    """
    _require("onnxscript")
    onnx = _require("onnx")
    from sklearn_deepfake.features._onnx_runtime import export_proto

    module, meta = _graph_module(estimator)
    side = meta["input_size"] if size is None else size
    if not isinstance(side, Integral) or side < 8:
        raise ValueError(
            "Give the crop side: size=<int >= 8> (the estimator has no "
            f"input_size); got {side!r}."
        )
    meta["size"] = int(side)
    proto = export_proto(
        module,
        int(side),
        input_name=_INPUT,
        output_name="output",
        opset_version=int(opset_version),
    )
    onnx.helper.set_model_props(proto, {_KEY: json.dumps(meta)})
    onnx.checker.check_model(proto)
    return write_atomic(proto.SerializeToString(), path)


class _ONNXBase(BaseEstimator):
    """Load an exported file; the session is rebuilt lazily after unpickling."""

    _kind = ""

    def fit(self, X: Any = None, y: Any = None) -> _ONNXBase:
        """Load the ONNX model and the settings stored with it (nothing is learned).

        Parameters
        ----------
        X, y : ignored

        Returns
        -------
        self : object
            Fitted estimator.
        """
        self._load()
        self._use_metadata(self.metadata_)
        return self

    def _use_metadata(self, meta: dict[str, Any]) -> None:
        """Set the fitted attributes of the subclass from the file's metadata."""
        raise NotImplementedError

    def _load(self) -> None:
        onnx = _require("onnx")
        model = self.model
        if isinstance(model, (bytes, bytearray)):
            data = bytes(model)
        else:
            path = os.fspath(model)
            if not os.path.isfile(path):
                raise FileNotFoundError(f"ONNX model not found: {path}")
            with open(path, "rb") as fh:
                data = fh.read()
        proto = onnx.load_model_from_string(data)
        props = {p.key: p.value for p in proto.metadata_props}
        if _KEY not in props:
            raise ValueError(
                "The ONNX model was not written by sklearn_deepfake.export_onnx "
                "(no metadata)."
            )
        meta = json.loads(props[_KEY])
        if meta["kind"] != self._kind:
            raise ValueError(
                f"{type(self).__name__} needs a {self._kind} export, got a "
                f"{meta['kind']} one."
            )
        if not isinstance(self.batch_size, Integral) or self.batch_size < 1:
            raise ValueError(
                f"batch_size must be an int >= 1, got {self.batch_size!r}."
            )
        self._model_bytes = data
        self._session = None
        self.metadata_ = meta
        self.size_ = int(meta["size"])

    @property
    def session_(self) -> Any:
        """The onnxruntime ``InferenceSession`` (built on first use)."""
        check_is_fitted(self, "metadata_")
        if getattr(self, "_session", None) is None:
            ort = _require("onnxruntime")
            options = ort.SessionOptions()
            if self.n_threads is not None:
                options.intra_op_num_threads = int(self.n_threads)
            providers = self.providers or ["CPUExecutionProvider"]
            self._session = ort.InferenceSession(
                self._model_bytes, sess_options=options, providers=list(providers)
            )
        return self._session

    def _run(self, track: FaceTracks, width: tuple[int, ...]) -> np.ndarray:
        if not len(track):
            return np.zeros((0, *width), np.float32)
        if track.crop_size != self.size_:
            raise ValueError(
                f"{track.path}: crops of side {track.crop_size}, but the ONNX model "
                f"was exported for side {self.size_}."
            )
        session = self.session_
        out = [
            session.run(
                None,
                {_INPUT: np.ascontiguousarray(track.crops[s : s + self.batch_size])},
            )[0]
            for s in range(0, len(track), int(self.batch_size))
        ]
        return np.concatenate(out).astype(np.float32, copy=False)

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state["_session"] = None  # sessions do not pickle; the bytes do
        return state


class ONNXFeatureExtractor(TransformerMixin, _ONNXBase):
    """Per-frame embeddings of face crops from an exported CNNFeatureExtractor.

    Same input and output as
    :class:`~sklearn_deepfake.features.CNNFeatureExtractor`, computed by
    onnxruntime from a file written by :func:`export_onnx`. The model is
    loaded in ``fit`` (nothing is learned) and kept as bytes, so the
    fitted transformer pickles without the file.

    Parameters
    ----------
    model : str, path-like or bytes, default=None
        The ``.onnx`` file (or its contents).
    batch_size : int, default=64
        Crops per ``InferenceSession.run`` call.
    providers : list of str, default=None
        onnxruntime execution providers; ``None`` means CPU.
    n_threads : int, default=None
        Intra-op threads of the session; ``None`` lets onnxruntime decide.

    Attributes
    ----------
    session_ : onnxruntime.InferenceSession
        Built on first use (also after unpickling).
    metadata_ : dict
        What :func:`export_onnx` stored (backbone, crop side...).
    size_ : int
        Crop side the model accepts.
    n_features_out_ : int
        Embedding size ``D``.

    Examples
    --------
    See :func:`export_onnx`.
    """

    _kind = "feature_extractor"

    def __init__(
        self,
        model: str | os.PathLike | bytes | None = None,
        *,
        batch_size: int = 64,
        providers: list[str] | None = None,
        n_threads: int | None = None,
    ) -> None:
        self.model = model
        self.batch_size = batch_size
        self.providers = providers
        self.n_threads = n_threads

    def _use_metadata(self, meta: dict[str, Any]) -> None:
        self.n_features_out_ = int(meta["n_features_out"])

    @fill_doc(NET_DOCS)
    def transform(self, X: Any) -> list[np.ndarray]:
        """Return one ``(n_rows, D)`` float32 array of embeddings per video.

        Parameters
        ----------
        %(X_tracks)s

        Returns
        -------
        features : list of ndarray of shape (n_rows_i, D)
            ``(0, D)`` for a video without faces.
        """
        check_is_fitted(self, "metadata_")
        X = check_per_video(X, kind=FaceTracks)
        return [self._run(t, (self.n_features_out_,)) for t in X]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.transformer_tags.preserves_dtype = []
        return tags


class ONNXFaceClassifier(FrameScoreClassifierMixin, _ONNXBase):
    """Video scores from an exported FaceCNNClassifier, run by onnxruntime.

    Scores every face crop with the exported network and pools a video's
    scores with the classifier's ``aggregation`` rule
    (:func:`~sklearn_deepfake.features.pool_scores`); a video without faces
    gets ``empty_proba``; probabilities are clipped to ``[eps, 1 - eps]``.
    Unless given here, these three settings and ``classes_`` are those of
    the exported classifier (stored in the file).

    Parameters
    ----------
    model : str, path-like or bytes, default=None
        The ``.onnx`` file (or its contents).
    aggregation : str, default=None
        Pooling rule; ``None`` keeps the exported classifier's.
    empty_proba : float, default=None
        Score of a face-less video; ``None`` keeps the exported one.
    eps : float, default=None
        Clipping; ``None`` keeps the exported one.
    batch_size : int, default=64
        Crops per ``InferenceSession.run`` call.
    providers : list of str, default=None
        onnxruntime execution providers; ``None`` means CPU.
    n_threads : int, default=None
        Intra-op threads of the session.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        Labels of the exported classifier; the fake class is found by
        :func:`~sklearn_deepfake.utils.fake_class_index`.
    aggregation_, empty_proba_, eps_ : str, float, float
        Settings in use.
    session_ : onnxruntime.InferenceSession
        Built on first use (also after unpickling).
    metadata_ : dict
        What :func:`export_onnx` stored.
    size_ : int
        Crop side the model accepts.

    Examples
    --------
    >>> import os, tempfile, warnings
    >>> import numpy as np
    >>> from sklearn_deepfake.export import ONNXFaceClassifier, export_onnx
    >>> from sklearn_deepfake.nets import FaceCNNClassifier
    >>> from sklearn_deepfake.utils._testing import make_tiny_face_tracks
    >>> X = make_tiny_face_tracks(4, size=32)
    >>> clf = FaceCNNClassifier("resnet18", max_epochs=1, valid_size=None,
    ...                         device="cpu", random_state=0)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # random init warning
    ...     clf = clf.fit(X, [0, 1, 0, 1])
    >>> path = export_onnx(clf, os.path.join(tempfile.mkdtemp(), "clf.onnx"),
    ...                    size=32)
    >>> onnx_clf = ONNXFaceClassifier(path).fit()
    >>> bool(np.allclose(onnx_clf.predict_proba(X), clf.predict_proba(X),
    ...                  atol=1e-5))
    True
    """

    _kind = "face_classifier"

    def __init__(
        self,
        model: str | os.PathLike | bytes | None = None,
        *,
        aggregation: str | None = None,
        empty_proba: float | None = None,
        eps: float | None = None,
        batch_size: int = 64,
        providers: list[str] | None = None,
        n_threads: int | None = None,
    ) -> None:
        self.model = model
        self.aggregation = aggregation
        self.empty_proba = empty_proba
        self.eps = eps
        self.batch_size = batch_size
        self.providers = providers
        self.n_threads = n_threads

    def _use_metadata(self, meta: dict[str, Any]) -> None:
        from sklearn_deepfake.nets._face_cnn import _AGGREGATIONS

        agg = meta["aggregation"] if self.aggregation is None else self.aggregation
        if agg not in _AGGREGATIONS:
            raise ValueError(
                f"aggregation must be one of {_AGGREGATIONS}, got {agg!r}."
            )
        empty = meta["empty_proba"] if self.empty_proba is None else self.empty_proba
        eps = meta["eps"] if self.eps is None else self.eps
        if not isinstance(empty, Real) or not 0 <= empty <= 1:
            raise ValueError(f"empty_proba must be in [0, 1], got {empty!r}.")
        if not isinstance(eps, Real) or not 0 <= eps < 0.5:
            raise ValueError(f"eps must be in [0, 0.5), got {eps!r}.")
        self.aggregation_ = agg
        self.empty_proba_ = float(empty)
        self.eps_ = float(eps)
        self.classes_ = np.asarray(meta["classes"])
        self.track_pooling_ = meta.get("track_pooling")

    def _clip_eps(self) -> float:
        return self.eps_  # the parameter may be None (the exported value)

    def _stream_scores(self, X: list) -> list[np.ndarray]:
        return [1.0 / (1.0 + np.exp(-self._run(t, ()))) for t in X]

    def _pool_rules(self) -> tuple[str, str | None]:
        return self.aggregation_, self.track_pooling_

    def __sklearn_tags__(self):
        tags = super(VideoClassifierMixin, self).__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.classifier_tags.multi_class = False
        return tags
