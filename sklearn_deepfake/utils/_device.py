"""Resolving ``device="auto"`` and keeping torch to one thread per worker."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


def resolve_device(device: Any = "auto") -> Any:
    """Turn ``"auto"``, ``"cpu"``, ``"cuda"`` or a ``torch.device`` into a device.

    ``"auto"`` picks CUDA when available, else the CPU. Asking for CUDA on a
    machine without it raises a ``ValueError`` that says so.
    """
    import torch

    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda' or a torch.device, got {device!r}."
        ) from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available here; "
            "use device='auto' or 'cpu'."
        )
    return dev


#: Pixels of input per forward pass on the CPU for ``batch_size="auto"``:
#: 4 faces of 224 px.
CPU_PIXELS_PER_PASS = 4 * 224 * 224
#: ``batch_size="auto"`` on an accelerator (CUDA, MPS), and the most on the CPU.
MAX_AUTO_BATCH_SIZE = 64


def auto_batch_size(batch_size: Any, device: Any, side: int) -> int:
    """Resolve ``batch_size="auto"`` for ``device`` and ``side``-px inputs.

    An int is returned as it is. On the CPU, small batches are faster: a
    forward pass over about 200,000 pixels (4 faces of 224 px, 12 of 128 px)
    keeps a network's activations in the processor's cache, where 64 faces
    of 224 px do not (``benchmarks/bench_batch_size.py``). Accelerators take
    64.

    Examples
    --------
    >>> import torch
    >>> from sklearn_deepfake.utils._device import auto_batch_size
    >>> cpu = torch.device("cpu")
    >>> auto_batch_size("auto", cpu, 224), auto_batch_size("auto", cpu, 128)
    (4, 12)
    >>> auto_batch_size("auto", torch.device("cuda"), 224), auto_batch_size(5, cpu, 224)
    (64, 5)
    """
    if not (isinstance(batch_size, str) and batch_size == "auto"):
        return int(batch_size)
    if getattr(device, "type", str(device)) != "cpu":
        return MAX_AUTO_BATCH_SIZE
    return max(1, min(MAX_AUTO_BATCH_SIZE, CPU_PIXELS_PER_PASS // (side * side)))


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the body with ``n`` torch threads, then restore the previous count.

    Networks made of many tiny operations (MTCNN's stages) gain nothing from
    a second thread on the CPU, and when the cores are shared every
    operation's thread barrier waits for a descheduled thread, so one
    thread is faster there.

    Examples
    --------
    >>> import torch
    >>> from sklearn_deepfake.utils._device import torch_threads
    >>> before = torch.get_num_threads()
    >>> with torch_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    import torch

    before = torch.get_num_threads()
    if before != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
