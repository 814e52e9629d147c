"""Training machinery of the face classifiers: data, split, skorch net.

- :class:`FrameDataset` indexes ``(video, row)`` pairs of a list of
  :class:`~sklearn_deepfake.utils.FaceTracks` lazily (no crop is copied into
  one big array), optionally samples at most ``k`` rows per video per epoch,
  and augments each crop from a generator seeded by ``(seed, epoch, item)``.
- :func:`group_train_valid_split` is the group-aware internal validation
  split (frames of one video, or videos of one group, stay on one side).
- :class:`FrameNet` is a skorch :class:`~skorch.NeuralNet` whose training
  step adds CutMix, label smoothing, mixed precision and gradient clipping.
- :func:`one_cycle` builds ``OneCycleLR`` with one peak learning rate per
  parameter group (the groups' own learning rates).
- :func:`train_frame_net` builds, fits and releases the :class:`FrameNet` of
  the deep classifiers; :func:`torch_seeded`, :func:`balanced_pos_weight` and
  :func:`best_valid_epoch` are the steps around it that they share.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback
from skorch.dataset import unpack_data

from sklearn_deepfake.nets._augment import FaceAugmenter, cutmix_batch
from sklearn_deepfake.utils._ragged import FaceTracks

__all__ = [
    "EpochItems",
    "EpochLoader",
    "EpochSampler",
    "EpochSetter",
    "FaceNet",
    "FrameDataset",
    "FrameNet",
    "RowChunks",
    "balanced_pos_weight",
    "balanced_videos",
    "best_valid_epoch",
    "group_train_valid_split",
    "loader_kwargs",
    "one_cycle",
    "stream_row_scores",
    "torch_seeded",
    "train_frame_net",
]


class EpochItems:
    """Epoch-keyed items: what the datasets of the deep classifiers share.

    A subclass computes the items of an epoch in :meth:`epoch_items`, a pure
    function of ``(seed, epoch)``; :meth:`set_epoch` makes an epoch current
    (in the main process). Items are fetched either by position in the
    current epoch or by an ``(epoch, position)`` key, as yielded by
    :class:`EpochSampler`: a copy of the dataset held by a (persistent)
    ``DataLoader`` worker process then recomputes the items of the epoch
    named in the key, so it never serves a stale epoch whatever the worker
    count. Pickles leave out the per-epoch arrays (they are recomputed).
    """

    epoch = 0
    _items: Any = None
    _items_epoch: int | None = None

    def epoch_items(self, epoch: int) -> Any:
        """Return the items of ``epoch`` (defined by the subclass)."""
        raise NotImplementedError

    def set_epoch(self, epoch: int) -> None:
        """Make ``epoch`` the current epoch."""
        self.epoch = int(epoch)
        self._use_epoch(self.epoch)

    def _use_epoch(self, epoch: int) -> Any:
        if self._items_epoch != epoch or self._items is None:
            self._items = self.epoch_items(epoch)
            self._items_epoch = epoch
        return self._items

    def _key(self, key: Any) -> tuple[int, int]:
        """``(epoch, position)`` of an item key; makes its epoch's items ready."""
        if isinstance(key, (tuple, list)):
            epoch, i = int(key[0]), int(key[1])
        else:
            epoch, i = self.epoch, int(key)
        self._use_epoch(epoch)
        return epoch, i

    def _epoch_videos(self, epoch: int, n_items: np.ndarray) -> np.ndarray:
        """Positions of the videos of ``epoch``, given each video's item count.

        All the videos, or with the subclass's ``balance`` a class-balanced
        draw among those with items (:func:`balanced_videos` on its
        ``labels`` and ``seed``).
        """
        if not self.balance:
            return np.arange(len(n_items))
        return balanced_videos(self.labels, n_items > 0, self.seed, int(epoch))

    def epoch_len(self, epoch: int) -> int:
        """Return the number of items of ``epoch``."""
        return len(self.epoch_items(epoch)[0])

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_items"] = None
        state["_items_epoch"] = None
        for name in self._transient:
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    _transient: tuple[str, ...] = ()


