"""Train a pipeline's self-blended heads: copies of the real videos, made once."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["fit_with_self_blends", "self_blended_features"]


def _split(pipeline: Any) -> tuple[int, int]:
    """Positions just after the face step and just after the features step."""
    names = list(getattr(pipeline, "named_steps", {}))
    if "facecropper" not in names or "features" not in names:
        raise ValueError(
            "self-blended training needs a pipeline with 'facecropper' and "
            f"'features' steps (make_default_pipeline), got steps {names}."
        )
    faces, features = names.index("facecropper") + 1, names.index("features") + 1
    if features == len(names):
        raise ValueError("the pipeline has no head after its 'features' step.")
    return faces, features


def self_blended_head(pipeline: Any) -> Any:
    """Return the pipeline's LogitBlendClassifier with self-blended parts, or None."""
    from sklearn_deepfake.classifiers import LogitBlendClassifier

    clf = getattr(pipeline, "named_steps", {}).get("classifier")
    est = getattr(clf, "estimator", clf)
    if isinstance(est, LogitBlendClassifier) and est.self_blended_parts:
        return est
    return None


def self_blended_features(
    pipeline: Any,
    paths: Any,
    y: Any,
    *,
    random_state: int = 0,
    batch_size: int = 64,
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray, Any]:
    """Per-frame features of videos and of a self-blended copy of each real one.

    The label-free steps of ``pipeline`` (frame sampler, face step, the
    steps up to ``features``) are fitted in place, then run over ``paths``
    ``batch_size`` videos at a time: the face tracks of each batch are
    copied with :func:`~sklearn_deepfake.nets.make_self_blended` (one copy of
    every real video with a face) and both go through the feature steps.
    Only the per-frame features are kept, so memory does not grow with the
    number of videos beyond them.

    Parameters
    ----------
    pipeline : Pipeline
        From :func:`make_default_pipeline` (steps ``facecropper`` and
        ``features``, a head after them).
    paths : list of str or path-like
        Video files.
    y : array-like of shape (n_videos,)
        Labels; which class is real is read as by ``make_self_blended``.
    random_state : int, default=0
        Seed of the blends (with ``batch_size``, it fixes every copy).
    batch_size : int, default=64
        Videos whose face crops are held at once.

    Returns
    -------
    features : list of ndarray
        One per video.
    copies : list of ndarray
        One per self-blended copy.
    source : ndarray of int
        Index in ``paths`` of each copy's video.
    fake_label : object
        The label of the copies.
    """
    from sklearn_deepfake.nets import make_self_blended
    from sklearn_deepfake.nets._self_blend import real_fake_labels

    y = np.asarray(y)
    paths = list(paths)
    if len(y) != len(paths):
        raise ValueError(f"y has {len(y)} labels for {len(paths)} videos.")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}.")
    # read once for all videos: a batch may hold one class only
    _, fake_label = real_fake_labels(y)
    is_fake = (y == fake_label).astype(int)
    faces, cut = _split(pipeline)
    front, middle = pipeline[:faces], pipeline[faces:cut]
    features, copies, source = [], [], []
    for k, start in enumerate(range(0, len(paths), batch_size)):
        batch = paths[start : start + batch_size]
        tracks = front.fit_transform(batch) if k == 0 else front.transform(batch)
        if k == 0:
            features += middle.fit_transform(tracks)
        else:
            features += middle.transform(tracks)
        labels = is_fake[start : start + batch_size]
        if labels.all():
            continue  # no real video in this batch
        made, _, _ = make_self_blended(
            tracks,
            labels,
            include_original=False,
            random_state=np.random.RandomState([random_state, k]),
        )
        if made:
            copies += middle.transform(made)
            source += [start + t.meta["self_blend"]["source"] for t in made]
    return features, copies, np.asarray(source, dtype=int), fake_label


def fit_with_self_blends(
    pipeline: Any,
    paths: Any,
    y: Any,
    *,
    random_state: int = 0,
    batch_size: int = 64,
) -> Any:
    """Fit a pipeline whose head learns partly from self-blended copies.

    The ``general-blend`` preset's identity head is trained on real videos
    against self-blended copies of them; ``pipeline.fit(paths, y)`` cannot
    add those copies (a pipeline keeps one row per video), so this function
    makes them between the face step and the features
    (:func:`self_blended_features`) and fits the head with
    ``classifier__self_blended`` marking them: the head's self-blended parts
    learn from the real videos and the copies, the other parts from
    ``paths`` and ``y`` alone (see :ref:`model_card`).

    Parameters
    ----------
    pipeline : Pipeline
        ``make_default_pipeline(preset="general-blend")``, or another
        pipeline whose classifier is a
        :class:`~sklearn_deepfake.classifiers.LogitBlendClassifier` (inside
        a :class:`~sklearn_deepfake.calibration.ClippedClassifier`) with
        ``self_blended_parts``.
    paths : list of str or path-like
        Video files.
    y : array-like of shape (n_videos,)
        Labels.
    random_state : int, default=0
        Seed of the blends.
    batch_size : int, default=64
        Videos whose face crops are held at once.

    Returns
    -------
    pipeline : Pipeline
        Fitted in place.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn_deepfake import make_default_pipeline
    >>> from sklearn_deepfake.datasets import make_face_videos
    >>> from sklearn_deepfake.pipeline import fit_with_self_blends
    >>> data = make_face_videos(
    ...     n_videos=6, n_frames=4, manipulated=0.5,
    ...     directory=tempfile.mkdtemp(), random_state=0,
    ... )
    >>> pipe = make_default_pipeline(preset="general-blend", n_frames=2, device="cpu")
    >>> pipe = fit_with_self_blends(pipe, data.paths, data.target)
    >>> pipe.predict_proba(data.paths).shape
    (6, 2)
    """
    if self_blended_head(pipeline) is None:
        raise ValueError(
            "the pipeline's classifier has no part trained on self-blends "
            "(a LogitBlendClassifier with self_blended_parts, as in "
            "make_default_pipeline(preset='general-blend')); use pipeline.fit."
        )
    features, copies, source, fake = self_blended_features(
        pipeline, paths, y, random_state=random_state, batch_size=batch_size
    )
    _, cut = _split(pipeline)
    X, y2, mask = self_blended_rows(features, copies, source, np.asarray(y), fake)
    pipeline[cut:].fit(X, y2, classifier__self_blended=mask)
    return pipeline


def self_blended_rows(
    features: list,
    copies: list,
    source: np.ndarray,
    y: np.ndarray,
    fake_label: Any,
    rows: np.ndarray | None = None,
) -> tuple[list, np.ndarray, np.ndarray]:
    """Training rows, labels and self-blended mask of some videos and their copies.

    ``rows`` (positions in ``features``; None: all) come first, then the
    copies whose ``source`` is among them, labelled ``fake_label``.
    """
    rows = np.arange(len(features)) if rows is None else np.asarray(rows)
    kept = np.flatnonzero(np.isin(source, rows))
    X = [features[i] for i in rows] + [copies[j] for j in kept]
    y2 = np.concatenate([y[rows], np.full(len(kept), fake_label, dtype=y.dtype)])
    mask = np.r_[np.zeros(len(rows), bool), np.ones(len(kept), bool)]
    return X, y2, mask
