"""Root fixtures shared by the whole test suite.

- ``seeds_fixed`` (autouse): seeds numpy's global generator and torch.
- ``tiny_videos``: 4 small synthetic face videos (2 pristine + 2 manipulated
  twins), written once per session.
- ``tiny_dfdc``: a small folder in the DFDC layout, written once per session.
- ``broken_videos``: name -> path of files that readers must survive.
- ``shared_data``: ``<repo>/../shared/data`` (real videos), or a skip.
- ``import_benchmark``: imports a module of ``benchmarks/`` by name.
- ``one_torch_thread``: torch limited to one thread for the test, then
  restored (tiny networks: faster, and immune to a busy machine). Modules of
  tiny-network tests use it with ``pytest.mark.usefixtures``.

Tests marked ``gpu`` are skipped without CUDA, and tests marked ``network``
unless ``SKDF_NETWORK_TESTS=1``.
"""

from __future__ import annotations

import importlib
import os
import random
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO_ROOT / ".." / "shared" / "data").resolve()

np.set_printoptions(legacy="1.25")


def pytest_collection_modifyitems(config, items):
    has_gpu_marker = any("gpu" in item.keywords for item in items)
    cuda = False
    if has_gpu_marker:
        try:
            import torch

            cuda = torch.cuda.is_available()
        except ImportError:  # pragma: no cover
            cuda = False
    network = os.environ.get("SKDF_NETWORK_TESTS") == "1"
    skip_gpu = pytest.mark.skip(reason="needs CUDA")
    skip_net = pytest.mark.skip(reason="network test: set SKDF_NETWORK_TESTS=1")
    for item in items:
        if "gpu" in item.keywords and not cuda:
            item.add_marker(skip_gpu)
        if "network" in item.keywords and not network:
            item.add_marker(skip_net)


@pytest.fixture(autouse=True)
def seeds_fixed():
    """Seed Python, numpy and torch before every test."""
    random.seed(0)
    np.random.seed(0)
    try:
        import torch
    except ImportError:  # pragma: no cover
        torch = None
    if torch is not None:
        torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _legacy_printoptions():
    """Keep numpy scalars printing as in numpy 1.25 (stable doctests)."""
    np.set_printoptions(legacy="1.25")


@pytest.fixture
def one_torch_thread():
    """Run the test with one torch thread; restore the previous count after."""
    import torch

    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)


@pytest.fixture(scope="session")
def tiny_videos(tmp_path_factory):
    """Four 192x144, 24-frame videos: 2 pristine then their 2 manipulated twins.

    A Bunch from :func:`~sklearn_deepfake.datasets.make_face_videos` with
    ``paths``, ``boxes``, ``target`` ([0, 0, 1, 1]), ``groups`` ([0, 1, 0, 1]).
    Treat it as read-only.
    """
    from sklearn_deepfake.datasets import make_face_videos

    return make_face_videos(
        n_videos=4,
        manipulated=0.5,
        directory=tmp_path_factory.mktemp("tiny_videos"),
        random_state=0,
    )


@pytest.fixture(scope="session")
def tiny_dfdc(tmp_path_factory):
    """A DFDC-layout folder: 2 originals + 2 fakes in train, 2 test videos.

    A Bunch from :func:`~sklearn_deepfake.datasets.make_dfdc_folder` (``root``,
    ``train_paths``, ``train_target``, ``test_paths``, ``test_target`` ...);
    16 frames per video. Treat it as read-only.
    """
    from sklearn_deepfake.datasets import make_dfdc_folder

    return make_dfdc_folder(
        tmp_path_factory.mktemp("tiny_dfdc"),
        n_originals=2,
        fakes_per_original=1,
        n_test=2,
        n_frames=16,
        random_state=0,
    )


def _remux_faststart(src: Path, dst: Path) -> None:
    """Copy an MP4 with its index (moov) moved to the front."""
    import av

    with av.open(os.fspath(src)) as inp:
        with av.open(
            os.fspath(dst), "w", format="mp4", options={"movflags": "faststart"}
        ) as out:
            stream = out.add_stream_from_template(inp.streams.video[0])
            for packet in inp.demux(inp.streams.video[0]):
                if packet.dts is None:
                    continue
                packet.stream = stream
                out.mux(packet)


