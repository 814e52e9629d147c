"""Scale-out path: the per-video work of FaceCropper runs on a dask cluster."""

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from joblib import parallel_config

from sklearn_deepfake.datasets import make_face_videos
from sklearn_deepfake.exceptions import NoFaceWarning
from sklearn_deepfake.faces import FaceCropper
from sklearn_deepfake.video import FrameSampler

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def client():
    """One LocalCluster of 2 worker processes (one thread each) for the module."""
    import logging

    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """Ten small face videos and one without a face (it warns on a worker)."""
    root = tmp_path_factory.mktemp("dask_videos")
    faces = make_face_videos(10, n_frames=12, directory=root, random_state=0).paths
    (no_face,) = make_face_videos(
        1, n_faces=0, n_frames=12, directory=root, prefix="noface", random_state=3
    ).paths
    return [*faces, no_face]


def _files(cache_dir):
    root = Path(cache_dir)
    return sorted(
        os.fspath(p.relative_to(root)) for p in root.rglob("*") if p.is_file()
    )


def _assert_same_records(a, b):
    assert [t.path for t in a] == [t.path for t in b]
    for x, y in zip(a, b):
        for field in dataclasses.fields(x):
            u, v = getattr(x, field.name), getattr(y, field.name)
            if isinstance(u, np.ndarray):
                np.testing.assert_array_equal(u, v, err_msg=f"{x.path}: {field.name}")
            else:
                assert u == v, (x.path, field.name)


def test_face_cropper_runs_on_a_local_dask_cluster_through_joblib(tiny_videos, client):
    plans = FrameSampler(n_frames=6).fit_transform(tiny_videos.paths)
    ref = FaceCropper(size=32, device="cpu").fit().transform(plans)
    with distributed.get_task_stream(client) as stream, parallel_config(backend="dask"):
        out = FaceCropper(size=32, device="cpu", n_jobs=-1).fit().transform(plans)
    workers = {task["worker"] for task in stream.data}
    assert workers  # the videos were processed by the cluster's workers
    assert len(out) == len(plans)
    for a, b in zip(ref, out):
        np.testing.assert_array_equal(a.crops, b.crops)
        np.testing.assert_allclose(a.boxes, b.boxes)


def test_two_workers_write_the_cache_a_serial_run_writes(videos, client, tmp_path):
    plans = FrameSampler(n_frames=6).fit_transform(videos)
    serial_dir, dask_dir = tmp_path / "serial", tmp_path / "dask"
    cropper = FaceCropper(size=32, device="cpu")
    ref = cropper.set_params(cache_dir=serial_dir).fit().transform(plans)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with distributed.get_task_stream(client) as stream:
            out = (
                cropper.set_params(cache_dir=dask_dir, scheduler=client)
                .fit()
                .transform(plans)
            )
    assert len({task["worker"] for task in stream.data}) == 2
    _assert_same_records(ref, out)
    # the warning raised on a worker reaches the caller and names the file
    assert any(
        issubclass(w.category, NoFaceWarning) and videos[-1] in str(w.message)
        for w in caught
    )
    # the same records under the same keys, and they read back identically
    assert _files(serial_dir) == _files(dask_dir)
    assert len(_files(dask_dir)) >= len(videos) - 1
    again = [
        cropper.set_params(cache_dir=d, scheduler=None).fit().transform(plans)
        for d in (serial_dir, dask_dir)
    ]
    _assert_same_records(*again)
    _assert_same_records(ref, again[1])


def test_killing_a_worker_mid_run_still_gives_every_video(videos, client, tmp_path):
    plans = FrameSampler(n_frames=6).fit_transform(videos)
    ref = FaceCropper(size=32, device="cpu").fit().transform(plans)
    cache = tmp_path / "cache"
    pids = client.run(os.getpid)
    assert len(pids) == 2
    victim = sorted(pids.values())[0]
    done_at_kill = []

    def kill_after_first_record():
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            n = len(_files(cache)) if cache.exists() else 0
            if n:
                os.kill(victim, signal.SIGKILL)
                done_at_kill.append(n)
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_after_first_record, daemon=True)
    killer.start()
    cropper = FaceCropper(size=32, device="cpu", cache_dir=cache, scheduler=client)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoFaceWarning)
        out = cropper.fit().transform(plans)
    killer.join(timeout=10)
    assert done_at_kill  # a worker was killed ...
    assert done_at_kill[0] < len(videos)  # ... in the middle of the run
    assert victim not in client.run(os.getpid).values()  # that process is gone
    _assert_same_records(ref, out)  # every video, as in a serial run


def test_extract_command_with_a_local_dask_cluster(tiny_videos, tmp_path):
    cache = tmp_path / "cache"
    cmd = [
        sys.executable,
        "-m",
        "sklearn_deepfake",
        "extract",
        *tiny_videos.paths,
        "--scheduler",
        "2",
        "--cache",
        os.fspath(cache),
        "--n-frames",
        "4",
        "--size",
        "32",
        "--device",
        "cpu",
    ]
    env = {**os.environ, "PYTHONPATH": os.fspath(REPO)}
    result = subprocess.run(
        cmd, capture_output=True, text=True, cwd=REPO, env=env, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "local dask cluster of 2 worker" in result.stdout
    assert f"{len(tiny_videos.paths)} videos" in result.stdout
    assert len(_files(cache)) >= len(tiny_videos.paths)
