"""The selection logic of ``benchmarks/bench_cross_method.py``.

The benchmark picks the recipe the ``general`` preset ships, so its folds
and its ranking rule are tested here on synthetic labels (the videos it
reads are not needed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench(import_benchmark):
    return import_benchmark("bench_cross_method")


def _row(ll_other, auc_other, ll_new, auc_new):
    return {
        "all (pooled folds)": {"log_loss": ll_other, "auc": auc_other},
        "new identities": {"all": {"log_loss": ll_new, "auc": auc_new}},
    }


def test_rank_orders_near_ties_by_auc_and_the_rest_by_log_loss(bench):
    results = {
        "best-ll": _row(0.696, 0.45, 0.696, 0.55),  # mean 0.696, AUC 0.50
        "near-tie": _row(0.697, 0.52, 0.698, 0.52),  # mean 0.6975, AUC 0.52
        "just-out": _row(0.705, 0.60, 0.705, 0.60),  # 0.009 worse: not tied
        "worst": _row(0.80, 0.70, 0.70, 0.70),
    }
    assert bench.rank(results) == ["near-tie", "best-ll", "just-out", "worst"]


def test_frame_counts_compete_as_one_ranking(bench):
    eight = {"a": _row(0.690, 0.65, 0.690, 0.65), "b": _row(0.720, 0.8, 0.700, 0.8)}
    more = {"a": _row(0.690, 0.6, 0.690, 0.6), "c": _row(0.688, 0.7, 0.690, 0.7)}
    # ("c", 32) has the best log loss; both "a" rows are within the tie of
    # it and follow by AUC, across frame counts; "b" is out of the tie
    assert bench.rank_frame_counts({8: eight, 32: more}) == [
        ("c", 32),
        ("a", 8),
        ("a", 32),
        ("b", 8),
    ]
    assert bench.rank_frame_counts({8: eight}) == [("a", 8), ("b", 8)]


def test_video_temperature_is_tuned_with_C_and_only_softens(bench):
    recipe = next(r for r in bench.RECIPES if r.name == "faceres-temperature")
    candidates = bench._candidates(recipe)
    assert len(candidates) == len(bench.C_GRID) * len(bench.T_VIDEO_GRID)
    assert (bench.C_GRID[0], 1.0) in candidates
    plain = next(r for r in bench.RECIPES if r.name == "faceres")
    assert {T for _, T in bench._candidates(plain)} == {1.0}
    p = np.array([0.02, 0.3, 0.5, 0.9])
    soft = bench.soften(p, 3.0)
    np.testing.assert_array_equal(np.argsort(soft), np.argsort(p))
    assert np.all(np.abs(soft - 0.5) <= np.abs(p - 0.5))
    assert soft[2] == pytest.approx(0.5)


def _toy_labels():
    # 3 families of fakes over 12 groups, reals in every group, 4 real-only clips
    family, groups, y = [], [], []
    for g in range(12):
        fam = ("dfl-pairs", "Deepfakes", "Face2Face")[g % 3]
        for label in (0, 1):
            family.append(fam if label else "ffpp-real")
            groups.append(f"g{g}")
            y.append(label)
    for k in range(4):
        family.append("real-only")
        groups.append(f"ro{k}")
        y.append(0)
    return np.array(y), np.array(family), np.array(groups)


def test_group_folds_hold_out_whole_groups_and_cover_every_video(bench):
    y, _, groups = _toy_labels()
    idx = np.arange(len(y))
    folds = bench.group_folds(idx, y, groups)
    assert len(folds) == 5
    tested = np.concatenate([test for _, _, test in folds])
    assert sorted(tested.tolist()) == idx.tolist()
    for _, train, test in folds:
        assert not set(groups[train]) & set(groups[test])
        assert set(train.tolist()) | set(test.tolist()) == set(idx.tolist())


def test_lofo_folds_leave_the_family_and_its_groups_out(bench):
    y, family, groups = _toy_labels()
    idx = np.arange(len(y))
    folds = bench.lofo_folds(idx, y, family, groups)
    assert [fam for fam, _, _ in folds] == ["dfl-pairs", "Deepfakes", "Face2Face"]
    for fam, train, test in folds:
        assert not ((family[train] == fam) & (y[train] == 1)).any()
        assert not set(groups[train]) & set(groups[test])
        # the test set is the family's fakes and the reals of their groups
        assert set(family[test]) == {fam, "ffpp-real"}


def test_table_names_each_fine_tuned_rows_own_budget(bench):
    def scores():
        return {
            "n": 4,
            "n_fake": 2,
            "n_groups": 2,
            "auc": 0.5,
            "auc_ci95": [0.4, 0.6],
            "log_loss": 0.69,
            "log_loss_ci95": [0.68, 0.70],
        }

    def row(budget=None):
        r = {
            "dfl-pairs": scores(),
            "new identities": {"all": scores()},
            "real-only (trained on all 4)": {
                **scores(),
                "mean_p_fake": 0.5,
                "share_above_0.5": 0.5,
            },
        }
        if budget:
            r["net_budget"] = budget
        return r

    cpu = {"max_epochs": 4, "frames_per_video": 4, "device": "cpu"}
    gpu = {"max_epochs": 30, "frames_per_video": 16, "device": "cuda"}
    results = {"prior": row(), "ft-hse-sbi": row(cpu), "ft-imagenet-sbi": row(gpu)}
    recipes = [r for r in bench.RECIPES if r.name in results]
    md = bench.table(results, recipes)
    assert "net_budget" not in md  # not a row of the family tables
    assert "(4 epochs of 4 crops per video on cpu)" in md.split("`ft-hse-sbi`")[1]
    lite = md.split("`ft-imagenet-sbi`")[1]
    assert "(30 epochs of 16 crops per video on cuda)" in lite
    assert "epochs" not in md.split("`prior`")[1].splitlines()[0]


def test_blend_rows_average_logits_of_parts_tuned_as_their_own_rows(bench):
    by_name = {r.name: r for r in bench.RECIPES}
    blend = by_name["faceres-temperature+sbi-identity"]
    assert blend.blend == ("faceres-temperature", "sbi-identity")
    assert all(part in by_name for r in bench.RECIPES for part in r.blend)
    # equal weights on the logit scale: a constant 0.5 part halves the logit
    p = np.array([0.1, 0.5, 0.8])
    half = bench.blend([p, np.full(3, 0.5)])
    np.testing.assert_allclose(half, bench.soften(p, 2.0))
    np.testing.assert_allclose(bench.blend([p, p]), p)
    # the chosen parameters are recorded per part
    params = bench._params(blend, bench.BlendParams(((0.01, 3.0), (0.003, 1.0))))
    assert params["parts"] == {
        "faceres-temperature": {"C": 0.01, "temperature": 3.0},
        "sbi-identity": {"C": 0.003},
    }
    assert (
        bench._chosen(params) == "faceres-temperature: 0.01 (3.0); sbi-identity: 0.003"
    )
    # a tuned weight: weighted mean of the logits, recorded with the parts
    weighted = by_name["faceres-temperature+sbi-identity-weighted"]
    assert weighted.blend == blend.blend
    assert weighted.tune_weight
    q = np.array([0.7, 0.2, 0.6])
    z = 0.8 * np.log(p / (1 - p)) + 0.2 * np.log(q / (1 - q))
    np.testing.assert_allclose(
        bench.blend([p, q], (0.8, 0.2)), np.clip(1 / (1 + np.exp(-z)), 0.01, 0.99)
    )
    params = bench._params(
        weighted, bench.BlendParams(((0.01, 3.0), (0.003, 1.0)), (0.8, 0.2))
    )
    assert params["weights"] == [0.8, 0.2]
    assert bench._chosen(params).endswith("; weights 0.8/0.2")


def test_tuned_blend_weight_favours_the_informative_part(bench, monkeypatch):
    """The weight is chosen by the inner log loss of the blend, over both
    protocols' out-of-fold predictions of the parts."""
    from types import SimpleNamespace

    y, family, groups = _toy_labels()
    idx = np.arange(len(y))
    rng = np.random.default_rng(0)

    class _Part:
        def __init__(self, good):
            self.good = good

        def training(self, tr, y):
            return None, y[tr], tr

    def fit_predict(part, params, tr, te, y):
        if part.good:
            return np.where(y[te] == 1, 0.7, 0.3)
        return rng.uniform(0.05, 0.95, len(te))  # noise: confident and wrong

    monkeypatch.setattr(bench, "_fit_predict", fit_predict)
    protocols = bench._protocols(idx, y, family, groups)
    assert len(protocols) == 2  # grouped 5-fold and leave one family out
    for parts, first in (((True, False), 0.8), ((False, True), 0.2)):
        d = SimpleNamespace(parts=[_Part(g) for g in parts])
        w = bench._choose_weights(d, (None, None), protocols, y)
        assert w == (first, pytest.approx(1 - first))


