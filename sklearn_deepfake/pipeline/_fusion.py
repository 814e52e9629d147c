"""Fusion of the face, temporal, flow, audio and lip-sync branches.

Two ways to combine branches, both sklearn estimators fitted on video paths:

- :func:`make_fusion_pipeline`, **feature-level** fusion: a
  :class:`~sklearn.pipeline.FeatureUnion` of branch pipelines, each turning
  the paths into one row per video, concatenated and fed to one scaled,
  clipped logistic regression.
- :func:`make_fusion_stack`, **classifier-level** fusion: a
  :class:`~sklearn_deepfake.ensemble.CalibratedStackingClassifier` over
  branch pipelines that each end in their own classifier (including a
  sequence model, :class:`~sklearn_deepfake.nets.TemporalClassifier`), the
  head trained on their grouped out-of-fold logits.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_deepfake.utils._docstrings import fill_doc

if TYPE_CHECKING:
    from sklearn_deepfake.ensemble import CalibratedStackingClassifier

__all__ = [
    "FUSION_BRANCHES",
    "STACK_BRANCHES",
    "make_fusion_pipeline",
    "make_fusion_stack",
]

#: Branches of :func:`make_fusion_pipeline` (each gives one row per video).
FUSION_BRANCHES = ("face", "flow", "audio", "avsync")
#: Branches of :func:`make_fusion_stack` (each ends in a classifier).
STACK_BRANCHES = ("face", "temporal", "flow", "audio", "avsync")

_DOCS = {
    "eps": """eps : float, default=0.01
    Output probabilities are clipped to ``[eps, 1 - eps]``.""",
    "n_jobs": """n_jobs : int, default=None
    Videos processed in parallel in the face and audio steps.""",
    "verbose": """verbose : int, default=0
    Progress bars of the face steps when ``> 0``.""",
}


def _check_branches(branches: Any, allowed: tuple[str, ...]) -> list[str]:
    if isinstance(branches, str):
        branches = (branches,)
    try:
        names = list(branches)
    except TypeError:
        raise ValueError(
            f"branches must be a sequence of names from {allowed}, got {branches!r}."
        ) from None
    unknown = [b for b in names if b not in allowed]
    if unknown:
        raise ValueError(
            f"Unknown branches {unknown}; branches must be taken from {allowed}."
        )
    if not names:
        raise ValueError(f"branches must name at least one of {allowed}.")
    if len(set(names)) != len(names):
        raise ValueError(f"branches must not repeat a name, got {names}.")
    return names


@dataclass(frozen=True, kw_only=True)
class _Parts:
    """Builds fresh branch steps from the shared settings (one object each)."""

    n_frames: int
    size: int
    margin: float
    shared_frames: bool
    burst_len: int
    sync_frames: int
    cache_dir: Any
    device: Any
    n_jobs: int | None
    verbose: int

    @classmethod
    def of(cls, arguments: Mapping[str, Any]) -> _Parts:
        """Take the shared settings from a factory's arguments (its ``locals()``)."""
        return cls(**{field.name: arguments[field.name] for field in fields(cls)})

    def sampler(self, kind: str) -> Any:
        from sklearn_deepfake.video import FrameSampler

        if kind == "sync":
            # Consecutive frames from the start: lip motion and its lag.
            return FrameSampler(
                strategy="every_nth", step=1, max_frames=self.sync_frames
            )
        if kind == "bursts" or self.shared_frames:
            return FrameSampler(
                n_frames=self.n_frames, strategy="bursts", burst_len=self.burst_len
            )
        return FrameSampler(n_frames=self.n_frames)

    def faces(self, kind: str) -> list[tuple[str, Any]]:
        from sklearn_deepfake.faces import FaceCropper

        cropper = FaceCropper(
            size=self.size,
            margin=self.margin,
            cache_dir=self.cache_dir,
            device=self.device,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
        )
        return [("framesampler", self.sampler(kind)), ("facecropper", cropper)]

    def rows(self, branch: str) -> Any:
        """Branch from paths to one dense row per video."""
        from sklearn_deepfake.features import (
            AudioFeatures,
            AVSyncFeatures,
            FaceContextFeatures,
            OpticalFlowFeatures,
            TemporalPooling,
        )

        if branch == "face":
            return Pipeline(
                [
                    *self.faces("face"),
                    ("features", FaceContextFeatures()),
                    ("temporalpooling", TemporalPooling(stats=("mean",))),
                ]
            )
        if branch == "flow":
            return Pipeline(
                [*self.faces("bursts"), ("opticalflowfeatures", OpticalFlowFeatures())]
            )
        if branch == "audio":
            return Pipeline([("audiofeatures", AudioFeatures(n_jobs=self.n_jobs))])
        if branch == "avsync":
            return Pipeline([*self.faces("sync"), ("avsyncfeatures", AVSyncFeatures())])
        raise ValueError(f"Unknown branch {branch!r}.")  # pragma: no cover


