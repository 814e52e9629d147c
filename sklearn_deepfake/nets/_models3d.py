"""3-D CNNs for face clips: torchvision video ResNets and inflated 2-D ResNets.

Every network built here takes a float tensor of shape ``(B, 3, T, H, W)``
(normalised RGB clips, see :func:`sklearn_deepfake.nets._clips.to_tensor`)
and returns logits of shape ``(B, num_classes)``. They work with both the
contiguous and the ``torch.channels_last_3d`` memory formats.

The ``i3d_*`` networks are built by *inflating* a 2-D timm ResNet into 3-D
(Carreira and Zisserman, 2017): each ``k x k`` convolution becomes a
``t x k x k`` one whose weights are the 2-D weights repeated ``t`` times over
time and divided by ``t``. Temporal padding repeats the edge frames instead
of adding zeros, so that a clip of identical frames gives exactly the 2-D
network's features: the inflated network starts from the 2-D network's
pretrained knowledge.
"""

from __future__ import annotations

import copy
import os
import warnings
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from sklearn_deepfake.features._cnn import RandomInitWarning, build_backbone
from sklearn_deepfake.features._weights import load_state_dict as _load_state_file

__all__ = ["VIDEO_ARCHS", "InflatedResNet3d", "build_video_model", "inflate_2d"]

_TORCHVISION_ARCHS = ("r3d_18", "mc3_18", "r2plus1d_18")
_I3D_BACKBONES = {"i3d_r18": "resnet18", "i3d_r50": "resnet50"}
VIDEO_ARCHS = (*_TORCHVISION_ARCHS, "r3d_34", *_I3D_BACKBONES)


class _TemporalReplicatePad(nn.Module):
    """Pad the time axis by repeating the edge frames, then apply a module.

    Zero padding over time would make the first and last frames of a still
    clip differ from the middle ones; repeating the edges keeps a still clip
    still, which is what makes inflation exact.
    """

    def __init__(self, pad: int, module: nn.Module) -> None:
        super().__init__()
        self.pad = pad
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # F.pad on 5-D input pads (W, H, T) from the last dimension backwards.
        x = F.pad(x, (0, 0, 0, 0, self.pad, self.pad), mode="replicate")
        return self.module(x)


