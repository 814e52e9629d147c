"""Grad-CAM heatmaps of face crops, and per-frame scores of fitted detectors.

Two kinds of fitted models have a CNN whose gradients can be followed back
to the face crops:

- :class:`~sklearn_deepfake.nets.FaceCNNClassifier` (alone or as the last
  step of a pipeline): the target is the fake logit of each crop;
- a pipeline ``... -> CNNFeatureExtractor -> TemporalPooling(stats=("mean",))
  -> affine steps -> linear classifier`` (the default pipeline with
  ``features="cnn"``). Mean pooling followed by an affine map makes the
  video's decision value the mean of one *frame decision* per crop,
  ``w @ embedding + c``; ``w`` is read off the fitted steps (and checked to
  be affine), so the Grad-CAM target of a crop is ``w @ embedding``.

The heatmaps come from the ``grad-cam`` package (``pip install
sklearn-deepfake[explain]``), imported when first needed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from sklearn_deepfake.inspection._display_utils import _DOCS, _evenly, _row_frames
from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._plotting import import_pyplot
from sklearn_deepfake.utils._proba import clip_values
from sklearn_deepfake.utils._ragged import FaceTracks, check_per_video

__all__ = ["GradCAMDisplay", "grad_cam"]

_METHODS = {
    "gradcam": "GradCAM",
    "gradcam++": "GradCAMPlusPlus",
    "hirescam": "HiResCAM",
    "layercam": "LayerCAM",
}


def _import_grad_cam() -> Any:
    try:
        import pytorch_grad_cam
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Grad-CAM needs the 'grad-cam' package: pip install "
            "'sklearn-deepfake[explain]' (or pip install grad-cam)."
        ) from exc
    return pytorch_grad_cam


# ---------------------------------------------------------------------------
# Finding the CNN and the frame head of a fitted model
# ---------------------------------------------------------------------------


def _steps(estimator: Any) -> list[Any]:
    steps = getattr(estimator, "steps", None)
    return [s for _, s in steps] if steps is not None else [estimator]


def _decision(tail: Any, Z: np.ndarray) -> np.ndarray:
    """Decision value (log-odds of the fake class) of a fitted tail on Z."""
    if hasattr(tail, "decision_function"):
        d = np.asarray(tail.decision_function(Z), dtype=np.float64)
        if d.ndim == 1:
            return d
    from sklearn_deepfake.utils._labels import fake_column

    p = clip_values(tail.predict_proba(Z)[:, fake_column(tail)], 1e-12)
    return np.log(p) - np.log1p(-p)


class _FrameHead:
    """Scores single frames through ``TemporalPooling(mean) -> affine tail``.

    ``weights`` (D,) is the gradient of the video decision value with
    respect to the mean embedding; the tail is checked to be affine.
    """

    def __init__(self, pooling: Any, tail: Any) -> None:
        stats = (
            (pooling.stats,) if isinstance(pooling.stats, str) else tuple(pooling.stats)
        )
        if stats != ("mean",) or len(np.atleast_1d(pooling.quantiles)):
            raise ValueError(
                "Per-frame scores need TemporalPooling(stats=('mean',)) without "
                f"quantiles; this model pools with stats={stats!r}."
            )
        self.pooling = pooling
        self.tail = tail
        d = int(pooling.n_features_in_)
        self.n_features = d
        base = np.zeros(pooling.n_features_out_)
        base[:d] = pooling.fill_values_[:d]
        if pooling.counts:
            base[d:] = 1.0
        probe = np.repeat(base[None], d + 1, axis=0)
        probe[1:, :d] += np.eye(d)
        values = _decision(self.tail, probe)
        self.weights = (values[1:] - values[0]).astype(np.float32)
        # An affine tail predicts random points from the weights exactly.
        rng = np.random.default_rng(0)
        steps = rng.normal(size=(4, d))
        check = np.repeat(base[None], 4, axis=0)
        check[:, :d] += steps
        expected = values[0] + steps @ self.weights.astype(np.float64)
        got = _decision(self.tail, check)
        if not np.allclose(got, expected, rtol=1e-4, atol=1e-4 * (1 + abs(got).max())):
            raise ValueError(
                "The steps after TemporalPooling are not affine in the pooled "
                "features (for example a calibrated or non-linear classifier), "
                "so a video score is not a mean of frame scores."
            )

    def frame_scores(self, pooled_row: np.ndarray, features: np.ndarray) -> np.ndarray:
        """P(fake) of each frame: the video's pooled row with its mean replaced."""
        from sklearn_deepfake.utils._labels import fake_column

        if not len(features):
            return np.zeros(0, np.float32)
        rows = np.repeat(np.asarray(pooled_row, np.float64)[None], len(features), 0)
        rows[:, : self.n_features] = features
        proba = self.tail.predict_proba(rows)[:, fake_column(self.tail)]
        return proba.astype(np.float32)