@fill_doc(_DOCS)
def make_fusion_pipeline(
    branches: Sequence[str] = ("face", "flow", "audio"),
    *,
    n_frames: int = 16,
    size: int = 128,
    margin: float = 0.3,
    shared_frames: bool = True,
    burst_len: int = 4,
    sync_frames: int = 50,
    C: float = 0.1,
    classifier: Any = None,
    eps: float = 0.01,
    cache_dir: str | os.PathLike | None = None,
    memory: Any = None,
    device: Any = "cpu",
    n_jobs: int | None = None,
    verbose: int = 0,
) -> Pipeline:
    """Build a feature-level fusion detector: paths in, clipped P(FAKE) out.

    Every branch is a pipeline from the video paths to one fixed row per
    video; a :class:`~sklearn.pipeline.FeatureUnion` (step ``features``)
    passes the same paths to each and concatenates the rows, then
    ``standardscaler`` and ``classifier`` (a
    :class:`~sklearn_deepfake.calibration.ClippedClassifier` around a
    logistic regression) learn one model on all of them. The branches,
    reachable with ``set_params`` as ``features__<branch>__<step>__<param>``:

    - ``"face"``: ``framesampler`` -> ``facecropper`` -> ``features``
      (:class:`~sklearn_deepfake.features.FaceContextFeatures`) ->
      ``temporalpooling`` (frame mean), as in
      :func:`~sklearn_deepfake.pipeline.make_default_pipeline`;
    - ``"flow"``: a ``strategy="bursts"`` sampler -> ``facecropper`` ->
      ``opticalflowfeatures``
      (:class:`~sklearn_deepfake.features.OpticalFlowFeatures`: the face
      moving against its surroundings between neighbouring frames);
    - ``"audio"``: ``audiofeatures``
      (:class:`~sklearn_deepfake.features.AudioFeatures`: statistics of the
      sound track, read without decoding any video frame);
    - ``"avsync"``: ``sync_frames`` consecutive frames from the start ->
      ``facecropper`` -> ``avsyncfeatures``
      (:class:`~sklearn_deepfake.features.AVSyncFeatures`: whether the
      loudness follows the mouth).

    Every branch gives every video a row (R1): a video without sound gets the
    no-audio row of :class:`AudioFeatures` (its ``audio_has_audio_stream``
    column is 0), a face-less or unreadable video gets the empty-track rows
    of the face, flow and lip-sync features, each with a warning naming the
    file, so one bad video never stops a batch.

    Parameters
    ----------
    branches : sequence of {"face", "flow", "audio", "avsync"}, \
default=("face", "flow", "audio")
        Branches to fuse, in column order.
    n_frames : int, default=16
        Frames sampled per video by the face and flow branches.
    size : int, default=128
        Side of the face crops.
    margin : float, default=0.3
        Context around each face box (see
        :class:`~sklearn_deepfake.faces.FaceCropper`).
    shared_frames : bool, default=True
        When True the face branch samples the same frames as the flow branch
        (``n_frames // burst_len`` runs of ``burst_len`` consecutive frames),
        so that with a ``cache_dir`` both branches read **one** face
        extraction per video (decode and detection are the cost; the cache
        key is the file, the frames and the cropper parameters). When False
        the face branch samples ``n_frames`` evenly spaced frames (as
        :func:`~sklearn_deepfake.pipeline.make_default_pipeline` does), which covers
        more moments of the video at the price of a second extraction.
    burst_len : int, default=4
        Consecutive frames per run of the bursts sampler.
    sync_frames : int, default=50
        Consecutive frames read from the start of each video by the
        ``"avsync"`` branch (2 s at 25 fps).
    C : float, default=0.1
        Inverse regularisation of the default logistic regression.
    classifier : classifier, default=None
        Replaces the logistic regression (it is wrapped in
        :class:`ClippedClassifier`).
    %(eps)s
    cache_dir : str or path-like, default=None
        Face cache folder, shared by every branch's cropper. Strongly
        recommended: :class:`~sklearn.pipeline.FeatureUnion` runs every
        branch on the paths, so without a cache each visual branch decodes
        and detects again, in every fold.
    memory : str or joblib.Memory, default=None
        Passed to the outer :class:`~sklearn.pipeline.Pipeline`: caches the
        fused rows (keyed by the paths and the branch parameters), so that
        tuning the scaler or classifier does not recompute them.
    device : {"cpu", "cuda", "auto"}, default="cpu"
        Device of MTCNN.
    %(n_jobs)s
    %(verbose)s

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Unfitted; steps ``features``, ``standardscaler``, ``classifier``.

    See Also
    --------
    make_fusion_stack : Classifier-level fusion.
    sklearn_deepfake.pipeline.make_default_pipeline : The face branch alone.

    Notes
    -----
    **Feature level or stacking?** Feature-level fusion fits one linear
    model on all columns at once: it needs no inner cross-validation, it can
    use interactions that only show when branches are seen together (a face
    that looks fine but whose sound does not match), and with a few dozen to
    a few hundred videos it is the safer choice when every branch is a
    weak, hand-made feature set (the case here: all four are weight-free).
    Its weak point is scale: a branch with many noisy columns (13 MFCC
    statistics times three) can drown a branch with a few strong ones, which
    the regularisation ``C`` has to absorb. Prefer
    :func:`make_fusion_stack` when the branches are strong models of their
    own (a fine-tuned CNN, a sequence model) or very different in width:
    each branch is then squeezed to one out-of-fold logit, the head has a
    handful of inputs, and adding a useless branch costs little; the price
    is ``cv`` extra fits of every branch.

    Examples
    --------
    >>> from sklearn_deepfake import make_fusion_pipeline
    >>> pipe = make_fusion_pipeline(("face", "flow", "audio"), cache_dir=None)
    >>> list(pipe.named_steps)
    ['features', 'standardscaler', 'classifier']
    >>> [name for name, _ in pipe.named_steps["features"].transformer_list]
    ['face', 'flow', 'audio']
    >>> pipe.set_params(features__audio__audiofeatures__n_mfcc=8).get_params()[
    ...     "features__audio__audiofeatures__n_mfcc"]
    8

    The audio branch alone needs no face detection, so it runs in a moment:

    >>> from sklearn_deepfake.datasets import make_face_videos
    >>> data = make_face_videos(4, n_frames=10, manipulated=0.5,
    ...                         manipulation="audio", random_state=0)
    >>> audio = make_fusion_pipeline(("audio",)).fit(data.paths, data.target)
    >>> audio.predict_proba(data.paths).shape
    (4, 2)
    """
    from sklearn_deepfake.calibration import ClippedClassifier

    names = _check_branches(branches, FUSION_BRANCHES)
    parts = _Parts.of(locals())
    head = LogisticRegression(C=C, max_iter=2000) if classifier is None else classifier
    return Pipeline(
        [
            ("features", FeatureUnion([(b, parts.rows(b)) for b in names])),
            ("standardscaler", StandardScaler()),
            ("classifier", ClippedClassifier(head, eps=eps)),
        ],
        memory=memory,
    )