def _write_audio_only(path: Path) -> None:
    import av

    with av.open(os.fspath(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=16000, layout="mono")
        t = np.arange(16000, dtype=np.float32) / 16000
        tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
        frame = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
        frame.sample_rate = 16000
        frame.pts = 0
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


@pytest.fixture(scope="session")
def broken_videos(tmp_path_factory):
    """Name -> path of files a reader must survive (all with a video suffix).

    ``empty`` (0 bytes), ``random_bytes`` (4 kB of noise), ``text`` (plain text
    named .mp4), ``truncated`` (first half of an MP4 whose index is at the end:
    nothing decodable), ``truncated_faststart`` (first 60 % of an MP4 whose
    index is at the front: the first frames decode, then the data ends),
    ``audio_only`` (AAC, no video stream), ``one_frame`` (a single-frame face
    video) and ``no_face`` (a normal 24-frame video with no face in it).
    """
    from sklearn_deepfake.datasets import make_face_videos

    root = tmp_path_factory.mktemp("broken_videos")
    files = {}
    files["empty"] = root / "empty.mp4"
    files["empty"].write_bytes(b"")
    files["random_bytes"] = root / "random_bytes.mp4"
    files["random_bytes"].write_bytes(np.random.RandomState(0).bytes(4096))
    files["text"] = root / "text.mp4"
    files["text"].write_text("this is not a video\n" * 20)

    good = make_face_videos(
        1, n_frames=24, directory=root / "source", prefix="good", random_state=1
    ).paths[0]
    data = Path(good).read_bytes()
    files["truncated"] = root / "truncated.mp4"
    files["truncated"].write_bytes(data[: len(data) // 2])
    faststart = root / "source" / "faststart.mp4"
    _remux_faststart(Path(good), faststart)
    data = faststart.read_bytes()
    files["truncated_faststart"] = root / "truncated_faststart.mp4"
    files["truncated_faststart"].write_bytes(data[: int(len(data) * 0.6)])

    files["audio_only"] = root / "audio_only.mp4"
    _write_audio_only(files["audio_only"])
    files["one_frame"] = Path(
        make_face_videos(
            1, n_frames=1, directory=root, prefix="one_frame", random_state=2
        ).paths[0]
    )
    files["no_face"] = Path(
        make_face_videos(
            1, n_faces=0, directory=root, prefix="no_face", random_state=3
        ).paths[0]
    )
    return {name: os.fspath(path) for name, path in files.items()}


@pytest.fixture(scope="session")
def import_benchmark():
    """``import_benchmark(name)`` imports ``benchmarks/<name>.py``.

    The folder is on ``sys.path`` only while the module is imported (the
    scripts put it there themselves for their own imports).
    """

    def load(name: str):
        folder = str(REPO_ROOT / "benchmarks")
        sys.path.insert(0, folder)
        try:
            return importlib.import_module(name)
        finally:
            sys.path.remove(folder)

    return load


@pytest.fixture(scope="session")
def shared_data():
    """Path of the shared real videos (``<repo>/../shared/data``), or skip."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture(scope="session")
def held_out_tracks(tmp_path_factory):
    """16 pristine videos and their 16 "blend" twins, face crops of 32 px."""
    from sklearn_deepfake.datasets import make_face_videos
    from sklearn_deepfake.faces import FaceCropper
    from sklearn_deepfake.video import FrameSampler

    bunch = make_face_videos(
        n_videos=32,
        manipulated=0.5,
        manipulation="blend",
        frame_size=(192, 144),
        n_frames=8,
        directory=tmp_path_factory.mktemp("held_out"),
        random_state=0,
    )
    plans = FrameSampler(8).fit_transform(bunch.paths)
    tracks = FaceCropper(size=32, device="cpu").fit_transform(plans)
    return tracks, np.asarray(bunch.target), np.asarray(bunch.groups)