def _find(estimator: Any) -> dict[str, Any]:
    """Locate the face step, the CNN and the head of a fitted model."""
    from sklearn_deepfake.features import CNNFeatureExtractor, TemporalPooling
    from sklearn_deepfake.nets import FaceCNNClassifier

    steps = _steps(estimator)
    last = steps[-1]
    if isinstance(last, FaceCNNClassifier):
        check_is_fitted(last)
        return {"kind": "face_cnn", "clf": last, "face_stop": len(steps) - 1}
    for i, step in enumerate(steps[:-1]):
        if isinstance(step, CNNFeatureExtractor):
            check_is_fitted(step)
            pooling = steps[i + 1] if i + 1 < len(steps) else None
            if not isinstance(pooling, TemporalPooling):
                raise ValueError(
                    "CNNFeatureExtractor must be followed by TemporalPooling to "
                    "explain the model."
                )
            head = _FrameHead(pooling, estimator[i + 2 :])
            if not np.any(head.weights):
                raise ValueError(
                    "The classifier's decision does not change with the CNN "
                    "features (constant around the training mean); there is "
                    "no gradient to explain."
                )
            return {
                "kind": "cnn_features",
                "extractor": step,
                "head": head,
                "face_stop": i,
                "feature_stop": i + 1,
            }
    raise TypeError(
        "Grad-CAM needs a fitted FaceCNNClassifier, or a pipeline with a "
        "CNNFeatureExtractor, TemporalPooling(stats=('mean',)) and a linear "
        f"classifier; got {type(estimator).__name__}."
    )


def _face_tracks(estimator: Any, X: Any, stop: int) -> list[FaceTracks]:
    """FaceTracks of X: X itself, or X passed through the face steps."""
    X = list(X) if not isinstance(X, list) else X
    if all(isinstance(x, FaceTracks) for x in X):
        return X
    steps = _steps(estimator)
    for step in steps[:stop]:
        X = step.transform(X)
    return check_per_video(X, kind=FaceTracks)


