"""What the video-level deep classifiers share: clipping, predict and tags.

:class:`VideoClassifierMixin` serves every per-video classifier (also the
ONNX one); :class:`FrameScoreClassifierMixin` those that pool per-crop
scores (:class:`~sklearn_deepfake.nets.FaceCNNClassifier` and its ONNX
export); :class:`NetTrainingMixin` the ones trained here with skorch
(:class:`~sklearn_deepfake.nets.FaceCNNClassifier`,
:class:`~sklearn_deepfake.nets.VideoCNNClassifier`,
:class:`~sklearn_deepfake.nets.TemporalClassifier`), whose shared parameter
constraints are :data:`_TRAINING_CONSTRAINTS` and
:data:`_FINE_TUNING_CONSTRAINTS`.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from sklearn_deepfake.features._pooling import pool_track_scores
from sklearn_deepfake.utils._classifier import ProbaClassifierMixin
from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._labels import fake_class_index
from sklearn_deepfake.utils._param_validation import (
    Integral,
    Interval,
    Real,
    StrOptions,
)
from sklearn_deepfake.utils._proba import clip_values
from sklearn_deepfake.utils._ragged import FaceTracks, check_per_video

#: Docstring text of the video classifiers' methods
#: (:func:`~sklearn_deepfake.utils._docstrings.fill_doc`); also used by
#: :mod:`sklearn_deepfake.export`.
NET_DOCS = {
    "X_tracks": """X : list of FaceTracks
    One record per video.""",
    "y": """y : array-like of shape (n_videos,)
    Binary video labels; the fake class is 1, True or "FAKE" (any
    case), else the other of 0, False or "REAL", else the larger.""",
    "groups": """groups : array-like of shape (n_videos,), default=None
    Group of each video (a fake shares its original's group); the
    internal validation split never puts one group on both sides.""",
    "self": """self : object
    Fitted classifier.""",
    "proba": """proba : ndarray of shape (n_videos, 2)
    Columns in the order of ``classes_``; the fake class's column
    (``fake_class_index(classes_)``: 0 for ``["FAKE", "REAL"]``, 1
    for ``[0, 1]``) is clipped to ``[eps, 1 - eps]``.""",
    "weight_decay": """weight_decay : float, default=1e-2
    AdamW weight decay.""",
    "grad_clip": """grad_clip : float or None, default=1.0
    Maximum gradient norm; ``None`` disables clipping.""",
    "eps": """eps : float, default=0.01
    Probabilities are clipped to ``[eps, 1 - eps]``.""",
    "callbacks": """callbacks : list of skorch callbacks or None, default=None
    Extra skorch callbacks (instances or ``(name, callback)`` pairs),
    appended after the built-in ones (epoch setter, learning-rate
    schedule, early stopping); for example an Optuna pruning callback.""",
    "pin_memory": """pin_memory : bool, default=False
    Page-locked batches for faster copies to the GPU (CUDA only;
    ignored on CPU).

    .. versionadded:: 0.2""",
    "persistent_workers": """persistent_workers : bool, default=False
    Keep the worker processes (and what they opened) from one epoch to
    the next; needs ``num_workers > 0``.

    .. versionadded:: 0.2""",
    "verbose": """verbose : int, default=0
    ``> 0`` prints skorch's epoch table.""",
    "net_": """net_ : FrameNet
    The fitted skorch net (``net_.module_`` is the network, ``net_.history``
    the training log).""",
    "classes_": """classes_ : ndarray of shape (2,)
    Class labels, sorted; the fake one is
    ``classes_[fake_class_index(classes_)]`` (1, True or "FAKE"; see
    :func:`~sklearn_deepfake.utils.fake_class_index`).""",
    "device_": """device_ : torch.device
    Resolved device.""",
    "n_epochs_": """n_epochs_ : int
    Epochs run.""",
    "best_epoch_": """best_epoch_ : int or None
    Epoch (1-based) whose weights were kept by early stopping.""",
    "valid_videos_": """valid_videos_ : ndarray of int
    Positions (in the training ``X``) of the validation videos.""",
}


