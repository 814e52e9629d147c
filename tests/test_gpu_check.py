"""``benchmarks/gpu_check.sh --cpu`` runs end to end and prints every figure."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "gpu_check.sh"
BACKBONES = (
    "efficientnet_b0",
    "tf_efficientnet_lite0",
    "seresnext50_32x4d",
    "tf_efficientnet_b7",
    "r2plus1d_18",
)


@pytest.mark.slow
def test_gpu_check_cpu_mode_prints_every_figure(tmp_path):
    pytest.importorskip("timm")
    pytest.importorskip("facenet_pytorch")
    if shutil.which("bash") is None or shutil.which("timeout") is None:
        pytest.skip("needs bash and timeout")
    # The script's own limit (470 s) is for a GPU machine; a busy CPU is slower.
    env = {**os.environ, "PYTHON": sys.executable, "GPU_CHECK_TIMEOUT": "1500"}
    proc = subprocess.run(
        ["bash", str(SCRIPT), "--cpu", "--seconds", "0.2", "--folder", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=1600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert out.startswith("gpu_check on cpu")
    number = r"(\d+(?:\.\d+)?)"
    for name in BACKBONES:
        for mode in ("train", "infer"):
            match = re.search(
                rf"^{mode} {name} \d+px batch \d+.*: {number} crops/s$",
                out,
                re.MULTILINE,
            )
            assert match, (name, mode, out)
            assert float(match.group(1)) > 0
    match = re.search(
        rf"^mtcnn batched .*: {number} faces/s, {number} frames/s$", out, re.MULTILINE
    )
    assert match, out
    assert float(match.group(2)) > 0
    assert float(match.group(1)) > 0  # the synthetic clip shows a real face
    match = re.search(
        rf"^end-to-end default preset .*: {number} s/clip$", out, re.MULTILINE
    )
    assert match, out
    assert float(match.group(1)) > 0
    record = json.loads((tmp_path / "gpu_check_cpu.json").read_text())
    assert record["inputs"]["cpu_mode"] is True
    names = [b["backbone"] for b in record["outputs"]["backbones"]]
    assert names == list(BACKBONES)
    assert record["outputs"]["end_to_end"]["seconds_per_clip"] > 0


def test_gpu_check_without_cuda_asks_for_cpu(tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("CUDA is available")
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "gpu_check.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert "run with --cpu" in proc.stderr