class EpochSampler(torch.utils.data.Sampler):
    """Yield ``(epoch, position)`` keys of an :class:`EpochItems` dataset.

    The keys carry the epoch to the ``DataLoader`` worker processes
    (persistent ones included), which fetch the items of that epoch. The
    order is drawn in the main process, so it does not depend on the number
    of workers: with ``generator``, from it exactly as
    :class:`~torch.utils.data.RandomSampler` does (one ``randperm`` per
    epoch and one more when the pass ends), so that a ``DataLoader`` given
    the same generator shuffles as with ``shuffle=True``; without it, a
    permutation drawn from ``(seed, epoch)``.

    Parameters
    ----------
    dataset : EpochItems
        The dataset; its ``epoch`` (set by :class:`EpochSetter`) is read at
        the start of each pass.
    seed : int, default=0
        Seed of the order when ``generator`` is None.
    shuffle : bool, default=True
        Shuffle each epoch.
    generator : torch.Generator or None, default=None
        Generator of the order (the ``DataLoader``'s own, typically).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.nets._training import EpochSampler, FrameDataset
    >>> from sklearn_deepfake.utils._testing import make_tiny_face_tracks
    >>> ds = FrameDataset(make_tiny_face_tracks(2, size=16, empty=()), [0, 1],
    ...                   frames_per_video=2, augmenter=None, size=16, seed=0,
    ...                   shuffle_rows=True)
    >>> keys = list(EpochSampler(ds, seed=0))
    >>> len(keys), sorted(i for _, i in keys), {e for e, _ in keys}
    (4, [0, 1, 2, 3], {0})
    """

    def __init__(
        self,
        dataset: EpochItems,
        seed: int = 0,
        shuffle: bool = True,
        generator: torch.Generator | None = None,
    ) -> None:
        self.dataset = dataset
        self.seed = int(seed)
        self.shuffle = shuffle
        self.generator = generator

    def __len__(self) -> int:
        return len(self.dataset)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch = int(self.dataset.epoch)
        n = self.dataset.epoch_len(epoch)
        if not self.shuffle:
            order = range(n)
        elif self.generator is not None:
            order = torch.randperm(n, generator=self.generator).tolist()
        else:
            order = np.random.default_rng([self.seed, epoch, 17]).permutation(n)
        for i in order:
            yield epoch, int(i)
        if self.shuffle and self.generator is not None:
            torch.randperm(n, generator=self.generator)  # as RandomSampler


def balanced_videos(
    labels: np.ndarray, has_items: np.ndarray, seed: int, epoch: int
) -> np.ndarray:
    """Sorted positions of an epoch's videos, as many real ones as fake ones.

    Every video of the smaller class that has items is kept, with as many
    videos of the larger class: the larger class is shuffled once per cycle
    of ``ceil(n_larger / n_smaller)`` epochs (from ``(seed, cycle)``) and
    each epoch of the cycle takes the next slice, so that every video of the
    larger class is used once per cycle (DFDC, 5:1: every fake once in 5
    epochs). With one class only, every video with items is kept.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.nets._training import balanced_videos
    >>> labels = np.array([1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1], np.float32)
    >>> epochs = [balanced_videos(labels, np.ones(12, bool), 0, e) for e in range(5)]
    >>> [int(labels[v].sum()) for v in epochs]
    [2, 2, 2, 2, 2]
    >>> sorted(set(np.concatenate(epochs[:5]).tolist())) == list(range(12))
    True
    """
    ok = np.asarray(has_items, bool)
    fake = np.flatnonzero(ok & (labels > 0.5))
    real = np.flatnonzero(ok & (labels <= 0.5))
    n = min(len(fake), len(real))
    if n == 0:
        return np.flatnonzero(ok)
    major, minor = (fake, real) if len(fake) > len(real) else (real, fake)
    cycle, part = divmod(int(epoch), math.ceil(len(major) / n))
    perm = np.random.default_rng([int(seed), cycle, 13]).permutation(major)
    chosen = perm[part * n : (part + 1) * n]
    if len(chosen) < n:  # the last slice of a cycle: fill from its start
        chosen = np.concatenate([chosen, perm[: n - len(chosen)]])
    return np.sort(np.concatenate([minor, chosen]))


class _LRU(dict):
    """A small dict that forgets its oldest entries (per-video caches)."""

    def __init__(self, maxsize: int = 256) -> None:
        super().__init__()
        self.maxsize = maxsize

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        while len(self) > self.maxsize:
            del self[next(iter(self))]


