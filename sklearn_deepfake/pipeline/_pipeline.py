"""make_default_pipeline: paths in, calibrated P(FAKE) out."""

from __future__ import annotations

import os
from typing import Any

from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

FEATURE_SETS = (
    "context",
    "spectrum",
    "context+spectrum",
    "context+mtcnn",
    "context+mtcnn+shape",
    "context+mtcnn+shape+noise",
    "cnn",
)

#: Named recipes of :func:`make_default_pipeline` (see its ``preset``).
PRESETS = ("default", "swap", "self-blended")


def _features(name: str, backbone: str, device: Any, verbose: int) -> Any:
    from sklearn_deepfake.features import (
        CNNFeatureExtractor,
        FaceContextFeatures,
        RaggedFeatureUnion,
        SpectrumFeatures,
    )

    if name == "context":
        return FaceContextFeatures()
    if name == "spectrum":
        return SpectrumFeatures()
    if name == "context+spectrum":
        return RaggedFeatureUnion(
            [("context", FaceContextFeatures()), ("spectrum", SpectrumFeatures())]
        )
    if name == "context+mtcnn":
        from sklearn_deepfake.features import MTCNNEmbeddings

        return RaggedFeatureUnion(
            [("context", FaceContextFeatures()), ("mtcnn", MTCNNEmbeddings("rnet"))]
        )
    if name in ("context+mtcnn+shape", "context+mtcnn+shape+noise"):
        from sklearn_deepfake.features import (
            FaceShapeFeatures,
            MTCNNEmbeddings,
            TemporalNoiseFeatures,
        )
        from sklearn_deepfake.features._landmarks import default_model_path

        try:  # a clear ImportError now rather than at fit
            default_model_path()
        except ImportError as exc:
            raise ImportError(
                f"{exc} Without it, pass features='context+mtcnn' (the swap "
                "preset's features less the face shapes)."
            ) from exc
        steps = [
            ("context", FaceContextFeatures()),
            ("mtcnn", MTCNNEmbeddings("rnet")),
            ("shape", FaceShapeFeatures()),
        ]
        if name.endswith("+noise"):
            steps.append(("noise", TemporalNoiseFeatures("dlib")))
        return RaggedFeatureUnion(steps)
    if name == "cnn":
        return CNNFeatureExtractor(backbone, device=device, verbose=verbose)
    raise ValueError(f"features must be one of {FEATURE_SETS}, got {name!r}.")


