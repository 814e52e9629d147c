"""A frozen backbone run on onnxruntime's CPU provider (``runtime="onnxruntime"``).

:class:`~sklearn_deepfake.features.CNNFeatureExtractor` exports its network,
with the same pre-processing as its torch path (uint8 crops to [0, 1], the
anti-aliased resize to the size it runs at, the backbone's normalisation),
to an in-memory ONNX graph once per crop side, and runs that graph. On the
CPU that is two to three times as fast as torch for the same features
(``benchmarks/bench_batch_size.py --parts onnx``). Needs the ``onnx`` extra
(onnx, onnxruntime, onnxscript), imported only here.
"""

from __future__ import annotations

import contextlib
import importlib
import io
from collections.abc import Sequence
from typing import Any

#: Crops a run when ``batch_size="auto"``: onnxruntime's CPU speed hardly
#: depends on it (``bench_batch_size.py --parts onnx``).
ONNX_BATCH = 64


def require_onnx() -> None:
    """Raise a clear ImportError when the ``onnx`` extra is missing."""
    for module in ("onnx", "onnxscript", "onnxruntime"):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ImportError(
                f"runtime='onnxruntime' needs {module!r}: pip install "
                "'sklearn-deepfake[onnx]' (onnx, onnxruntime, onnxscript)."
            ) from exc


def _graph(model: Any, mean: Sequence[float], std: Sequence[float], size: int | None):
    import torch
    import torch.nn.functional as F

    class _Embed(torch.nn.Module):
        """uint8 ``(B, S, S, 3)`` crops -> ``(B, D)`` embeddings."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model
            self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))

        def forward(self, crops: torch.Tensor) -> torch.Tensor:
            x = crops.permute(0, 3, 1, 2).float() / 255.0
            if size and x.shape[-1] != size:
                x = F.interpolate(
                    x,
                    size=(size, size),
                    mode="bilinear",
                    align_corners=False,
                    antialias=True,
                )
            return self.model((x - self.mean) / self.std).reshape(crops.shape[0], -1)

    return _Embed().eval()


def onnx_session(
    model: Any,
    mean: Sequence[float],
    std: Sequence[float],
    size: int | None,
    side: int,
    n_threads: int | None = None,
) -> Any:
    """Return an onnxruntime CPU session of ``model`` for crops of side ``side``.

    ``model`` is exported on a float32 CPU copy in contiguous memory (the
    caller's is left as it is); the batch dimension is dynamic.
    """
    import copy

    import onnxruntime as ort
    import torch

    net = copy.deepcopy(model).cpu().float().eval()
    net = net.to(memory_format=torch.contiguous_format)
    example = torch.zeros((2, int(side), int(side), 3), dtype=torch.uint8)
    batch = torch.export.Dim("batch", min=1)
    # The exporter reports its progress on stdout; keep it quiet.
    with contextlib.redirect_stdout(io.StringIO()), torch.inference_mode(False):
        program = torch.onnx.export(
            _graph(net, mean, std, size),
            (example,),
            input_names=["crops"],
            output_names=["embeddings"],
            dynamic_shapes=({0: batch},),
            opset_version=18,
            dynamo=True,
        )
    options = ort.SessionOptions()
    if n_threads is not None:
        options.intra_op_num_threads = int(n_threads)
    return ort.InferenceSession(
        program.model_proto.SerializeToString(),
        sess_options=options,
        providers=["CPUExecutionProvider"],
    )