class FrameDataset(EpochItems, torch.utils.data.Dataset):
    """Face crops of several videos, indexed lazily as ``(video, row)`` pairs.

    Only ``len(track)`` of each record is read up front; each item reads its
    one crop with :meth:`~sklearn_deepfake.utils.FaceTracks.crops_at` (and,
    when augmenting or blending, that video's landmarks and boxes), so
    records that keep their crops on disk (the face store's lazy records)
    are never loaded whole, and the dataset's memory grows by one integer
    per video. Items can be fetched by ``(epoch, position)`` keys from
    :class:`EpochSampler`, so that ``DataLoader`` workers follow the epochs.

    Parameters
    ----------
    tracks : list of FaceTracks
        One record per video (only referenced, never copied).
    labels : array-like of float, shape (n_videos,)
        Label of each video, given to all its rows.
    frames_per_video : int or None
        At most this many rows per video and epoch: a random subset drawn
        anew each epoch when ``shuffle_rows`` is True, else evenly spaced
        rows. ``None`` keeps every row.
    augmenter : FaceAugmenter or None
        Applied to each crop when given.
    size : int
        Side of the crops returned; crops of another size are resized.
    seed : int
        Seed of the row sampling and of the augmentation.
    shuffle_rows : bool
        Draw the rows of each epoch at random (training) or take them evenly
        spaced (validation).
    self_blend : SelfBlendedFaces or None, default=None
        When given, crops of real videos (label 0) also give self-blended
        pseudo-fakes (label 1), made on the fly from a generator seeded by
        ``(seed, epoch, item)``, before the augmentation.
    self_blend_mode : {"add", "replace"}, default="add"
        ``"add"``: every real row of the epoch gives two items, the crop and
        its pseudo-fake. ``"replace"``: every real row is replaced by its
        pseudo-fake with probability 1/2 (the epoch keeps its size).
    balance : bool, default=False
        Each epoch uses every video of the smaller class (among videos with
        rows) and as many videos of the larger class, drawn anew from
        ``(seed, epoch)`` (see :func:`balanced_videos`).
    partners : array-like of int, shape (n_videos,), default=None
        Position in ``tracks`` of each video's original (-1 for none), for
        fakes cut with their original's boxes
        (:func:`~sklearn_deepfake.faces.extract_pairs`); the crop of the
        original at the same track and frame is a fake crop's partner.
    part_erasure : {"diff", "landmarks"} or None, default=None
        ``"diff"``: with probability ``erase_p``, a fake crop with a partner
        gets a face part blacked out where it differs from the partner
        (:func:`~sklearn_deepfake.nets.erase_by_difference`); any other crop
        gets one face part from its landmarks blacked out
        (:func:`~sklearn_deepfake.nets._augment.erase_face_part`). Done
        before ``augmenter``. Other values: nothing here (``"landmarks"``
        is the augmenter's own ``face_part``).
    erase_p : float, default=0.0
        Probability of the ``"diff"`` erasure.
    pair_mixup : float or None, default=None
        When given, a fake crop with a partner is replaced, with probability
        1/2, by ``mix_pair(fake, partner, lam)`` with ``lam ~ Beta(a, a)``
        (``a = pair_mixup``) and labelled ``lam``; such a crop is not erased.

    Attributes
    ----------
    pairs : ndarray of int64, shape (n_items, 2)
        ``(video, row)`` of each item of the current epoch.
    blended : ndarray of bool, shape (n_items,)
        Whether each item is a self-blended pseudo-fake.
    """

    _transient = ("_boxes", "_partner_rows")

    def __init__(
        self,
        tracks: Sequence[FaceTracks],
        labels: Any,
        *,
        frames_per_video: int | None,
        augmenter: FaceAugmenter | None,
        size: int,
        seed: int,
        shuffle_rows: bool,
        self_blend: Any = None,
        self_blend_mode: str = "add",
        balance: bool = False,
        partners: Any = None,
        part_erasure: str | None = None,
        erase_p: float = 0.0,
        pair_mixup: float | None = None,
    ) -> None:
        self.tracks = list(tracks)
        self.labels = np.asarray(labels, dtype=np.float32)
        self.n_rows = np.array([len(t) for t in self.tracks], dtype=np.int64)
        self.frames_per_video = frames_per_video
        self.augmenter = augmenter
        self.size = int(size)
        self.seed = int(seed)
        self.shuffle_rows = shuffle_rows
        self.self_blend = self_blend
        self.self_blend_mode = self_blend_mode
        self.balance = bool(balance)
        self.partners = (
            None if partners is None else np.asarray(partners, dtype=np.int64)
        )
        self.part_erasure = part_erasure
        self.erase_p = float(erase_p)
        self.pair_mixup = pair_mixup
        self.set_epoch(0)

    @property
    def pairs(self) -> np.ndarray:
        return self._use_epoch(self.epoch)[0]

    @property
    def blended(self) -> np.ndarray:
        return self._use_epoch(self.epoch)[1]

    def epoch_items(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """``(pairs, blended)`` of ``epoch``; reads no record beyond ``len``."""
        rng = np.random.default_rng([self.seed, int(epoch), 7])
        k = self.frames_per_video
        videos = self._epoch_videos(epoch, self.n_rows)
        pairs = []
        for v in videos:
            n = int(self.n_rows[v])
            if k is None or n <= k:
                rows = np.arange(n)
            elif self.shuffle_rows:
                rows = np.sort(rng.choice(n, size=k, replace=False))
            else:
                rows = np.unique(np.linspace(0, n - 1, k).round().astype(np.int64))
            pairs.append(np.stack([np.full(len(rows), v), rows], axis=1))
        pairs = (
            np.concatenate(pairs).astype(np.int64) if pairs else np.zeros((0, 2), int)
        )
        blended = np.zeros(len(pairs), dtype=bool)
        if self.self_blend is not None and len(pairs):
            real = self.labels[pairs[:, 0]] == 0
            if self.self_blend_mode == "add":
                # Each real item is followed by its pseudo-fake.
                order = np.argsort(
                    np.concatenate([np.arange(len(pairs)), np.flatnonzero(real)]),
                    kind="stable",
                )
                pairs = np.concatenate([pairs, pairs[real]])[order]
                blended = np.concatenate([blended, np.ones(int(real.sum()), bool)])[
                    order
                ]
            else:
                blended = real & (rng.random(len(pairs)) < 0.5)
        return pairs.astype(np.int64), blended

    def __len__(self) -> int:
        return len(self.pairs)

    def row_labels(self) -> np.ndarray:
        """Label of every item of the current epoch."""
        return np.where(self.blended, np.float32(1), self.labels[self.pairs[:, 0]])

    def __getitem__(self, key: Any) -> tuple[torch.Tensor, torch.Tensor]:
        import cv2

        epoch, i = self._key(key)
        pairs, blended = self._items
        v, r = (int(a) for a in pairs[i])
        track = self.tracks[v]
        img = track.crops_at([r])[0]
        if img.shape[0] != self.size or img.shape[1] != self.size:
            img = cv2.resize(img, (self.size, self.size), interpolation=cv2.INTER_AREA)
        label = self.labels[v]
        landmarks = None
        if blended[i] or self.augmenter is not None:
            landmarks = np.asarray(track.landmarks[r])
        if blended[i]:
            img = self._blend(img, landmarks, v, r, epoch, i)
            label = np.float32(1)
        elif self.part_erasure == "diff" or self.pair_mixup:
            img, label = self._pair_tricks(img, label, v, r, epoch, i)
        if self.augmenter is not None:
            rng = np.random.default_rng([self.seed, epoch, int(i)])
            img = self.augmenter(img, landmarks, rng)
        x = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
        return x, torch.tensor(label)

    def _partner_crop(self, v: int, r: int) -> np.ndarray | None:
        """Return the original's crop aligned with row ``r`` of fake ``v`` (or None)."""
        import cv2

        from sklearn_deepfake.nets._pairs import partner_rows

        if self.partners is None or self.labels[v] <= 0.5:
            return None
        o = int(self.partners[v])
        if o < 0 or self.tracks[o].crop_size != self.tracks[v].crop_size:
            return None
        rows = self.__dict__.setdefault("_partner_rows", _LRU())
        if v not in rows:
            rows[v] = partner_rows(self.tracks[v], self.tracks[o])
        ro = int(rows[v][r])
        if ro < 0:
            return None
        img = self.tracks[o].crops_at([ro])[0]
        if img.shape[0] != self.size or img.shape[1] != self.size:
            img = cv2.resize(img, (self.size, self.size), interpolation=cv2.INTER_AREA)
        return img

    def _pair_tricks(
        self, img: np.ndarray, label: Any, v: int, r: int, epoch: int, i: int
    ) -> tuple[np.ndarray, Any]:
        """Pair mixup or difference-mask erasure of one crop (see the class)."""
        from sklearn_deepfake.nets._augment import _FACE_PARTS, erase_face_part
        from sklearn_deepfake.nets._pairs import erase_by_difference, mix_pair

        rng = np.random.default_rng([self.seed, epoch, int(i), 5])
        partner = self._partner_crop(v, r)
        if partner is not None and self.pair_mixup and rng.random() < 0.5:
            a = float(self.pair_mixup)
            img, lam = mix_pair(img, partner, rng.beta(a, a))
            return img, np.float32(lam)
        if self.part_erasure != "diff" or not rng.random() < self.erase_p:
            return img, label
        track = self.tracks[v]
        landmarks = np.asarray(track.landmarks[r], dtype=np.float64)
        if track.crop_size != self.size:
            landmarks = landmarks * (self.size / track.crop_size)
        if partner is not None:
            return erase_by_difference(img, partner, landmarks, rng)[0], label
        part = _FACE_PARTS[int(rng.integers(len(_FACE_PARTS)))]
        if np.isfinite(landmarks).all() and np.any(landmarks != 0):
            img = erase_face_part(img, landmarks, part)
        return img, label

    def _blend(
        self, img: np.ndarray, landmarks: np.ndarray, v: int, r: int, epoch: int, i: int
    ) -> np.ndarray:
        from sklearn_deepfake.faces._geometry import face_boxes_in_crop_raw

        track = self.tracks[v]
        boxes = self.__dict__.setdefault("_boxes", _LRU())
        if v not in boxes:
            boxes[v] = face_boxes_in_crop_raw(track)
        box = boxes[v][r]
        if track.crop_size != self.size:  # the crop was resized above
            f = self.size / track.crop_size
            box, landmarks = box * f, landmarks * f
        box = None if np.isnan(box).any() else box
        rng = np.random.default_rng([self.seed, epoch, int(i), 3])
        return self.self_blend.blend(img, landmarks, box, rng)[0]


class RowChunks(torch.utils.data.Dataset):
    """All face rows of a list of records, in order, in chunks of ``batch_size``.

    Item ``i`` holds the global rows ``[i * batch_size, (i + 1) * batch_size)``
    as a list of ``(video, uint8 crops)`` segments, each read with
    :meth:`~sklearn_deepfake.utils.FaceTracks.crops_at`; only the rows'
    offsets (one integer per video) are kept. The prediction ``DataLoader``
    of :func:`stream_row_scores` goes through it with ``batch_size=None``.
    """

    def __init__(self, tracks: Sequence[FaceTracks], batch_size: int) -> None:
        self.tracks = list(tracks)
        self.batch_size = int(batch_size)
        self.offsets = np.concatenate(
            [[0], np.cumsum([len(t) for t in self.tracks], dtype=np.int64)]
        )

    def __len__(self) -> int:
        return math.ceil(int(self.offsets[-1]) / self.batch_size)

    def __getitem__(self, i: int) -> list[tuple[int, torch.Tensor]]:
        start = int(i) * self.batch_size
        rows = np.arange(start, min(start + self.batch_size, int(self.offsets[-1])))
        video = np.searchsorted(self.offsets, rows, side="right") - 1
        out = []
        for v in np.unique(video):
            crops = self.tracks[v].crops_at(rows[video == v] - self.offsets[v])
            out.append((int(v), torch.from_numpy(np.ascontiguousarray(crops))))
        return out


def stream_row_scores(
    module: torch.nn.Module,
    tracks: Sequence[FaceTracks],
    *,
    batch_size: int,
    device: torch.device,
    num_workers: int = 0,
    pin_memory: bool = False,
    amp_dtype: torch.dtype | str | None = "auto",
) -> list[np.ndarray]:
    """Sigmoid of ``module`` on every face row, streamed batch by batch.

    ``amp_dtype``: ``"auto"`` autocasts to float16 on CUDA only; None runs
    in float32; a dtype autocasts to it on any device.

    A ``DataLoader`` (``num_workers`` processes) reads the crops of one
    batch at a time through :class:`RowChunks`, so the crops of all videos
    are never held at once; only the scores are kept.

    Returns
    -------
    scores : list of ndarray of float32, shape (n_rows_i,)
        One array per record, empty for a record without rows.
    """
    device = torch.device(device)
    per_video: list[list[np.ndarray]] = [[] for _ in tracks]
    loader = torch.utils.data.DataLoader(
        RowChunks(tracks, batch_size),
        batch_size=None,
        num_workers=int(num_workers),
        pin_memory=bool(pin_memory) and device.type == "cuda",
        generator=torch.Generator().manual_seed(0),  # leaves torch's global one
    )
    module.eval()
    with (
        torch.inference_mode(),
        _inference_autocast(device, amp_dtype),
    ):
        for segments in loader:
            by_shape: dict[tuple, list] = {}
            for v, crops in segments:
                by_shape.setdefault(tuple(crops.shape[1:]), []).append((v, crops))
            for group in by_shape.values():
                x = torch.cat([c for _, c in group]).permute(0, 3, 1, 2)
                p = torch.sigmoid(module(x.to(device)).float()).cpu().numpy()
                bounds = np.cumsum([len(c) for _, c in group])[:-1]
                for (v, _), part in zip(group, np.split(p, bounds), strict=True):
                    per_video[v].append(part)
    return [
        np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)
        for parts in per_video
    ]