def _results_file(rows, videos=("a", "b")):
    return {
        "inputs": {"videos": {v: [0] for v in videos}, "frames": {"n_frames": 8}},
        "outputs": {"results": rows},
    }


def test_merge_takes_only_the_rows_run_elsewhere(bench):
    old = _results_file({"prior": {"x": 1}, "ft-hse-sbi": {"x": 2}, "faceres": {}})
    gpu = _results_file({"prior": {"x": 1}, "ft-hse-sbi": {"x": 9}, "faceres": {}})
    dlib = _results_file({"prior": {"x": 1}, "ft-dlib-sbi": {"x": 7}})
    now = {"faceres": {"x": 4}}  # run this time: never replaced
    taken = bench.rows_run_elsewhere(now, old, {"gpu.json": gpu, "dlib.json": dlib})
    assert taken == {"ft-hse-sbi": {"x": 9}, "ft-dlib-sbi": {"x": 7}}
    # a changed row that was also run now stays as run now
    changed = _results_file({"faceres": {"x": 5}})
    assert bench.rows_run_elsewhere(now, old, {"c.json": changed}) == {}
    other_videos = _results_file({"ft-hse-sbi": {"x": 9}}, videos=("a", "c"))
    with pytest.raises(SystemExit, match="other videos"):
        bench.rows_run_elsewhere({}, old, {"o.json": other_videos})


