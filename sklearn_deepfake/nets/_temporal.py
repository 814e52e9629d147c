"""TemporalClassifier: an LSTM, GRU or transformer over per-frame embeddings."""

from __future__ import annotations

import math
import warnings
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted
from torch import nn

from sklearn_deepfake.features._pooling import _as_frames
from sklearn_deepfake.nets._base import (
    _TRAINING_CONSTRAINTS,
    NET_DOCS,
    NetTrainingMixin,
    VideoClassifierMixin,
)
from sklearn_deepfake.nets._training import EpochItems
from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._param_validation import (
    Integral,
    Interval,
    ParamsValidationMixin,
    Real,
    StrOptions,
)
from sklearn_deepfake.utils._proba import clip_values
from sklearn_deepfake.utils._ragged import check_per_video

__all__ = ["SequenceDataset", "TemporalClassifier", "TemporalNet", "pad_sequences"]

_CELLS = ("lstm", "gru", "transformer")
_POOLINGS = ("mean", "last")
_DOCS = {
    **NET_DOCS,
    "X_frames": """X : list of ndarray of shape (n_frames_i, n_features)
    Per-frame features of each video, in frame order; may be empty.""",
}


def _as_sequences(X: Any, name: str = "X") -> list[np.ndarray]:
    """Check per-video frame features; return ``float32 (n_i, D)`` arrays."""
    X = check_per_video(X, name=name)
    out = [_as_frames(x, i, dtype=np.float32, name=name) for i, x in enumerate(X)]
    widths = {a.shape[1] for a in out}
    if len(widths) > 1:
        raise ValueError(
            f"Every video of {name} must have the same number of features per "
            f"frame, got {sorted(widths)}."
        )
    return out


def pad_sequences(seqs: list[np.ndarray]) -> torch.Tensor:
    """Pad ``(n_i, D)`` sequences into one ``(B, T, D + 1)`` float tensor.

    The last channel is the mask (1 on real steps, 0 on padding), so that a
    batch stays a single tensor (which skorch moves to the device as is).
    Every sequence must have at least one step.
    """
    longest = max(len(s) for s in seqs)
    width = seqs[0].shape[1]
    out = torch.zeros(len(seqs), longest, width + 1)
    for b, s in enumerate(seqs):
        out[b, : len(s), :width] = torch.from_numpy(np.ascontiguousarray(s))
        out[b, : len(s), width] = 1.0
    return out


def _collate(batch: list) -> tuple[torch.Tensor, torch.Tensor]:
    seqs = [x for x, _ in batch]
    return pad_sequences(seqs), torch.tensor([float(y) for _, y in batch])


class SequenceDataset(EpochItems, torch.utils.data.Dataset):
    """Whole videos as sequences; training items are random temporal crops.

    Items can also be fetched by the ``(epoch, position)`` keys of
    :class:`~sklearn_deepfake.nets._training.EpochSampler`.

    Parameters
    ----------
    seqs : list of ndarray of float32, shape (n_i, D)
        One non-empty sequence per video.
    labels : array-like of float, shape (n_videos,)
        Label of each video.
    crop_len : int or None
        With ``random_crop``, sequences longer than this are cut to a window
        of ``crop_len`` consecutive rows drawn from ``(seed, epoch, item)``.
    seed : int
        Seed of the crops.
    random_crop : bool
        Crop (training) or return whole sequences (validation).
    balance : bool, default=False
        Each epoch uses every video of the smaller class and as many of the
        larger one (:func:`~sklearn_deepfake.nets._training.balanced_videos`).
    """

    def __init__(
        self,
        seqs: list[np.ndarray],
        labels: Any,
        *,
        crop_len: int | None,
        seed: int,
        random_crop: bool,
        balance: bool = False,
    ) -> None:
        self.seqs = seqs
        self.labels = np.asarray(labels, dtype=np.float32)
        self.crop_len = crop_len
        self.seed = int(seed)
        self.random_crop = random_crop
        self.balance = bool(balance)
        self.set_epoch(0)

    def epoch_items(self, epoch: int) -> tuple[np.ndarray]:
        """Return the videos of ``epoch``, in a 1-tuple."""
        lengths = np.array([len(s) for s in self.seqs], np.int64)
        return (self._epoch_videos(epoch, lengths),)

    def __len__(self) -> int:
        return len(self._use_epoch(self.epoch)[0])

    def item_labels(self) -> np.ndarray:
        """Label of every item of the current epoch."""
        return self.labels[self._use_epoch(self.epoch)[0]]

    def __getitem__(self, key: Any) -> tuple[np.ndarray, float]:
        epoch, i = self._key(key)
        v = int(self._items[0][i])
        s = self.seqs[v]
        n, k = len(s), self.crop_len
        if self.random_crop and k is not None and n > k:
            rng = np.random.default_rng([self.seed, epoch, int(i), 3])
            start = int(rng.integers(0, n - k + 1))
            s = s[start : start + k]
        return s, float(self.labels[v])