def _inference_autocast(device: torch.device, amp_dtype: Any) -> Any:
    if isinstance(amp_dtype, str):  # "auto"
        return torch.autocast(device.type, enabled=device.type == "cuda")
    if amp_dtype is None:
        return torch.autocast(device.type, enabled=False)
    return torch.autocast(device.type, dtype=amp_dtype)


def group_train_valid_split(
    n_videos: int, valid_size: float, groups: Any, y: Any, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split videos into train and validation positions, keeping groups whole.

    Uses :class:`~sklearn.model_selection.GroupShuffleSplit` on ``groups``
    (a fake and its original share a group), or on the video index when
    ``groups`` is None. A few redraws try to get both classes in each side.

    Returns
    -------
    train, valid : ndarray of int
        Positions of the videos on each side.

    Examples
    --------
    >>> from sklearn_deepfake.nets._training import group_train_valid_split
    >>> tr, va = group_train_valid_split(6, 0.3, [0, 0, 1, 1, 2, 2], None, 0)
    >>> sorted(tr.tolist() + va.tolist()), len(va)
    ([0, 1, 2, 3, 4, 5], 2)
    """
    from sklearn.model_selection import GroupShuffleSplit

    groups = np.arange(n_videos) if groups is None else np.asarray(groups)
    if len(groups) != n_videos:
        raise ValueError(f"groups has {len(groups)} entries for {n_videos} videos.")
    splitter = GroupShuffleSplit(n_splits=10, test_size=valid_size, random_state=seed)
    first = None
    for train, valid in splitter.split(np.zeros(n_videos), groups=groups):
        first = first or (train, valid)
        if y is None:
            break
        y = np.asarray(y)
        if len(np.unique(y[train])) == 2 and len(np.unique(y[valid])) == 2:
            return train, valid
    return first


class FaceNet(torch.nn.Module):
    """A timm backbone with one logit, fed uint8 crops.

    Scales ``uint8 (B, 3, S, S)`` input to [0, 1], resizes it to
    ``input_size`` when given, normalises it with the backbone's mean and
    standard deviation and returns the logits, shape ``(B,)``.

    When the attribute ``freeze_backbone`` is True, :meth:`train` keeps the
    backbone, all but its classifier head, in evaluation mode: the running
    statistics of its batch-norm layers stay those it started with, and its
    dropout is off, as for a fixed feature extractor.
    """

    freeze_backbone = False

    def __init__(
        self,
        backbone: torch.nn.Module,
        mean: Sequence[float],
        std: Sequence[float],
        input_size: int | None,
        channels_last: bool,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))
        self.input_size = input_size
        self.channels_last = channels_last

    def train(self, mode: bool = True) -> FaceNet:
        """Set the training mode; a frozen backbone stays in evaluation mode."""
        super().train(mode)
        if mode and self.freeze_backbone:
            self.backbone.eval()
            self.backbone.get_classifier().train(True)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import torch.nn.functional as F

        x = x.float().div(255.0) if x.dtype == torch.uint8 else x.float()
        if self.input_size and x.shape[-1] != self.input_size:
            x = F.interpolate(
                x,
                size=(self.input_size, self.input_size),
                mode="bilinear",
                align_corners=False,
                antialias=True,
            )
        x = (x - self.mean) / self.std
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.backbone(x).float().reshape(-1)


class FrameNet(NeuralNet):
    """skorch net with CutMix, label smoothing, AMP and gradient clipping.

    The extra settings are plain attributes set after construction (not
    skorch parameters): ``cutmix_p``, ``label_smoothing``, ``grad_clip``,
    ``use_amp`` and ``mix_seed``.
    """

    cutmix_p = 0.0
    label_smoothing = 0.0
    grad_clip: float | None = None
    use_amp = False
    amp_dtype: torch.dtype | None = None  # None: float16
    mix_seed = 0

    def _autocast(self, device: torch.device) -> Any:
        """Autocast context of the training and validation steps."""
        dtype = self.amp_dtype or torch.float16
        return torch.autocast(device.type, dtype=dtype, enabled=self.use_amp)

    def on_train_begin(self, net: Any, X: Any = None, y: Any = None, **kw: Any) -> None:
        """Create the batch-mixing generator and the gradient scaler."""
        super().on_train_begin(net, X=X, y=y, **kw)
        self._mix_rng = np.random.default_rng([self.mix_seed, 11])
        # Loss scaling is for float16 only; bfloat16 has float32's range.
        fp16 = self.amp_dtype in (None, torch.float16)
        self._scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp and fp16)

    def train_step(self, batch: Any, **fit_params: Any) -> dict:
        """One optimisation step on one batch."""
        self._set_training(True)
        device = torch.device(self.device)
        Xi, yi = unpack_data(batch)
        Xi = Xi.to(device)
        yi = yi.to(device).float()
        if self.cutmix_p > 0 and len(Xi) > 1 and self._mix_rng.random() < self.cutmix_p:
            Xi, yi, _ = cutmix_batch(Xi, yi, self._mix_rng)
        if self.label_smoothing:
            yi = yi * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        self.optimizer_.zero_grad(set_to_none=True)
        with self._autocast(device):
            y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred.float(), yi, X=Xi, training=True)
        self._scaler.scale(loss).backward()
        if self.grad_clip:
            self._scaler.unscale_(self.optimizer_)
            torch.nn.utils.clip_grad_norm_(
                self.module_.parameters(), max_norm=float(self.grad_clip)
            )
        self._scaler.step(self.optimizer_)
        self._scaler.update()
        return {"loss": loss, "y_pred": y_pred}

    def validation_step(self, batch: Any, **fit_params: Any) -> dict:
        """Loss on one validation batch, with the hard labels."""
        self._set_training(False)
        device = torch.device(self.device)
        Xi, yi = unpack_data(batch)
        with torch.no_grad(), self._autocast(device):
            y_pred = self.infer(Xi.to(device), **fit_params)
        loss = self.get_loss(
            y_pred.float(), yi.to(device).float(), X=Xi, training=False
        )
        return {"loss": loss, "y_pred": y_pred}

    def release_training_state(self) -> None:
        """Drop what only training needs: data, optimiser, schedule, best copy.

        Keeps the module, the criterion and the history, so that the pickled
        net is about the size of the network's weights. The net can no longer
        continue training after this (a warm start builds a new net).
        """
        self.train_split = None
        self.optimizer_ = None
        for name in [k for k in vars(self) if k.startswith("iterator_train__sampler")]:
            setattr(self, name, None)
        # The module instance given to __init__ is module_ itself; keep its
        # class only, or pickles would hold the weights twice.
        if isinstance(self.module, torch.nn.Module):
            self.module = type(self.module)
        for _, cb in self.callbacks_:
            for attr in ("dataset", "lr_scheduler_", "best_model_weights_"):
                if getattr(cb, attr, None) is not None:
                    setattr(cb, attr, None)

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state.pop("_mix_rng", None)
        state.pop("_scaler", None)
        return state


class EpochLoader(torch.utils.data.DataLoader):
    """A ``DataLoader`` whose persistent-worker passes draw as fresh ones do.

    skorch builds its loaders once per fit; with ``persistent_workers`` a
    new pass reuses the workers and skips the base-seed draw that a fresh
    pass makes from the loader's generator (torch's global one when None).
    Drawing it here keeps the batch order and the training's random state
    (dropout) the same with and without persistent workers.
    """

    def __iter__(self) -> Any:
        if self.persistent_workers and getattr(self, "_iterator", None) is not None:
            torch.empty((), dtype=torch.int64).random_(generator=self.generator)
        return super().__iter__()


class EpochSetter(Callback):
    """Tell the training dataset which epoch starts (row sampling, augment)."""

    def __init__(self, dataset: EpochItems | None = None) -> None:
        self.dataset = dataset

    def on_epoch_begin(self, net: Any, **kwargs: Any) -> None:
        if self.dataset is not None:
            self.dataset.set_epoch(len(net.history) - 1)


def one_cycle(optimizer: Any, *, total_steps: int, pct_start: float = 0.3, **kw: Any):
    """``OneCycleLR`` peaking at each parameter group's own learning rate."""
    max_lr = [group["lr"] for group in optimizer.param_groups]
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=max_lr,
        total_steps=max(int(total_steps), 1),
        pct_start=pct_start,
        **kw,
    )