def test_tracks_pack_round_trips_rows_and_tracks_losslessly(
    tmp_path, monkeypatch, import_benchmark
):
    import dataclasses

    from sklearn_deepfake.utils._testing import make_tiny_face_tracks

    data = import_benchmark("_cross_method_data")
    tracks = make_tiny_face_tracks(3, size=48, empty=(1,), random_state=0)
    rows = [(t.path, k % 2, "fam", f"g{k}") for k, t in enumerate(tracks)]
    monkeypatch.setattr(data, "face_tracks", lambda rows, n_frames: tracks)
    monkeypatch.setattr(data, "key", lambda path: Path(path).name)
    data.save_tracks_pack(rows, 8, tmp_path / "p.pkl")
    assert [p.name for p in tmp_path.iterdir()] == ["p.pkl"]  # no temporary left
    n_frames, rows2, tracks2 = data.load_tracks_pack(tmp_path / "p.pkl")
    assert n_frames == 8
    assert rows2 == [(Path(r[0]).name, *r[1:]) for r in rows]
    assert len(tracks2[1].crops) == 0
    assert tracks2[1].crops.shape[1:] == (48, 48, 3)
    for a, b in zip(tracks, tracks2):
        assert b.path == Path(a.path).name
        for f in dataclasses.fields(a):
            if f.name != "path":
                np.testing.assert_array_equal(getattr(a, f.name), getattr(b, f.name))


def test_faceres_drift_cues_measure_identity_changes_along_the_track(bench):
    rng = np.random.default_rng(0)
    face = rng.normal(size=64)
    steady = np.tile(face, (6, 1)) * rng.uniform(0.5, 2, (6, 1))  # norms differ
    np.testing.assert_allclose(bench.faceres_drift_frames(steady), 1.0, atol=1e-12)
    # two identities, alternating: each face is far from the next
    other = rng.normal(size=64)
    swapped = np.stack([face, other] * 3)
    cues = bench.faceres_drift_frames(swapped)
    assert cues.shape == (6, 2)
    cos = face @ other / np.linalg.norm(face) / np.linalg.norm(other)
    np.testing.assert_allclose(cues[:-1, 1], cos)
    assert cues[-1, 1] == pytest.approx(cos)  # the last: the others' mean
    assert (cues[:, 0] < 1).all()
    assert bench.faceres_drift_frames(face[None]).tolist() == [[1.0, 1.0]]
    assert bench.faceres_drift_frames(np.zeros((0, 64))).shape == (0, 2)
    # a video without faces pools to NaN, as every other recipe's rows
    assert np.isnan(bench._faceres_drift({"faceres": np.zeros((0, 64))}, "")).all()
    assert bench._faceres_drift({"faceres": swapped}, "").shape == (6,)