def make_default_pipeline(
    *,
    preset: str = "default",
    features: str | None = None,
    n_frames: int | None = None,
    size: int = 128,
    margin: float = 0.3,
    backbone: str = "efficientnet_b0",
    C: float | None = None,
    pooling: tuple[str, ...] | None = None,
    calibration: str | None = None,
    cv: int = 5,
    eps: float = 0.01,
    cache_dir: str | os.PathLike | None = None,
    memory: Any = None,
    device: Any = "auto",
    n_jobs: int | None = None,
    verbose: int = 0,
) -> Pipeline:
    """Build the default detector: video paths in, calibrated P(FAKE) out.

    The steps, each reachable with ``set_params`` under its name:

    ``framesampler`` (:class:`~sklearn_deepfake.video.FrameSampler`) ->
    ``facecropper`` (:class:`~sklearn_deepfake.faces.FaceCropper`) ->
    ``features`` (per-frame face features) ->
    ``temporalpooling`` (:class:`~sklearn_deepfake.features.TemporalPooling`) ->
    ``standardscaler`` -> ``classifier``
    (:class:`~sklearn_deepfake.calibration.ClippedClassifier` around a
    logistic regression, optionally inside a
    :class:`~sklearn.calibration.CalibratedClassifierCV`).

    Parameters
    ----------
    preset : {"default", "swap", "self-blended"}, default="default"
        Named recipe; ``features``, ``C``, ``pooling`` and ``n_frames`` left
        at None take the preset's values, anything given explicitly wins.
        An option the preset has no step for raises a ValueError that names
        it, rather than being silently ignored (see each preset).

        - ``"default"``: ``features="context"``, ``pooling=("mean",)``,
          ``C=0.1``, ``n_frames=32``; weight-free and the cheapest.
        - ``"swap"``: the recipe that scored best on real face swaps in
          ``benchmarks/bench_quality.py`` (grouped cross-validation that
          leaves whole swap faces out). It reads 64 pairs of consecutive
          frames (``n_frames=128``,
          ``FrameSampler(strategy="bursts", burst_len=2)``), describes every
          face row with ``features="context+mtcnn+shape+noise"``
          (:class:`~sklearn_deepfake.features.FaceContextFeatures`,
          :class:`~sklearn_deepfake.features.MTCNNEmbeddings`,
          :class:`~sklearn_deepfake.features.FaceShapeFeatures` and
          :class:`~sklearn_deepfake.features.TemporalNoiseFeatures`; needs
          ``pip install 'sklearn-deepfake[landmarks]'``), then has no pooling
          step: a
          :class:`~sklearn_deepfake.classifiers.FramewiseClassifier` fits a
          standardised logistic regression (``C=0.3``) on every frame, each
          video weighing the same, and scores a video by its mean frame
          logit at ``temperature=1.5``. The frame-level head lowered the
          leave-swap-faces-out log loss from 0.611 to 0.586 and raised the
          AUC from 0.745 to 0.763 against pooling each video's frames by
          their median first; the face shapes took them to 0.562 and 0.798,
          and the frame-to-frame noise of the face against its surroundings
          to 0.549 and 0.812 (0.560 and 0.796 without it on the same
          frames; 0.553 and 0.800 when C is chosen inside each training
          fold). The temperature hedges against videos unlike the training
          ones: on 21 real clips from other sources it keeps the log loss
          below the prior's. Steps: ``framesampler``,
          ``facecropper``, ``features``, ``classifier``; an explicit
          ``pooling`` or ``calibration`` raises a ValueError. Without the extra, pass
          ``features="context+mtcnn"``.
        - ``"self-blended"``: for folders with few or no fakes. The head is a
          :class:`~sklearn_deepfake.nets.FaceCNNClassifier` on the face
          crops (``backbone``, random initialisation unless you set
          ``classifier__pretrained=True`` or ``classifier__weights=PATH``;
          offline, ``backbone="tf_efficientnet_lite0"`` with the
          ``imagenet`` extra has ImageNet weights)
          trained with ``self_blend=True``: every real video's crops also
          yield self-blended pseudo-fakes, so it trains from whatever labels
          the folder has, real videos only included. The steps are then
          ``framesampler``, ``facecropper`` and ``classifier``; an explicit
          ``features``, ``C``, ``pooling`` or ``calibration`` raises a
          ValueError (``cv`` is unused). Its early stopping holds out
          ``classifier__valid_size`` of the videos, grouped when the groups
          reach the classifier: ``pipe.fit(paths, y,
          classifier__groups=groups)`` (or, with metadata routing on, whose
          request this function sets, ``pipe.fit(paths, y, groups=groups)``);
          without them each video is its own group, so a fake and its
          original can fall on both sides.
    features : {"context", "spectrum", "context+spectrum", "context+mtcnn", \
"context+mtcnn+shape", "context+mtcnn+shape+noise", "cnn"}, default=None
        Per-frame features (None: the preset's). ``"context"``:
        face-versus-surroundings sharpness, noise and colour statistics
        (:class:`~sklearn_deepfake.features.FaceContextFeatures`), which need
        no weights. ``"spectrum"``: the azimuthal log power spectrum of Durall
        et al. (2019). ``"context+mtcnn"``: the context statistics plus
        embeddings from MTCNN's trained RNet
        (:class:`~sklearn_deepfake.features.MTCNNEmbeddings`; its weights
        ship with facenet-pytorch). ``"context+mtcnn+shape"``: those plus
        the shapes of the jaw line and of the inner face from dlib's 68
        landmarks (:class:`~sklearn_deepfake.features.FaceShapeFeatures`;
        needs the ``landmarks`` extra). ``"context+mtcnn+shape+noise"``:
        those plus the frame-to-frame noise of the inner and outer face
        against the background
        (:class:`~sklearn_deepfake.features.TemporalNoiseFeatures`, which needs
        consecutive frames: the ``swap`` preset samples them in pairs).
        ``"cnn"``: embeddings of a timm
        ``backbone`` (random weights unless you set
        ``features__pretrained=True`` or ``features__weights=PATH``).
    n_frames : int, default=None
        Frames sampled per video (None: the preset's, 128 for ``"swap"``,
        read as 64 pairs of consecutive frames, and 32 otherwise).
    size : int, default=128
        Side of the face crops.
    margin : float, default=0.3
        Context around each face box (see :class:`FaceCropper`).
    backbone : str, default="efficientnet_b0"
        timm model for ``features="cnn"``.
    C : float, default=None
        Inverse regularisation of the logistic regression (None: the
        preset's).
    pooling : tuple of str, default=None
        Statistics of :class:`~sklearn_deepfake.features.TemporalPooling`
        over a video's frames (None: the preset's).
    calibration : {None, "sigmoid", "isotonic"}, default=None
        ``None``: the logistic regression's own probabilities, clipped. It is
        fitted by minimising log loss, so on the pooled features its
        probabilities are already calibrated, and on the real pairs of
        ``dfl-pairs`` it scored better than a calibrated one: grouped CV log
        loss 0.665 against 0.713 for ``CalibratedClassifierCV(cv=5)``, test
        log loss 0.659 against 0.689 (``benchmarks/bench_pipeline.py``). The
        reason is leakage: the calibration folds of
        :class:`~sklearn.calibration.CalibratedClassifierCV` are not grouped,
        so a fake and its original sit on both sides and the calibrator
        learns from over-optimistic scores. ``"sigmoid"`` or ``"isotonic"``
        wrap the regression in ``CalibratedClassifierCV(method=..., cv=cv)``;
        pass a grouped splitter as ``cv`` with metadata routing to avoid the
        leak, or calibrate the whole pipeline out of fold.
    cv : int or cross-validation generator, default=5
        Calibration folds when ``calibration`` is given.
    eps : float, default=0.01
        Probabilities are clipped to ``[eps, 1 - eps]`` at prediction time.
    cache_dir : str or path-like, default=None
        Face cache folder (strongly recommended for cross-validation and
        tuning: faces are then extracted once per video).
    memory : str or joblib.Memory, default=None
        Passed to :class:`~sklearn.pipeline.Pipeline`.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Device of MTCNN and of the CNN features.
    n_jobs : int, default=None
        Videos processed in parallel by the face step.
    verbose : int, default=0
        Progress bars when ``> 0``.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Unfitted; ``fit(paths, y)`` then ``predict_proba(paths)[:, 1]``.

    Examples
    --------
    >>> from sklearn_deepfake import make_default_pipeline
    >>> pipe = make_default_pipeline(n_frames=8, cache_dir=None)
    >>> list(pipe.named_steps)  # doctest: +NORMALIZE_WHITESPACE
    ['framesampler', 'facecropper', 'features', 'temporalpooling',
     'standardscaler', 'classifier']
    >>> pipe.set_params(facecropper__margin=0.4).get_params()["facecropper__margin"]
    0.4
    """
    from sklearn_deepfake.calibration import ClippedClassifier
    from sklearn_deepfake.faces import FaceCropper
    from sklearn_deepfake.features import TemporalPooling
    from sklearn_deepfake.video import FrameSampler

    if preset not in _PRESET_VALUES:
        raise ValueError(f"preset must be one of {PRESETS}, got {preset!r}.")
    chosen = _PRESET_VALUES[preset]
    _check_preset_options(
        preset, features=features, C=C, pooling=pooling, calibration=calibration
    )
    n_frames = chosen["n_frames"] if n_frames is None else n_frames
    faces = [
        (
            "framesampler",
            FrameSampler(n_frames=n_frames, **chosen.get("sampler", {})),
        ),
        (
            "facecropper",
            FaceCropper(
                size=size,
                margin=margin,
                cache_dir=cache_dir,
                device=device,
                n_jobs=n_jobs,
                verbose=verbose,
            ),
        ),
    ]
    if preset == "self-blended":
        from sklearn_deepfake.nets import FaceCNNClassifier

        net = FaceCNNClassifier(
            backbone,
            input_size=size,
            self_blend=True,
            eps=eps,
            device=device,
            verbose=verbose,
        )
        from sklearn import get_config

        if get_config().get("enable_metadata_routing", False):
            # the early-stopping split is grouped when the groups reach fit
            net.set_fit_request(groups=True)
        return Pipeline([*faces, ("classifier", net)], memory=memory)
    features = chosen["features"] if features is None else features
    C = chosen["C"] if C is None else C
    if preset == "swap":
        from sklearn_deepfake.classifiers import FramewiseClassifier

        frame_lr = LogisticRegression(C=C, max_iter=3000)
        head_steps = [
            (
                "classifier",
                FramewiseClassifier(
                    make_pipeline(StandardScaler(), frame_lr),
                    temperature=chosen["temperature"],
                    eps=eps,
                ),
            )
        ]
    else:
        head = LogisticRegression(C=C, max_iter=2000)
        if calibration is not None:
            head = CalibratedClassifierCV(head, method=calibration, cv=cv)
        pooling = chosen["pooling"] if pooling is None else tuple(pooling)
        head_steps = [
            ("temporalpooling", TemporalPooling(stats=pooling)),
            ("standardscaler", StandardScaler()),
            ("classifier", ClippedClassifier(head, eps=eps)),
        ]
    return Pipeline(
        [
            *faces,
            ("features", _features(features, backbone, device, verbose)),
            *head_steps,
        ],
        memory=memory,
    )


