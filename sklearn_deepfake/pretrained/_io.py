"""Fitted models shipped as plain JSON: rebuilt by code, not unpickled."""

from __future__ import annotations

import json
import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from sklearn_deepfake.pipeline._pipeline import _DOCS
from sklearn_deepfake.utils._docstrings import fill_doc

__all__ = ["PRETRAINED", "load_pretrained", "save_pretrained"]

FORMAT = "sklearn-deepfake-pretrained"
#: Version written for a single logistic-regression head (readable by every
#: release); a ``LogitBlendClassifier`` head is written as version 2, a
#: ``FramewiseClassifier`` head as version 3.
FORMAT_VERSION = 1
BLEND_FORMAT_VERSION = 2
FRAMEWISE_FORMAT_VERSION = 3
_READABLE = (FORMAT_VERSION, BLEND_FORMAT_VERSION, FRAMEWISE_FORMAT_VERSION)
#: Names of the models shipped inside the package.
PRETRAINED = ("general",)
# step name -> fitted attributes kept (everything else is rebuilt by code)
_POOLING_ATTRS = ("n_features_in_", "fill_values_", "n_features_out_")
_SCALER_ATTRS = ("mean_", "var_", "scale_", "n_features_in_", "n_samples_seen_")
_LR_ATTRS = ("classes_", "coef_", "intercept_", "n_features_in_", "n_iter_")


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict) and "__ndarray__" in value:
        return np.asarray(value["__ndarray__"], dtype=value["dtype"])
    if isinstance(value, dict):
        return {k: _from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


def _framewise_head(pipe: Pipeline, fitted: bool = True) -> Any:
    """Return the pipeline's FramewiseClassifier of a scaled LR, or None.

    ``None`` when the last step is anything else; a ValueError when it is a
    ``FramewiseClassifier`` around another estimator.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from sklearn_deepfake.classifiers import FramewiseClassifier

    clf = pipe.steps[-1][1]
    if not isinstance(clf, FramewiseClassifier):
        return None
    est = getattr(clf, "estimator_", None) if fitted else clf.estimator
    steps = getattr(est, "steps", None) or []
    if len(steps) != 2 or not (
        isinstance(steps[0][1], StandardScaler)
        and isinstance(steps[1][1], LogisticRegression)
    ):
        raise ValueError(
            "save_pretrained supports a FramewiseClassifier around "
            "make_pipeline(StandardScaler(), LogisticRegression()) (the "
            "'swap' and 'general' presets), fitted."
        )
    return clf


def _framewise_record(clf: Any) -> dict[str, Any]:
    scaler, lr = (step for _, step in clf.estimator_.steps)
    return {
        "standardscaler": {a: getattr(scaler, a) for a in _SCALER_ATTRS},
        "logisticregression": _lr_record(lr),
        **{a: getattr(clf, a) for a in ("classes_", "n_features_in_", "empty_proba_")},
    }


def _set_framewise(clf: Any, record: dict[str, Any]) -> None:
    """Make the unfitted FramewiseClassifier ``clf`` the one ``record`` holds."""
    from sklearn.base import clone

    est = clone(clf.estimator)
    (_, scaler), (name, _) = est.steps
    for a, v in record["standardscaler"].items():
        setattr(scaler, a, v)
    est.steps[1] = (name, _lr_from_record(record["logisticregression"]))
    clf.estimator_ = est
    for a in ("classes_", "n_features_in_", "empty_proba_"):
        setattr(clf, a, record[a])


def _head_steps(pipe: Pipeline, fitted: bool = True) -> tuple[Any, Any, Any]:
    """Return the pooling, scaler and classifier of a supported pipeline."""
    from sklearn.linear_model import LogisticRegression

    from sklearn_deepfake.calibration import ClippedClassifier

    names = list(pipe.named_steps)
    want = ["temporalpooling", "standardscaler", "classifier"]
    if names[-3:] != want:
        raise ValueError(
            "save_pretrained supports pipelines of make_default_pipeline whose "
            f"last steps are {want} (presets 'default' and 'general-blend') or "
            "whose classifier is a FramewiseClassifier (presets 'swap' and "
            f"'general'), got steps {names}."
        )
    clf = pipe.named_steps["classifier"]
    est = getattr(clf, "estimator_", None) if fitted else clf.estimator
    if not isinstance(clf, ClippedClassifier) or not (
        isinstance(est, LogisticRegression) or _is_blend_of_lrs(est, fitted)
    ):
        raise ValueError(
            "save_pretrained needs a fitted ClippedClassifier around a "
            "LogisticRegression (or around the general preset's "
            "LogitBlendClassifier of StandardScaler -> ClippedClassifier("
            "LogisticRegression) parts) as the 'classifier' step (no "
            "calibration wrapper)."
        )
    return pipe.named_steps["temporalpooling"], pipe.named_steps["standardscaler"], clf


def _is_blend_of_lrs(est: Any, fitted: bool) -> bool:
    """Whether ``est`` is a LogitBlendClassifier the JSON format can hold."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from sklearn_deepfake.calibration import ClippedClassifier
    from sklearn_deepfake.classifiers import LogitBlendClassifier

    if not isinstance(est, LogitBlendClassifier):
        return False
    parts = est.estimators_ if fitted else [e for _, e, _ in est.estimators]
    for part in parts:
        steps = getattr(part, "steps", None)
        if not steps or len(steps) != 2:
            return False
        (_, scaler), (_, clf) = steps
        inner = getattr(clf, "estimator_", None) if fitted else clf.estimator
        if not isinstance(scaler, StandardScaler) or not (
            isinstance(clf, ClippedClassifier) and isinstance(inner, LogisticRegression)
        ):
            return False
    return True


def _lr_record(lr: Any) -> dict[str, Any]:
    return {
        "params": {
            k: v
            for k, v in lr.get_params().items()
            if isinstance(v, (int, float, str, bool, type(None)))
        },
        **{a: getattr(lr, a) for a in _LR_ATTRS},
    }


def _lr_from_record(rec: dict[str, Any]) -> Any:
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(**rec["params"])
    for a in _LR_ATTRS:
        setattr(lr, a, rec[a])
    return lr


def _set_fitted(clf: Any, est: Any) -> None:
    """Make an unfitted ClippedClassifier the fitted wrapper of ``est``."""
    clf.estimator_ = est
    clf.classes_ = est.classes_
    clf.n_features_in_ = est.n_features_in_


def _blend_record(blend: Any) -> dict[str, Any]:
    """Record the learned values of a LogitBlendClassifier of scaled LR parts."""
    parts = []
    for (name, _, _), cols, part in zip(
        blend.estimators, blend.columns_, blend.estimators_
    ):
        scaler, clf = part[0], part[-1]
        parts.append(
            {
                "name": name,
                "columns": cols,
                "eps": clf.eps,
                "temperature": clf.temperature,
                "standardscaler": {a: getattr(scaler, a) for a in _SCALER_ATTRS},
                "logisticregression": _lr_record(clf.estimator_),
            }
        )
    return {
        "weights": blend.weights,
        "self_blended_parts": list(blend.self_blended_parts),
        "parts": parts,
    }


def _set_blend(blend: Any, record: dict[str, Any], n_features: int, where: str) -> None:
    """Set the fitted attributes of an unfitted blend from its record."""
    from sklearn.base import clone

    from sklearn_deepfake.classifiers._blend import _columns

    names = [name for name, _, _ in blend.estimators]
    if [p["name"] for p in record["parts"]] != names:
        raise ValueError(
            f"{where} holds the parts {[p['name'] for p in record['parts']]}; "
            f"this sklearn-deepfake builds {names}."
        )
    blend.columns_ = [_columns(c, n_features) for _, _, c in blend.estimators]
    blend.estimators_ = []
    for (_, est, _), cols, rec in zip(
        blend.estimators, blend.columns_, record["parts"]
    ):
        if not np.array_equal(cols, rec["columns"]):
            raise ValueError(
                f"{where}: part {rec['name']!r} was trained on other columns "
                "than this sklearn-deepfake gives it."
            )
        part = clone(est)
        scaler, clf = part[0], part[-1]
        for a, v in rec["standardscaler"].items():
            setattr(scaler, a, v)
        clf.set_params(eps=rec["eps"], temperature=float(rec["temperature"]))
        _set_fitted(clf, _lr_from_record(rec["logisticregression"]))
        blend.estimators_.append(part)
    blend.named_estimators_ = dict(zip(names, blend.estimators_))
    blend.classes_ = blend.estimators_[0][-1].classes_
    blend.n_features_in_ = n_features


def save_pretrained(
    pipeline: Pipeline,
    path: str | os.PathLike,
    *,
    pipeline_kwargs: dict[str, Any],
    info: dict[str, Any] | None = None,
) -> Path:
    """Write a fitted pipeline as JSON that :func:`load_pretrained` rebuilds.

    Only what the pipeline learned is written (the pooling's fill values,
    the scaler's means and scales, the logistic regression's coefficients,
    the classifier's clipping bound and temperature; for the
    ``general-blend`` preset's blend, each head's scaler, coefficients and
    temperature; for a frame-level head, its scaler, coefficients, fallback
    probabilities and temperature)
    together with the keyword arguments of
    :func:`~sklearn_deepfake.pipeline.make_default_pipeline` that built it, so the file
    is small, holds no pickle and does not depend on the version of
    scikit-learn. The file is written atomically.

    Parameters
    ----------
    pipeline : Pipeline
        A fitted pipeline from ``make_default_pipeline(**pipeline_kwargs)``
        ending in ``temporalpooling``, ``standardscaler`` and a
        :class:`~sklearn_deepfake.calibration.ClippedClassifier` around a
        logistic regression (preset ``"default"``, written as format
        version 1) or around the ``"general-blend"`` preset's
        :class:`~sklearn_deepfake.classifiers.LogitBlendClassifier` of
        scaled logistic regressions (format version 2); or one ending in a
        :class:`~sklearn_deepfake.classifiers.FramewiseClassifier` of a
        scaled logistic regression (presets ``"general"`` and ``"swap"``,
        format version 3).
    path : str or path-like
        Output file (``.json``).
    pipeline_kwargs : dict
        The arguments of ``make_default_pipeline`` that built ``pipeline``
        (JSON types only; ``cache_dir``, ``device``, ``n_jobs`` and
        ``verbose`` are chosen at load time instead).
    info : dict, default=None
        Anything to keep beside the model (training data, figures, versions).

    Returns
    -------
    path : Path
        The file written.

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn_deepfake import make_default_pipeline
    >>> from sklearn_deepfake.datasets import make_face_videos
    >>> from sklearn_deepfake.pretrained import load_pretrained, save_pretrained
    >>> folder = tempfile.mkdtemp()
    >>> data = make_face_videos(
    ...     n_videos=4, n_frames=4, manipulated=0.5, directory=folder, random_state=0
    ... )
    >>> kw = {"n_frames": 2, "size": 32}
    >>> pipe = make_default_pipeline(**kw, device="cpu").fit(data.paths, data.target)
    >>> path = save_pretrained(
    ...     pipe, os.path.join(folder, "m.json"), pipeline_kwargs=kw
    ... )
    >>> again = load_pretrained(path, device="cpu")
    >>> bool((again.predict_proba(data.paths) == pipe.predict_proba(data.paths)).all())
    True
    """
    for banned in ("cache_dir", "device", "n_jobs", "verbose", "memory"):
        if banned in pipeline_kwargs:
            raise ValueError(
                f"pipeline_kwargs must not hold {banned!r}: it is chosen when "
                "the model is loaded."
            )
    framewise = _framewise_head(pipeline)
    if framewise is not None:
        record = {
            "format": FORMAT,
            "format_version": FRAMEWISE_FORMAT_VERSION,
            "pipeline_kwargs": pipeline_kwargs,
            "eps": framewise.eps,
            "temperature": framewise.temperature,
            "framewise": _framewise_record(framewise),
            "info": info or {},
        }
        return _write_atomically(record, Path(path))
    pooling, scaler, clf = _head_steps(pipeline)
    est = clf.estimator_
    blend = not hasattr(est, "coef_")
    record = {
        "format": FORMAT,
        "format_version": BLEND_FORMAT_VERSION if blend else FORMAT_VERSION,
        "pipeline_kwargs": pipeline_kwargs,
        "eps": clf.eps,
        "temperature": clf.temperature,
        "temporalpooling": {a: getattr(pooling, a) for a in _POOLING_ATTRS},
        "standardscaler": {a: getattr(scaler, a) for a in _SCALER_ATTRS},
        ("logitblend" if blend else "logisticregression"): (
            _blend_record(est) if blend else _lr_record(est)
        ),
        "info": info or {},
    }
    return _write_atomically(record, Path(path))


def _write_atomically(record: dict[str, Any], path: Path) -> Path:
    text = json.dumps(_jsonable(record), indent=1) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _read(name_or_path: str | os.PathLike) -> dict[str, Any]:
    text = None
    if isinstance(name_or_path, str) and name_or_path in PRETRAINED:
        ref = resources.files("sklearn_deepfake.pretrained") / f"{name_or_path}.json"
        text = ref.read_text()
        where = f"shipped model {name_or_path!r}"
    elif os.path.isfile(os.fspath(name_or_path)):
        text = Path(name_or_path).read_text()
        where = os.fspath(name_or_path)
    else:
        raise ValueError(
            f"unknown pretrained model {name_or_path!r}: pass one of "
            f"{PRETRAINED} or the path of a file written by save_pretrained."
        )
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where} is not valid JSON: {exc}") from exc
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ValueError(f"{where} is not a sklearn-deepfake pretrained model.")
    if record.get("format_version") not in _READABLE:
        raise ValueError(
            f"{where} has format version {record.get('format_version')!r}; this "
            f"sklearn-deepfake reads versions {_READABLE}."
        )
    record = _from_json(record)
    record["where"] = where
    return record


