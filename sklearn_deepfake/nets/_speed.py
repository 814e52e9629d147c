"""Inference and speed options of the face classifiers.

- :func:`resolve_precision` turns ``precision`` ("auto", "fp32", "fp16",
  "bf16") and the device into the autocast settings used for training and
  prediction.
- :class:`FlipTTA` wraps a one-logit network so that its logit is the mean
  of the logits of the crop and of its horizontal mirror (the DFDC
  winners' test-time augmentation).
- :func:`compile_backbone` and :func:`uncompile_backbone` wrap and unwrap a
  backbone with :func:`torch.compile` (CUDA only), so that the fitted,
  pickled network holds the plain module.
- :class:`AcceleratedFrameNet` is the
  :class:`~sklearn_deepfake.nets._training.FrameNet` trained through
  skorch's :class:`~skorch.hf.AccelerateMixin` (Hugging Face Accelerate:
  data-parallel training on several GPUs, mixed precision).
"""

from __future__ import annotations

from typing import Any

import torch
from skorch.dataset import unpack_data
from skorch.hf import AccelerateMixin

from sklearn_deepfake.nets._augment import cutmix_batch
from sklearn_deepfake.nets._training import FrameNet

__all__ = [
    "PRECISIONS",
    "TTA_MODES",
    "AcceleratedFrameNet",
    "FlipTTA",
    "compile_backbone",
    "make_accelerated_net",
    "resolve_precision",
    "uncompile_backbone",
]

#: Accepted values of ``precision``.
PRECISIONS = ("auto", "fp32", "fp16", "bf16")