def encode_video_labels(
    y: Any, n_videos: int, owner: str
) -> tuple[np.ndarray, np.ndarray]:
    """Check binary video labels; return ``(classes, y01 float32)``.

    ``classes`` is sorted (as scikit-learn's ``classes_``); ``y01`` is 1 for
    the fake class, ``classes[fake_class_index(classes)]`` (1, True or
    ``"FAKE"``, see :func:`~sklearn_deepfake.utils.fake_class_index`), so
    the networks always learn P(fake), whatever the order of the labels.

    Examples
    --------
    >>> from sklearn_deepfake.nets._training import encode_video_labels
    >>> classes, y01 = encode_video_labels(["REAL", "FAKE", "FAKE"], 3, "clf")
    >>> classes.tolist(), y01.tolist()
    (['FAKE', 'REAL'], [0.0, 1.0, 1.0])
    """
    from sklearn.preprocessing import LabelEncoder

    from sklearn_deepfake.utils._labels import fake_class_index

    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n_videos:
        raise ValueError(f"y must be 1-D with one label per video ({n_videos}).")
    encoder = LabelEncoder().fit(y)
    if len(encoder.classes_) != 2:
        raise ValueError(
            f"{owner} needs exactly 2 classes in y, got "
            f"{len(encoder.classes_)}: {encoder.classes_.tolist()}."
        )
    fake = fake_class_index(encoder.classes_)
    y01 = encoder.transform(y) == fake
    return encoder.classes_, y01.astype(np.float32)


