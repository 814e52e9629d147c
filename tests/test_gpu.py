"""CUDA paths: AMP, channels_last, compile, MTCNN, ONNX on CUDA, Accelerate.

Every test is marked ``gpu`` and is skipped without CUDA (tests/conftest.py).
"""

import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import torch

from sklearn_deepfake.nets import FaceCNNClassifier
from sklearn_deepfake.utils._testing import make_tiny_face_tracks

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.filterwarnings(
        "ignore::sklearn_deepfake.features._cnn.RandomInitWarning"
    ),
]


def _cuda_clf(**params):
    base = {
        "backbone": "resnet18",
        "max_epochs": 1,
        "batch_size": 8,
        "valid_size": None,
        "device": "cuda",
        "random_state": 0,
    }
    return FaceCNNClassifier(**{**base, **params})


@pytest.mark.parametrize("precision", ["auto", "fp16", "bf16"])
def test_amp_training_step_on_cuda(precision):
    X = make_tiny_face_tracks(4, size=64, empty=())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = _cuda_clf(precision=precision).fit(X, [0, 1, 0, 1])
    assert clf.net_.use_amp
    expected = torch.bfloat16 if precision == "bf16" else None
    if precision == "fp16":
        expected = torch.float16
    assert clf.net_.amp_dtype == expected
    assert np.isfinite(clf.net_.history[-1, "train_loss"])
    assert np.isfinite(clf.predict_proba(X)).all()


def test_channels_last_on_cuda_by_default():
    X = make_tiny_face_tracks(4, size=64, empty=())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = _cuda_clf().fit(X, [0, 1, 0, 1])
    module = clf.net_.module_
    assert module.channels_last
    x = torch.zeros(2, 3, 64, 64, dtype=torch.uint8, device="cuda")
    seen = {}

    def hook(m, args):  # returns None: the input is left as it is
        seen.setdefault("cl", args[0].is_contiguous(memory_format=torch.channels_last))

    handle = module.backbone.register_forward_pre_hook(hook)
    with torch.no_grad():
        module(x)
    handle.remove()
    assert seen["cl"]


def test_torch_compile_and_flip_tta_on_cuda():
    X = make_tiny_face_tracks(4, size=64, empty=())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = _cuda_clf(torch_compile=True, tta="flip").fit(X, [0, 1, 0, 1])
    # the fitted network is the plain module again (picklable)
    assert not hasattr(clf.net_.module_.backbone, "_orig_mod")
    assert np.isfinite(clf.predict_proba(X)).all()


def test_mtcnn_batched_on_cuda(tiny_videos):
    from sklearn_deepfake.faces import FaceCropper
    from sklearn_deepfake.video import FrameSampler

    plans = FrameSampler(n_frames=8).fit_transform(tiny_videos.paths)
    cropper = FaceCropper(size=64, device="cuda", n_jobs=1).fit(plans)
    assert cropper.device_.type == "cuda"
    tracks = cropper.transform(plans)
    assert len(tracks) == len(plans)
    assert sum(len(t) for t in tracks) > 0


def test_onnx_on_the_cuda_provider(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        pytest.skip("onnxruntime without the CUDA provider")
    from sklearn_deepfake.export import ONNXFaceClassifier, export_onnx

    X = make_tiny_face_tracks(4, size=32, empty=())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = _cuda_clf(device="cpu").fit(X, [0, 1, 0, 1])
    path = export_onnx(clf, tmp_path / "c.onnx", size=32)
    onnx_clf = ONNXFaceClassifier(path, providers=["CUDAExecutionProvider"]).fit()
    np.testing.assert_allclose(
        onnx_clf.predict_proba(X), clf.predict_proba(X), atol=1e-3
    )


_MULTI_GPU_SCRIPT = textwrap.dedent(
    """
    import warnings
    from accelerate import Accelerator
    from sklearn_deepfake.nets import FaceCNNClassifier
    from sklearn_deepfake.utils._testing import make_tiny_face_tracks

    acc = Accelerator()
    X = make_tiny_face_tracks(8, size=64, empty=())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = FaceCNNClassifier("resnet18", max_epochs=1, batch_size=4,
                                valid_size=None, accelerator=acc,
                                random_state=0).fit(X, [0, 1] * 4)
    acc.print("processes", acc.num_processes, "epochs", clf.n_epochs_)
    """
)


@pytest.mark.skipif(
    not torch.cuda.is_available() or torch.cuda.device_count() < 2,
    reason="needs 2 or more GPUs",
)
def test_accelerate_multi_gpu(tmp_path):
    pytest.importorskip("accelerate")
    script = tmp_path / "train.py"
    script.write_text(_MULTI_GPU_SCRIPT)
    cmd = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu",
        "--num_processes", "2", str(script),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "processes 2 epochs 1" in out.stdout
