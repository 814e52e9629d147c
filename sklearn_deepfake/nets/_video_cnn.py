"""VideoCNNClassifier: a 3-D CNN fine-tuned on face-track clips (skorch)."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from sklearn_deepfake.nets._base import (
    _FINE_TUNING_CONSTRAINTS,
    _TRAINING_CONSTRAINTS,
    NET_DOCS,
    NetTrainingMixin,
    VideoClassifierMixin,
)
from sklearn_deepfake.nets._clips import (
    clip_augment,
    clip_frames,
    clip_windows,
    make_clips,
)
from sklearn_deepfake.nets._models3d import VIDEO_ARCHS
from sklearn_deepfake.nets._training import (
    EpochItems,
    encode_video_labels,
    loader_kwargs,
)
from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._param_validation import (
    Integral,
    Interval,
    ParamsValidationMixin,
    Real,
    StrOptions,
)
from sklearn_deepfake.utils._ragged import FaceTracks, check_per_video

_MEAN = (0.43216, 0.394666, 0.37645)  # torchvision's Kinetics video models
_STD = (0.22803, 0.22145, 0.216989)
#: Defaults of VideoCNNClassifier's clip augmentation that differ from
#: clip_augment's own.
_CLIP_AUGMENT = {"p_h264": 0.2}


class ClipDataset(EpochItems, torch.utils.data.Dataset):
    """Clips of several videos' face tracks, cut lazily on access.

    Each epoch takes up to ``clips_per_video`` clips of every video (drawn at
    random when ``shuffle`` is True, evenly spaced otherwise). Items are
    ``(uint8 (3, T, S, S), label)``; augmentation draws once per clip, so all
    its frames change together. Only the number of clips of each video is
    kept: an item reads that video's ``track_ids`` and ``frame_pos`` and the
    crops of its one clip (:meth:`~sklearn_deepfake.utils.FaceTracks.crops_at`),
    so records that keep their crops on disk are never loaded whole. Items
    can be fetched by the ``(epoch, position)`` keys of
    :class:`~sklearn_deepfake.nets._training.EpochSampler`. With
    ``balance``, each epoch takes every video of the smaller class (among
    videos with clips) and as many of the larger one, drawn anew.
    """

    def __init__(
        self,
        tracks: list[FaceTracks],
        labels: Any,
        *,
        clip_len: int,
        stride: int,
        size: int,
        clips_per_video: int,
        augment: bool | dict | None,
        seed: int,
        shuffle: bool,
        balance: bool = False,
    ) -> None:
        self.tracks = list(tracks)
        self.labels = np.asarray(labels, dtype=np.float32)
        self.kw = {"clip_len": clip_len, "stride": stride}
        self.size = size
        self.clips_per_video = clips_per_video
        if isinstance(augment, bool) or augment is None:
            augment = {} if augment else None
        self.augment = augment
        self.seed = seed
        self.shuffle = shuffle
        self.balance = bool(balance)
        self.n_clips = np.array(
            [len(self._windows(v)) for v in range(len(self.tracks))], np.int64
        )
        self.set_epoch(0)

    def _windows(self, v: int) -> np.ndarray:
        return clip_windows(self.tracks[v], min_clip_len=1, **self.kw)[0]

    @property
    def pairs(self) -> list[tuple[int, int]]:
        return [(int(v), int(c)) for v, c in self._use_epoch(self.epoch)[0]]

    def epoch_items(self, epoch: int) -> tuple[np.ndarray]:
        """Return the ``(video, clip)`` pairs of ``epoch``, in a 1-tuple."""
        rng = np.random.default_rng([self.seed, int(epoch), 5])
        pairs = []
        for v in self._epoch_videos(epoch, self.n_clips):
            n = int(self.n_clips[v])
            k = min(n, self.clips_per_video)
            if not k:
                continue
            if self.shuffle:
                chosen = np.sort(rng.choice(n, size=k, replace=False))
            else:
                chosen = np.unique(np.linspace(0, n - 1, k).round().astype(int))
            pairs += [(int(v), int(c)) for c in chosen]
        return (np.array(pairs, np.int64).reshape(-1, 2),)

    def __len__(self) -> int:
        return len(self._use_epoch(self.epoch)[0])

    def item_labels(self) -> np.ndarray:
        """Label of every item of the current epoch."""
        pairs = self._use_epoch(self.epoch)[0]
        return self.labels[pairs[:, 0]].astype(np.float32)

    def __getitem__(self, key: Any) -> tuple[torch.Tensor, torch.Tensor]:
        epoch, i = self._key(key)
        v, c = (int(a) for a in self._items[0][i])
        clip = clip_frames(self.tracks[v], self._windows(v)[c : c + 1], self.size)[0]
        if self.augment is not None:
            rng = np.random.default_rng([self.seed, epoch, i])
            clip = clip_augment(clip, rng, **self.augment)
        x = torch.from_numpy(np.ascontiguousarray(clip.transpose(3, 0, 1, 2)))
        return x, torch.tensor(self.labels[v])


class _VideoClips(torch.utils.data.Dataset):
    """Prediction items: all clips of video ``i`` (uint8 ``(n, 3, T, S, S)``)."""

    def __init__(
        self, tracks: list[FaceTracks], clip_len: int, stride: int, size: int
    ) -> None:
        self.tracks = list(tracks)
        self.clip_len, self.stride, self.size = clip_len, stride, size

    def __len__(self) -> int:
        return len(self.tracks)

    def __getitem__(self, i: int) -> torch.Tensor:
        clips, _ = make_clips(
            self.tracks[i],
            clip_len=self.clip_len,
            stride=self.stride,
            size=self.size,
            min_clip_len=1,
        )
        return torch.from_numpy(np.ascontiguousarray(clips.transpose(0, 4, 1, 2, 3)))


def _resolve_clip_augment(augment: Any) -> dict | None:
    """``augment`` as ``clip_augment`` keyword arguments (None: no augment)."""
    import inspect

    if augment is None or isinstance(augment, bool):
        return dict(_CLIP_AUGMENT) if augment else None
    if not isinstance(augment, dict):
        raise ValueError(
            f"augment must be a bool or a dict of clip_augment arguments, got "
            f"{augment!r}."
        )
    known = set(inspect.signature(clip_augment).parameters) - {"clip", "rng"}
    unknown = sorted(set(augment) - known)
    if unknown:
        raise ValueError(
            f"Unknown clip augmentation arguments {unknown}; choose from "
            f"{sorted(known)}."
        )
    return {**_CLIP_AUGMENT, **augment}


class VideoNet(torch.nn.Module):
    """A 3-D CNN with one logit, fed uint8 clips ``(B, 3, T, S, S)``."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1, 1))
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float().div(255.0) if x.dtype == torch.uint8 else x.float()
        x = (x - self.mean) / self.std
        return self.model(x).float().reshape(-1)