def training_callbacks(
    train_ds: Any,
    *,
    total_steps: int,
    early_stopping: bool,
    patience: int,
    verbose: int,
) -> list[tuple[str, Any]]:
    """Epoch setter, one-cycle schedule per batch, optional early stopping.

    The caller's own callbacks (an estimator's ``callbacks`` parameter, which
    is where :func:`~sklearn_deepfake.model_selection.tune_pipeline` puts its
    Optuna pruning callback) come after these.
    """
    from skorch.callbacks import EarlyStopping, LRScheduler

    callbacks: list[tuple[str, Any]] = [
        ("epoch_setter", EpochSetter(train_ds)),
        (
            "lr_scheduler",
            LRScheduler(
                policy=one_cycle, step_every="batch", total_steps=int(total_steps)
            ),
        ),
    ]
    if early_stopping:
        callbacks.append(
            (
                "early_stopping",
                EarlyStopping(
                    monitor="valid_loss",
                    patience=int(patience),
                    load_best=True,
                    sink=print if verbose else _silent,
                ),
            )
        )
    return callbacks


def _silent(*args: Any, **kwargs: Any) -> None:
    return None


@contextmanager
def torch_seeded(device: torch.device, seed: int) -> Iterator[None]:
    """Seed torch with ``seed`` inside, restoring the global generators after.

    Forks the CPU generator, and that of ``device`` when it is a CUDA one,
    so that fitting a classifier leaves the caller's torch state as it was.

    Examples
    --------
    >>> import torch
    >>> from sklearn_deepfake.nets._training import torch_seeded
    >>> with torch_seeded(torch.device("cpu"), 0):
    ...     a = torch.rand(2)
    >>> with torch_seeded(torch.device("cpu"), 0):
    ...     b = torch.rand(2)
    >>> bool(torch.equal(a, b))
    True
    """
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def balanced_pos_weight(labels: Any) -> torch.Tensor | None:
    """``n_negative / n_positive`` of 0/1 training labels, None if one is absent.

    The ``pos_weight`` of :class:`~torch.nn.BCEWithLogitsLoss` that weighs
    both classes equally (``class_weight="balanced"``).

    Examples
    --------
    >>> from sklearn_deepfake.nets._training import balanced_pos_weight
    >>> float(balanced_pos_weight([1, 0, 0, 0]))
    3.0
    >>> balanced_pos_weight([0, 0]) is None
    True
    """
    labels = np.asarray(labels)
    n_pos = float(labels.sum())
    n_neg = float(len(labels) - n_pos)
    if n_pos > 0 and n_neg > 0:
        return torch.tensor(n_neg / n_pos, dtype=torch.float32)
    return None


