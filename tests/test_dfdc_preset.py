"""The ``dfdc`` preset of make_default_pipeline and ``fit --preset dfdc``."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone

from sklearn_deepfake import make_default_pipeline
from sklearn_deepfake.cli import main
from sklearn_deepfake.ensemble import SeedEnsembleClassifier
from sklearn_deepfake.features import _weights
from sklearn_deepfake.nets import FaceCNNClassifier
from sklearn_deepfake.pipeline._pipeline import DFDC_AUGMENT
from sklearn_deepfake.utils._routing import _groups_fit_params


@pytest.fixture
def no_hub(monkeypatch):
    """No model hub and nothing in the local caches."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(_weights, "_cached_timm_weights", lambda backbone: False)


def test_dfdc_preset_assembles_the_winners_settings():
    pipe = make_default_pipeline(preset="dfdc", pretrained=False)
    assert list(pipe.named_steps) == ["framesampler", "facecropper", "classifier"]
    assert pipe.named_steps["framesampler"].n_frames == 32
    assert pipe.named_steps["facecropper"].size == 380
    assert pipe.named_steps["facecropper"].pairs == "metadata"
    ens = pipe.named_steps["classifier"]
    assert isinstance(ens, SeedEnsembleClassifier)
    assert ens.n_seeds == 3
    assert ens.calibration == "sigmoid"
    net = ens.estimator
    assert isinstance(net, FaceCNNClassifier)
    assert net.backbone == "tf_efficientnet_b7.ns_jft_in1k"
    assert net.input_size == 380
    assert net.aggregation == "confident"
    assert net.tta == "flip"
    assert net.part_erasure == "diff"
    assert net.class_balance == "epoch"
    assert net.augment == DFDC_AUGMENT
    assert net.augment["face_part"] > 0
    assert net.augment["cutmix"] > 0
    clone(pipe)


@pytest.mark.parametrize(
    ("backbone", "size"), [("seresnext50_32x4d", 224), ("tf_efficientnet_lite2", 260)]
)
def test_dfdc_preset_crops_at_the_backbone_size(backbone, size):
    pipe = make_default_pipeline(
        preset="dfdc", backbone=backbone, pretrained=False, n_seeds=2
    )
    assert pipe.named_steps["facecropper"].size == size
    assert pipe.named_steps["classifier"].estimator.input_size == size
    assert pipe.named_steps["classifier"].n_seeds == 2


def test_dfdc_preset_without_hub_fails_at_once(no_hub):
    with pytest.raises(RuntimeError, match=r"weights=.*tf_efficientnet_lite0"):
        make_default_pipeline(preset="dfdc")
    # weights=PATH or an offline backbone build without asking the hub
    pipe = make_default_pipeline(preset="dfdc", weights="/some/file.safetensors")
    assert pipe.named_steps["classifier"].estimator.pretrained is False


@pytest.mark.parametrize(
    ("preset", "option", "match"),
    [
        ("dfdc", {"features": "context"}, "features='context' would be ignored"),
        ("dfdc", {"calibration": "sigmoid"}, "calibration='sigmoid'"),
        ("default", {"n_seeds": 2}, "n_seeds=2 would be ignored"),
        ("self-blended", {"weights": "w.pt"}, "weights='w.pt' would be ignored"),
    ],
)
def test_dfdc_only_options_are_checked(preset, option, match):
    with pytest.raises(ValueError, match=match):
        make_default_pipeline(preset=preset, **option)


def test_cli_fit_dfdc_without_hub_fails_before_finding_faces(
    no_hub, tiny_dfdc, tmp_path, capsys
):
    out = str(tmp_path / "m.joblib")
    assert main(["fit", str(tiny_dfdc.root), "-o", out, "--preset", "dfdc"]) != 0
    captured = capsys.readouterr()
    assert "weights=" in captured.err
    assert "tf_efficientnet_lite0" in captured.err
    assert "Finding faces" not in captured.out
    assert not (tmp_path / "m.joblib").exists()


@pytest.mark.slow
def test_dfdc_preset_trains_end_to_end_on_cpu(tiny_videos, one_torch_thread):
    pipe = make_default_pipeline(
        preset="dfdc",
        backbone="resnet18",
        pretrained=False,
        size=32,
        n_frames=4,
        n_seeds=2,
        device="cpu",
    )
    pipe.set_params(
        facecropper__n_jobs=1,
        classifier__calibration_size=0.5,
        classifier__random_state=0,
        classifier__estimator__max_epochs=1,
        classifier__estimator__batch_size=8,
        classifier__estimator__valid_size=None,
    )
    paths, y, groups = tiny_videos.paths, tiny_videos.target, tiny_videos.groups
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # random init
        pipe.fit(paths, y, **_groups_fit_params(pipe, groups))
        proba = pipe.predict_proba(paths)
        tracks = pipe[:2].transform(paths)
    ens = pipe.named_steps["classifier"]
    assert len(ens.estimators_) == 2
    assert all(m.tta == "flip" for m in ens.estimators_)
    assert proba.shape == (4, 2)
    assert np.all((proba >= 0.01) & (proba <= 0.99))
    # calibrated, clipped mean of the members' log-odds
    z = np.mean([m.decision_function(tracks) for m in ens.estimators_], axis=0)
    a, b = ens.calibration_
    expected = np.clip(1 / (1 + np.exp(-(a * z + b))), 0.01, 0.99)
    np.testing.assert_allclose(proba[:, 1], expected, atol=1e-6)
    # calibration held out whole groups
    held = set(np.asarray(groups)[ens.calibration_index_])
    assert held
    assert not held & set(np.delete(np.asarray(groups), ens.calibration_index_))


def test_cli_extract_dfdc_needs_no_hub(no_hub, tiny_dfdc, tmp_path, capsys):
    from sklearn_deepfake.cli._main import _build_parser
    from sklearn_deepfake.cli._options import _build_pipeline

    args = _build_parser().parse_args(
        ["extract", str(tiny_dfdc.root), "--preset", "dfdc", "--size", "32"]
    )
    pipe = _build_pipeline(args, str(tmp_path / "faces"))
    assert pipe.named_steps["facecropper"].size == 32
    assert pipe.named_steps["classifier"].estimator.pretrained is False


@pytest.mark.slow
def test_cli_fit_preset_dfdc_end_to_end_tiny(tiny_dfdc, tmp_path, capsys):
    import joblib

    out = tmp_path / "m.joblib"
    argv = [
        "fit", str(tiny_dfdc.root), "-o", str(out), "--preset", "dfdc",
        "--size", "32", "--n-frames", "4", "--device", "cpu",
        "--cache", str(tmp_path / "faces"),
        "--set", "classifier__estimator__backbone=resnet18",
        "classifier__estimator__pretrained=False", "classifier__n_seeds=2",
        "classifier__estimator__max_epochs=1", "classifier__random_state=0",
        "classifier__calibration_size=0.5",
    ]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(argv) == 0, capsys.readouterr().err
    pipe = joblib.load(out)
    ens = pipe.named_steps["classifier"]
    assert len(ens.estimators_) == 2
    assert ens.estimators_[0].backbone == "resnet18"
    assert pipe.named_steps["facecropper"].size == 32
