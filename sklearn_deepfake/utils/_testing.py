"""Test helpers: cheap instances of every estimator and the per-video contract.

scikit-learn's ``check_estimator`` skips estimators whose input is not a 2-D
array (it emits a ``SkipTestWarning`` when ``input_tags.two_d_array`` is
False), which is every step of our pipelines before
:class:`~sklearn_deepfake.features.TemporalPooling`. This module gives those
steps equivalent tests:

- :func:`_tested_estimators` yields one instance of every public estimator,
  built with the cheap constructor arguments its class returns from its
  classmethod ``_get_test_params()``.
- :data:`DATA_FREE_CHECKS` lists the checks of
  :mod:`sklearn.utils.estimator_checks` that need no data, each called as
  ``check(name, estimator)``.
- The ``check_*`` functions of this module form our own contract for
  per-video (ragged) estimators. Each is called as
  ``check(name, estimator, X, y)`` with ``X`` built by
  :func:`make_contract_input` for that estimator's input kind.

The module is private: tests import it, users should not.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import os
import pickle
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import joblib
import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils import estimator_checks as _sk_checks
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted

from sklearn_deepfake.utils._ragged import FaceTracks, FramePlan

__all__ = [
    "CONTRACT_CHECKS",
    "DATA_FREE_CHECKS",
    "ESTIMATOR_MODULES",
    "INPUT_KIND",
    "SLOW_ESTIMATORS",
    "all_estimators",
    "assert_same_output",
    "check_clone_of_fitted_is_unfitted",
    "check_corrupt_video_is_kept",
    "check_fit_does_not_mutate_params_or_input",
    "check_fit_returns_self",
    "check_in_pipeline_with_memory",
    "check_not_fitted_error",
    "check_one_output_per_video",
    "check_pickle_round_trip",
    "check_subset_and_order_invariance",
    "contract_checks",
    "make_contract_input",
    "make_synthetic_tracks",
    "make_tiny_face_tracks",
    "make_tiny_frame_features",
]

#: Subpackages whose ``__all__`` is searched for public estimators. The
#: optional ones are searched only once they exist.
ESTIMATOR_MODULES: tuple[str, ...] = (
    "sklearn_deepfake.video",
    "sklearn_deepfake.faces",
    "sklearn_deepfake.features",
)
_LATER_MODULES: tuple[str, ...] = (
    "sklearn_deepfake.calibration",
    "sklearn_deepfake.classifiers",
    "sklearn_deepfake.nets",
    "sklearn_deepfake.ensemble",
    "sklearn_deepfake.model_selection",
)


#: What each estimator consumes: ``"paths"`` (video files), ``"plans"``
#: (``list[FramePlan]``), ``"tracks"`` (``list[FaceTracks]``) or
#: ``"frame_features"`` (``list`` of ``float32 (n_frames_i, D)`` arrays) or
#: ``"frame_scores"`` (``list`` of ``(n_frames_i,)`` probabilities) or
#: ``"table"`` (a dense 2-D array, for the classifier heads).
#: Classes not listed get a kind from their subpackage (see
#: :func:`_input_kind`).
INPUT_KIND: dict[str, str] = {
    "FrameSampler": "paths",
    "AudioFeatures": "paths",
    "AVSyncFeatures": "tracks",
    "FaceCropper": "plans",
    "TemporalPooling": "frame_features",
    "TemporalClassifier": "frame_features",
    "FramewiseClassifier": "frame_features",
    "ScorePooling": "frame_scores",
    "ClippedClassifier": "table",
    "LogitBlendClassifier": "table",
    "CalibratedStackingClassifier": "table",
    "SeedEnsembleClassifier": "table",
}

#: Estimators that run MTCNN or a CNN: their tests are marked ``slow``.
SLOW_ESTIMATORS: frozenset[str] = frozenset(
    {"FaceCropper", "CNNFeatureExtractor", "FaceCNNClassifier", "VideoCNNClassifier"}
)

_DATA_FREE_NAMES = (
    "check_estimator_cloneable",
    "check_estimator_repr",
    "check_no_attributes_set_in_init",
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_valid_tag_types",
    "check_estimator_tags_renamed",
)

#: The scikit-learn checks that need no data, as far as the installed
#: scikit-learn has them. Each is called as ``check(name, estimator)``.
DATA_FREE_CHECKS: list[Callable[[str, BaseEstimator], None]] = [
    getattr(_sk_checks, _name)
    for _name in _DATA_FREE_NAMES
    if hasattr(_sk_checks, _name)
]


# ---------------------------------------------------------------------------
# Discovery and instances
# ---------------------------------------------------------------------------


def all_estimators() -> list[tuple[str, type]]:
    """Return the public estimator classes of sklearn-deepfake.

    Walks the ``__all__`` of each module in :data:`ESTIMATOR_MODULES` (and of
    later subpackages such as ``sklearn_deepfake.nets`` once they exist) and
    keeps the non-abstract :class:`~sklearn.base.BaseEstimator` subclasses.

    Returns
    -------
    estimators : list of (str, type)
        ``(class name, class)`` pairs sorted by name, without duplicates.

    Examples
    --------
    >>> from sklearn_deepfake.utils._testing import all_estimators
    >>> all(isinstance(name, str) for name, _ in all_estimators())
    True
    """
    found: dict[str, type] = {}
    modules = list(ESTIMATOR_MODULES)
    modules += [m for m in _LATER_MODULES if importlib.util.find_spec(m) is not None]
    for module_name in modules:
        module = importlib.import_module(module_name)
        for attr in getattr(module, "__all__", ()):
            obj = getattr(module, attr)
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseEstimator)
                and not inspect.isabstract(obj)
                and obj.__module__.startswith("sklearn_deepfake")
            ):
                found.setdefault(obj.__name__, obj)
    return sorted(found.items())


def _test_params(cls: type) -> dict[str, Any] | None:
    """Cheap constructor arguments of ``cls``, or None when it declares none.

    A class declares them with a classmethod ``_get_test_params()`` of its
    own (as sktime's ``get_test_params``), which may import and build nested
    estimators. It must be defined in the class body itself: a subclass does
    not inherit its base's test parameters silently.
    """
    if "_get_test_params" in vars(cls):
        return dict(cls._get_test_params())
    return None


def _construct_instance(cls: type) -> BaseEstimator:
    """Build ``cls`` with its cheap test parameters (see :func:`_test_params`)."""
    return cls(**(_test_params(cls) or {}))


def _tested_estimators() -> Iterator[BaseEstimator]:
    """Yield one cheap instance of every public estimator.

    Yields
    ------
    estimator : BaseEstimator
        An unfitted instance built with its class's ``_get_test_params()``.
    """
    for _, cls in all_estimators():
        yield _construct_instance(cls)


def _input_kind(estimator: BaseEstimator) -> str:
    """Return the kind of ``X`` that ``estimator`` consumes.

    Uses :data:`INPUT_KIND` and otherwise the subpackage: ``video`` steps
    take paths, ``faces`` steps take frame plans, other ``features`` steps
    take face tracks.
    """
    name = type(estimator).__name__
    if name in INPUT_KIND:
        return INPUT_KIND[name]
    module = type(estimator).__module__
    if get_tags(estimator).input_tags.string or module.startswith(
        "sklearn_deepfake.video"
    ):
        return "paths"
    if module.startswith("sklearn_deepfake.faces"):
        return "plans"
    return "tracks"


# ---------------------------------------------------------------------------
# Synthetic per-video inputs
# ---------------------------------------------------------------------------


def make_synthetic_tracks(
    n_rows: int = 4,
    size: int = 64,
    *,
    margin: float = 0.3,
    path: str = "synthetic.mp4",
    seed: int = 0,
) -> FaceTracks:
    """Make a tiny face-track record for doctests and tests (no video involved).

    Each crop holds a bright textured ellipse (the "face") inside the face
    box, on a smoother noisy background; the crop box is the face box grown
    by ``margin`` on every side, as FaceCropper cuts it.
    """
    rng = np.random.default_rng(seed)
    face = np.array([100.0, 100.0, 200.0, 220.0], dtype=np.float32)
    w, h = face[2] - face[0], face[3] - face[1]
    side = max(w, h) * (1 + 2 * margin)
    cx, cy = (face[0] + face[2]) / 2, (face[1] + face[3]) / 2
    crop_box = np.array(
        [cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], np.float32
    )
    scale = size / side
    fx1, fy1 = (face[:2] - crop_box[:2]) * scale
    fx2, fy2 = (face[2:] - crop_box[:2]) * scale
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    ellipse = (
        ((xx - (fx1 + fx2) / 2) / ((fx2 - fx1) / 2)) ** 2
        + ((yy - (fy1 + fy2) / 2) / ((fy2 - fy1) / 2)) ** 2
    ) < 1
    crops = rng.normal(90, 8, size=(n_rows, size, size, 3))
    texture = rng.normal(170, 25, size=(n_rows, size, size, 3))
    crops[:, ellipse] = texture[:, ellipse]
    crops = np.clip(crops, 0, 255).astype(np.uint8)
    lm = np.array([[0.35, 0.4], [0.65, 0.4], [0.5, 0.55], [0.38, 0.75], [0.62, 0.75]])
    lm = np.array([fx1, fy1]) + lm * np.array([fx2 - fx1, fy2 - fy1])
    return FaceTracks(
        path=path,
        frame_indices=np.arange(n_rows) * 10,
        face_found=np.ones(n_rows, bool),
        crops=crops,
        boxes=np.tile(face, (n_rows, 1)),
        crop_boxes=np.tile(crop_box, (n_rows, 1)),
        probs=np.full(n_rows, 0.99, np.float32),
        landmarks=np.tile(lm, (n_rows, 1, 1)),
        track_ids=np.zeros(n_rows, np.int64),
        frame_pos=np.arange(n_rows),
        detected=np.ones(n_rows, bool),
        frame_size=(360, 640),
        fps=30.0,
    )


def make_tiny_face_tracks(
    n_videos: int = 4,
    *,
    size: int = 32,
    empty: Sequence[int] = (1,),
    random_state: int = 0,
) -> list[FaceTracks]:
    """Return synthetic face tracks, some of them without any face.

    The crops are smooth random images (no detector involved), so that
    feature transformers can be tested in milliseconds.

    Parameters
    ----------
    n_videos : int, default=4
        Number of videos.
    size : int, default=32
        Side length of the square crops.
    empty : sequence of int, default=(1,)
        Positions of the videos in which no face was found.
    random_state : int, default=0
        Seed; video ``i`` uses ``random_state + i``, so that a subset of the
        videos is a subset of the records.

    Returns
    -------
    tracks : list of FaceTracks
        One record per video; video ``i`` has ``3 + i`` sampled frames.

    Examples
    --------
    >>> from sklearn_deepfake.utils._testing import make_tiny_face_tracks
    >>> tracks = make_tiny_face_tracks(3, size=16)
    >>> [len(t) for t in tracks], tracks[1].crops.shape
    ([3, 0, 5], (0, 16, 16, 3))
    """
    tracks = []
    for i in range(n_videos):
        rng = np.random.default_rng(random_state + i)
        n = 3 + i
        path = f"tiny_video_{i}.mp4"
        if i in empty:
            tracks.append(
                FaceTracks.empty(
                    path, size, frame_indices=np.arange(n) * 2, frame_size=(72, 96)
                )
            )
            continue
        coarse = rng.integers(0, 256, size=(n, 4, 4, 3)).astype(np.float32)
        reps = -(-size // 4)
        crops = np.kron(coarse, np.ones((1, reps, reps, 1), np.float32))
        crops = crops[:, :size, :size] + rng.normal(0, 8, (n, size, size, 3))
        boxes = np.tile(np.array([30, 20, 60, 56], np.float32), (n, 1))
        boxes += rng.normal(0, 1, boxes.shape).astype(np.float32)
        landmarks = np.tile(
            np.array(
                [[0.35, 0.4], [0.65, 0.4], [0.5, 0.55], [0.38, 0.72], [0.62, 0.72]]
            )
            * size,
            (n, 1, 1),
        )
        tracks.append(
            FaceTracks(
                path=path,
                frame_indices=np.arange(n) * 2,
                face_found=np.ones(n, bool),
                crops=np.clip(crops, 0, 255).astype(np.uint8),
                boxes=boxes,
                crop_boxes=boxes + np.array([-9, -9, 9, 9], np.float32),
                probs=np.full(n, 0.99, np.float32),
                landmarks=landmarks,
                track_ids=np.zeros(n, np.int64),
                frame_pos=np.arange(n),
                detected=np.arange(n) % 2 == 0,
                frame_size=(72, 96),
                fps=25.0,
            )
        )
    return tracks


def make_tiny_frame_features(
    n_videos: int = 4,
    *,
    n_features: int = 5,
    empty: Sequence[int] = (1,),
    random_state: int = 0,
) -> list[np.ndarray]:
    """Return per-video frame embeddings, some of them with zero frames.

    Parameters
    ----------
    n_videos : int, default=4
        Number of videos.
    n_features : int, default=5
        Embedding dimension ``D``.
    empty : sequence of int, default=(1,)
        Positions of the videos with zero frames (shape ``(0, D)``).
    random_state : int, default=0
        Seed; video ``i`` uses ``random_state + i``.

    Returns
    -------
    features : list of ndarray of float32
        Video ``i`` has shape ``(2 + i, n_features)`` unless it is empty.

    Examples
    --------
    >>> from sklearn_deepfake.utils._testing import make_tiny_frame_features
    >>> [f.shape for f in make_tiny_frame_features(3, n_features=2)]
    [(2, 2), (0, 2), (4, 2)]
    """
    out = []
    for i in range(n_videos):
        rng = np.random.default_rng(random_state + i)
        n = 0 if i in empty else 2 + i
        out.append(rng.normal(i % 2, 1.0, (n, n_features)).astype(np.float32))
    return out


def make_contract_input(
    estimator: BaseEstimator, paths: Sequence[str | os.PathLike], n_videos: int = 4
) -> tuple[Any, np.ndarray]:
    """Build ``X`` and ``y`` of the kind that ``estimator`` consumes.

    Parameters
    ----------
    estimator : BaseEstimator
        The estimator under test.
    paths : sequence of str or os.PathLike
        Small video files (the ``tiny_videos`` fixture); used for the
        ``"paths"`` and ``"plans"`` kinds.
    n_videos : int, default=4
        Number of videos in ``X``.

    Returns
    -------
    X : list or ndarray
        One element per video (a 2-D array for the ``"table"`` kind).
    y : ndarray of int64
        Alternating labels ``0, 1, 0, ...``.
    """
    kind = _input_kind(estimator)
    if kind in ("paths", "plans"):
        X: list = [os.fspath(p) for p in list(paths)[:n_videos]]
        if kind == "plans":
            from sklearn_deepfake.video import FrameSampler

            sampler = _construct_instance(FrameSampler)
            X = sampler.fit_transform(X)
    elif kind == "tracks":
        X = make_tiny_face_tracks(n_videos)
    elif kind == "frame_features":
        X = make_tiny_frame_features(n_videos)
    elif kind == "frame_scores":
        logits = make_tiny_frame_features(n_videos, n_features=1)
        X = [1.0 / (1.0 + np.exp(-2.0 * x[:, 0])) for x in logits]
    elif kind == "table":
        rng = np.random.default_rng(0)
        y = np.arange(2 * n_videos, dtype=np.int64) % 2
        return rng.normal(y[:, None], 1.0, (2 * n_videos, 3)), y
    else:
        raise ValueError(f"Unknown input kind {kind!r}.")
    y = np.arange(len(X), dtype=np.int64) % 2
    return X, y


# ---------------------------------------------------------------------------
# Comparing outputs
# ---------------------------------------------------------------------------


def _output_method(estimator: BaseEstimator) -> str:
    for method in ("transform", "predict_proba", "decision_function", "predict"):
        if hasattr(estimator, method):
            return method
    raise TypeError(f"{type(estimator).__name__} has no output method.")


def _output(estimator: BaseEstimator, X: list) -> Any:
    return getattr(estimator, _output_method(estimator))(X)


def _assert_array_same(a: Any, b: Any, where: str) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, f"{where}: shape {a.shape} != {b.shape}"
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=where)
    else:
        np.testing.assert_array_equal(a, b, err_msg=where)


def _assert_element_same(a: Any, b: Any, where: str) -> None:
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b)}"
        for f in dataclasses.fields(a):
            if f.name == "meta":  # free-form bookkeeping (timings), not output
                continue
            va, vb = getattr(a, f.name), getattr(b, f.name)
            if isinstance(va, np.ndarray):
                _assert_array_same(va, vb, f"{where}.{f.name}")
            else:
                assert va == vb, f"{where}.{f.name}: {va!r} != {vb!r}"
    elif isinstance(a, np.ndarray):
        _assert_array_same(a, b, where)
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def assert_same_output(a: Any, b: Any, name: str = "output") -> None:
    """Assert that two per-video outputs are equal, video by video.

    Lists are compared element by element: ndarrays by value (floats with a
    relative tolerance of 1e-5), dataclass records such as
    :class:`~sklearn_deepfake.utils.FaceTracks` field by field (ignoring their
    free-form ``meta``). Dense outputs are compared row by row.

    Parameters
    ----------
    a, b : list or ndarray or DataFrame
        The two outputs.
    name : str, default="output"
        Used in the failure message.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.utils._testing import assert_same_output
    >>> assert_same_output([np.zeros((0, 2))], [np.zeros((0, 2))])
    """
    if hasattr(a, "to_numpy"):
        a = a.to_numpy()
    if hasattr(b, "to_numpy"):
        b = b.to_numpy()
    assert len(a) == len(b), f"{name}: {len(a)} videos != {len(b)}"
    if isinstance(a, np.ndarray) and a.dtype != object:
        _assert_array_same(a, b, name)
        return
    for i, (ea, eb) in enumerate(zip(a, b)):
        _assert_element_same(ea, eb, f"{name}[{i}]")


def _take(out: Any, idx: Sequence[int]) -> Any:
    if hasattr(out, "iloc"):
        return out.iloc[list(idx)]
    if isinstance(out, np.ndarray):
        return out[np.asarray(idx, dtype=np.intp)]
    return [out[i] for i in idx]


# ---------------------------------------------------------------------------
# The contract checks: check(name, estimator, X, y)
# ---------------------------------------------------------------------------


def check_fit_returns_self(
    name: str, estimator: BaseEstimator, X: list, y: Any
) -> None:
    """Check that ``fit`` returns the estimator itself."""
    est = clone(estimator)
    assert est.fit(X, y) is est, f"{name}.fit must return self."


def check_not_fitted_error(
    name: str, estimator: BaseEstimator, X: list, y: Any
) -> None:
    """Check that the output method raises ``NotFittedError`` before ``fit``.

    Estimators that learn nothing (``tags.requires_fit = False``) must
    instead work without ``fit``, giving one output per video.
    """
    est = clone(estimator)
    method = _output_method(est)
    if not get_tags(est).requires_fit:
        out = getattr(est, method)(X)
        assert len(out) == len(X), f"{name}.{method} without fit changed n_videos."
        return
    try:
        getattr(est, method)(X)
    except NotFittedError:
        return
    raise AssertionError(
        f"{name}.{method} before fit must raise NotFittedError "
        "(start it with check_is_fitted(self))."
    )


def check_one_output_per_video(
    name: str, estimator: BaseEstimator, X: list, y: Any
) -> None:
    """Check that the output has one element per video, of a consistent kind.

    Ragged outputs are a ``list`` without ``None``; their arrays share dtype
    and trailing shape across videos, including empty ones (rule R1). Dense
    outputs have ``len(X)`` rows.
    """
    est = clone(estimator).fit(X, y)
    out = _output(est, X)
    n = len(X)
    if isinstance(out, np.ndarray) or hasattr(out, "iloc"):
        assert out.shape[0] == n, f"{name}: {out.shape[0]} output rows for {n} videos."
        return
    assert isinstance(out, list), (
        f"{name} must return a list (one element per video) or a 2-D array, "
        f"got {type(out).__name__}."
    )
    assert len(out) == n, f"{name}: {len(out)} outputs for {n} videos (R1)."
    assert all(o is not None for o in out), f"{name} returned None for a video."
    assert len({type(o) for o in out}) == 1, f"{name}: mixed element types."

    def arrays(o: Any) -> dict[str, np.ndarray]:
        if isinstance(o, np.ndarray):
            return {"": o}
        if dataclasses.is_dataclass(o):
            return {
                f.name: getattr(o, f.name)
                for f in dataclasses.fields(o)
                if isinstance(getattr(o, f.name), np.ndarray)
            }
        return {}

    first = arrays(out[0])
    for i, o in enumerate(out[1:], start=1):
        for key, arr in arrays(o).items():
            ref = first[key]
            where = f"{name} output[{i}]{'.' + key if key else ''}"
            assert arr.dtype == ref.dtype, f"{where}: dtype {arr.dtype} != {ref.dtype}"
            assert arr.shape[1:] == ref.shape[1:], (
                f"{where}: trailing shape {arr.shape[1:]} != {ref.shape[1:]}"
            )


def check_clone_of_fitted_is_unfitted(
    name: str, estimator: BaseEstimator, X: list, y: Any
) -> None:
    """Check that ``clone`` of a fitted estimator carries no fitted state."""
    est = clone(estimator).fit(X, y)
    cloned = clone(est)
    leftover = [k for k in vars(cloned) if k.endswith("_") and not k.startswith("__")]
    assert not leftover, f"clone({name}) kept fitted attributes {leftover}."
    if get_tags(cloned).requires_fit:
        try:
            check_is_fitted(cloned)
        except NotFittedError:
            return
        raise AssertionError(f"clone of a fitted {name} claims to be fitted.")


def check_pickle_round_trip(
    name: str, estimator: BaseEstimator, X: list, y: Any
) -> None:
    """Check that a fitted estimator gives identical output after pickling."""
    est = clone(estimator).fit(X, y)
    restored = pickle.loads(pickle.dumps(est))
    assert_same_output(_output(restored, X), _output(est, X), f"{name} after pickling")


def check_fit_does_not_mutate_params_or_input(
    name: str, estimator: BaseEstimator, X: list, y: Any
) -> None:
    """Check that ``fit`` changes neither ``get_params()`` nor the input list."""
    est = clone(estimator)
    before = {k: joblib.hash(v) for k, v in est.get_params(deep=False).items()}
    X_items = None if isinstance(X, np.ndarray) else list(X)
    X_hash = joblib.hash(X)
    est.fit(X, y)
    after = {k: joblib.hash(v) for k, v in est.get_params(deep=False).items()}
    changed = sorted(k for k in before if before[k] != after.get(k))
    assert not changed, f"{name}.fit changed the parameters {changed}."
    if X_items is not None:
        assert len(X) == len(X_items), f"{name}.fit changed the input list's length."
        assert all(a is b for a, b in zip(X, X_items)), (
            f"{name}.fit reordered or replaced items of the input list."
        )
    assert joblib.hash(X) == X_hash, f"{name}.fit modified the input elements."


def check_subset_and_order_invariance(
    name: str, estimator: BaseEstimator, X: list, y: Any
) -> None:
    """Check that a video's output depends on that video only (rule R6).

    Transforming a subset of the videos, in another order, gives the same
    per-video results as transforming all of them at once.
    """
    est = clone(estimator).fit(X, y)
    full = _output(est, X)
    # Every other video, last first: a subset and a new order at once.
    subset = list(range(0, len(X), 2))[::-1]
    assert_same_output(
        _output(est, _take(X, subset)),
        _take(full, subset),
        f"{name} on a reordered subset",
    )


def check_in_pipeline_with_memory(
    name: str, estimator: BaseEstimator, X: list, y: Any
) -> None:
    """Check the estimator as a cached ``Pipeline`` step.

    ``Pipeline(memory=joblib.Memory(...)).fit_transform`` must give the
    output of ``fit`` then ``transform``; a second identical fit must reuse the
    cache (one cache entry, not two), give the same output and leave a fitted
    step in ``named_steps``.
    """
    expected = _output(clone(estimator).fit(X, y), X)
    if not hasattr(estimator, "transform"):
        pipe = Pipeline([("est", clone(estimator))]).fit(X, y)
        assert_same_output(_output(pipe, X), expected, f"Pipeline({name})")
        return
    with tempfile.TemporaryDirectory() as tmp:
        memory = joblib.Memory(tmp, verbose=0)
        for attempt in ("first fit", "cached fit"):
            step = clone(estimator)
            pipe = Pipeline([("est", step), ("last", "passthrough")], memory=memory)
            out = pipe.fit_transform(X, y)
            assert_same_output(out, expected, f"Pipeline({name}), {attempt}")
            fitted = pipe.named_steps["est"]
            if get_tags(fitted).requires_fit:
                check_is_fitted(fitted)
        # One folder holding an ``output.pkl`` per cached call (the cached
        # function's name differs between scikit-learn releases).
        entries = [root for root, _, files in os.walk(tmp) if "output.pkl" in files]
        assert len(entries) == 1, (
            f"Pipeline(memory=...) stored {len(entries)} cache entries for two "
            f"identical fits of {name}; its parameters or input do not hash stably."
        )


def check_corrupt_video_is_kept(
    name: str, estimator: BaseEstimator, X: list, y: Any
) -> None:
    """Check that a corrupt video gets a warning and keeps its output slot.

    Only for estimators that read files (``"paths"`` and ``"plans"``
    inputs). A batch must never crash and never drop a video because one
    file is bad.
    """
    est = clone(estimator).fit(X, y)
    kind = _input_kind(estimator)
    with tempfile.TemporaryDirectory() as tmp:
        bad = os.path.join(tmp, "corrupt_clip.mp4")
        with open(bad, "wb") as fh:
            fh.write(b"\x00\x00\x00\x18ftypmp42" + b"not a video" * 50)
        if kind == "plans":
            bad_item: Any = FramePlan(bad, np.zeros(0, np.int64), error="corrupt")
        else:
            bad_item = bad
        X_bad = [X[0], bad_item, X[-1]]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = _output(est, X_bad)
    assert len(out) == 3, f"{name}: {len(out)} outputs for 3 videos, one corrupt."
    assert_same_output(_take(out, [0, 2]), _take(_output(est, [X[0], X[-1]]), [0, 1]))
    if kind == "paths":
        assert any("corrupt_clip.mp4" in str(w.message) for w in caught), (
            f"{name} gave no warning naming the corrupt file; got "
            f"{[str(w.message) for w in caught]}."
        )


#: Contract checks run on every estimator.
CONTRACT_CHECKS: list[Callable[..., None]] = [
    check_fit_returns_self,
    check_not_fitted_error,
    check_one_output_per_video,
    check_clone_of_fitted_is_unfitted,
    check_pickle_round_trip,
    check_fit_does_not_mutate_params_or_input,
    check_subset_and_order_invariance,
    check_in_pipeline_with_memory,
]


def contract_checks(estimator: BaseEstimator) -> list[Callable[..., None]]:
    """Return the contract checks that apply to ``estimator``.

    Parameters
    ----------
    estimator : BaseEstimator
        The estimator under test.

    Returns
    -------
    checks : list of callable
        Each called as ``check(name, estimator, X, y)``.

    Examples
    --------
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from sklearn_deepfake.utils._testing import contract_checks
    >>> len(contract_checks(FunctionTransformer())) >= 8
    True
    """
    checks = list(CONTRACT_CHECKS)
    if _input_kind(estimator) in ("paths", "plans"):
        checks.append(check_corrupt_video_is_kept)
    return checks