def train_frame_net(
    module: torch.nn.Module,
    train_ds: Any,
    valid_ds: Any,
    *,
    lr: float,
    weight_decay: float,
    max_epochs: int,
    batch_size: int,
    patience: int,
    pos_weight: torch.Tensor | None,
    grad_clip: float | None,
    device: torch.device,
    seed: int,
    verbose: int,
    callbacks: Sequence[tuple[str, Any]] = (),
    cutmix_p: float | None = None,
    label_smoothing: float | None = None,
    amp_dtype: torch.dtype | str | None = "auto",
    build: Any = None,
    **net_kwargs: Any,
) -> FrameNet:
    """Fit a :class:`FrameNet` on ``train_ds``; return it, training state released.

    The loss is :class:`~torch.nn.BCEWithLogitsLoss` (with ``pos_weight``),
    the optimiser AdamW under the one-cycle schedule of
    :func:`training_callbacks`; ``valid_ds`` (None: no validation) is the
    predefined validation split, which turns early stopping on. The training
    batches are shuffled by a generator seeded with ``seed``. ``callbacks``
    come after the built-in ones; ``net_kwargs`` go to :class:`FrameNet`
    (e.g. ``optimizer__param_groups`` or ``iterator_train__collate_fn``).
    ``cutmix_p`` and ``label_smoothing`` are set on the net when not None.
    ``amp_dtype``: ``"auto"`` trains with float16 autocast (and loss
    scaling) on CUDA only; None in float32; a dtype autocasts to it.
    ``build`` (None: :class:`FrameNet`) makes the net from the same
    arguments: the fine-tuners pass
    :func:`~sklearn_deepfake.nets._speed.make_accelerated_net` bound to an
    ``accelerate.Accelerator`` to train through skorch's
    ``AccelerateMixin``, which then places the data and handles mixed
    precision and several processes.
    The module is left in evaluation mode.
    """
    from skorch.helper import predefined_split

    total_steps = _total_steps(train_ds, int(max_epochs), int(batch_size))
    all_callbacks = training_callbacks(
        train_ds,
        total_steps=total_steps,
        early_stopping=valid_ds is not None,
        patience=int(patience),
        verbose=int(verbose),
    )
    all_callbacks += list(callbacks)
    generator = torch.Generator().manual_seed(seed)
    if isinstance(train_ds, EpochItems):
        # The keys carry the epoch to the workers; the order is drawn from
        # the loader's generator as with shuffle=True.
        net_kwargs.setdefault(
            "iterator_train__sampler",
            EpochSampler(train_ds, seed, generator=generator),
        )
    else:
        net_kwargs.setdefault("iterator_train__shuffle", True)
    net_kwargs.setdefault("iterator_train", EpochLoader)
    net_kwargs.setdefault("iterator_valid", EpochLoader)
    if build is None:
        build = FrameNet
    net = build(
        module,
        criterion=torch.nn.BCEWithLogitsLoss,
        criterion__pos_weight=pos_weight,
        optimizer=torch.optim.AdamW,
        optimizer__weight_decay=float(weight_decay),
        lr=float(lr),
        max_epochs=int(max_epochs),
        batch_size=int(batch_size),
        iterator_train__generator=generator,
        train_split=predefined_split(valid_ds) if valid_ds is not None else None,
        callbacks=all_callbacks,
        device=device,
        verbose=int(verbose),
        **net_kwargs,
    )
    if cutmix_p is not None:
        net.cutmix_p = float(cutmix_p)
    if label_smoothing is not None:
        net.label_smoothing = float(label_smoothing)
    net.grad_clip = None if grad_clip is None else float(grad_clip)
    if isinstance(amp_dtype, str):  # "auto"
        net.use_amp = torch.device(device).type == "cuda"
    else:
        net.use_amp = amp_dtype is not None
        net.amp_dtype = amp_dtype
    net.mix_seed = seed
    net.fit(train_ds, y=None)
    # Drop the training data and optimiser state (keeps pickles small).
    net.release_training_state()
    net.module_.eval()
    return net