#: Accepted values of ``tta`` (None turns it off).
TTA_MODES = (None, "flip")


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """Autocast dtype of ``precision`` on ``device``; None means float32.

    ``"auto"`` is float16 autocast on CUDA and float32 elsewhere;
    ``"fp16"`` needs CUDA (CPU autocast in float16 is slow and loses
    accuracy) and raises a ValueError elsewhere; ``"bf16"`` is allowed on
    both (CPU autocast supports bfloat16).

    Examples
    --------
    >>> import torch
    >>> from sklearn_deepfake.nets._speed import resolve_precision
    >>> resolve_precision("auto", torch.device("cpu")) is None
    True
    >>> resolve_precision("bf16", torch.device("cpu"))
    torch.bfloat16
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
    cuda = torch.device(device).type == "cuda"
    if precision == "fp32" or (precision == "auto" and not cuda):
        return None
    if precision == "bf16":
        return torch.bfloat16
    if not cuda:
        raise ValueError(
            "precision='fp16' needs a CUDA device; on the CPU use 'fp32' "
            "(or 'auto') or 'bf16'."
        )
    return torch.float16


class FlipTTA(torch.nn.Module):
    """Mean logit of each image and of its horizontal mirror.

    Wraps a network whose input is ``(B, C, H, W)`` and whose output is one
    logit per image; the output is ``(f(x) + f(flip(x))) / 2`` with the
    width axis flipped. A mirrored image therefore gets the same logit as
    the original.

    Examples
    --------
    >>> import torch
    >>> from sklearn_deepfake.nets._speed import FlipTTA
    >>> net = FlipTTA(lambda x: x[:, 0, 0, :].sum(-1) * 0 + x[:, 0, 0, 0])
    >>> x = torch.arange(4.0).reshape(1, 1, 1, 4)
    >>> float(net(x)), float(net(x.flip(-1)))
    (1.5, 1.5)
    """

    def __init__(self, module: Any) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.module(x).float() + self.module(x.flip(-1)).float()) / 2


def compile_backbone(module: Any, enabled: bool, device: torch.device) -> None:
    """Replace ``module.backbone`` by ``torch.compile(backbone)`` when enabled.

    Raises a ValueError off CUDA: compiling for the CPU needs a C++
    toolchain and gains little for these networks.
    """
    if not enabled:
        return
    if torch.device(device).type != "cuda":
        raise ValueError(
            "torch_compile=True needs a CUDA device; leave it False on the CPU."
        )
    module.backbone = torch.compile(module.backbone)


def uncompile_backbone(module: Any) -> None:
    """Put back the plain backbone of a compiled one (for pickling)."""
    original = getattr(module.backbone, "_orig_mod", None)
    if original is not None:
        module.backbone = original


def make_accelerated_net(accelerator: Any, *args: Any, **kwargs: Any) -> FrameNet:
    """Build an :class:`AcceleratedFrameNet` (``device`` is left to ``accelerator``)."""
    kwargs["device"] = None
    if not kwargs.get("verbose"):
        kwargs["callbacks__print_log__sink"] = _silent
    return AcceleratedFrameNet(*args, accelerator=accelerator, **kwargs)


def _silent(*args: Any, **kwargs: Any) -> None:
    return None


class AcceleratedFrameNet(AccelerateMixin, FrameNet):
    """:class:`FrameNet` trained through Hugging Face Accelerate.

    skorch's :class:`~skorch.hf.AccelerateMixin` prepares the module,
    optimiser, schedule and data loaders with the ``accelerator`` (one shard
    of each batch per process under ``accelerate launch``); the training
    step keeps FrameNet's CutMix, label smoothing and gradient clipping,
    with the accelerator's ``autocast``, ``backward`` and
    ``clip_grad_norm_`` (its mixed precision replaces FrameNet's own).
    ``accelerate`` itself is only imported by the user who builds the
    ``Accelerator``.
    """

    def on_train_begin(self, net: Any, X: Any = None, y: Any = None, **kw: Any):
        """Start as FrameNet does; the accelerator handles mixed precision."""
        self.use_amp = False
        super().on_train_begin(net, X=X, y=y, **kw)

    def train_step(self, batch: Any, **fit_params: Any) -> dict:
        """One optimisation step, gradients synchronised by the accelerator."""
        acc = self.accelerator
        with acc.accumulate(self.module_):
            self._set_training(True)
            Xi, yi = unpack_data(batch)
            Xi, yi = Xi.to(acc.device), yi.to(acc.device).float()
            if (
                self.cutmix_p > 0
                and len(Xi) > 1
                and self._mix_rng.random() < (self.cutmix_p)
            ):
                Xi, yi, _ = cutmix_batch(Xi, yi, self._mix_rng)
            if self.label_smoothing:
                yi = yi * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
            self.optimizer_.zero_grad(set_to_none=True)
            with acc.autocast():
                y_pred = self.infer(Xi, **fit_params)
            loss = self.get_loss(y_pred.float(), yi, X=Xi, training=True)
            acc.backward(loss)
            if self.grad_clip and acc.sync_gradients:
                acc.clip_grad_norm_(
                    self.module_.parameters(), max_norm=float(self.grad_clip)
                )
            self.optimizer_.step()
        return {"loss": loss, "y_pred": y_pred}

    def validation_step(self, batch: Any, **fit_params: Any) -> dict:
        """Loss on one validation batch, on the accelerator's device."""
        acc = self.accelerator
        self._set_training(False)
        Xi, yi = unpack_data(batch)
        with torch.no_grad(), acc.autocast():
            y_pred = self.infer(Xi.to(acc.device), **fit_params)
        loss = self.get_loss(
            y_pred.float(), yi.to(acc.device).float(), X=Xi, training=False
        )
        return {"loss": loss, "y_pred": y_pred}

    def on_train_end(self, net: Any, X: Any = None, y: Any = None, **kw: Any):
        """Unwrap the module (skorch) and drop the accelerator's references.

        An ensemble trains several networks with one accelerator; without
        ``free_memory`` it would keep every one of them alive.
        """
        super().on_train_end(net, X=X, y=y, **kw)
        self.accelerator.free_memory()

    def release_training_state(self) -> None:
        """Release as FrameNet does, and the accelerator's wrapped schedule."""
        super().release_training_state()
        for _, cb in self.callbacks_:
            if getattr(cb, "policy_", None) is not None:
                cb.policy_ = None

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state["accelerator"] = None  # not picklable; only training needs it
        if state.get("device") is None:  # skorch warns on loading device=None
            acc = self.accelerator
            state["device"] = str(acc.device) if acc is not None else "cpu"
        return state
