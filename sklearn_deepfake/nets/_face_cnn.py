"""FaceCNNClassifier: fine-tune a timm CNN on face crops, score whole videos."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from sklearn_deepfake.features._pooling import TRACK_POOLINGS
from sklearn_deepfake.nets._base import (
    _FINE_TUNING_CONSTRAINTS,
    _TRAINING_CONSTRAINTS,
    NET_DOCS,
    FrameScoreClassifierMixin,
    NetTrainingMixin,
)
from sklearn_deepfake.nets._self_blend import SelfBlendedFaces
from sklearn_deepfake.nets._speed import PRECISIONS, TTA_MODES
from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._param_validation import (
    HasMethods,
    Integral,
    Interval,
    ParamsValidationMixin,
    Real,
    StrOptions,
)
from sklearn_deepfake.utils._proba import clip_values
from sklearn_deepfake.utils._ragged import FaceTracks, check_per_video

__all__ = ["FaceCNNClassifier"]

_AGGREGATIONS = ("mean", "mean_logit", "median", "max", "confident")


@fill_doc(NET_DOCS)
class FaceCNNClassifier(
    ParamsValidationMixin, FrameScoreClassifierMixin, NetTrainingMixin, BaseEstimator
):
    """Fine-tune a timm CNN on face crops and score each video.

    Every face crop (row) of a video is a training sample with its video's
    label. At prediction time, the per-row fake probabilities of each face
    track are pooled with :func:`~sklearn_deepfake.features.pool_scores`
    (``aggregation``), then the track scores with ``track_pooling`` (by
    default their maximum: in DFDC a video is fake when any of its faces
    is); a video without any face gets ``empty_proba``. Probabilities are clipped to
    ``[eps, 1 - eps]``, which bounds the log loss of a confident mistake.

    Training uses skorch (a ``NeuralNet`` built in :meth:`fit` and kept in
    ``net_``): AdamW with a lower learning rate for the backbone than for
    the new head, ``OneCycleLR`` stepped per batch, gradient clipping,
    class balancing through ``pos_weight``, optional label smoothing and
    CutMix, per-crop augmentation (see
    :class:`~sklearn_deepfake.nets._augment.FaceAugmenter`), and early
    stopping on a group-aware validation split with the best epoch's
    weights restored. Crops are read lazily from the face tracks; nothing is
    stacked into one large array.

    The estimator wraps skorch instead of subclassing it, so that its
    parameters are exactly the ones below (``clone``, ``get_params`` and
    ``set_params`` behave as for any scikit-learn estimator) while skorch's
    training loop, callbacks and history are still available in ``net_``.

    Parameters
    ----------
    backbone : str, default="seresnext50_32x4d"
        Any ``timm`` model name, or a face-trained network shipped with the
        package (``"dlib_resnet"``, ``"hse_faceres"``, ``"hse_antispoof"``
        and the other keys of
        :data:`~sklearn_deepfake.features.FACE_BACKBONES`); its classifier
        is replaced by one logit on the backbone's features. With
        ``"hse_antispoof"`` and ``pretrained=True`` the logit starts as the
        network's own "computer-generated face" decision.
    pretrained : bool, default=False
        Start from pretrained weights: offline for the face-trained backbones
        and, with the ``imagenet`` extra, ``tf_efficientnet_lite0/1/2``; any
        other timm model needs internet or timm's cache.
    weights : str or path-like, default=None
        Local state dict to start from (``.safetensors`` or a ``torch.save``
        file); exclusive with ``pretrained``. Its classifier is skipped.
    input_size : int, default=None
        Side of the network input; ``None`` keeps the crops' size for timm
        models and uses the training size of a face-trained backbone.
    freeze_backbone : bool, default=False
        Train only the classifier head. The frozen backbone stays in
        evaluation mode during training: its batch-norm running statistics
        do not change (and its dropout, if any, is off).
    backbone_lr_mult : float, default=0.1
        Learning rate of the backbone relative to ``lr`` (the head's).
    max_epochs : int, default=10
        Maximum number of epochs.
    batch_size : int, default=32
        Crops per training batch.
    predict_batch_size : int or "auto", default="auto"
        Crops per forward pass when scoring (``predict_proba``,
        ``decision_function``); scores do not depend on it. ``"auto"``:
        ``batch_size`` on an accelerator; on the CPU, as many as make about
        200,000 input pixels (4 crops at 224 px, 12 at 128 px, at most
        64), where small batches stay in the processor's cache and run
        faster (``benchmarks/bench_batch_size.py``).

        .. versionadded:: 0.3
    lr : float, default=1e-3
        Peak learning rate of the head (OneCycle schedule).
    %(weight_decay)s
    %(grad_clip)s
    class_weight : "balanced" or None, default="balanced"
        ``"balanced"`` weighs the fake class by ``n_real / n_fake`` training
        crops (``pos_weight``), as DFDC is about 80 % fake.
    label_smoothing : float, default=0.0
        Targets become ``y * (1 - s) + s / 2``.
    augment : bool, dict or None, default=None
        ``None`` or True: the default probabilities
        (:data:`~sklearn_deepfake.nets._augment.DEFAULT_AUGMENT`); False:
        none; a dict overrides some of them (for example
        ``{"cutmix": 0.3, "face_part": 0.5}``).
    self_blend : bool, SelfBlendedFaces or None, default=None
        Train on self-blended pseudo-fakes too
        (:class:`~sklearn_deepfake.nets.SelfBlendedFaces`; Shiohara and
        Yamasaki, CVPR 2022): crops of the real videos are blended with a
        transformed copy of themselves through a soft face mask, on the
        fly, and labelled fake; the validation videos get the same (drawn
        once). True uses
        ``SelfBlendedFaces()``; None or False turns it off. With it, ``y``
        may hold real videos only (0, False or "REAL"; the fake class is
        then 1, True or "FAKE").
    self_blend_mode : {"add", "replace"}, default="add"
        ``"add"``: each sampled real crop gives both itself and a
        pseudo-fake; ``"replace"``: each sampled real crop is replaced by a
        pseudo-fake with probability 1/2.
    frames_per_video : int or None, default=8
        At most this many crops per video and epoch (drawn anew each epoch);
        bounds the epoch size. ``None`` uses every crop. Keep it small on
        large data: an epoch then reads ``frames_per_video`` crops per video.
    class_balance : {"epoch"} or None, default=None
        ``"epoch"``: each epoch uses every training video of the smaller
        class and as many videos of the larger class, drawn anew each epoch
        (DFDC is about 5 fakes per real video: an epoch then holds all real
        videos and a different sixth of the fakes each time). The epoch is
        balanced by itself, so ``class_weight="balanced"`` then gives a
        ``pos_weight`` of about 1 (it is computed on the first epoch's
        crops), and the validation split is left as it is.

        .. versionadded:: 0.2
    part_erasure : {"landmarks", "diff"} or None, default="landmarks"
        How training crops get a face part blacked out (with probability
        ``augment["face_part"]``). ``"landmarks"``: the eyes, nose or mouth
        from the crop's landmarks. ``"diff"``: for a fake whose original is
        among the training videos with aligned crops (records of
        :func:`~sklearn_deepfake.faces.extract_pairs`), a face part where
        the fake differs from its original, from an SSIM difference map
        (:func:`~sklearn_deepfake.nets.erase_by_difference`), so that the
        network must find more than one manipulated region (the 1st-place
        DFDC solution); other crops (real videos, unpaired fakes) fall back
        to the landmarks. None: no face-part erasure.

        .. versionadded:: 0.2
    pair_mixup : float or None, default=None
        Real/fake mixup on aligned pairs (the 3rd-place DFDC solution): a
        training crop of a fake with an aligned original (as for
        ``part_erasure="diff"``) is replaced, with probability 1/2, by
        ``lam * fake + (1 - lam) * original`` with
        ``lam ~ Beta(pair_mixup, pair_mixup)`` and the soft label ``lam``
        (:func:`~sklearn_deepfake.nets.mix_pair`). None turns it off.

        .. versionadded:: 0.2
    valid_size : float or None, default=0.2
        Fraction of the videos (or groups) held out for early stopping.
        ``None`` or 0 trains on everything for ``max_epochs``.
    patience : int, default=3
        Epochs without a better validation loss before stopping.
    aggregation : {"mean_logit", "mean", "median", "max", "confident"}, \
default="mean_logit"
        Rule that pools the crop scores of one face track (or of the whole
        video with ``track_pooling=None``).
    track_pooling : {"max", "mean"} or None, default="max"
        How the scores of a video's face tracks (``FaceTracks.track_ids``)
        become the video's: ``"max"``, the most fake track (a video is fake
        when any face is); ``"mean"``, the sigmoid of the mean log-odds of
        the tracks; None pools all the video's crops together with
        ``aggregation``, whatever their track. With one track, all three
        are the same. :meth:`predict_frame_proba` is not affected.
    empty_proba : float or None, default=None
        Fake probability of a video without faces; ``None`` uses the
        fraction of fake training videos.
    %(eps)s
    warm_start : bool, default=False
        Continue from the weights of the previous fit (a new optimiser and
        schedule are used).
    %(callbacks)s
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        By default mixed precision and channels-last memory are used on
        CUDA only (see ``precision`` and ``channels_last``).
    num_workers : int, default=0
        ``DataLoader`` worker processes that read (and augment) the crops,
        for training, validation and prediction (skorch's
        ``iterator_train__num_workers`` and ``iterator_valid__num_workers``).
        Items are seeded by ``(random_state, epoch, item)``, so the fitted
        weights do not depend on it.
    %(pin_memory)s
    %(persistent_workers)s
    tta : {None, "flip"}, default=None
        Test-time augmentation: ``"flip"`` scores each crop by the mean of
        the logits of the crop and of its horizontal mirror (as the DFDC
        winners did), so a mirrored video gets the same prediction as the
        original; it doubles the prediction cost. Training is unchanged.

        .. versionadded:: 0.3
    precision : {"auto", "fp32", "fp16", "bf16"}, default="auto"
        Autocast of training and prediction. ``"auto"``: float16 with loss
        scaling (``GradScaler``) on CUDA, float32 on the CPU; ``"fp16"``
        needs CUDA (a ValueError in :meth:`fit` otherwise); ``"bf16"``
        (no loss scaling) works on CUDA and on the CPU.

        .. versionadded:: 0.3
    channels_last : {"auto"} or bool, default="auto"
        Feed the backbone channels-last tensors (faster convolutions with
        CUDA tensor cores). ``"auto"``: on CUDA only.

        .. versionadded:: 0.3
    torch_compile : bool, default=False
        Compile the backbone with :func:`torch.compile` for training and
        prediction; needs CUDA (a ValueError in :meth:`fit` otherwise). The
        fitted and pickled network is the plain module.

        .. versionadded:: 0.3
    accelerator : accelerate.Accelerator or None, default=None
        Train through skorch's :class:`~skorch.hf.AccelerateMixin` with this
        Hugging Face ``Accelerator`` (``pip install
        'sklearn-deepfake[accelerate]'``): data-parallel training on several
        GPUs when the script runs under ``accelerate launch --multi_gpu
        --num_processes N``, and the accelerator's mixed precision (then
        ``precision`` applies to prediction only). ``device`` is then the
        accelerator's. An accelerator cannot be pickled: set it back to
        None (``set_params(accelerator=None)``) before saving the fitted
        classifier.

        .. versionadded:: 0.3
    random_state : int, RandomState or None, default=None
        Seeds the initial weights (without pretrained weights), the split,
        the sampling, the augmentation and the batch order. The global torch
        generator is restored after :meth:`fit`.
    %(verbose)s

    Attributes
    ----------
    %(net_)s
    %(classes_)s
    prior_ : float
        Fraction of fake training videos, counting the
        pseudo-fakes of ``self_blend`` (one per real video in ``"add"``
        mode, half of one in ``"replace"`` mode).
    empty_proba_ : float
        Fake probability given to videos without faces.
    %(device_)s
    %(n_epochs_)s
    %(best_epoch_)s
    %(valid_videos_)s
    n_train_pairs_ : int
        Training fakes whose original (aligned crops) is among the training
        videos: the ones ``part_erasure="diff"`` and ``pair_mixup`` use.

    See Also
    --------
    sklearn_deepfake.features.CNNFeatureExtractor : Frozen embeddings instead.

    Examples
    --------
    >>> import warnings
    >>> from sklearn_deepfake.nets import FaceCNNClassifier
    >>> from sklearn_deepfake.utils._testing import make_tiny_face_tracks
    >>> X = make_tiny_face_tracks(4, size=32)
    >>> y = [0, 1, 0, 1]
    >>> clf = FaceCNNClassifier("resnet18", max_epochs=1, batch_size=8,
    ...                         valid_size=None, device="cpu", random_state=0)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # random init warning
    ...     proba = clf.fit(X, y).predict_proba(X)
    >>> proba.shape, float(proba[1, 1])  # video 1 has no face: the prior
    ((4, 2), 0.5)
    """

    def __init__(
        self,
        backbone: str = "seresnext50_32x4d",
        *,
        pretrained: bool = False,
        weights: str | os.PathLike | None = None,
        input_size: int | None = None,
        freeze_backbone: bool = False,
        backbone_lr_mult: float = 0.1,
        max_epochs: int = 10,
        batch_size: int = 32,
        predict_batch_size: int | str = "auto",
        lr: float = 1e-3,
        weight_decay: float = 1e-2,
        grad_clip: float | None = 1.0,
        class_weight: str | None = "balanced",
        label_smoothing: float = 0.0,
        augment: bool | dict | None = None,
        self_blend: Any = None,
        self_blend_mode: str = "add",
        frames_per_video: int | None = 8,
        class_balance: str | None = None,
        part_erasure: str | None = "landmarks",
        pair_mixup: float | None = None,
        valid_size: float | None = 0.2,
        patience: int = 3,
        aggregation: str = "mean_logit",
        track_pooling: str | None = "max",
        empty_proba: float | None = None,
        eps: float = 0.01,
        warm_start: bool = False,
        callbacks: list | None = None,
        device: Any = "auto",
        num_workers: int = 0,
        pin_memory: bool = False,
        persistent_workers: bool = False,
        tta: str | None = None,
        precision: str = "auto",
        channels_last: bool | str = "auto",
        torch_compile: bool = False,
        accelerator: Any = None,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.backbone = backbone
        self.pretrained = pretrained
        self.weights = weights
        self.input_size = input_size
        self.freeze_backbone = freeze_backbone
        self.backbone_lr_mult = backbone_lr_mult
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.predict_batch_size = predict_batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.grad_clip = grad_clip
        self.class_weight = class_weight
        self.label_smoothing = label_smoothing
        self.augment = augment
        self.self_blend = self_blend
        self.self_blend_mode = self_blend_mode
        self.frames_per_video = frames_per_video
        self.class_balance = class_balance
        self.part_erasure = part_erasure
        self.pair_mixup = pair_mixup
        self.valid_size = valid_size
        self.patience = patience
        self.aggregation = aggregation
        self.track_pooling = track_pooling
        self.empty_proba = empty_proba
        self.eps = eps
        self.warm_start = warm_start
        self.callbacks = callbacks
        self.device = device
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.persistent_workers = persistent_workers
        self.tta = tta
        self.precision = precision
        self.channels_last = channels_last
        self.torch_compile = torch_compile
        self.accelerator = accelerator
        self.random_state = random_state
        self.verbose = verbose

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        **_TRAINING_CONSTRAINTS,
        **_FINE_TUNING_CONSTRAINTS,
        "backbone": [str],
        "input_size": [Interval(Integral, 1, None, closed="left"), None],
        "freeze_backbone": ["boolean"],
        "backbone_lr_mult": [Interval(Real, 0, None, closed="neither")],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "augment": ["boolean", Mapping, None],
        "self_blend": ["boolean", SelfBlendedFaces, None],
        "self_blend_mode": [StrOptions({"add", "replace"})],
        "frames_per_video": [Interval(Integral, 1, None, closed="left"), None],
        "part_erasure": [StrOptions({"landmarks", "diff"}), None],
        "pair_mixup": [Interval(Real, 0, None, closed="neither"), None],
        "aggregation": [StrOptions(set(_AGGREGATIONS))],
        "track_pooling": [StrOptions(set(TRACK_POOLINGS) - {None}), None],
        "empty_proba": [Interval(Real, 0, 1, closed="both"), None],
        "warm_start": ["boolean"],
        "tta": [StrOptions(set(TTA_MODES) - {None}), None],
        "precision": [StrOptions(set(PRECISIONS))],
        "channels_last": [StrOptions({"auto"}), "boolean"],
        "predict_batch_size": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "torch_compile": ["boolean"],
        "accelerator": [HasMethods(["prepare"]), None],
    }

    def _check_params(self) -> None:
        self._check_workers()

    def _resolve_params(self) -> None:
        """Resolve ``augment`` and ``self_blend``; check their contents."""
        from sklearn_deepfake.nets._augment import resolve_augment
        from sklearn_deepfake.nets._self_blend import resolve_self_blend

        self._augment_probs = resolve_augment(self.augment)
        self._self_blend = resolve_self_blend(self.self_blend)

    @classmethod
    def _get_test_params(cls) -> dict[str, Any]:
        """Cheap constructor arguments for the common tests."""
        return {
            "backbone": "resnet18",
            "max_epochs": 1,
            "batch_size": 8,
            "valid_size": None,
            "device": "cpu",
            "random_state": 0,
        }

    @classmethod
    def _search_space(cls, trial: Any, prefix: str) -> dict[str, Any]:
        """Default Optuna space: learning rate, epochs, decay, smoothing."""
        names = {k: f"{prefix}{k}" for k in ("lr", "max_epochs", "weight_decay")}
        smoothing = f"{prefix}label_smoothing"
        return {
            names["lr"]: trial.suggest_float(names["lr"], 1e-5, 1e-2, log=True),
            names["max_epochs"]: trial.suggest_int(names["max_epochs"], 2, 20),
            names["weight_decay"]: trial.suggest_float(
                names["weight_decay"], 1e-5, 1e-1, log=True
            ),
            smoothing: trial.suggest_float(smoothing, 0.0, 0.2),
        }

    # ------------------------------------------------------------------
    # Fitting
    # ------------------------------------------------------------------

    @fill_doc(NET_DOCS)
    def fit(self, X: Any, y: Any, groups: Any = None) -> FaceCNNClassifier:
        """Fine-tune the network on the face crops of the training videos.

        Parameters
        ----------
        %(X_tracks)s
            Typically the output of :class:`~sklearn_deepfake.faces.FaceCropper`.
        %(y)s
            With ``self_blend``, a single real class is accepted.
        %(groups)s

        Returns
        -------
        %(self)s
        """
        from sklearn_deepfake.features._weights import check_pretrained_reachable

        self._validate_params()
        self._resolve_params()
        warm = self.warm_start and hasattr(self, "net_")
        if self.pretrained and self.weights is None and not warm:
            # before any work: a clear error when the weights cannot be had
            check_pretrained_reachable(self.backbone)
        X = check_per_video(X, kind=FaceTracks)
        classes, y01 = self._encode_labels(y, len(X))
        n_rows = np.array([len(t) for t in X])
        if not n_rows.any():
            raise ValueError(
                "None of the training videos has a face crop; nothing to train on."
            )
        previous = getattr(self, "net_", None) if self.warm_start else None
        self.classes_ = classes
        n_blend = 0.0
        if self._self_blend is not None:
            n_real = float(np.sum((y01 == 0) & (n_rows > 0)))
            n_blend = n_real if self.self_blend_mode == "add" else n_real / 2
        self.prior_ = float((y01.sum() + n_blend) / (len(y01) + n_blend))
        self.empty_proba_ = (
            self.prior_ if self.empty_proba is None else float(self.empty_proba)
        )
        self._seeded_fit_net(X, y01, groups, n_rows, previous=previous)
        return self

    def _encode_labels(self, y: Any, n_videos: int) -> tuple[np.ndarray, np.ndarray]:
        from sklearn_deepfake.nets._self_blend import real_fake_labels
        from sklearn_deepfake.nets._training import encode_video_labels

        y_arr = np.asarray(y)
        if self._self_blend is not None and y_arr.ndim == 1 and len(y_arr):
            if len(np.unique(y_arr)) == 1:
                if len(y_arr) != n_videos:
                    raise ValueError(
                        f"y must be 1-D with one label per video ({n_videos})."
                    )
                real, fake = real_fake_labels(y_arr)
                classes = np.sort(
                    np.array(
                        [real, fake], dtype=np.result_type(y_arr, np.asarray(fake))
                    )
                )
                return classes, np.zeros(n_videos, np.float32)
        return encode_video_labels(y, n_videos, type(self).__name__)

    def _build_module(self, previous: Any, seed: int) -> Any:
        from sklearn_deepfake.features._cnn import build_backbone
        from sklearn_deepfake.nets._training import FaceNet

        if previous is not None:
            return previous.module_
        backbone = build_backbone(
            self.backbone,
            pretrained=bool(self.pretrained),
            weights=self.weights,
            random_state=seed,
            num_classes=1,
        )
        if (self.pretrained or self.weights is not None) and not getattr(
            backbone, "head_pretrained", False
        ):
            # The new one-logit head: timm's TensorFlow-style initialisation
            # of a 1-output layer (uniform in +-1) puts the first logits of a
            # pretrained EfficientNet at +-20 (a first-epoch loss above 3).
            # A small head starts every video near 0.5 instead.
            _small_head(backbone.get_classifier(), seed)
        cfg = getattr(backbone, "pretrained_cfg", {}) or {}
        return FaceNet(
            backbone,
            mean=tuple(float(m) for m in cfg.get("mean", (0.485, 0.456, 0.406))),
            std=tuple(float(s) for s in cfg.get("std", (0.229, 0.224, 0.225))),
            input_size=self._net_input_size(backbone),
            channels_last=self._channels_last(),
        )

    def _channels_last(self) -> bool:
        rule = self.channels_last
        return self.device_.type == "cuda" if rule == "auto" else bool(rule)

    def _amp_dtype(self) -> Any:
        """Autocast dtype: "auto" (float16 on CUDA), None (float32) or a dtype."""
        from sklearn_deepfake.nets._speed import resolve_precision

        precision = getattr(self, "precision", "auto")
        if precision == "auto":
            return "auto"
        return resolve_precision(precision, self.device_)

    def _net_input_size(self, backbone: Any) -> int | None:
        """``input_size``, or a face-trained backbone's training size."""
        from sklearn_deepfake.features._weights import FACE_BACKBONES

        if self.input_size is None and self.backbone in FACE_BACKBONES:
            return int(backbone.pretrained_cfg["input_size"][-1])
        return self.input_size

    def _fit_net(
        self,
        X: list,
        y01: np.ndarray,
        groups: Any,
        n_rows: np.ndarray,
        seed: int,
        previous: Any,
    ) -> None:
        from sklearn_deepfake.nets._augment import FaceAugmenter
        from sklearn_deepfake.nets._speed import (
            compile_backbone,
            resolve_precision,
            uncompile_backbone,
        )
        from sklearn_deepfake.nets._training import (
            FrameDataset,
            best_valid_epoch,
            loader_kwargs,
        )
        from sklearn_deepfake.utils._checks import check_groups

        if self.accelerator is not None:
            self.device_ = self.accelerator.device
        resolve_precision(self.precision, self.device_)  # fp16 needs CUDA
        if self.valid_size:
            groups = check_groups(groups, len(X))
        train, valid = self._train_valid_split(
            y01, groups, n_rows, seed, item="face crop"
        )
        self.valid_videos_ = valid
        size = int(next(t.crop_size for t in X if len(t)))
        probs = dict(self._augment_probs)
        erase_p = probs["face_part"]
        if self.part_erasure != "landmarks":  # done by the dataset, or not at all
            probs["face_part"] = 0.0
        augmenter = (
            FaceAugmenter(probs)
            if any(v > 0 for k, v in probs.items() if k != "cutmix")
            else None
        )
        partners = None
        self.n_train_pairs_ = 0
        if self.part_erasure == "diff" or self.pair_mixup:
            from sklearn_deepfake.faces._pairs import pair_partners

            everywhere = pair_partners(X)
            at = {int(g): k for k, g in enumerate(train)}
            partners = np.array(
                [at.get(int(everywhere[g]), -1) for g in train], dtype=np.int64
            )
            partners[y01[train] <= 0.5] = -1
            self.n_train_pairs_ = int((partners >= 0).sum())

        def dataset(videos: np.ndarray, **kwargs: Any) -> FrameDataset:
            return FrameDataset(
                [X[i] for i in videos],
                y01[videos],
                frames_per_video=self.frames_per_video,
                size=size,
                seed=seed,
                self_blend=self._self_blend,
                **kwargs,
            )

        train_ds = dataset(
            train,
            augmenter=augmenter,
            shuffle_rows=True,
            self_blend_mode=self.self_blend_mode,
            balance=self.class_balance == "epoch",
            partners=partners,
            part_erasure=self.part_erasure,
            erase_p=erase_p,
            pair_mixup=self.pair_mixup,
        )
        module = self._build_module(previous, seed)
        module.channels_last = self._channels_last()
        compile_backbone(module, self.torch_compile, self.device_)
        module.freeze_backbone = bool(self.freeze_backbone)
        head_ids = {id(p) for p in module.backbone.get_classifier().parameters()}
        for p in module.backbone.parameters():
            p.requires_grad_(id(p) in head_ids or not self.freeze_backbone)

        head_names = [n for n, p in module.named_parameters() if id(p) in head_ids]
        speed: dict[str, Any] = {"amp_dtype": self._amp_dtype()}
        if self.accelerator is not None:
            from functools import partial

            from sklearn_deepfake.nets._speed import make_accelerated_net

            speed["build"] = partial(make_accelerated_net, self.accelerator)
        valid_ds = None
        if len(valid):
            valid_ds = dataset(
                valid, augmenter=None, shuffle_rows=False, self_blend_mode="add"
            )
        self._train_net(
            module,
            train_ds,
            valid_ds,
            seed=seed,
            train_labels=train_ds.row_labels(),
            lr=float(self.lr) * float(self.backbone_lr_mult),
            cutmix_p=probs["cutmix"],
            label_smoothing=self.label_smoothing,
            optimizer__param_groups=[(n, {"lr": float(self.lr)}) for n in head_names],
            **loader_kwargs(
                self.num_workers,
                self.pin_memory,
                self.persistent_workers,
                self.device_,
            ),
            **speed,
        )
        uncompile_backbone(self.net_.module_)
        self.best_epoch_ = best_valid_epoch(self.net_, valid_ds is not None)

    # ------------------------------------------------------------------
    # Prediction
    # ------------------------------------------------------------------

    def _stream_scores(self, X: list) -> list[np.ndarray]:
        """Per-crop scores of every video, the crops read batch by batch."""
        from sklearn_deepfake.nets._training import stream_row_scores

        return stream_row_scores(
            self._scoring_module(),
            X,
            batch_size=self._predict_batch_size(X),
            device=self.device_,
            num_workers=int(getattr(self, "num_workers", 0)),
            pin_memory=bool(getattr(self, "pin_memory", False)),
            amp_dtype=self._amp_dtype(),
        )

    def _predict_batch_size(self, X: list) -> int:
        """Crops a scoring pass: ``predict_batch_size`` resolved for ``X``."""
        from sklearn_deepfake.utils._device import auto_batch_size

        rule = self.predict_batch_size
        if rule != "auto" or self.device_.type != "cpu":
            return int(self.batch_size if rule == "auto" else rule)
        side = self.net_.module_.input_size or next(
            (int(t.crop_size) for t in X if len(t)), 224
        )
        return auto_batch_size("auto", self.device_, int(side))

    def _scoring_module(self) -> Any:
        """Return the fitted network, wrapped for ``tta`` and ``torch_compile``."""
        import torch

        from sklearn_deepfake.nets._speed import FlipTTA

        module = self.net_.module_
        if getattr(self, "tta", None) == "flip":
            module = FlipTTA(module)
        if getattr(self, "torch_compile", False) and self.device_.type == "cuda":
            module = torch.compile(module)
        return module

    @fill_doc(NET_DOCS)
    def decision_function(self, X: Any) -> np.ndarray:
        """Return each video's log-odds of ``classes_[1]``, before clipping.

        The logit of the pooled probability that ``predict_proba`` clips
        to ``[eps, 1 - eps]`` (a video without faces gets that of
        ``empty_proba_``), bounded to ``[1e-7, 1 - 1e-7]`` first so that the
        result is finite. As in scikit-learn, positive means ``classes_[1]``:
        the fake class for labels ``[0, 1]``, the real one for
        ``["FAKE", "REAL"]``. Ensembles average these
        (:class:`~sklearn_deepfake.ensemble.SeedEnsembleClassifier`).

        .. versionadded:: 0.3

        Parameters
        ----------
        %(X_tracks)s

        Returns
        -------
        logit : ndarray of shape (n_videos,)
            Log-odds of ``classes_[1]``.
        """
        from scipy.special import logit

        fake = self._video_fake_proba(X)
        z = logit(clip_values(fake, 1e-7))
        return z if self._fake_index() == 1 else -z

    def __setstate__(self, state: dict) -> None:
        # classifiers pickled before these parameters existed, as they then
        # ran, so that get_params, clone and repr work on them too
        state.setdefault("predict_batch_size", "auto")
        state.setdefault("channels_last", "auto")
        state.setdefault("track_pooling", None)
        super().__setstate__(state)

    def _pool_rules(self) -> tuple[str, str | None]:
        return self.aggregation, self.track_pooling


def _small_head(head: Any, seed: int) -> None:
    """Re-initialise a fresh linear head with N(0, 0.01) weights, zero bias.

    A ``Sequential`` head (a face backbone's normalisation, then its linear
    layer) has its last layer re-initialised.
    """
    import torch

    if isinstance(head, torch.nn.Sequential):
        head = head[-1]
    if not isinstance(head, torch.nn.Linear):
        return
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        torch.nn.init.normal_(head.weight, std=0.01)
        torch.nn.init.zeros_(head.bias)
