"""One parallel map over videos: serial, joblib (any backend) or a dask cluster.

Every per-video step of the package (face extraction, per-frame features,
sound features) goes through :func:`map_videos`. Whatever runs the work, the
caller gets the results in input order and sees every warning raised while
processing a video (a warning naming a broken file must never be lost in a
worker process).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import re
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from numbers import Integral
from typing import Any

__all__ = ["check_scheduler", "local_cluster", "map_videos"]

_DASK_HINT = 'pip install "sklearn-deepfake[dask]"'
_ADDRESS = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$")
_LOCAL = re.compile(r"^(?:local:)?(\d+)$")


def map_videos(
    func: Callable[[Any], Any],
    items: Iterable[Any],
    *,
    n_jobs: int | None = None,
    verbose: int = 0,
    desc: str = "videos",
    scheduler: Any = None,
) -> list:
    """Apply ``func`` to each item, in order, and replay the workers' warnings.

    The work runs serially, with :class:`joblib.Parallel` (``n_jobs``, any
    backend chosen with :func:`joblib.parallel_config`, including
    ``backend="dask"``), or, when ``scheduler`` is given, as one task per item
    on a dask.distributed cluster. Warnings raised by ``func`` in a worker
    process are recorded there and emitted again here, in the calling process,
    in input order, with their category and message. Each worker runs with one
    OpenCV and one torch thread, since the workers already use every core.

    Parameters
    ----------
    func : callable
        Per-item function; must be picklable (a module-level function or a
        bound method of a picklable object) for parallel runs.
    items : iterable
        The items (frame plans, face tracks, paths), one per video.
    n_jobs : int or None, default=None
        Number of joblib workers; ``None`` means 1 unless in a
        :func:`joblib.parallel_config` context. Ignored when ``scheduler`` is
        given.
    verbose : int, default=0
        ``> 0`` shows a progress bar (over the dask futures as they complete
        when a scheduler is used).
    desc : str, default="videos"
        Label of the progress bar, and prefix of the dask task keys.
    scheduler : None, str, int or distributed.Client, default=None
        ``None`` uses joblib. A scheduler address (``"tcp://HOST:PORT"``)
        connects to a running cluster; an existing
        :class:`distributed.Client` is used as is; an int ``N`` (or
        ``"local:N"``, or ``"N"``) starts a :class:`distributed.LocalCluster`
        of ``N`` worker processes with one thread each for this call and
        closes it afterwards. Needs ``pip install "sklearn-deepfake[dask]"``.

    Returns
    -------
    results : list
        ``func(item)`` for each item, in input order.

    Notes
    -----
    On dask, each item is one task whose key is derived from ``func`` and the
    item's content (the video path is in it), so the same work submitted
    twice is one task, and a task re-run on another worker after its worker
    died (dask does this by itself) computes the same thing. ``func`` must
    therefore be idempotent: writing a cache record atomically is.

    Examples
    --------
    >>> import warnings
    >>> from sklearn_deepfake.utils._parallel import map_videos
    >>> def square(x):
    ...     if x == 3:
    ...         warnings.warn(f"video {x} is odd")
    ...     return x * x
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     map_videos(square, [1, 2, 3])
    [1, 4, 9]
    >>> [str(w.message) for w in caught]
    ['video 3 is odd']
    """
    items = list(items)
    if scheduler is not None:
        return _map_dask(func, items, check_scheduler(scheduler), verbose, desc)
    from joblib import Parallel, delayed, effective_n_jobs

    if effective_n_jobs(n_jobs) == 1 or len(items) < 2:
        it: Iterable = items
        if verbose:
            from tqdm.auto import tqdm

            it = tqdm(items, desc=desc, unit="video")
        return [func(x) for x in it]
    out: Iterable = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_InWorker(func))(x) for x in items
    )
    if verbose:
        from tqdm.auto import tqdm

        out = tqdm(out, total=len(items), desc=desc, unit="video")
    return _replay(list(out))


def check_scheduler(scheduler: Any) -> Any:
    """Return ``scheduler`` in a checked form, or raise ValueError.

    ``None``, a :class:`distributed.Client`, an address such as
    ``"tcp://10.0.0.1:8786"`` (returned as a str), or a number of local worker
    processes (an int >= 1, ``"N"`` or ``"local:N"``, returned as an int).
    dask is not imported.

    Examples
    --------
    >>> from sklearn_deepfake.utils._parallel import check_scheduler
    >>> check_scheduler("local:2"), check_scheduler("tcp://10.0.0.1:8786")
    (2, 'tcp://10.0.0.1:8786')
    """
    if scheduler is None:
        return None
    if isinstance(scheduler, Integral) and not isinstance(scheduler, bool):
        if scheduler >= 1:
            return int(scheduler)
    elif isinstance(scheduler, str):
        text = scheduler.strip()
        local = _LOCAL.match(text)
        if local and int(local.group(1)) >= 1:
            return int(local.group(1))
        if _ADDRESS.match(text):
            return text
    elif type(scheduler).__name__ == "Client" and hasattr(scheduler, "submit"):
        return scheduler
    raise ValueError(
        "scheduler must be None, a dask scheduler address such as "
        "'tcp://HOST:8786', a number of local worker processes (an int >= 1 or "
        f"'local:N') or a distributed.Client, got {scheduler!r}."
    )


# ----------------------------------------------------------------- internals


class _InWorker:
    """Picklable wrapper of ``func`` for the workers: one thread, warnings kept.

    Returns ``(result, [(category, message), ...])``. In a worker process the
    warnings raised by ``func`` are recorded per thread (a dask worker may run
    several tasks at once in threads), with every warning shown (a worker
    process sees the same video's warning again on a second run). In the
    caller's own process (threads of an in-process dask cluster) nothing is
    recorded or changed: the warnings reach the caller directly.
    """

    def __init__(self, func: Callable[[Any], Any]) -> None:
        self.func = func
        self.home = os.getpid()

    def __call__(self, x: Any) -> tuple[Any, list[tuple[type, str]]]:
        if os.getpid() == self.home:
            return self.func(x), []
        _one_thread()
        _record_in_this_process()
        caught: list[tuple[type, str]] = []
        _RECORD.caught = caught
        try:
            result = self.func(x)
        finally:
            _RECORD.caught = None
            _one_thread()  # torch may have been imported by func
        return result, caught


_RECORD = threading.local()
_RECORD_LOCK = threading.Lock()
_RECORDING_PID: list[int] = []


def _record_in_this_process() -> None:
    """Route warnings of threads that record to their list (once per process)."""
    with _RECORD_LOCK:
        if _RECORDING_PID == [os.getpid()]:
            return
        shown = warnings.showwarning

        def showwarning(message, category, filename, lineno, file=None, line=None):
            caught = getattr(_RECORD, "caught", None)
            if caught is None:
                return shown(message, category, filename, lineno, file, line)
            caught.append((category, str(message)))
            return None

        warnings.showwarning = showwarning
        for category in (UserWarning, RuntimeWarning):  # not library deprecations
            warnings.filterwarnings("always", category=category)
        _RECORDING_PID[:] = [os.getpid()]


def _one_thread() -> None:
    """One OpenCV thread, and one torch thread where torch is loaded."""
    import cv2

    cv2.setNumThreads(1)
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != 1:
        torch.set_num_threads(1)


def _replay(results: list) -> list:
    """Emit the recorded warnings in input order; return the bare results."""
    out = []
    for result, caught in results:
        for category, message in caught:
            warnings.warn(message, category, stacklevel=3)
        out.append(result)
    return out


def _token(obj: Any) -> str:
    """Return a stable hash of ``obj``'s pickled content."""
    try:
        data = pickle.dumps(obj, protocol=5)
    except Exception:  # e.g. a local function: cloudpickle (a dask dependency)
        import cloudpickle

        data = cloudpickle.dumps(obj, protocol=5)
    return hashlib.blake2b(data, digest_size=10).hexdigest()


def _item_name(x: Any) -> str:
    path = getattr(x, "path", x)
    if isinstance(path, str | os.PathLike):
        return re.sub(r"[^\w.-]", "_", os.path.basename(os.fspath(path)))[:40]
    return type(x).__name__


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(
            "Running on a dask scheduler needs dask.distributed, which is not "
            f"installed: {_DASK_HINT}"
        ) from exc
    return distributed


@contextlib.contextmanager
def local_cluster(n_workers: int) -> Iterator[str]:
    """Run a dask ``LocalCluster`` of ``n_workers`` processes; yield its address.

    Each worker has one thread (the per-video work is single-threaded) and
    a nanny that restarts it if its process dies. The cluster is closed when
    the block ends.

    Parameters
    ----------
    n_workers : int
        Number of worker processes.

    Yields
    ------
    address : str
        The scheduler's address, to pass as ``scheduler=``.
    """
    import logging

    distributed = _import_distributed()
    with distributed.LocalCluster(
        n_workers=int(n_workers),
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as cluster:
        yield cluster.scheduler_address


def _map_dask(
    func: Callable[[Any], Any], items: list, scheduler: Any, verbose: int, desc: str
) -> list:
    distributed = _import_distributed()
    if not items:
        return []
    with contextlib.ExitStack() as stack:
        if isinstance(scheduler, int):
            scheduler = stack.enter_context(local_cluster(scheduler))
        if isinstance(scheduler, str):
            client = stack.enter_context(distributed.Client(scheduler))
        else:
            client = scheduler
        return _run_on(client, distributed, func, items, verbose, desc)


def _run_on(
    client: Any, distributed: Any, func: Any, items: list, verbose: int, desc: str
) -> list:
    task = _InWorker(func)
    prefix = f"{desc}-{_token(func)}"
    keys = [f"{prefix}-{_item_name(x)}-{_token(x)}" for x in items]
    unique = dict(zip(keys, items))  # the same item twice is one task
    # One task per video, no retries of exceptions (a video that fails does
    # so on every worker; broken files are handled inside ``func``). A worker
    # that dies mid-task is handled by the scheduler: its tasks are re-run on
    # the others, up to ``distributed.scheduler.allowed-failures`` times.
    futures = client.map(task, list(unique.values()), key=list(unique), pure=False)
    done: dict[str, Any] = {}
    try:
        pending = distributed.as_completed(futures, with_results=True)
        if verbose:
            from tqdm.auto import tqdm

            pending = tqdm(pending, total=len(futures), desc=desc, unit="video")
        for future, result in pending:
            done[future.key] = result
            future.release()
    finally:
        for future in futures:
            if future.key not in done:
                future.cancel()
    return _replay([done[k] for k in keys])