def _total_steps(train_ds: Any, max_epochs: int, batch_size: int) -> int:
    """Batches of all epochs (their sizes may differ with class balance)."""
    if isinstance(train_ds, EpochItems):
        return sum(
            math.ceil(train_ds.epoch_len(e) / batch_size) for e in range(max_epochs)
        )
    return max_epochs * math.ceil(len(train_ds) / batch_size)


def loader_kwargs(
    num_workers: int, pin_memory: bool, persistent_workers: bool, device: Any
) -> dict[str, Any]:
    """``iterator_train__*`` and ``iterator_valid__*`` arguments of skorch.

    ``pin_memory`` applies on CUDA only; ``persistent_workers`` only with
    workers (``DataLoader`` refuses it otherwise).
    """
    kw: dict[str, Any] = {"num_workers": int(num_workers)}
    if pin_memory and torch.device(device).type == "cuda":
        kw["pin_memory"] = True
    if persistent_workers and num_workers:
        kw["persistent_workers"] = True
    return {
        f"iterator_{side}__{k}": v for side in ("train", "valid") for k, v in kw.items()
    }


def best_valid_epoch(net: NeuralNet, validated: bool) -> int | None:
    """Last epoch (1-based) flagged ``valid_loss_best``; None without validation."""
    if not validated:
        return None
    flags = net.history[:, "valid_loss_best"]
    return int(np.flatnonzero(flags)[-1]) + 1 if any(flags) else None