@fill_doc(_DOCS)
def make_fusion_stack(
    branches: Sequence[str] = ("face", "temporal", "flow", "audio"),
    *,
    n_frames: int = 16,
    size: int = 128,
    margin: float = 0.3,
    shared_frames: bool = True,
    burst_len: int = 4,
    sync_frames: int = 50,
    C: float = 0.1,
    temporal: Any = None,
    final_estimator: Any = None,
    cv: Any = 5,
    calibration: str | None = None,
    eps: float = 0.01,
    cache_dir: str | os.PathLike | None = None,
    device: Any = "cpu",
    n_jobs: int | None = None,
    verbose: int = 0,
    random_state: int | None = 0,
) -> CalibratedStackingClassifier:
    """Build a classifier-level fusion: a calibrated stack of branch models.

    Each branch is a complete detector from the video paths; a
    :class:`~sklearn_deepfake.ensemble.CalibratedStackingClassifier`
    cross-validates every branch (grouped, when ``groups`` reach ``fit``),
    fits its head on their out-of-fold logits and refits the branches on all
    the data. The base estimators, named after their branch:

    - ``"face"``, ``"flow"``, ``"audio"``, ``"avsync"``: the branches of
      :func:`make_fusion_pipeline`, each followed by ``standardscaler`` and
      ``logisticregression`` (``C``);
    - ``"temporal"``: ``framesampler`` -> ``facecropper`` -> ``features``
      (:class:`~sklearn_deepfake.features.FaceContextFeatures`, one row per
      frame) -> ``temporalclassifier``
      (:class:`~sklearn_deepfake.nets.TemporalClassifier`, a small
      bidirectional LSTM over each video's frame rows, which sees how they
      change in time; random initial weights, nothing downloaded).

    Parameters
    ----------
    branches : sequence of {"face", "temporal", "flow", "audio", "avsync"}, \
default=("face", "temporal", "flow", "audio")
        Base models to stack.
    n_frames, size, margin, shared_frames, burst_len, sync_frames : \
see :func:`make_fusion_pipeline`
        Frame sampling and face crops. With ``shared_frames=True`` (the
        default) and a ``cache_dir``, the face, temporal and flow branches
        read one face extraction per video for the whole stack (every
        fold, every branch, the refit and prediction).
    C : float, default=0.1
        Inverse regularisation of the branches' logistic regressions.
    temporal : classifier, default=None
        Model of the ``"temporal"`` branch. ``None`` means
        ``TemporalClassifier(hidden_size=32, crop_len=8, max_epochs=30,
        valid_size=None, device=device, random_state=random_state)``
        (no inner validation split: the stack's grouped folds already hold
        videos out, and an ungrouped split would leak identities).
    final_estimator : classifier, default=None
        Head of the stack; ``None`` means a logistic regression.
    cv : int or cross-validation generator, default=5
        Folds of the stack (grouped when ``groups`` are given to ``fit``).
    calibration : {None, "sigmoid", "isotonic", "temperature"}, default=None
        Calibration of the head (see
        :class:`~sklearn_deepfake.ensemble.CalibratedStackingClassifier`).
    %(eps)s
    cache_dir : str or path-like, default=None
        Face cache folder shared by every branch (strongly recommended).
    device : {"cpu", "cuda", "auto"}, default="cpu"
        Device of MTCNN and of the temporal network.
    %(n_jobs)s
    %(verbose)s
    random_state : int or None, default=0
        Seed of the default temporal network.

    Returns
    -------
    stack : sklearn_deepfake.ensemble.CalibratedStackingClassifier
        Unfitted; ``fit(paths, y, groups=groups)``.

    See Also
    --------
    make_fusion_pipeline : Feature-level fusion, and when to prefer it.

    Examples
    --------
    >>> from sklearn_deepfake import make_fusion_stack
    >>> stack = make_fusion_stack(("face", "temporal", "audio"))
    >>> [name for name, _ in stack.estimators]
    ['face', 'temporal', 'audio']
    >>> list(stack.get_params()["temporal"].named_steps)
    ['framesampler', 'facecropper', 'features', 'temporalclassifier']
    """
    from sklearn_deepfake.ensemble import CalibratedStackingClassifier
    from sklearn_deepfake.features import FaceContextFeatures

    names = _check_branches(branches, STACK_BRANCHES)
    parts = _Parts.of(locals())
    estimators = []
    for name in names:
        if name == "temporal":
            if temporal is None:
                from sklearn_deepfake.nets import TemporalClassifier

                model = TemporalClassifier(
                    hidden_size=32,
                    crop_len=8,
                    max_epochs=30,
                    valid_size=None,
                    device=device,
                    random_state=random_state,
                )
            else:
                model = temporal
            est = Pipeline(
                [
                    *parts.faces("face"),
                    ("features", FaceContextFeatures()),
                    ("temporalclassifier", model),
                ]
            )
        else:
            branch = parts.rows(name)
            est = Pipeline(
                [
                    *branch.steps,
                    ("standardscaler", StandardScaler()),
                    ("logisticregression", LogisticRegression(C=C, max_iter=2000)),
                ]
            )
        estimators.append((name, est))
    return CalibratedStackingClassifier(
        estimators,
        final_estimator,
        cv=cv,
        calibration=calibration,
        eps=eps,
    )
