"""Face-trained backbones with the interface of a timm model.

:func:`create_face_backbone` builds one of the networks named in
:data:`~sklearn_deepfake.features.FACE_BACKBONES` (dlib's face ResNet, HSE
FaceRes, human's anti-spoofing CNN) wrapped in :class:`FaceBackbone`, which
offers what this package's estimators use of a timm model: ``num_features``,
``pretrained_cfg`` (mean, std, input size), ``get_classifier()`` and a
``forward`` that returns the features when ``num_classes=0`` and the
classifier's logits otherwise. The shipped weights load offline.

This module imports torch; import it only where torch is needed.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from sklearn_deepfake.features._dlib_resnet import MEAN_RGB, DlibFaceResNet
from sklearn_deepfake.features._faceres import (
    ANTISPOOF_SIZE,
    FACERES_SIZE,
    AntispoofNet,
    FaceResNet,
)
from sklearn_deepfake.features._weights import FACE_BACKBONES

__all__ = ["FaceBackbone", "create_face_backbone"]


class _DlibBody(nn.Module):
    def __init__(self, pretrained: bool, pooled: bool) -> None:
        super().__init__()
        self.net = DlibFaceResNet(pretrained=pretrained)
        self.pooled = pooled

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.features(x) if self.pooled else self.net(x)


class _FaceResBody(nn.Module):
    def __init__(self, pretrained: bool, shared: bool) -> None:
        super().__init__()
        self.net = FaceResNet(pretrained=pretrained)
        self.shared = shared
        if not shared:  # the age and gender heads are not used
            del self.net.feats, self.net.gender, self.net.age

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        desc = self.net(x)
        return torch.relu(self.net.feats(desc)) if self.shared else desc


class _AntispoofBody(nn.Module):
    """The anti-spoofing CNN; other input sizes are resized to 128 px."""

    def __init__(self, pretrained: bool, score: bool) -> None:
        super().__init__()
        self.net = AntispoofNet(pretrained=pretrained)
        self.score = score

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != (ANTISPOOF_SIZE, ANTISPOOF_SIZE):
            x = nn.functional.interpolate(
                x,
                size=(ANTISPOOF_SIZE, ANTISPOOF_SIZE),
                mode="bilinear",
                align_corners=False,
                antialias=True,
            )
        if self.score:  # logit of "computer-generated" (the net scores "real")
            return -self.net(x)[:, None]
        return self.net.features(x)


# (mean, std, native input size) of each family, for RGB in [0, 1]
_DLIB_INPUT = (tuple(m / 255.0 for m in MEAN_RGB), (256.0 / 255.0,) * 3, 150)
_FACERES_INPUT = ((0.0,) * 3, (1.0 / 255.0,) * 3, FACERES_SIZE)
_ANTISPOOF_INPUT = ((0.0,) * 3, (1.0,) * 3, ANTISPOOF_SIZE)

#: name -> (body factory, features, mean, std, native input size)
_SPECS: dict[str, tuple[Any, int, tuple, tuple, int]] = {
    "dlib_resnet": (lambda p: _DlibBody(p, pooled=False), 128, *_DLIB_INPUT),
    "dlib_resnet_pool": (lambda p: _DlibBody(p, pooled=True), 256, *_DLIB_INPUT),
    "hse_faceres": (lambda p: _FaceResBody(p, shared=False), 1024, *_FACERES_INPUT),
    "hse_faceres_256": (lambda p: _FaceResBody(p, shared=True), 256, *_FACERES_INPUT),
    "hse_antispoof": (
        lambda p: _AntispoofBody(p, score=False),
        128,
        *_ANTISPOOF_INPUT,
    ),
    "hse_antispoof_score": (
        lambda p: _AntispoofBody(p, score=True),
        1,
        *_ANTISPOOF_INPUT,
    ),
}


class FaceBackbone(nn.Module):
    """A face-trained network with the parts of timm's interface we use.

    ``forward`` takes a float tensor ``(n, 3, H, W)`` normalised with
    ``pretrained_cfg["mean"]`` and ``["std"]`` (for RGB in ``[0, 1]``) and
    returns the ``(n, num_features)`` features when ``num_classes=0``, the
    ``(n, num_classes)`` logits of a linear classifier otherwise.

    Parameters
    ----------
    name : str
        A key of :data:`~sklearn_deepfake.features.FACE_BACKBONES`.
    pretrained : bool, default=False
        Load the weights shipped with the package.
    num_classes : int, default=0
        Outputs of the linear classifier; 0 for none.
    """

    def __init__(self, name: str, pretrained: bool = False, num_classes: int = 0):
        super().__init__()
        if name not in _SPECS:
            raise ValueError(
                f"unknown face backbone {name!r}; one of {sorted(FACE_BACKBONES)}."
            )
        factory, num_features, mean, std, size = _SPECS[name]
        self.name = name
        self.body = factory(pretrained)
        self.num_features = num_features
        self.num_classes = num_classes
        self.pretrained_cfg = {
            "mean": mean,
            "std": std,
            "input_size": (3, size, size),
            "classifier": "classifier",
        }
        self.default_cfg = self.pretrained_cfg
        self.head_pretrained = False
        self.classifier = (
            nn.Linear(num_features, num_classes) if num_classes else nn.Identity()
        )
        if pretrained and name == "hse_antispoof" and num_classes == 1:
            # Start from the shipped decision, as a logit of "fake".
            with torch.no_grad():
                self.classifier.weight.copy_(-self.body.net.fc2.weight)
                self.classifier.bias.copy_(-self.body.net.fc2.bias)
            self.head_pretrained = True
        if name == "hse_antispoof":  # features only: the last layer is unused
            del self.body.net.fc2

    def get_classifier(self) -> nn.Module:
        """Return the classifier (``nn.Identity`` when ``num_classes=0``)."""
        return self.classifier

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Features ``(n, num_features)`` of normalised faces."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Features, or logits when the backbone has a classifier."""
        return self.classifier(self.body(x))


def create_face_backbone(
    name: str, *, pretrained: bool = False, num_classes: int = 0
) -> FaceBackbone:
    """Build the face-trained backbone ``name`` (see :class:`FaceBackbone`)."""
    return FaceBackbone(name, pretrained=pretrained, num_classes=num_classes)