class VideoClassifierMixin(ProbaClassifierMixin):
    """Binary per-video classifier on ``list[FaceTracks]`` (or frame features).

    Subclasses set ``classes_``, ``eps`` and ``random_state`` and implement
    ``_video_fake_proba(X)``, the fake probability of each video before
    clipping. The fake class is
    ``classes_[fake_class_index(classes_)]``
    (:func:`~sklearn_deepfake.utils.fake_class_index`): ``1``, True or
    ``"FAKE"``, so with the DFDC labels ``["FAKE", "REAL"]`` it is column 0
    of ``predict_proba``.
    """

    def _fake_index(self) -> int:
        return fake_class_index(self.classes_)

    def _clip_eps(self) -> float:
        """Clipping in use; a subclass whose ``eps`` may be None overrides it."""
        return self.eps

    def _proba_columns(self, fake: Any) -> np.ndarray:
        """Clip fake probabilities to ``[eps, 1 - eps]``; columns of ``classes_``."""
        eps = self._clip_eps()
        fake = clip_values(np.asarray(fake, dtype=np.float64), eps)
        out = np.column_stack([1.0 - fake, fake])
        return out if self._fake_index() == 1 else out[:, ::-1].copy()

    @fill_doc(NET_DOCS)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Return ``(n_videos, 2)`` class probabilities.

        Parameters
        ----------
        X : list
            One element per video: a FaceTracks record, or the
            ``(n_frames_i, n_features)`` frame features of
            :class:`~sklearn_deepfake.nets.TemporalClassifier`.

        Returns
        -------
        %(proba)s
            A video with nothing to score (no face, clip or frame) gets the
            fallback ``empty_proba_``, or the training prior ``prior_`` in
            :class:`~sklearn_deepfake.nets.VideoCNNClassifier`
            (:class:`~sklearn_deepfake.nets.TemporalClassifier` also warns).
        """
        return self._proba_columns(self._video_fake_proba(X))

    def _tie_class_index(self) -> int:
        """Give a tie to the fake class (predicted where its probability >= 0.5)."""
        return self._fake_index()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.classifier_tags.multi_class = False
        tags.non_deterministic = self.random_state is None
        return tags


class FrameScoreClassifierMixin(VideoClassifierMixin):
    """Per-video classifier that pools the fake probabilities of the crops.

    Subclasses implement ``_stream_scores(X)`` (the per-crop fake
    probabilities of each video of a checked ``list[FaceTracks]``) and
    ``_pool_rules()`` (the ``aggregation`` and ``track_pooling`` of
    :func:`~sklearn_deepfake.features.pool_track_scores`), and set
    ``empty_proba_``.
    """

    @fill_doc(NET_DOCS)
    def predict_frame_proba(self, X: Any) -> list[np.ndarray]:
        """Return each video's per-crop fake probabilities.

        Parameters
        ----------
        %(X_tracks)s

        Returns
        -------
        proba : list of ndarray of float32, shape (n_rows_i,)
            Empty for a video without faces.
        """
        check_is_fitted(self)
        X = check_per_video(X, kind=FaceTracks)
        return self._stream_scores(X)

    def _video_fake_proba(self, X: Any) -> np.ndarray:
        """Pooled fake probability of each video, before clipping.

        A video's crop scores are pooled per face track, then over the
        tracks (:func:`~sklearn_deepfake.features.pool_track_scores`).
        """
        check_is_fitted(self)
        X = check_per_video(X, kind=FaceTracks)
        scores = self._stream_scores(X)
        return np.array(
            [self._pool_video(t, p) for t, p in zip(X, scores, strict=True)],
            dtype=np.float64,
        )

    def _pool_video(self, track: FaceTracks, scores: np.ndarray) -> float:
        """Pool a video's crop scores per face track, then over the tracks."""
        if not len(scores):
            return float(self.empty_proba_)
        aggregation, track_pooling = self._pool_rules()
        return pool_track_scores(scores, track.track_ids, aggregation, track_pooling)


#: Constraints of the training parameters that every deep classifier has
#: (:class:`NetTrainingMixin`); each class adds its own to these.
_TRAINING_CONSTRAINTS: dict[str, list[Any]] = {
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "lr": [Interval(Real, 0, None, closed="neither")],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "grad_clip": [Interval(Real, 0, None, closed="neither"), None],
    "class_weight": [StrOptions({"balanced"}), None],
    "class_balance": [StrOptions({"epoch"}), None],
    "valid_size": [Interval(Real, 0, 1, closed="left"), None],
    "patience": [Interval(Integral, 1, None, closed="left")],
    "eps": [Interval(Real, 0, 0.5, closed="left")],
    "device": [str, torch.device, None],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}

