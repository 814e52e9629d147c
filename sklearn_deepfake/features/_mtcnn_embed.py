"""Face embeddings from MTCNN's own trained networks (offline, no download)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from sklearn_deepfake.features._handcrafted import _PerFrameFeatures
from sklearn_deepfake.utils._device import torch_threads
from sklearn_deepfake.utils._param_validation import (
    Integral,
    Interval,
    StrOptions,
)

#: Network -> (input side, hooked layer, embedding width).
_NETS = {"rnet": (24, "dense4", 128), "onet": (48, "dense5", 256)}


class MTCNNEmbeddings(_PerFrameFeatures):
    """Embeddings of each face from MTCNN's refinement networks.

    MTCNN's second and third stages, RNet (24 x 24 input) and ONet
    (48 x 48), were trained on real faces to tell faces from non-faces, to
    refine the box and (ONet) to place the landmarks. Their last hidden
    layers (128 and 256 units) therefore summarise how a face looks to a
    network trained only on real faces. These are the only trained face
    weights available offline here: facenet-pytorch ships them inside its
    wheel, so nothing is downloaded.

    Each face box (from the face track, mapped into the crop) is resized with
    area averaging to the network's input side and passed through the
    network; the activation of its last hidden layer is the frame's row.
    Because the input is small (24 or 48 px), these embeddings see the
    face's overall appearance (shading, shape, smoothness of the skin) rather
    than pixel-level texture; they complement
    :class:`~sklearn_deepfake.features.FaceContextFeatures` (what they add
    on real face swaps is on the :ref:`benchmarks` page,
    ``benchmarks/bench_quality.py``).

    Videos are processed one at a time, keeping only their rows (a record
    that loads its crops from disk is read once). There is no ``n_jobs``: the
    forward passes run in this process with torch's own threads, as in
    :class:`~sklearn_deepfake.features.CNNFeatureExtractor`; worker processes
    would each load the network and compete for the same cores.

    Parameters
    ----------
    net : {"rnet", "onet"}, default="rnet"
        Which MTCNN stage to use.
    batch_size : int, default=256
        Faces per forward pass.

    Attributes
    ----------
    feature_names_ : ndarray of str
        Names of the output columns (``"rnet_0"`` ...).
    n_features_out_ : int
        Number of output columns (128 for RNet, 256 for ONet).

    See Also
    --------
    FaceContextFeatures : Face-versus-surroundings statistics.
    CNNFeatureExtractor : Embeddings from any timm backbone.

    Examples
    --------
    >>> from sklearn_deepfake.features import MTCNNEmbeddings
    >>> from sklearn_deepfake.utils._testing import make_synthetic_tracks
    >>> feats = MTCNNEmbeddings().fit_transform([make_synthetic_tracks(n_rows=3)])
    >>> feats[0].shape, feats[0].dtype
    ((3, 128), dtype('float32'))
    """

    def __init__(self, net: str = "rnet", *, batch_size: int = 256) -> None:
        self.net = net
        self.batch_size = batch_size

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "net": [StrOptions(set(_NETS))],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
    }

    @classmethod
    def _get_test_params(cls) -> dict[str, Any]:
        """Cheap constructor arguments for the common tests."""
        return {"batch_size": 8}

    def _names(self) -> list[str]:
        return [f"{self.net}_{i}" for i in range(_NETS[self.net][2])]

    def _compute(self, crops: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        import torch

        side, layer, _ = _NETS[self.net]
        faces = _resize_faces(crops, boxes, side)
        module = _network(self.net)
        out = []
        # one thread: the stages are tiny (see torch_threads)
        with torch.no_grad(), torch_threads(1):
            for i in range(0, len(faces), int(self.batch_size)):
                x = torch.from_numpy(faces[i : i + int(self.batch_size)])
                x = (x.permute(0, 3, 1, 2).float() - 127.5) * 0.0078125
                out.append(_hidden(module, layer, x).numpy())
        return np.concatenate(out)


def _resize_faces(crops: np.ndarray, boxes: np.ndarray, side: int) -> np.ndarray:
    """Cut each face box out of its crop and resize it to ``side`` pixels."""
    import cv2

    size = crops.shape[1]
    out = np.empty((len(crops), side, side, 3), np.uint8)
    for k, (crop, box) in enumerate(zip(crops, boxes)):
        x0, y0, x1, y1 = np.clip(np.round(box).astype(int), 0, size)
        face = crop[y0:y1, x0:x1] if x1 > x0 + 1 and y1 > y0 + 1 else crop
        out[k] = cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA)
    return out


_MODULES: dict[str, Any] = {}


def _network(name: str) -> Any:
    """Load the MTCNN stage ``name`` with its packaged weights, once per process."""
    if name not in _MODULES:
        from facenet_pytorch.models.mtcnn import ONet, RNet

        _MODULES[name] = (RNet if name == "rnet" else ONet)(pretrained=True).eval()
    return _MODULES[name]


def _hidden(module: Any, layer: str, x: Any) -> Any:
    """Output of ``module.<layer>`` (before its activation) for input ``x``."""
    out: list[Any] = []
    hook = getattr(module, layer).register_forward_hook(
        lambda _mod, _inp, output: out.append(output)
    )
    try:
        module(x)
    finally:
        hook.remove()
    return out[0]
