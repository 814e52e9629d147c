"""Scale-out path: the per-video work of FaceCropper runs on a dask cluster."""

import numpy as np
import pytest
from joblib import parallel_config

from sklearn_deepfake.faces import FaceCropper
from sklearn_deepfake.video import FrameSampler

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow


def test_face_cropper_runs_on_a_local_dask_cluster(tiny_videos):
    plans = FrameSampler(n_frames=6).fit_transform(tiny_videos.paths)
    ref = FaceCropper(size=32, device="cpu").fit().transform(plans)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
        distributed.get_task_stream(client) as stream,
        parallel_config(backend="dask"),
    ):
        out = FaceCropper(size=32, device="cpu", n_jobs=-1).fit().transform(plans)
    workers = {task["worker"] for task in stream.data}
    assert workers  # the videos were processed by the cluster's workers
    assert len(out) == len(plans)
    for a, b in zip(ref, out):
        np.testing.assert_array_equal(a.crops, b.crops)
        np.testing.assert_allclose(a.boxes, b.boxes)