class TemporalNet(nn.Module):
    """Sequence network: masked ``(B, T, D + 1)`` input to ``(B,)`` logits.

    The last input channel is the mask made by :func:`pad_sequences`.
    Recurrent cells run on packed sequences; the transformer encoder gets
    sinusoidal positions and a key padding mask.
    """

    def __init__(
        self,
        n_features: int,
        *,
        cell: str = "lstm",
        hidden_size: int = 64,
        num_layers: int = 1,
        bidirectional: bool = True,
        dropout: float = 0.1,
        pooling: str = "mean",
        n_heads: int = 4,
    ) -> None:
        super().__init__()
        self.cell = cell
        self.pooling = pooling
        self.bidirectional = bidirectional and cell != "transformer"
        self.hidden_size = hidden_size
        self.input_dropout = nn.Dropout(dropout)
        if cell == "transformer":
            self.proj = nn.Linear(n_features, hidden_size)
            layer = nn.TransformerEncoderLayer(
                hidden_size,
                n_heads,
                dim_feedforward=2 * hidden_size,
                dropout=dropout,
                batch_first=True,
                norm_first=True,
            )
            self.encoder = nn.TransformerEncoder(
                layer, num_layers, enable_nested_tensor=False
            )
            out_dim = hidden_size
        else:
            rnn = nn.LSTM if cell == "lstm" else nn.GRU
            self.rnn = rnn(
                n_features,
                hidden_size,
                num_layers=num_layers,
                batch_first=True,
                bidirectional=self.bidirectional,
                dropout=dropout if num_layers > 1 else 0.0,
            )
            out_dim = hidden_size * (2 if self.bidirectional else 1)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(out_dim, 1))

    def steps(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, Any]:
        """Per-step outputs ``(B, T, H)``, the mask ``(B, T)``, final state."""
        mask = x[..., -1] > 0.5
        feats = self.input_dropout(x[..., :-1].float())
        if self.cell == "transformer":
            h = self.proj(feats) + _positions(x.shape[1], self.hidden_size, x.device)
            return self.encoder(h, src_key_padding_mask=~mask), mask, None
        lengths = mask.sum(dim=1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(
            feats, lengths, batch_first=True, enforce_sorted=False
        )
        out, state = self.rnn(packed)
        h, _ = nn.utils.rnn.pad_packed_sequence(
            out, batch_first=True, total_length=x.shape[1]
        )
        final = state[0] if isinstance(state, tuple) else state
        return h, mask, final

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, mask, final = self.steps(x)
        if self.pooling == "mean":
            m = mask.unsqueeze(-1).to(h.dtype)
            z = (h * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)
        elif final is not None:
            # The last layer's final state, both directions when bidirectional.
            z = torch.cat(list(final[-2:] if self.bidirectional else final[-1:]), -1)
        else:
            last = mask.sum(dim=1).clamp(min=1) - 1
            z = h[torch.arange(len(h), device=h.device), last]
        return self.head(z).float().reshape(-1)


def _positions(length: int, dim: int, device: Any) -> torch.Tensor:
    """Sinusoidal position codes ``(1, length, dim)`` (no length limit)."""
    pos = torch.arange(length, device=device, dtype=torch.float32).unsqueeze(1)
    freq = torch.exp(
        torch.arange(0, dim, 2, device=device, dtype=torch.float32)
        * (-math.log(10000.0) / dim)
    )
    pe = torch.zeros(length, dim, device=device)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)
    return pe.unsqueeze(0)


