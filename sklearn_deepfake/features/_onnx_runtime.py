"""Frozen networks run on onnxruntime's CPU provider (``runtime="onnxruntime"``).

:class:`~sklearn_deepfake.features.CNNFeatureExtractor` and
:class:`~sklearn_deepfake.features.FaceRecognitionEmbeddings` export their
network, with the same pre-processing as their torch path, to an in-memory
ONNX graph once per image side, and run that graph: on the CPU, faster than
torch for the same features (``benchmarks/bench_batch_size.py``, its
``onnx`` part). Needs the ``onnx`` extra (onnx, onnxruntime, onnxscript),
imported only when used.
"""

from __future__ import annotations

import contextlib
import importlib
import io
from collections.abc import Sequence
from typing import Any

import numpy as np

RUNTIMES = ("torch", "onnxruntime")
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


def embedding_graph(
    model: Any, mean: Sequence[float], std: Sequence[float], size: int | None
) -> Any:
    """Return a module ``uint8 (B, S, S, 3)`` -> ``(B, D)``, as the torch path.

    Scales to [0, 1], resizes (anti-aliased) to ``size`` when given and
    normalises with ``mean`` and ``std`` before ``model``.
    """
    import torch
    import torch.nn.functional as F

    class _Embed(torch.nn.Module):
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

    return _Embed()


def export_proto(
    module: Any,
    side: int,
    *,
    input_name: str = "images",
    output_name: str = "embeddings",
    opset_version: int = 18,
) -> Any:
    """Return the ONNX ``ModelProto`` of ``module`` for images of side ``side``.

    ``module`` takes uint8 ``(B, side, side, 3)`` images; the batch dimension
    is dynamic. Torch's dynamo exporter (onnxscript) writes it.
    """
    import torch

    example = torch.zeros((2, int(side), int(side), 3), dtype=torch.uint8)
    batch = torch.export.Dim("batch", min=1)
    # The exporter reports its progress on stdout; keep it quiet.
    with contextlib.redirect_stdout(io.StringIO()), torch.inference_mode(False):
        program = torch.onnx.export(
            module,
            (example,),
            input_names=[input_name],
            output_names=[output_name],
            dynamic_shapes=({0: batch},),
            opset_version=int(opset_version),
            dynamo=True,
        )
    return program.model_proto


def cpu_session(module: Any, side: int, n_threads: int | None = None) -> Any:
    """Return an onnxruntime CPU session of ``module`` for crops of side ``side``.

    ``module`` maps uint8 ``(B, side, side, 3)`` images to ``(B, D)``; it is
    exported on a float32 CPU copy in contiguous memory (the caller's is
    left as it is), with a dynamic batch dimension.
    """
    import copy

    import onnxruntime as ort
    import torch

    net = copy.deepcopy(module).cpu().float().eval()
    net = net.to(memory_format=torch.contiguous_format)
    options = ort.SessionOptions()
    if n_threads is not None:
        options.intra_op_num_threads = int(n_threads)
    return ort.InferenceSession(
        export_proto(net, side).SerializeToString(),
        sess_options=options,
        providers=["CPUExecutionProvider"],
    )


def run_in_batches(session: Any, images: np.ndarray, batch: int) -> np.ndarray:
    """``session`` over ``images`` ``batch`` at a time, as float32."""
    out = [
        session.run(None, {"images": np.ascontiguousarray(images[s : s + batch])})[0]
        for s in range(0, len(images), batch)
    ]
    return np.concatenate(out).astype(np.float32, copy=False)


def set_runtime(model: Any, runtime: str) -> int:
    """Set ``runtime`` of every step inside a (fitted) model that has one.

    Walks estimators' attributes (pipeline steps, a union's fitted
    transformers...) for :class:`~sklearn_deepfake.features.CNNFeatureExtractor`
    (without ``stages``, which the ONNX graph does not return) and
    :class:`~sklearn_deepfake.features.FaceRecognitionEmbeddings`, and
    returns how many it set. Checks first that the ``onnx`` extra is there
    when ``runtime="onnxruntime"``.
    """
    from sklearn.base import BaseEstimator

    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {RUNTIMES}, got {runtime!r}.")
    if runtime == "onnxruntime":
        require_onnx()
    seen: set[int] = set()

    def walk(obj: Any) -> int:
        if id(obj) in seen:
            return 0
        seen.add(id(obj))
        if isinstance(obj, (list, tuple)):
            return sum(walk(o) for o in obj)
        if not isinstance(obj, BaseEstimator):
            return 0
        # the class's parameter names: get_params would fail on an estimator
        # pickled before it had a parameter
        if "runtime" in type(obj)._get_param_names():
            if getattr(obj, "stages", None):
                return 0
            obj.runtime = runtime
            return 1
        return sum(walk(v) for v in vars(obj).values())

    return walk(model)