@fill_doc(NET_DOCS)
class VideoCNNClassifier(
    ParamsValidationMixin, VideoClassifierMixin, NetTrainingMixin, BaseEstimator
):
    """Fine-tune a 3-D CNN on face-track clips; one probability per video.

    Each video's face track (best track; cut preferably with
    ``FaceCropper(clip_box="track")`` so the face moves in a still window) is
    split into clips of ``clip_len`` consecutive sampled frames, resized to
    ``size``. Training uses the video's label for each clip, AdamW with a
    one-cycle schedule stepped per batch, gradient clipping, CutMix over the
    clips of a batch, clip-consistent augmentation, class balancing and early
    stopping with best-weights restore on a group-aware validation split. A
    video's probability is the sigmoid of its clips' mean logit; a video with
    no clip gets the training prior.

    Parameters
    ----------
    arch : str, default="r3d_18"
        ``"r3d_18"``, ``"mc3_18"``, ``"r2plus1d_18"``, ``"r3d_34"``,
        ``"i3d_r18"`` or ``"i3d_r50"`` (see
        :func:`~sklearn_deepfake.nets.build_video_model`).
    pretrained : bool, default=False
        Pretrained weights (Kinetics for the torchvision models, ImageNet
        2-D weights inflated for the I3D ones); needs internet.
    weights : str or path-like, default=None
        Local weights file, as in :func:`build_video_model`.
    clip_len : int, default=16
        Frames per clip.
    stride : int, default=8
        Frames between the starts of two clips.
    size : int, default=112
        Side of the clip frames (112 on CPU; 224 is a GPU setting).
    clips_per_video : int, default=2
        Clips of each video used per epoch (drawn anew each epoch); an item
        reads only its clip's crops.
    class_balance : {"epoch"} or None, default=None
        ``"epoch"``: each epoch uses every training video of the smaller
        class and as many videos of the larger one, drawn anew each epoch.
        The epoch is then balanced by itself and ``class_weight="balanced"``
        gives a ``pos_weight`` of about 1.

        .. versionadded:: 0.2
    max_epochs : int, default=10
        Training epochs (fewer with early stopping).
    batch_size : int, default=4
        Clips per batch.
    lr : float, default=1e-3
        Peak learning rate of the one-cycle schedule.
    %(weight_decay)s
    %(grad_clip)s
    cutmix : float, default=0.0
        Probability of CutMix on a batch (the same box on every frame).
    augment : bool or dict, default=True
        Clip-consistent pixel augmentation while training
        (:func:`~sklearn_deepfake.nets._clips.clip_augment`, which includes
        H.264 re-encoding at a random CRF 18-40 with probability
        ``p_h264=0.2`` here); a dict turns it on and overrides some of
        ``clip_augment``'s keyword arguments, for example
        ``{"p_h264": 0.5, "crf": (23, 45)}``.
    class_weight : {"balanced", None}, default="balanced"
        Weigh the positive class by the negative-to-positive ratio.
    valid_size : float, default=0.2
        Fraction of groups held out for early stopping (0 disables it).
    patience : int, default=3
        Early-stopping patience in epochs.
    %(eps)s
    %(callbacks)s
    device : {"auto", "cpu", "cuda"}, default="auto"
        Training device; mixed precision on CUDA.
    num_workers : int, default=0
        ``DataLoader`` worker processes that read, cut and augment the clips
        (training, validation and prediction). Items are seeded by
        ``(random_state, epoch, item)``, so the weights do not depend on it.

        .. versionadded:: 0.2
    %(pin_memory)s
    %(persistent_workers)s
    random_state : int, RandomState or None, default=None
        Seeds initialisation, splits, sampling and augmentation.
    %(verbose)s

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained network (training state released).
    %(classes_)s
    prior_ : float
        Fraction of fake training videos.
    %(device_)s
    %(n_epochs_)s

    Examples
    --------
    >>> import warnings
    >>> from sklearn_deepfake.nets import VideoCNNClassifier
    >>> clf = VideoCNNClassifier("r3d_18", clip_len=4, size=32, max_epochs=1)
    >>> clf.get_params()["arch"]
    'r3d_18'
    """

    def __init__(
        self,
        arch: str = "r3d_18",
        *,
        pretrained: bool = False,
        weights: Any = None,
        clip_len: int = 16,
        stride: int = 8,
        size: int = 112,
        clips_per_video: int = 2,
        class_balance: str | None = None,
        max_epochs: int = 10,
        batch_size: int = 4,
        lr: float = 1e-3,
        weight_decay: float = 1e-2,
        grad_clip: float | None = 1.0,
        cutmix: float = 0.0,
        augment: bool | dict = True,
        class_weight: str | None = "balanced",
        valid_size: float = 0.2,
        patience: int = 3,
        eps: float = 0.01,
        callbacks: list | None = None,
        device: Any = "auto",
        num_workers: int = 0,
        pin_memory: bool = False,
        persistent_workers: bool = False,
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        self.arch = arch
        self.pretrained = pretrained
        self.weights = weights
        self.clip_len = clip_len
        self.stride = stride
        self.size = size
        self.clips_per_video = clips_per_video
        self.class_balance = class_balance
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.grad_clip = grad_clip
        self.cutmix = cutmix
        self.augment = augment
        self.class_weight = class_weight
        self.valid_size = valid_size
        self.patience = patience
        self.eps = eps
        self.callbacks = callbacks
        self.device = device
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.persistent_workers = persistent_workers
        self.random_state = random_state
        self.verbose = verbose

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        **_TRAINING_CONSTRAINTS,
        **_FINE_TUNING_CONSTRAINTS,
        "arch": [StrOptions(set(VIDEO_ARCHS))],
        "clip_len": [Interval(Integral, 1, None, closed="left")],
        "stride": [Interval(Integral, 1, None, closed="left")],
        "size": [Interval(Integral, 16, None, closed="left")],
        "clips_per_video": [Interval(Integral, 1, None, closed="left")],
        "cutmix": [Interval(Real, 0, 1, closed="both")],
        "augment": ["boolean", dict, None],
        "valid_size": [Interval(Real, 0, 0.9, closed="both")],
        "eps": [Interval(Real, 0, 0.499, closed="both")],
    }

    def _check_params(self) -> None:
        self._check_workers()

    @classmethod
    def _get_test_params(cls) -> dict[str, Any]:
        """Cheap constructor arguments for the common tests."""
        return {
            "arch": "r3d_18",
            "clip_len": 2,
            "stride": 2,
            "size": 16,
            "max_epochs": 1,
            "batch_size": 4,
            "valid_size": 0.0,
            "augment": False,
            "device": "cpu",
            "random_state": 0,
        }

    @classmethod
    def _search_space(cls, trial: Any, prefix: str) -> dict[str, Any]:
        """Default Optuna space: learning rate and epochs."""
        lr, epochs = f"{prefix}lr", f"{prefix}max_epochs"
        return {
            lr: trial.suggest_float(lr, 1e-5, 1e-2, log=True),
            epochs: trial.suggest_int(epochs, 2, 20),
        }

    @fill_doc(NET_DOCS)
    def fit(self, X: Any, y: Any, groups: Any = None) -> VideoCNNClassifier:
        """Fine-tune the 3-D CNN on the clips of the training videos.

        Parameters
        ----------
        %(X_tracks)s
        %(y)s
        %(groups)s

        Returns
        -------
        %(self)s
        """
        self._validate_params()
        self._clip_augment_kw = _resolve_clip_augment(self.augment)
        X = check_per_video(X, kind=FaceTracks)
        self.classes_, y01 = encode_video_labels(y, len(X), type(self).__name__)
        self.prior_ = float(y01.mean())
        self._seeded_fit_net(X, y01, groups)
        return self

    def _dataset(self, X: list, y01: np.ndarray, seed: int, train: bool) -> Any:
        return ClipDataset(
            X,
            y01,
            clip_len=int(self.clip_len),
            stride=int(self.stride),
            size=int(self.size),
            clips_per_video=int(self.clips_per_video),
            augment=self._clip_augment_kw if train else None,
            seed=seed,
            shuffle=train,
            balance=train and self.class_balance == "epoch",
        )

    def _fit_net(self, X: list, y01: np.ndarray, groups: Any, seed: int) -> None:
        from sklearn_deepfake.nets._models3d import build_video_model
        from sklearn_deepfake.nets._training import (
            group_train_valid_split,
        )

        train, valid = np.arange(len(X)), np.arange(0)
        n_groups = len(X) if groups is None else len(np.unique(groups))
        if self.valid_size and n_groups >= 2:
            train, valid = group_train_valid_split(
                len(X), self.valid_size, groups, y01, seed
            )
        train_ds = self._dataset([X[i] for i in train], y01[train], seed, True)
        valid_ds = self._dataset([X[i] for i in valid], y01[valid], seed, False)
        if not len(train_ds):
            raise ValueError(
                f"No training video has a face track of at least one clip "
                f"({self.clip_len} frames); nothing to train on."
            )
        if len(valid) and not len(valid_ds):
            warnings.warn(
                "The validation videos have no clip; training without early stopping.",
                UserWarning,
                stacklevel=4,
            )
        use_valid = len(valid_ds) > 0
        module = VideoNet(
            build_video_model(
                self.arch,
                pretrained=bool(self.pretrained),
                weights=self.weights,
                random_state=seed,
            )
        )
        self._train_net(
            module,
            train_ds,
            valid_ds if use_valid else None,
            seed=seed,
            train_labels=train_ds.item_labels(),
            cutmix_p=self.cutmix,
            **loader_kwargs(
                self.num_workers,
                self.pin_memory,
                self.persistent_workers,
                self.device_,
            ),
        )

    def _video_logits(self, X: list) -> list[float | None]:
        """Mean clip logit of each video (None without a clip), streamed.

        A ``DataLoader`` cuts the clips of one video per item (in
        ``num_workers`` processes), so only a few videos' clips are held.
        """
        module = self.net_.module_
        module.eval()
        dev = next(module.parameters()).device
        loader = torch.utils.data.DataLoader(
            _VideoClips(X, int(self.clip_len), int(self.stride), int(self.size)),
            batch_size=None,
            num_workers=int(getattr(self, "num_workers", 0)),
            pin_memory=bool(getattr(self, "pin_memory", False)) and dev.type == "cuda",
            generator=torch.Generator().manual_seed(0),  # not torch's global one
        )
        out: list[float | None] = []
        bs = int(self.batch_size)
        with torch.inference_mode():
            for clips in loader:
                if not len(clips):
                    out.append(None)
                    continue
                logits = [
                    module(clips[start : start + bs].to(dev)).cpu().numpy()
                    for start in range(0, len(clips), bs)
                ]
                out.append(float(np.concatenate(logits).mean()))
        return out

    def _video_fake_proba(self, X: Any) -> np.ndarray:
        """Fake probability of each video: of its mean clip logit, or ``prior_``."""
        check_is_fitted(self)
        X = check_per_video(X, kind=FaceTracks)
        p = np.empty(len(X))
        for i, logit in enumerate(self._video_logits(X)):
            p[i] = self.prior_ if logit is None else 1.0 / (1.0 + np.exp(-logit))
        return p