def _cam_network(found: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(network: float [0, 1] NCHW -> fake logits (B,), backbone, device)."""
    import torch

    from sklearn_deepfake.nets._training import FaceNet

    if found["kind"] == "face_cnn":
        clf = found["clf"]
        net = clf.net_.module_
        return net, net.backbone, clf.device_
    ext = found["extractor"]
    w = torch.as_tensor(found["head"].weights, device=ext.device_).view(1, -1)
    head = torch.nn.Linear(w.shape[1], 1, bias=False).to(ext.device_)
    with torch.no_grad():
        head.weight.copy_(w)
    # FaceNet applies the extractor's own input pre-processing, resizing to
    # the size it runs at (a face-trained backbone's own when input_size=None).
    net = FaceNet(
        torch.nn.Sequential(ext.model_, head),
        mean=ext.mean_,
        std=ext.std_,
        input_size=ext.input_size_,
        channels_last=False,
    ).eval()
    return net, ext.model_, ext.device_


def default_target_layer(backbone: Any) -> tuple[str, Any]:
    """Name and module of the last convolutional stage of a timm backbone.

    Uses timm's ``feature_info`` (the last feature stage) when the model has
    it; otherwise the last module whose output is 4-D in a forward pass.
    """
    import torch

    info = getattr(backbone, "feature_info", None)
    if info:
        try:
            name = info[-1]["module"]
            return name, backbone.get_submodule(name)
        except (KeyError, TypeError, AttributeError):
            pass
    seen: list[str] = []
    names = {m: n for n, m in backbone.named_modules() if n}
    hooks = [
        m.register_forward_hook(
            lambda mod, inp, out: (
                seen.append(names[mod])
                if isinstance(out, torch.Tensor) and out.ndim == 4
                else None
            )
        )
        for m in names
    ]
    try:
        param = next(backbone.parameters())
        with torch.no_grad():
            backbone(torch.zeros(1, 3, 64, 64, device=param.device))
    finally:
        for h in hooks:
            h.remove()
    if not seen:
        raise ValueError("The backbone has no layer with a 4-D output.")
    return seen[-1], backbone.get_submodule(seen[-1])


def _resolve_layer(backbone: Any, layer: Any) -> tuple[str, Any]:
    import torch

    if layer is None:
        return default_target_layer(backbone)
    if isinstance(layer, str):
        try:
            return layer, backbone.get_submodule(layer)
        except AttributeError as exc:
            raise ValueError(f"The backbone has no layer named {layer!r}.") from exc
    if isinstance(layer, torch.nn.Module):
        name = next((n for n, m in backbone.named_modules() if m is layer), "?")
        return name, layer
    raise TypeError(f"layer must be None, a module name or a module, got {layer!r}.")


def _cams(
    net: Any,
    target_layer: Any,
    device: Any,
    crops: np.ndarray,
    *,
    method: str,
    target: str,
    batch_size: int,
) -> np.ndarray:
    import torch

    pgc = _import_grad_cam()
    from pytorch_grad_cam.utils.model_targets import BinaryClassifierOutputTarget

    size = crops.shape[1] if np.ndim(crops) == 4 else 0
    if not len(crops):
        return np.zeros((0, size, size), np.float32)
    cam_class = getattr(pgc, _METHODS[method])
    category = 1 if target == "fake" else 0
    out = []
    with cam_class(model=net, target_layers=[target_layer]) as cam:
        for start in range(0, len(crops), batch_size):
            batch = np.array(crops[start : start + batch_size])
            x = torch.from_numpy(batch).to(device).permute(0, 3, 1, 2).float() / 255.0
            # Without it, a frozen backbone (no parameter needs a gradient)
            # would record no gradient at the target layer.
            x.requires_grad_(True)
            maps = cam(
                input_tensor=x,
                targets=[BinaryClassifierOutputTarget(category)] * len(batch),
            )
            out.append(np.asarray(maps, np.float32))
    return np.clip(np.concatenate(out), 0.0, 1.0)


def _check_options(method: str, target: str, batch_size: Any) -> None:
    if method not in _METHODS:
        raise ValueError(f"method must be one of {sorted(_METHODS)}, got {method!r}.")
    if target not in ("fake", "real"):
        raise ValueError(f"target must be 'fake' or 'real', got {target!r}.")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}.")


def grad_cam(
    estimator: Any,
    X: Any,
    *,
    layer: Any = None,
    method: str = "gradcam",
    target: str = "fake",
    batch_size: int = 16,
) -> list[np.ndarray]:
    """Grad-CAM heatmaps of every face crop of every video.

    Parameters
    ----------
    estimator : estimator
        A fitted :class:`~sklearn_deepfake.nets.FaceCNNClassifier`, a fitted
        pipeline ending with one, or a fitted pipeline with a
        :class:`~sklearn_deepfake.features.CNNFeatureExtractor` followed by
        ``TemporalPooling(stats=("mean",))`` and affine steps ending in a
        linear classifier (then the target of a crop is its frame decision
        value ``w @ embedding``, whose mean over the crops is the video's).
    X : list of FaceTracks, or list of video paths
        Paths are passed through the pipeline's steps up to the face tracks.
    layer : str or torch.nn.Module, default=None
        Target layer of the backbone (a name such as ``"layer3"`` from
        ``named_modules()``). ``None``: the last stage of timm's
        ``feature_info``, else the last module with a 4-D output.
    method : {"gradcam", "gradcam++", "hirescam", "layercam"}, default="gradcam"
        CAM variant of the ``grad-cam`` package.
    target : {"fake", "real"}, default="fake"
        Class whose evidence is shown.
    batch_size : int, default=16
        Crops per backward pass.

    Returns
    -------
    heatmaps : list of ndarray of float32, shape (n_rows_i, size, size)
        One array per video, one map per crop (row of its FaceTracks),
        scaled to ``[0, 1]`` per crop; ``(0, size, size)`` without faces.

    Examples
    --------
    >>> import warnings
    >>> from sklearn_deepfake.inspection import grad_cam
    >>> from sklearn_deepfake.nets import FaceCNNClassifier
    >>> from sklearn_deepfake.utils._testing import make_tiny_face_tracks
    >>> X = make_tiny_face_tracks(4, size=64)
    >>> clf = FaceCNNClassifier("resnet18", max_epochs=1, valid_size=None,
    ...                         device="cpu", random_state=0)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # random init warning
    ...     maps = grad_cam(clf.fit(X, [0, 1, 0, 1]), X, layer="layer3")
    >>> [m.shape for m in maps][:2]
    [(3, 64, 64), (0, 64, 64)]
    >>> bool(maps[0].min() >= 0 and maps[0].max() <= 1)
    True
    """
    _check_options(method, target, batch_size)
    found = _find(estimator)
    tracks = _face_tracks(estimator, X, found["face_stop"])
    net, backbone, device = _cam_network(found)
    _, module = _resolve_layer(backbone, layer)
    return [
        _cams(
            net,
            module,
            device,
            t.crops,
            method=method,
            target=target,
            batch_size=int(batch_size),
        )
        for t in tracks
    ]


def frame_scores(estimator: Any, tracks: list[FaceTracks]) -> list[np.ndarray]:
    """P(fake) of every face crop, when the model defines one.

    For a :class:`~sklearn_deepfake.nets.FaceCNNClassifier` these are its
    per-crop probabilities; for per-frame features ->
    :class:`~sklearn_deepfake.classifiers.FramewiseClassifier` (the ``swap``
    preset), its frame model's. For ``CNN or other per-frame features ->
    TemporalPooling(stats=("mean",)) -> affine steps -> linear classifier``
    each crop's feature row replaces the video's mean in its pooled row
    (the count columns are kept), so that the video's decision value is the
    mean of the frames' ones. Raises ``ValueError`` for other models.
    """
    from sklearn_deepfake.classifiers import FramewiseClassifier
    from sklearn_deepfake.faces import FaceCropper
    from sklearn_deepfake.features import TemporalPooling
    from sklearn_deepfake.nets import FaceCNNClassifier
    from sklearn_deepfake.utils import fake_class_index

    steps = _steps(estimator)
    if isinstance(steps[-1], FaceCNNClassifier):
        return steps[-1].predict_frame_proba(tracks)
    # The steps between the face tracks and the pooling make the features.
    start = 1 + max(
        (i for i, s in enumerate(steps) if isinstance(s, FaceCropper)), default=-1
    )
    if isinstance(steps[-1], FramewiseClassifier):
        clf = steps[-1]
        fake = fake_class_index(clf.classes_)
        features = (
            estimator[start:-1].transform(tracks) if start < len(steps) - 1 else tracks
        )
        return [
            p[:, fake].astype(np.float32) for p in clf.predict_frame_proba(features)
        ]
    pool = next(
        (i for i, s in enumerate(steps) if isinstance(s, TemporalPooling)), None
    )
    if pool is None or pool <= start:
        raise ValueError("The model has no per-frame features to score.")
    head = _FrameHead(steps[pool], estimator[pool + 1 :])
    features = estimator[start:pool].transform(tracks)
    pooled = steps[pool].transform(features)
    return [head.frame_scores(p, f) for p, f in zip(pooled, features)]


def _panel_grid(n: int) -> tuple[int, int]:
    """Rows and columns of panels for ``n`` crops: one row up to 6, else two."""
    if n <= 6:
        return 1, max(1, n)
    return 2, int(np.ceil(n / 2))


class GradCAMDisplay:
    """Face crops of one video with their Grad-CAM heatmaps and frame scores.

    Create it with :meth:`from_estimator`, then call :meth:`plot`.

    Parameters
    ----------
    crops : ndarray of uint8, shape (n, size, size, 3)
        Face crops.
    heatmaps : ndarray of float32, shape (n, size, size)
        Their heatmaps in ``[0, 1]``.
    frame_indices : ndarray of int, shape (n,)
        Frame of each crop in the video.
    scores : ndarray of float, shape (n,), default=None
        P(fake) of each crop, shown in the panel titles when given.
    path : str, default=None
        The video.

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes
        The panels, after :meth:`plot`.
    figure_ : matplotlib Figure
        Their figure.

    See Also
    --------
    grad_cam : The heatmaps of every crop of every video.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_deepfake.inspection import GradCAMDisplay
    >>> rng = np.random.default_rng(0)
    >>> crops = rng.integers(0, 255, (3, 32, 32, 3), dtype=np.uint8)
    >>> maps = rng.random((3, 32, 32)).astype(np.float32)
    >>> disp = GradCAMDisplay(crops, maps, [0, 10, 20], [0.2, 0.9, 0.7]).plot()
    >>> disp.axes_[1].get_title().splitlines()
    ['frame 10', 'P(fake)=0.90']
    """

    def __init__(
        self,
        crops: np.ndarray,
        heatmaps: np.ndarray,
        frame_indices: np.ndarray,
        scores: np.ndarray | None = None,
        path: str | None = None,
    ) -> None:
        self.crops = crops
        self.heatmaps = heatmaps
        self.frame_indices = frame_indices
        self.scores = scores
        self.path = path

    @classmethod
    @fill_doc(_DOCS)
    def from_estimator(
        cls,
        estimator: Any,
        X: Any,
        *,
        video: int = 0,
        n_faces: int = 8,
        layer: Any = None,
        method: str = "gradcam",
        target: str = "fake",
        ax: Any = None,
        alpha: float = 0.5,
    ) -> GradCAMDisplay:
        """Compute the heatmaps of ``n_faces`` crops of one video and plot them.

        Parameters
        ----------
        estimator : estimator
            A fitted model accepted by :func:`grad_cam`.
        %(X)s
        %(video)s
        n_faces : int, default=8
            Crops shown, evenly spread over the video's rows.
        layer, method, target
            See :func:`grad_cam`.
        ax : matplotlib Axes or array of Axes, default=None
            Where to draw (at least ``n_faces`` panels); ``None`` makes a
            new figure.
        alpha : float, default=0.5
            Opacity of the heatmaps.

        Returns
        -------
        display : GradCAMDisplay
            Plotted display.
        """
        _check_options(method, target, 16)
        found = _find(estimator)
        X = list(X)
        tracks = _face_tracks(estimator, [X[video]], found["face_stop"])
        track = tracks[0]
        rows = _evenly(len(track), int(n_faces))
        net, backbone, device = _cam_network(found)
        _, module = _resolve_layer(backbone, layer)
        crops = np.asarray(track.crops[rows])
        maps = _cams(
            net, module, device, crops, method=method, target=target, batch_size=16
        )
        try:
            scores = frame_scores(estimator, tracks)[0][rows]
        except ValueError:
            scores = None
        display = cls(
            crops,
            maps,
            _row_frames(track)[rows],
            scores,
            track.path,
        )
        return display.plot(ax=ax, n_faces=n_faces, alpha=alpha)

    def plot(
        self, ax: Any = None, *, n_faces: int = 8, alpha: float = 0.5
    ) -> GradCAMDisplay:
        """Draw the crops with their heatmaps overlaid.

        Parameters
        ----------
        ax : matplotlib Axes or array of Axes, default=None
            Panels to draw into; ``None`` creates a figure with one row of
            ``n_faces`` panels (two rows above 6).
        n_faces : int, default=8
            Number of crops shown (the first ``n_faces``).
        alpha : float, default=0.5
            Opacity of the heatmaps.

        Returns
        -------
        display : GradCAMDisplay
            ``self``, with ``axes_`` and ``figure_`` set.
        """
        n = min(int(n_faces), len(self.crops))
        if ax is None:
            plt = import_pyplot("GradCAMDisplay")
            n_ax_rows, cols = _panel_grid(n)
            _, ax = plt.subplots(
                n_ax_rows, cols, figsize=(2 * cols, 2.2 * n_ax_rows), squeeze=False
            )
        axes = np.atleast_1d(np.asarray(ax, dtype=object)).ravel()
        for i, a in enumerate(axes):
            a.set_axis_off()
            if i >= n:
                continue
            a.imshow(self.crops[i])
            a.imshow(self.heatmaps[i], cmap="jet", alpha=alpha, vmin=0, vmax=1)
            title = f"frame {int(self.frame_indices[i])}"
            if self.scores is not None:
                title += f"\nP(fake)={float(self.scores[i]):.2f}"
            a.set_title(title, fontsize=8)
        if n == 0 and len(axes):
            axes[0].text(0.5, 0.5, "no face found", ha="center", va="center")
        self.axes_ = axes
        self.figure_ = axes[0].figure if len(axes) else None
        return self