@fill_doc(_DOCS)
def load_pretrained(
    name: str | os.PathLike = "general",
    *,
    cache_dir: str | os.PathLike | None = None,
    device: Any = "auto",
    runtime: str = "torch",
    n_jobs: int | None = None,
    verbose: int = 0,
) -> Pipeline:
    """Return a fitted detector shipped with the package (or saved by you).

    The model is rebuilt by code from a small JSON file: the pipeline of
    :func:`~sklearn_deepfake.pipeline.make_default_pipeline` with the arguments it was
    trained with, whose learned values (pooling fill values, scaler, logistic
    regression; or the frame-level head's scaler and logistic regression)
    are then set. Nothing is downloaded or unpickled, and the
    file does not depend on the version of scikit-learn.

    Read more in :ref:`model_card`.

    Parameters
    ----------
    name : {"general"} or path-like, default="general"
        A shipped model (one of ``PRETRAINED``) or a file written by
        :func:`save_pretrained`.
    %(cache_dir)s
    %(device)s
    runtime : {"torch", "onnxruntime"}, default="torch"
        What runs the face descriptor networks on the CPU (see
        :class:`~sklearn_deepfake.features.CNNFeatureExtractor` and
        :class:`~sklearn_deepfake.features.FaceRecognitionEmbeddings`):
        ``"onnxruntime"`` is faster for the same scores and needs
        ``pip install 'sklearn-deepfake[onnx]'``.
    %(n_jobs)s
    %(verbose)s

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Fitted: ``pipeline.predict_proba(paths)[:, 1]`` is P(FAKE) per video.
        Its ``pretrained_info_`` attribute holds what the file records about
        training (data, figures, versions).

    Raises
    ------
    ValueError
        For an unknown name or a file that is not such a model.

    Examples
    --------
    >>> from sklearn_deepfake import load_pretrained
    >>> model = load_pretrained("general", device="cpu")
    >>> list(model.named_steps)[-1], model.classes_.tolist()
    ('classifier', [0, 1])
    """
    from sklearn.base import clone

    from sklearn_deepfake.pipeline import make_default_pipeline

    record = _read(name)
    kwargs = dict(record["pipeline_kwargs"])
    for k in ("pooling",):
        if kwargs.get(k) is not None:
            kwargs[k] = tuple(kwargs[k])
    pipe = make_default_pipeline(
        **kwargs,
        eps=record["eps"],
        cache_dir=cache_dir,
        device=device,
        n_jobs=n_jobs,
        verbose=verbose,
    )
    steps = pipe.named_steps
    # label-free steps: their fit only validates parameters and builds networks
    steps["facecropper"].fit(None)
    steps["features"].fit([])
    from sklearn_deepfake.features._onnx_runtime import set_runtime

    set_runtime(steps["features"], runtime)
    if "framewise" in record:
        clf = _framewise_head(pipe, fitted=False)
        if clf is None:
            raise ValueError(
                f"{record['where']} holds a frame-level head, but its arguments "
                f"{kwargs} build another classifier."
            )
        clf.set_params(temperature=float(record["temperature"]))
        _set_framewise(clf, record["framewise"])
        pipe.pretrained_info_ = record.get("info", {})
        return pipe
    pooling, scaler, clf = _head_steps(pipe, fitted=False)
    # A fit on one placeholder row checks the pooling's parameters and sets up
    # what it derives from them; the learned values are then the file's.
    learned = record["temporalpooling"]
    pooling.fit(np.zeros((1, learned["n_features_in_"])))
    for a, v in learned.items():
        setattr(pooling, a, v)
    for a, v in record["standardscaler"].items():
        setattr(scaler, a, v)
    # a file from before the temperature was recorded was written at 1.0
    clf.set_params(temperature=float(record.get("temperature", 1.0)))
    if "logitblend" in record:
        if not _is_blend_of_lrs(clf.estimator, fitted=False):
            raise ValueError(
                f"{record['where']} holds a blend of heads, but its arguments "
                f"{kwargs} build another classifier."
            )
        est = clone(clf.estimator)
        _set_blend(est, record["logitblend"], scaler.n_features_in_, record["where"])
    else:
        est = _lr_from_record(record["logisticregression"])
    _set_fitted(clf, est)
    pipe.pretrained_info_ = record.get("info", {})
    return pipe
