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

from sklearn_deepfake.features._dlib_resnet import (
    MEAN_RGB,
    DlibFaceResNet,
    _ConvScale,
)
from sklearn_deepfake.features._faceres import (
    ANTISPOOF_SIZE,
    FACERES_SIZE,
    AntispoofNet,
    FaceResNet,
)
from sklearn_deepfake.features._weights import FACE_BACKBONES

__all__ = ["FaceBackbone", "create_face_backbone"]


def _balance_conv_scale(block: nn.Module) -> None:
    """Give a convolution He-scaled weights; its per-channel scale compensates.

    dlib's weights put the learned scale of each channel in the affine layer
    after the convolution and leave the convolution's weights tiny, where an
    optimiser's step (Adam moves every weight by about the learning rate)
    rewrites them. Each output
    channel's weights (and bias) are multiplied by ``k`` and its scale divided
    by ``k``: the same function, weights on the scale of a freshly
    initialised network.
    """
    with torch.no_grad():
        w = block.conv.weight
        target = (2.0 / w[0].numel()) ** 0.5
        k = target / w.flatten(1).std(dim=1).clamp_min(1e-12)
        w.mul_(k[:, None, None, None])
        block.conv.bias.mul_(k)
        block.scale.weight.div_(k)


class _DlibBody(nn.Module):
    """dlib's face ResNet; pretrained convolutions rebalanced for fine-tuning.

    See :func:`_balance_conv_scale`: fine-tuned at the shipped scale
    (``FaceCNNClassifier``, ``backbone_lr_mult=0.1``), its scores stay near
    0.5 (``benchmarks/bench_face_finetune.py --before``).
    """

    def __init__(self, pretrained: bool, pooled: bool) -> None:
        super().__init__()
        self.net = DlibFaceResNet(pretrained=pretrained)
        if pretrained:
            for block in self.net.modules():
                if isinstance(block, _ConvScale):
                    _balance_conv_scale(block)
        self.pooled = pooled

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.features(x) if self.pooled else self.net(x)


class _FaceResBody(nn.Module):
    """FaceRes for RGB in ``[0, 1]``: the stem's weights times 255.

    The shipped network takes RGB in ``[0, 255]``, so its first
    convolution's weights are tiny. Folding the 255 into them computes the
    same function and puts them on the scale of the rest of the network,
    where an optimiser's step (Adam moves every weight by about the learning
    rate) no longer rewrites them: fine-tuned at the shipped scale
    (``FaceCNNClassifier``, ``backbone_lr_mult=0.1``), the descriptor dies
    and every face scores 0.5 (``benchmarks/bench_face_finetune.py
    --before``).
    """

    #: Pool the last block before its ReLU6 (set for a new classifier).
    preact = False

    def __init__(self, pretrained: bool, shared: bool) -> None:
        super().__init__()
        self.net = FaceResNet(pretrained=pretrained)
        if pretrained:  # random weights are drawn for [0, 1] input already
            with torch.no_grad():
                self.net.stem.conv.weight.mul_(255.0)
        self.shared = shared
        if not shared:  # the age and gender heads are not used
            del self.net.feats, self.net.gender, self.net.age

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.preact:
            net = self.net
            last = net.blocks[-1]
            x = last.dw(net.blocks[:-1](net.stem(x)))
            return last.pw.conv(x).mean(dim=(2, 3))
        desc = self.net(x)
        return torch.relu(self.net.feats(desc)) if self.shared else desc


#: Key of FaceRes's first convolution in a ``FaceBackbone``'s state dict.
_FACERES_STEM = "body.net.stem.conv.weight"
#: Root mean square of that convolution's weights under which a state dict
#: is taken for one saved for 0-255 input (the shipped file: 0.0034; folded
#: for [0, 1] input: 0.87; a random one for [0, 1] input: about 0.27).
_FACERES_0_255_RMS = 0.05


def upgrade_faceres_state(state: dict) -> bool:
    """Fold the 255 into a FaceRes state dict saved for 0-255 input, in place.

    Fine-tuned ``hse_faceres`` weights saved before the backbone took RGB in
    ``[0, 1]`` (``weights=PATH``) hold a stem for ``[0, 255]``: their first
    convolution is about 255 times too small for today's input. Such a
    state dict is recognised by the scale of that convolution and converted,
    so that it computes what it did when saved. Returns whether it was.
    """
    w = state.get(_FACERES_STEM)
    if w is None or not w.is_floating_point():
        return False
    if float(w.double().pow(2).mean().sqrt()) >= _FACERES_0_255_RMS:
        return False
    state[_FACERES_STEM] = w * 255.0
    return True


class _HeadNorm(nn.BatchNorm1d):
    """``BatchNorm1d`` that normalises a lone training row with running stats.

    A training batch of one row (the last, short batch of an epoch) has no
    batch statistics; it is normalised as in evaluation, and the running
    statistics are left as they are.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.shape[0] == 1:
            return nn.functional.batch_norm(
                x,
                self.running_mean,
                self.running_var,
                self.weight,
                self.bias,
                False,
                0.0,
                self.eps,
            )
        return super().forward(x)


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
_FACERES_INPUT = ((0.0,) * 3, (1.0,) * 3, FACERES_SIZE)  # see _FaceResBody
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
    ``(n, num_classes)`` logits of a classifier otherwise. A new classifier
    (all but the anti-spoofing network's own decision) is a batch norm then
    a linear layer, and ``hse_faceres`` then pools its last block before the
    final ReLU6, so that fine-tuning neither starves the head of gradient
    nor switches the sparse descriptor off.

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
        elif num_classes:
            # A new classifier learns from normalised features: the face
            # networks' features are small (dlib's) or sparse (FaceRes's
            # descriptor, which fine-tuning switches off), so a plain linear
            # head barely moves or loses its input
            # (benchmarks/bench_face_finetune.py --before).
            self.classifier = nn.Sequential(
                _HeadNorm(num_features), nn.Linear(num_features, num_classes)
            )
            if name == "hse_faceres":
                self.body.preact = True
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
