"""Write a benchmark's results file: what ran, where, on what, and what it found.

Every figure quoted in the README, the docs or a note comes from a file written
by :func:`write_results` into ``benchmarks/results/NAME.json``: the command
line, the date, the machine (CPU count, memory, processor), the versions of the
packages that matter, the inputs and the outputs. A Markdown table of the
outputs can be written beside it (``NAME.md``).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"

_PACKAGES = (
    "sklearn-deepfake",
    "numpy",
    "scipy",
    "scikit-learn",
    "torch",
    "torchvision",
    "timm",
    "skorch",
    "av",
    "opencv-python-headless",
    "facenet-pytorch",
    "dask",
    "distributed",
)


def shared_data_dir() -> Path:
    """Return the folder of real videos the benchmarks read.

    ``$SKDF_SHARED_DATA`` when set, else ``<repo>/../shared/data``; when that
    is not a folder, ``/work/shared/data``.
    """
    repo = Path(__file__).resolve().parents[1]
    shared = Path(os.environ.get("SKDF_SHARED_DATA", repo.parent / "shared" / "data"))
    return shared if shared.is_dir() else Path("/work/shared/data")


def machine() -> dict[str, Any]:
    """CPU count, total memory, processor and Python of this machine."""
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        mem = None
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(mem, 1) if mem else None,
        "processor": platform.processor() or platform.machine(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def versions() -> dict[str, str]:
    """Installed versions of the packages that move the figures."""
    out = {}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def write_results(
    name: str,
    *,
    inputs: dict[str, Any],
    outputs: Any,
    markdown: str | None = None,
    folder: str | os.PathLike | None = None,
) -> Path:
    """Write ``results/NAME.json`` (and ``NAME.md`` when given) atomically.

    Parameters
    ----------
    name : str
        File name without extension.
    inputs : dict
        What the run was given (data, sizes, options).
    outputs : object
        What it measured; anything ``json`` can write.
    markdown : str, default=None
        A table of the outputs for people, written to ``NAME.md``.
    folder : path-like, default=None
        Where to write; ``benchmarks/results`` by default.

    Returns
    -------
    path : Path
        The JSON file written.
    """
    folder = Path(folder) if folder is not None else RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    record = {
        "command": " ".join(["python", *sys.argv]),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        "inputs": inputs,
        "outputs": outputs,
    }
    path = folder / f"{name}.json"
    _atomic_write(path, json.dumps(record, indent=2, default=str) + "\n")
    if markdown is not None:
        _atomic_write(folder / f"{name}.md", markdown.rstrip() + "\n")
    return path


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def interval(y: Any, p: Any, groups: Any, metric: str = "roc_auc") -> dict | None:
    """95% bootstrap interval of ``metric`` over whole groups, or None.

    Delegates to ``benchmarks/_intervals.py`` (``bootstrap_ci``: the point,
    the interval and the number of groups); returns None, recorded as such in
    the results file, where that helper is not installed yet.
    """
    try:
        from _intervals import bootstrap_ci
    except ImportError:
        return None
    return bootstrap_ci(y, p, groups, metric=metric)
