"""
=====================================
Scaling out with dask
=====================================

The expensive step of every pipeline is the per-video work of
:class:`~sklearn_deepfake.faces.FaceCropper`: decode, detect, track and crop.
It runs through :class:`joblib.Parallel` with ``n_jobs``, so any joblib
backend can run it; with dask's, the videos are spread over the workers of a
dask cluster, one machine or many. Cross-validation and grid searches, which
scikit-learn also runs through joblib, go to the cluster the same way.

This example starts a small local cluster of threads (cheap, nothing to
install beyond ``pip install "sklearn-deepfake[dask]"``) and checks that the
faces found on the cluster are the ones found in the main process. For a
real cluster, connect the client to its scheduler instead, for example
``Client("tcp://scheduler:8786")``; the videos must then be readable at the
same paths on every worker, and so must ``cache_dir``.
"""

# %%
# Videos and frame plans
# ----------------------
import tempfile
import warnings

import numpy as np

from sklearn_deepfake.datasets import make_face_videos
from sklearn_deepfake.faces import FaceCropper
from sklearn_deepfake.video import FrameSampler

videos = make_face_videos(
    6, n_frames=16, manipulated=0.5, random_state=0, directory=tempfile.mkdtemp()
)
plans = FrameSampler(n_frames=8).fit_transform(videos.paths)
reference = FaceCropper(size=64, device="cpu").fit_transform(plans)

# %%
# The same work on a dask cluster
# -------------------------------
# ``LocalCluster(processes=False)`` runs the workers as threads of this
# process: no start-up cost, good for trying the set-up. ``n_jobs=-1`` lets
# joblib use every worker the cluster has.
from distributed import Client, LocalCluster, get_task_stream
from joblib import parallel_config

with (
    LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster,
    Client(cluster) as client,
):
    print(client)
    with parallel_config(backend="dask"), get_task_stream(client) as stream:
        tracks = FaceCropper(size=64, device="cpu", n_jobs=-1).fit_transform(plans)
    workers = {task["worker"] for task in stream.data}
    print(f"{len(stream.data)} tasks ran on {len(workers)} workers")

    # %%
    # Or hand the cluster to the face step directly
    # ---------------------------------------------
    # ``scheduler=`` takes a client, a scheduler address such as
    # ``"tcp://10.0.0.5:8786"`` or a number of local worker processes
    # (``sklearn-deepfake extract --scheduler ...`` on the command line): one
    # task per video, re-run elsewhere if its worker dies, and the warnings
    # raised on the workers are shown here.
    direct = FaceCropper(size=64, device="cpu", scheduler=client).fit_transform(plans)
    for a, b in zip(tracks, direct):
        np.testing.assert_array_equal(a.crops, b.crops)

    # %%
    # A grouped cross-validation on the cluster
    # -----------------------------------------
    # ``cross_val_score(..., n_jobs=-1)`` inside the same context sends each
    # fold to a worker. The face step is given its own ``cache_dir``, so the
    # faces are extracted once per video, whatever the number of folds.
    from sklearn.model_selection import GroupKFold, cross_val_score

    from sklearn_deepfake import make_default_pipeline

    model = make_default_pipeline(
        n_frames=8, size=64, cache_dir=tempfile.mkdtemp(prefix="faces_")
    )
    groups = np.arange(len(videos.paths)) % 3
    with parallel_config(backend="dask"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = cross_val_score(
            model,
            videos.paths,
            videos.target,
            groups=groups,
            cv=GroupKFold(3),
            scoring="neg_log_loss",
            n_jobs=-1,
        )
    print("fold log losses:", np.round(-scores, 3))

# %%
# Same faces either way
# ---------------------
for a, b in zip(reference, tracks):
    np.testing.assert_array_equal(a.crops, b.crops)
print(f"identical crops for all {len(tracks)} videos")

# %%
# Notes
# -----
# * Torch uses one thread per worker inside the face step; give a worker one
#   core (``threads_per_worker=1``) and start as many workers as cores.
# * With ``processes=True`` (the default) each worker is a separate process:
#   the right choice on a real machine, as MTCNN and decoding then run truly
#   in parallel, at the cost of a start-up of a few seconds.
# * The face cache is written atomically, so several workers can share one
#   folder on a network file system.