#: Constraints of the parameters of the fine-tuners that read face crops
#: (:class:`~sklearn_deepfake.nets.FaceCNNClassifier`,
#: :class:`~sklearn_deepfake.nets.VideoCNNClassifier`): starting weights,
#: ``DataLoader`` workers and extra skorch callbacks.
_FINE_TUNING_CONSTRAINTS: dict[str, list[Any]] = {
    "pretrained": ["boolean"],
    "weights": [str, os.PathLike, None],
    "num_workers": [Interval(Integral, 0, None, closed="left")],
    "pin_memory": ["boolean"],
    "persistent_workers": ["boolean"],
    "callbacks": [list, None],
}


class NetTrainingMixin:
    """Parameter rules and the seeded skorch training of the deep classifiers.

    The subclass has the parameters of :data:`_TRAINING_CONSTRAINTS` (and
    ``callbacks``, optional), and a method ``_fit_net(..., seed=...)`` that
    builds the datasets and the module and calls :meth:`_train_net`.
    """

    def _check_workers(self) -> None:
        """Refuse ``persistent_workers=True`` without ``num_workers``."""
        if self.persistent_workers and not self.num_workers:
            raise ValueError("persistent_workers=True needs num_workers > 0.")

    def _train_valid_split(
        self,
        y01: np.ndarray,
        groups: Any,
        n_items: np.ndarray,
        seed: int,
        *,
        item: str,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Sorted train and validation positions of the videos.

        A group-aware split of ``valid_size`` (no validation when it is 0 or
        None, or with fewer than two groups). When one side would have no
        item (``n_items``: the number of items of each video, ``item`` names
        them in the warning), warns and trains on all videos.
        """
        from sklearn_deepfake.nets._training import group_train_valid_split

        all_videos = np.arange(len(y01))
        n_groups = len(y01) if groups is None else len(np.unique(groups))
        if not self.valid_size or n_groups < 2:
            return all_videos, all_videos[:0]
        train, valid = group_train_valid_split(
            len(y01), self.valid_size, groups, y01, seed
        )
        if not n_items[valid].any() or not n_items[train].any():
            # stacklevel: fit, _seeded_fit_net, _fit_net, here.
            warnings.warn(
                f"The validation split has no {item} on one side; training on "
                "all videos without early stopping.",
                UserWarning,
                stacklevel=4,
            )
            return all_videos, all_videos[:0]
        return np.sort(train), np.sort(valid)

    def _seeded_fit_net(self, *args: Any, **kwargs: Any) -> None:
        """Set ``device_``; run ``_fit_net(*args, seed=seed)`` under a torch seed.

        The seed is drawn from ``random_state``; torch's global generators
        are restored afterwards (:func:`~sklearn_deepfake.nets._training.torch_seeded`).
        """
        from sklearn.utils import check_random_state

        from sklearn_deepfake.nets._training import torch_seeded
        from sklearn_deepfake.utils._device import resolve_device

        self.device_ = resolve_device(self.device)
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        with torch_seeded(self.device_, seed):
            self._fit_net(*args, seed=seed, **kwargs)

    def _train_net(
        self,
        module: Any,
        train_ds: Any,
        valid_ds: Any,
        *,
        seed: int,
        train_labels: Any,
        **kwargs: Any,
    ) -> None:
        """Fit ``net_`` on ``train_ds`` and set ``n_epochs_``.

        Calls :func:`~sklearn_deepfake.nets._training.train_frame_net` with the
        estimator's parameters; ``pos_weight`` is balanced on ``train_labels``
        (0/1 label of each training item) when ``class_weight="balanced"``.
        ``kwargs`` go to ``train_frame_net`` (``lr`` overrides the parameter).
        """
        from sklearn_deepfake.nets._training import (
            balanced_pos_weight,
            train_frame_net,
        )

        pos_weight = None
        if self.class_weight == "balanced":
            pos_weight = balanced_pos_weight(train_labels)
        params = {
            name: getattr(self, name)
            for name in (
                "lr",
                "weight_decay",
                "max_epochs",
                "batch_size",
                "patience",
                "grad_clip",
                "verbose",
            )
        }
        params.update(kwargs)
        self.net_ = train_frame_net(
            module,
            train_ds,
            valid_ds,
            pos_weight=pos_weight,
            device=self.device_,
            seed=seed,
            callbacks=getattr(self, "callbacks", None) or [],
            **params,
        )
        self.n_epochs_ = len(self.net_.history)