@fill_doc(_DOCS)
class TemporalClassifier(
    ParamsValidationMixin, VideoClassifierMixin, NetTrainingMixin, BaseEstimator
):
    """Recurrent or attention network over each video's frame embeddings.

    Each video is the sequence of its per-frame feature rows, as produced by
    :class:`~sklearn_deepfake.features.CNNFeatureExtractor` or
    :class:`~sklearn_deepfake.features.FaceContextFeatures`
    (``list[float32 (n_frames_i, D)]``). A sequence model (``cell``: LSTM,
    GRU or a small transformer encoder) reads the rows in order, so it can
    use how the frames change (flicker, identity jitter at the blend,
    unstable landmarks), which frame-wise pooling such as
    :class:`~sklearn_deepfake.features.TemporalPooling` cannot see. The video
    score comes from one logit on either the **masked mean of the per-step
    outputs** (``pooling="mean"``, the default: every frame counts, robust to
    the length) or the **final state** (``pooling="last"``: the last layer's
    final hidden state, both directions when bidirectional; for the
    transformer, the output at the last real step).

    Videos in one batch have different lengths: recurrent cells run on
    packed sequences and the transformer gets a key padding mask, so
    padding never changes a video's score. Rows of a video that holds
    several face tracks are read in their stored order (track by track).

    The network is trained end to end on the **frozen embeddings** given as
    ``X``; fine-tuning the CNN jointly with the sequence model is not
    implemented (use :class:`~sklearn_deepfake.nets.VideoCNNClassifier` for
    a network trained on the crops themselves). Training reuses the machinery
    of :class:`~sklearn_deepfake.nets.FaceCNNClassifier`: AdamW with a
    one-cycle schedule stepped per batch, gradient clipping, class balancing
    through ``pos_weight``, random temporal crops of ``crop_len`` steps
    drawn anew each epoch, and early stopping on a group-aware validation
    split (whole sequences) with the best epoch's weights restored.

    **Videos without frames** (``(0, D)`` arrays, no face found) have no
    sequence: they are left out of training, and at prediction time they get
    ``empty_proba`` (by default the fraction of fake training videos) and a
    ``UserWarning`` that counts them.

    Parameters
    ----------
    cell : {"lstm", "gru", "transformer"}, default="lstm"
        Sequence model.
    hidden_size : int, default=64
        Hidden units per direction (the model width of the transformer).
    num_layers : int, default=1
        Stacked recurrent or encoder layers.
    bidirectional : bool, default=True
        Read the sequence in both directions (recurrent cells only; the
        transformer always sees the whole sequence).
    n_heads : int, default=4
        Attention heads of the transformer; must divide ``hidden_size``.
    dropout : float, default=0.1
        Dropout on the input features, between layers and before the head.
    pooling : {"mean", "last"}, default="mean"
        How the sequence becomes one score (see above).
    crop_len : int or None, default=16
        Training sequences longer than this are cut to a random window of
        ``crop_len`` consecutive rows, drawn anew each epoch (augmentation,
        and a bound on the cost per step). Validation and prediction read
        whole sequences. ``None`` trains on whole sequences.
    class_balance : {"epoch"} or None, default=None
        ``"epoch"``: each epoch uses every training video of the smaller
        class and as many videos of the larger one, the next slice of a
        shuffled order each epoch (see the user guide); the epoch is then
        balanced and ``class_weight="balanced"`` gives a ``pos_weight`` of
        about 1.

        .. versionadded:: 0.2
    standardize : bool, default=True
        Centre and scale every feature by its mean and standard deviation
        over the training frames (embeddings come at any scale).
    max_epochs : int, default=30
        Maximum number of epochs.
    batch_size : int, default=32
        Videos per batch.
    lr : float, default=3e-3
        Peak learning rate (one-cycle schedule).
    %(weight_decay)s
    %(grad_clip)s
    class_weight : "balanced" or None, default="balanced"
        ``"balanced"`` weighs the fake class by ``n_real / n_fake`` training
        videos (``pos_weight``).
    valid_size : float or None, default=0.2
        Fraction of the videos (or groups) held out for early stopping;
        ``None`` or 0 trains on everything for ``max_epochs``.
    patience : int, default=5
        Epochs without a better validation loss before stopping.
    empty_proba : float or None, default=None
        Fake probability of a video without frames; ``None`` uses the
        fraction of fake training videos.
    %(eps)s
    warm_start : bool, default=False
        Continue from the weights of the previous fit when the network has
        the same shape (a new optimiser and schedule are used).
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        Mixed precision is used on CUDA.
    random_state : int, RandomState or None, default=None
        Seeds the initial weights, the split, the crops and the batch order.
        The global torch generator is restored after :meth:`fit`.
    %(verbose)s

    Attributes
    ----------
    %(net_)s
    %(classes_)s
    n_features_in_ : int
        ``D``, the number of features per frame.
    feature_mean_, feature_scale_ : ndarray of shape (``n_features_in_``,)
        Standardisation of the frame features (zeros and ones when
        ``standardize=False``).
    prior_ : float
        Fraction of fake training videos.
    empty_proba_ : float
        Fake probability given to videos without frames.
    %(device_)s
    %(n_epochs_)s
    %(best_epoch_)s
    %(valid_videos_)s

    See Also
    --------
    sklearn_deepfake.features.TemporalPooling : Order-free pooling of the rows.
    sklearn_deepfake.nets.FaceCNNClassifier : Fine-tunes a CNN on the crops.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.nets import TemporalClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = [rng.normal(size=(n, 4)).astype(np.float32) for n in (5, 7, 0, 6)]
    >>> clf = TemporalClassifier(hidden_size=8, max_epochs=2, valid_size=None,
    ...                          device="cpu", random_state=0)
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # video 2 has no frame
    ...     proba = clf.fit(X, [0, 1, 0, 1]).predict_proba(X)
    >>> proba.shape, float(proba[2, 1])  # no frame: the training prior
    ((4, 2), 0.5)
    """

    def __init__(
        self,
        cell: str = "lstm",
        *,
        hidden_size: int = 64,
        num_layers: int = 1,
        bidirectional: bool = True,
        n_heads: int = 4,
        dropout: float = 0.1,
        pooling: str = "mean",
        crop_len: int | None = 16,
        class_balance: str | None = None,
        standardize: bool = True,
        max_epochs: int = 30,
        batch_size: int = 32,
        lr: float = 3e-3,
        weight_decay: float = 1e-2,
        grad_clip: float | None = 1.0,
        class_weight: str | None = "balanced",
        valid_size: float | None = 0.2,
        patience: int = 5,
        empty_proba: float | None = None,
        eps: float = 0.01,
        warm_start: bool = False,
        device: Any = "auto",
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.cell = cell
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.n_heads = n_heads
        self.dropout = dropout
        self.pooling = pooling
        self.crop_len = crop_len
        self.class_balance = class_balance
        self.standardize = standardize
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.grad_clip = grad_clip
        self.class_weight = class_weight
        self.valid_size = valid_size
        self.patience = patience
        self.empty_proba = empty_proba
        self.eps = eps
        self.warm_start = warm_start
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        **_TRAINING_CONSTRAINTS,
        "cell": [StrOptions(set(_CELLS))],
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "bidirectional": ["boolean"],
        "n_heads": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "pooling": [StrOptions(set(_POOLINGS))],
        "crop_len": [Interval(Integral, 2, None, closed="left"), None],
        "standardize": ["boolean"],
        "empty_proba": [Interval(Real, 0, 1, closed="both"), None],
        "warm_start": ["boolean"],
    }

    def _check_params(self) -> None:
        if self.cell == "transformer" and self.hidden_size % (2 * self.n_heads):
            raise ValueError(
                "For the transformer, hidden_size must be a multiple of 2 * n_heads, "
                f"got hidden_size={self.hidden_size!r} and n_heads={self.n_heads!r}."
            )

    @classmethod
    def _get_test_params(cls) -> dict[str, Any]:
        """Cheap constructor arguments for the common tests."""
        return {
            "hidden_size": 8,
            "max_epochs": 2,
            "batch_size": 4,
            "valid_size": None,
            "device": "cpu",
            "random_state": 0,
        }

    def _module_params(self) -> dict[str, Any]:
        return {
            "cell": self.cell,
            "hidden_size": int(self.hidden_size),
            "num_layers": int(self.num_layers),
            "bidirectional": bool(self.bidirectional) and self.cell != "transformer",
            "dropout": float(self.dropout),
            "pooling": self.pooling,
            "n_heads": int(self.n_heads),
        }

    # ------------------------------------------------------------------
    # Fitting
    # ------------------------------------------------------------------

    @fill_doc(_DOCS)
    def fit(self, X: Any, y: Any, groups: Any = None) -> TemporalClassifier:
        """Train the sequence model on the frame features of the videos.

        Parameters
        ----------
        %(X_frames)s
        %(y)s
        %(groups)s

        Returns
        -------
        %(self)s
        """
        from sklearn_deepfake.nets._training import encode_video_labels
        from sklearn_deepfake.utils._checks import check_groups

        self._validate_params()
        X = _as_sequences(X)
        classes, y01 = encode_video_labels(y, len(X), type(self).__name__)
        lengths = np.array([len(x) for x in X])
        if not lengths.any():
            raise ValueError(
                "None of the training videos has a frame; nothing to train on."
            )
        groups = check_groups(groups, len(X))
        previous = getattr(self, "net_", None) if self.warm_start else None
        if previous is not None and (
            getattr(self, "n_features_in_", None) != X[0].shape[1]
            or getattr(self, "_fitted_module_params", None) != self._module_params()
        ):
            previous = None
        self.classes_ = classes
        self.n_features_in_ = int(X[0].shape[1])
        frames = np.concatenate([x for x in X if len(x)])
        if self.standardize:
            self.feature_mean_ = frames.mean(axis=0).astype(np.float32)
            scale = frames.std(axis=0)
            self.feature_scale_ = np.where(scale > 1e-6, scale, 1.0).astype(np.float32)
        else:
            self.feature_mean_ = np.zeros(self.n_features_in_, np.float32)
            self.feature_scale_ = np.ones(self.n_features_in_, np.float32)
        self.prior_ = float(y01.mean())
        self.empty_proba_ = (
            self.prior_ if self.empty_proba is None else float(self.empty_proba)
        )
        self._seeded_fit_net(X, y01, groups, lengths, previous=previous)
        self._fitted_module_params = self._module_params()
        return self

    def _standardized(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.feature_mean_) / self.feature_scale_).astype(np.float32)

    def _fit_net(
        self,
        X: list[np.ndarray],
        y01: np.ndarray,
        groups: Any,
        lengths: np.ndarray,
        seed: int,
        previous: Any,
    ) -> None:
        from sklearn_deepfake.nets._training import best_valid_epoch

        train, valid = self._train_valid_split(y01, groups, lengths, seed, item="frame")
        self.valid_videos_ = valid
        # Videos without frames have no sequence to learn from.
        train = train[lengths[train] > 0]
        valid = valid[lengths[valid] > 0]
        train_ds = self._sequences(X, y01, train, seed, train=True)
        valid_ds = self._sequences(X, y01, valid, seed) if len(valid) else None
        module = (
            previous.module_
            if previous is not None
            else TemporalNet(self.n_features_in_, **self._module_params())
        )
        self._train_net(
            module,
            train_ds,
            valid_ds,
            seed=seed,
            train_labels=train_ds.item_labels(),
            iterator_train__collate_fn=_collate,
            iterator_valid__collate_fn=_collate,
        )
        self.best_epoch_ = best_valid_epoch(self.net_, valid_ds is not None)

    def _sequences(
        self,
        X: list[np.ndarray],
        y01: np.ndarray,
        videos: np.ndarray,
        seed: int,
        *,
        train: bool = False,
    ) -> SequenceDataset:
        """Standardised sequences of ``videos``: random crops for training.

        Validation sequences are whole (no crop) and not class-balanced.
        """
        crop = None if self.crop_len is None else int(self.crop_len)
        return SequenceDataset(
            [self._standardized(X[i]) for i in videos],
            y01[videos],
            crop_len=crop if train else None,
            seed=seed,
            random_crop=train,
            balance=train and self.class_balance == "epoch",
        )

    # ------------------------------------------------------------------
    # Prediction
    # ------------------------------------------------------------------

    def _video_logits(
        self, X: Any, stacklevel: int = 3
    ) -> tuple[np.ndarray, np.ndarray]:
        """Logits of the videos with frames, and the mask of those videos.

        Warns about videos without frames; ``stacklevel`` points the warning
        at the caller of the public method.
        """
        check_is_fitted(self)
        X = _as_sequences(X)
        if X[0].shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X[0].shape[1]} features per frame, but "
                f"{type(self).__name__} was fitted with {self.n_features_in_}."
            )
        has_frames = np.array([len(x) > 0 for x in X])
        if not has_frames.all():
            warnings.warn(
                f"{int((~has_frames).sum())} of {len(X)} videos have no frame "
                "features (no face found); they get the fake probability "
                f"{self.empty_proba_:.3g}.",
                UserWarning,
                stacklevel=stacklevel,
            )
        filled = np.flatnonzero(has_frames)
        logits = np.zeros(len(filled), dtype=np.float64)
        module = self.net_.module_
        module.eval()
        dev = self.device_
        bs = int(self.batch_size)
        with (
            torch.inference_mode(),
            torch.autocast(dev.type, enabled=dev.type == "cuda"),
        ):
            for start in range(0, len(filled), bs):
                idx = filled[start : start + bs]
                batch = pad_sequences([self._standardized(X[i]) for i in idx])
                out = module(batch.to(dev)).float().cpu().numpy()
                logits[start : start + len(idx)] = out
        return logits, has_frames

    @fill_doc(_DOCS)
    def decision_function(self, X: Any) -> np.ndarray:
        """Return the fake logit of each video.

        Parameters
        ----------
        %(X_frames)s

        Returns
        -------
        logits : ndarray of shape (n_videos,)
            Unclipped network output; videos without frames get the logit of
            ``empty_proba_`` (``eps``-clipped to stay finite).
        """
        logits, has_frames = self._video_logits(X)
        p = float(clip_values(self.empty_proba_, 1e-7))
        out = np.full(len(has_frames), math.log(p / (1 - p)))
        out[has_frames] = logits
        return out

    def _video_fake_proba(self, X: Any) -> np.ndarray:
        """Fake probability of each video; ``empty_proba_`` without frames."""
        logits, has_frames = self._video_logits(X, stacklevel=4)
        fake = np.full(len(has_frames), self.empty_proba_, dtype=np.float64)
        fake[has_frames] = 1.0 / (1.0 + np.exp(-logits))
        return fake
