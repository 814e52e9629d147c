"""dlib's face-recognition ResNet as a torch module, with its shipped weights.

dlib's ``dlib_face_recognition_resnet_model_v1`` (Davis King, 2017; trained
on about 3 million faces with a metric loss) maps an aligned 150 x 150 RGB
face chip to a 128-d descriptor in which two chips of one person lie within
about 0.6 of each other. Its architecture (dlib's ``dnn_metric_learning``
example): a 7 x 7 / 2 convolution with 32 filters, a 3 x 3 / 2 max-pool,
then residual blocks of two 3 x 3 convolutions (3 x 32, a down-sampling
block and 3 x 64, down and 2 x 128, down and 2 x 256, a last down block to
256), a global average and a 128-unit linear layer without bias. Every
batch normalisation of training is an affine per-channel "scale" at
inference. Down-sampling blocks convolve with stride 2 and no padding, and
add a 2 x 2 average pool of their input, padded with zero channels (and a
zero row and column where the sizes differ), as dlib's ``add_prev`` does.

This module imports torch; import it only where torch is needed.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DlibFaceResNet", "load_dlib_weights", "weights_path"]

#: dlib's input normalisation: mean RGB subtracted, then divided by 256.
MEAN_RGB = (122.782, 117.001, 104.298)
INPUT_SCALE = 1.0 / 256.0
#: Side of the aligned face chip the network takes.
CHIP_SIZE = 150

#: (block name as in face-api's weights, input channels, output channels, down)
BLOCKS = (
    ("conv32_1", 32, 32, False),
    ("conv32_2", 32, 32, False),
    ("conv32_3", 32, 32, False),
    ("conv64_down", 32, 64, True),
    ("conv64_1", 64, 64, False),
    ("conv64_2", 64, 64, False),
    ("conv64_3", 64, 64, False),
    ("conv128_down", 64, 128, True),
    ("conv128_1", 128, 128, False),
    ("conv128_2", 128, 128, False),
    ("conv256_down", 128, 256, True),
    ("conv256_1", 256, 256, False),
    ("conv256_2", 256, 256, False),
    ("conv256_down_out", 256, 256, True),
)


class _Scale(nn.Module):
    """Per-channel affine ``x * weight + bias`` (batch norm at inference)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight[:, None, None] + self.bias[:, None, None]


class _ConvScale(nn.Module):
    """Convolution with bias, then the per-channel scale."""

    def __init__(
        self, c_in: int, c_out: int, kernel: int, stride: int, padding: int
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=True)
        self.scale = _Scale(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale(self.conv(x))


class _Residual(nn.Module):
    """Two 3 x 3 convolutions and an identity (or pooled, padded) shortcut."""

    def __init__(self, c_in: int, c_out: int, down: bool) -> None:
        super().__init__()
        self.down = down
        # dlib pads stride-1 convolutions by kernel // 2, strided ones not at all
        self.conv1 = _ConvScale(c_in, c_out, 3, 2 if down else 1, 0 if down else 1)
        self.conv2 = _ConvScale(c_out, c_out, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(F.relu(self.conv1(x)))
        if self.down:
            x = F.avg_pool2d(x, 2, 2)
            # dlib's add_prev: sum where both exist, zeros elsewhere
            c = max(x.shape[1], out.shape[1])
            h = max(x.shape[2], out.shape[2])
            w = max(x.shape[3], out.shape[3])
            x = _pad_to(x, c, h, w)
            out = _pad_to(out, c, h, w)
        return F.relu(out + x)


def _pad_to(x: torch.Tensor, c: int, h: int, w: int) -> torch.Tensor:
    dc, dh, dw = c - x.shape[1], h - x.shape[2], w - x.shape[3]
    if dc or dh or dw:
        x = F.pad(x, (0, dw, 0, dh, 0, dc))
    return x


class DlibFaceResNet(nn.Module):
    """dlib's face-recognition ResNet: 150 x 150 RGB chip -> 128-d descriptor.

    The module takes a float tensor ``(n, 3, 150, 150)`` already normalised
    (:meth:`preprocess` turns uint8 RGB chips into it) and returns the
    ``(n, 128)`` descriptors; :meth:`features` returns the 256-d global
    average before the last linear layer. Other input sizes work (the
    network ends in a global average) but the weights were trained at 150.

    Parameters
    ----------
    pretrained : bool, default=False
        Load the weights shipped with the package (converted from
        face-api's copy of dlib's model; see ``weights_path``).
    """

    def __init__(self, pretrained: bool = False) -> None:
        super().__init__()
        self.stem = _ConvScale(3, 32, 7, 2, 0)
        self.blocks = nn.Sequential(
            OrderedDict((n, _Residual(i, o, d)) for n, i, o, d in BLOCKS)
        )
        self.fc = nn.Linear(256, 128, bias=False)
        if pretrained:
            self.load_state_dict(load_dlib_weights())

    @staticmethod
    def preprocess(chips: torch.Tensor) -> torch.Tensor:
        """Turn uint8 RGB chips ``(n, H, W, 3)`` into the network's input.

        dlib subtracts its mean RGB and divides by 256.
        """
        x = chips.permute(0, 3, 1, 2).float()
        mean = torch.tensor(MEAN_RGB, dtype=x.dtype, device=x.device)
        return (x - mean[None, :, None, None]) * INPUT_SCALE

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """256-d global average of the last block, before ``fc``."""
        out = F.relu(self.stem(x))
        out = F.max_pool2d(out, 3, 2)
        out = self.blocks(out)
        return out.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """128-d descriptors of normalised chips ``(n, 3, H, W)``."""
        return self.fc(self.features(x))


def weights_path() -> Path:
    """Path of the shipped weights (8-bit, as in face-api; about 6.5 MB)."""
    return Path(__file__).with_name("weights") / "dlib_face_recognition.safetensors"


def load_dlib_weights(
    path: str | os.PathLike | None = None,
) -> dict[str, torch.Tensor]:
    """Read the shipped weights into a float32 state dict of DlibFaceResNet.

    The file stores each tensor either as float32 ``name`` or, as face-api
    quantised it, as uint8 ``name.q`` with ``name.qparams = [scale, min]``
    (value = ``q * scale + min``).
    """
    from safetensors.torch import load_file

    path = weights_path() if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"dlib face-recognition weights not found at {path}; the package "
            "data is incomplete (reinstall sklearn-deepfake, or regenerate the "
            "file with benchmarks/convert_face_api.py)."
        )
    raw = load_file(os.fspath(path))
    state: dict[str, torch.Tensor] = {}
    for key, value in raw.items():
        if key.endswith(".qparams"):
            continue
        if key.endswith(".q"):
            name = key[: -len(".q")]
            scale, low = raw[name + ".qparams"].double().tolist()
            state[name] = (value.double() * scale + low).float()
        else:
            state[key] = value.float()
    return state