# Options of make_default_pipeline that a preset has no step for.
_NOT_APPLICABLE: dict[str, tuple[str, ...]] = {
    "swap": ("pooling", "calibration"),
    "self-blended": ("features", "C", "pooling", "calibration"),
}


def _check_preset_options(preset: str, **options: Any) -> None:
    """Raise a ValueError naming every explicit option ``preset`` cannot use."""
    ignored = [
        name
        for name in _NOT_APPLICABLE.get(preset, ())
        if options.get(name) is not None
    ]
    if not ignored:
        return
    what = {
        "swap": "scores videos from their frames with a FramewiseClassifier "
        "(no pooling step, no calibration wrapper)",
        "self-blended": "trains a FaceCNNClassifier on the face crops (no "
        "feature step, no logistic regression, no pooling, no calibration "
        "wrapper)",
    }[preset]
    given = ", ".join(f"{name}={options[name]!r}" for name in ignored)
    raise ValueError(
        f"preset={preset!r} {what}, so {given} would be ignored; leave "
        f"{' and '.join(ignored)} at None, or use preset='default'."
    )


_PRESET_VALUES: dict[str, dict[str, Any]] = {
    "default": {"features": "context", "pooling": ("mean",), "C": 0.1, "n_frames": 32},
    "swap": {
        "features": "context+mtcnn+shape+noise",
        "C": 0.3,
        "temperature": 1.5,
        "n_frames": 128,
        "sampler": {"strategy": "bursts", "burst_len": 2},
    },
    "self-blended": {"n_frames": 32},
}