class _GlobalAvgPool3d(nn.Module):
    """Average over time, height and width; return ``(B, C)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3, 4))


def _pair(v: Any) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def _inflate_conv(conv: nn.Conv2d, t: int) -> nn.Module:
    if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
        raise ValueError(f"cannot inflate {conv}: only numeric zero padding.")
    kh, kw = _pair(conv.kernel_size)
    sh, sw = _pair(conv.stride)
    ph, pw = _pair(conv.padding)
    dh, dw = _pair(conv.dilation)
    conv3 = nn.Conv3d(
        conv.in_channels,
        conv.out_channels,
        kernel_size=(t, kh, kw),
        stride=(1, sh, sw),
        padding=(0, ph, pw),
        dilation=(1, dh, dw),
        groups=conv.groups,
        bias=conv.bias is not None,
    )
    with torch.no_grad():
        w = conv.weight.unsqueeze(2).repeat(1, 1, t, 1, 1) / t
        conv3.weight.copy_(w)
        if conv.bias is not None:
            conv3.bias.copy_(conv.bias)
    return _TemporalReplicatePad(t // 2, conv3) if t > 1 else conv3


def _inflate_bn(bn: nn.BatchNorm2d) -> nn.BatchNorm3d:
    bn3 = nn.BatchNorm3d(
        bn.num_features,
        eps=bn.eps,
        momentum=bn.momentum,
        affine=bn.affine,
        track_running_stats=bn.track_running_stats,
    )
    bn3.load_state_dict(bn.state_dict())
    return bn3


def _inflate_pool(pool: nn.Module, temporal_stride: int) -> nn.Module:
    k = _pair(pool.kernel_size)
    s = _pair(pool.stride if pool.stride is not None else pool.kernel_size)
    p = _pair(pool.padding)
    if isinstance(pool, nn.MaxPool2d):
        if _pair(pool.dilation) != (1, 1):
            raise ValueError(f"cannot inflate dilated {pool}.")
        kt = 1 if temporal_stride == 1 else 3
        return nn.MaxPool3d(
            (kt, *k),
            stride=(temporal_stride, *s),
            padding=(kt // 2, *p),
            ceil_mode=pool.ceil_mode,
        )
    return nn.AvgPool3d(
        (1, *k),
        stride=(1, *s),
        padding=(0, *p),
        ceil_mode=pool.ceil_mode,
        count_include_pad=pool.count_include_pad,
    )


def inflate_2d(
    model: nn.Module,
    *,
    time_kernel: Any = None,
    stem_pool_stride: int = 2,
) -> nn.Module:
    """Return a 3-D copy of a 2-D ResNet-like network with inflated weights.

    ``Conv2d`` becomes ``Conv3d`` (weights repeated over time and divided by
    the temporal kernel size, temporal stride 1, edge frames repeated as
    temporal padding), ``BatchNorm2d`` becomes ``BatchNorm3d`` with the same
    statistics, pooling layers work per frame, and a global average pool
    (timm's ``global_pool``, or ``AdaptiveAvgPool2d((1, 1))``) averages over
    time as well. The input model is not modified.

    Parameters
    ----------
    model : torch.nn.Module
        A 2-D network whose forward code only calls its submodules and
        element-wise operations (timm and torchvision ResNets qualify).
    time_kernel : callable, default=None
        ``time_kernel(name, conv) -> int``: the temporal kernel size (odd) of
        the convolution with qualified name ``name``. The default gives 3 to
        the stem (``conv1``) and to the first convolution of every residual
        block (``layerI.J.conv1``) and 1 elsewhere, as I3D's ResNet variants
        do.
    stem_pool_stride : int, default=2
        Temporal stride of the first max-pooling layer (``maxpool``); 1 keeps
        every frame. Other pools never stride over time.

    Returns
    -------
    torch.nn.Module
        The inflated network, in the same train/eval mode as ``model``.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from sklearn_deepfake.nets._models3d import inflate_2d
    >>> net2d = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4))
    >>> net3d = inflate_2d(net2d, time_kernel=lambda name, conv: 3).eval()
    >>> frame = torch.rand(1, 3, 8, 8)
    >>> still = frame.unsqueeze(2).repeat(1, 1, 5, 1, 1)  # 5 identical frames
    >>> out = net3d(still)
    >>> tuple(out.shape)
    (1, 4, 5, 8, 8)
    >>> bool(torch.allclose(out[:, :, 2], net2d.eval()(frame), atol=1e-5))
    True
    """
    if time_kernel is None:
        time_kernel = _default_time_kernel
    model3 = copy.deepcopy(model)
    replaced: list[str] = []
    for name, module in list(model3.named_modules()):
        if any(name.startswith(r + ".") for r in replaced):
            continue  # inside a module that was already replaced
        new: nn.Module | None = None
        if isinstance(module, nn.Conv2d):
            t = int(time_kernel(name, module))
            if t < 1 or t % 2 == 0:
                raise ValueError(f"temporal kernel of {name} must be odd, got {t}.")
            new = _inflate_conv(module, t)
        elif isinstance(module, nn.BatchNorm2d):
            new = _inflate_bn(module)
        elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
            stride = stem_pool_stride if name == "maxpool" else 1
            new = _inflate_pool(module, stride)
        elif isinstance(module, nn.AdaptiveAvgPool2d) or (
            type(module).__name__ == "SelectAdaptivePool2d"
        ):
            if getattr(module, "pool_type", "avg") not in ("avg", "fast"):
                raise ValueError(f"cannot inflate {module}: only average pooling.")
            if _pair(getattr(module, "output_size", 1)) != (1, 1):
                raise ValueError(f"cannot inflate {module}: only global pooling.")
            new = _GlobalAvgPool3d()
        elif any(
            isinstance(module, c) for c in (nn.Conv1d, nn.BatchNorm1d, nn.GroupNorm)
        ) or type(module).__name__.endswith("2d"):
            raise ValueError(f"cannot inflate module {name} ({type(module).__name__}).")
        if new is not None:
            _set_submodule(model3, name, new)
            replaced.append(name)
    if not replaced:
        raise ValueError("model has no 2-D layer to inflate.")
    return model3


def _default_time_kernel(name: str, conv: nn.Conv2d) -> int:
    parts = name.split(".")
    if name == "conv1":
        return 3
    if len(parts) == 3 and parts[0].startswith("layer") and parts[2] == "conv1":
        return 3
    return 1


def _set_submodule(root: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, new)


class InflatedResNet3d(nn.Module):
    """An inflated 2-D backbone followed by dropout and a linear classifier.

    Parameters
    ----------
    backbone : torch.nn.Module
        Inflated network mapping ``(B, 3, T, H, W)`` to pooled ``(B, D)``.
    num_features : int
        ``D``.
    num_classes : int
        Number of logits.
    drop_rate : float
        Dropout before the classifier.
    """

    def __init__(
        self,
        backbone: nn.Module,
        num_features: int,
        num_classes: int,
        drop_rate: float = 0.0,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.num_features = num_features
        self.drop = nn.Dropout(drop_rate)
        self.fc = nn.Linear(num_features, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Return the pooled clip features ``(B, D)``."""
        return self.backbone(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logits ``(B, num_classes)``."""
        return self.fc(self.drop(self.forward_features(x)))


def build_video_model(
    arch: str,
    *,
    num_classes: int = 1,
    pretrained: bool = False,
    weights: str | os.PathLike | None = None,
    random_state: int | None = 0,
) -> nn.Module:
    """Build a 3-D CNN mapping ``(B, 3, T, H, W)`` clips to ``(B, num_classes)``.

    Parameters
    ----------
    arch : str
        One of :data:`VIDEO_ARCHS`:

        - ``"r3d_18"``, ``"mc3_18"``, ``"r2plus1d_18"``: torchvision's video
          ResNets (``pretrained=True`` loads their Kinetics-400 weights).
        - ``"r3d_34"``: a 3-D ResNet-34 (``BasicBlock``, full 3x3x3
          convolutions, layers ``[3, 4, 6, 3]``) from torchvision's
          ``VideoResNet``; no pretrained weights are offered.
        - ``"i3d_r18"``, ``"i3d_r50"``: timm's ``resnet18`` / ``resnet50``
          inflated to 3-D (see ``inflate_2d``); ``pretrained=True``
          inflates timm's ImageNet weights. The first max-pool halves the
          number of frames.
    num_classes : int, default=1
        Number of logits (1 for a binary real/fake classifier).
    pretrained : bool, default=False
        Start from the published weights (downloaded, or read from the torch
        hub / timm cache). Without internet, a :class:`RuntimeError` says how
        to pass ``weights=`` instead.
    weights : str or path-like, default=None
        A local state dict (``.safetensors`` or ``torch.save`` file, loaded
        with ``weights_only=True``) of the 3-D model, as saved from
        ``model.state_dict()``. A classifier of another shape is skipped
        (and stays freshly initialised). For the ``i3d_*`` archs the file
        may instead hold the weights of the 2-D timm ResNet, which are then
        inflated. Exclusive with ``pretrained``.
    random_state : int or None, default=0
        Seed of the random initialisation (of the whole network, or of the
        new classifier), drawn without touching torch's global generator, so
        that two builds with the same seed are identical.

    Returns
    -------
    torch.nn.Module
        The network, in train mode, on the CPU.

    Examples
    --------
    >>> import torch
    >>> from sklearn_deepfake.nets._models3d import build_video_model
    >>> model = build_video_model("mc3_18").eval()
    >>> with torch.no_grad():
    ...     logits = model(torch.zeros(2, 3, 4, 32, 32))
    >>> tuple(logits.shape)
    (2, 1)
    """
    if arch not in VIDEO_ARCHS:
        raise ValueError(f"arch must be one of {VIDEO_ARCHS}, got {arch!r}.")
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}.")
    if pretrained and weights is not None:
        raise ValueError("Give either pretrained=True or weights=PATH, not both.")
    if pretrained and arch == "r3d_34":
        raise ValueError(
            "No pretrained weights are offered for 'r3d_34'; use pretrained=False "
            "or weights=PATH."
        )
    seed = 0 if random_state is None else int(random_state)
    state = None if weights is None else _load_state_file(weights)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if arch in _I3D_BACKBONES:
            weights_2d = weights if state is not None and _is_2d_state(state) else None
            if weights_2d is not None:
                state = None
            model = _build_i3d(
                _I3D_BACKBONES[arch], num_classes, pretrained, weights_2d, seed
            )
        else:
            model = _build_video_resnet(arch, num_classes, pretrained)
    if state is not None:
        _load_3d_state(model, state, weights)
    return model


def _build_video_resnet(arch: str, num_classes: int, pretrained: bool) -> nn.Module:
    from torchvision.models import video as tvv

    if arch == "r3d_34":
        model = tvv.VideoResNet(
            block=tvv.resnet.BasicBlock,
            conv_makers=[tvv.resnet.Conv3DSimple] * 4,
            layers=[3, 4, 6, 3],
            stem=tvv.resnet.BasicStem,
            num_classes=num_classes,
        )
        return model
    enum = {
        "r3d_18": tvv.R3D_18_Weights,
        "mc3_18": tvv.MC3_18_Weights,
        "r2plus1d_18": tvv.R2Plus1D_18_Weights,
    }[arch]
    if pretrained:
        try:
            model = getattr(tvv, arch)(weights=enum.DEFAULT, progress=False)
        except Exception as exc:
            raise RuntimeError(
                f"Could not load torchvision's pretrained weights for {arch!r} "
                f"({exc}). Without internet access, download "
                f"{enum.DEFAULT.url} elsewhere and pass "
                "weights='/path/to/file.pth' instead of pretrained=True."
            ) from exc
        # The seeded generator is still active: the new head is reproducible.
        model.fc = nn.Linear(model.fc.in_features, num_classes)
        return model
    return getattr(tvv, arch)(weights=None, num_classes=num_classes)


def _build_i3d(
    name: str,
    num_classes: int,
    pretrained: bool,
    weights_2d: Any,
    seed: int,
) -> nn.Module:
    with warnings.catch_warnings():
        # Random init is a choice of the caller here, not an accident.
        warnings.simplefilter("ignore", RandomInitWarning)
        net2d = build_backbone(
            name,
            pretrained=pretrained,
            weights=weights_2d,
            random_state=seed,
            num_classes=0,
        )
    backbone = inflate_2d(net2d)
    return InflatedResNet3d(backbone, int(net2d.num_features), num_classes)


def _is_2d_state(state: dict) -> bool:
    w = state.get("conv1.weight")
    return w is not None and w.ndim == 4


def _load_3d_state(model: nn.Module, state: dict, path: Any) -> None:
    own = model.state_dict()
    keep = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    body_missing = [k for k in own if k not in keep and not k.startswith("fc.")]
    if body_missing:
        raise ValueError(
            f"weights file {path} does not fit this network: {len(body_missing)} "
            f"tensors missing or of another shape, e.g. {body_missing[:3]}."
        )
    model.load_state_dict(keep, strict=False)