def test_shipped_general_preset_is_the_committed_benchmark_winner(
    bench, import_benchmark
):
    """The preset and the committed results files name the same recipe.

    What ``benchmarks/train_general.py`` checks before it trains, on the
    results files in the repository: the first recipe over both frame
    counts, its features, pooling and frame count, and the head parameters
    the benchmark chose on all four families.
    """
    import json

    from sklearn_deepfake.pipeline._pipeline import _PRESET_VALUES

    train_general = import_benchmark("train_general")
    results = REPO / "benchmarks" / "results"
    files = {
        n: json.loads((results / f"{bench.results_name(n)}.json").read_text())[
            "outputs"
        ]["results"]
        for n in train_general.RESULT_FRAME_COUNTS
    }
    name, n_frames = next(k for k in bench.rank_frame_counts(files) if k[0] != "prior")
    preset = _PRESET_VALUES["general"]
    features, pooling = train_general.PRESET_OF[name]
    assert (features, pooling, n_frames) == (
        preset["features"],
        tuple(preset["pooling"]) if "pooling" in preset else None,
        preset["n_frames"],
    )
    recipe = bench.RECIPE_BY_NAME[name]
    assert bool(recipe.framewise) == bool(preset.get("framewise"))
    chosen = files[n_frames][name]["real-only (trained on all 4)"]
    assert (chosen["C"], chosen["temperature"]) == (preset["C"], preset["temperature"])
    shipped = json.loads(
        (REPO / "sklearn_deepfake" / "pretrained" / "general.json").read_text()
    )
    assert shipped["info"]["recipe"] == name
    assert shipped["info"]["n_frames"] == n_frames


@pytest.mark.parametrize("mode", ["labels", "sbi", "labels+sbi", "labels+sbi-parts"])
def test_train_general_training_set_keeps_groups_with_their_samples(
    mode, import_benchmark
):
    """Each training sample keeps its video's group, self-blended copies too.

    ``bench_robustness.py --held-out`` leaves a clip's group out of the
    training samples ``train_general.training_set`` builds; a self-blended
    copy of a real video left in would leak the video into the refit.
    """
    train_general = import_benchmark("train_general")
    rows = [
        ("a.mp4", 0, "dfl-real", "g0"),
        ("b.mp4", 1, "dfl-pairs", "g0"),
        ("c.mp4", 0, "real-only", "g1"),
        ("d.mp4", 1, "Deepfakes", "g2"),
    ]
    # a video's rows carry its index, its self-blended copy's the index + 10
    feats = [
        {
            f"{prefix}{name}": np.full((3, 2), i + (10.0 if prefix else 0.0))
            for prefix in ("", "sbi_")
            for name in ("faceres", "facerec")
        }
        for i in range(len(rows))
    ]
    frames, y, groups, fit_params = train_general.training_set(
        "faceres", mode, rows, feats
    )
    assert len(frames) == len(y) == len(groups)
    source = [int(f[0, 0]) % 10 for f in frames]  # the video each sample is of
    assert list(groups) == [rows[i][3] for i in source]
    is_copy = np.array([f[0, 0] >= 10 for f in frames])
    np.testing.assert_array_equal(y[is_copy], 1)  # copies are fakes ...
    assert all(rows[i][1] == 0 for i in np.array(source)[is_copy])  # ... of reals
    if mode == "labels":
        assert not is_copy.any()
        assert list(y) == [r[1] for r in rows]
    elif mode == "sbi":  # reals and their copies only
        assert sorted(source) == [0, 0, 2, 2]
        assert is_copy.sum() == 2
    else:
        assert len(frames) == len(rows) + 2
        assert is_copy.sum() == 2
    if mode == "labels+sbi-parts":
        np.testing.assert_array_equal(fit_params["classifier__self_blended"], is_copy)
    else:
        assert fit_params == {}
