import json

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss

from sklearn_deepfake.calibration import (
    CalibrationReport,
    ReliabilityDisplay,
    calibration_report,
    compare_calibration,
    expected_calibration_error,
)


def _bernoulli(n=20000, seed=0):
    """Labels drawn from known probabilities: perfectly calibrated."""
    rng = np.random.default_rng(seed)
    p = rng.beta(0.7, 0.7, n)
    y = (rng.random(n) < p).astype(int)
    return y, p


def _sharpen(p, factor):
    logit = np.log(p) - np.log1p(-p)
    return 1 / (1 + np.exp(-factor * logit))


def test_report_by_hand():
    y = [0, 0, 1, 1, 1]
    p = [0.1, 0.3, 0.35, 0.8, 0.9]
    report = calibration_report(y, p, n_bins=2)
    np.testing.assert_allclose(report.bin_edges, [0, 0.5, 1])
    np.testing.assert_allclose(report.bin_centers, [0.25, 0.75])
    np.testing.assert_array_equal(report.counts, [3, 2])
    np.testing.assert_allclose(report.mean_predicted, [0.25, 0.85])
    np.testing.assert_allclose(report.observed_fraction, [1 / 3, 1.0])
    gaps = np.array([1 / 3 - 0.25, 0.15])
    assert report.ece == pytest.approx(3 / 5 * gaps[0] + 2 / 5 * gaps[1])
    assert report.mce == pytest.approx(gaps.max())
    assert report.log_loss == pytest.approx(log_loss(y, p))
    assert report.brier_score == pytest.approx(brier_score_loss(y, p))
    assert report.n_samples == 5
    assert "ECE" in str(report)


def test_uniform_curve_matches_scikit_learn():
    rng = np.random.default_rng(1)
    p = rng.random(500)
    y = (rng.random(500) < p**1.5).astype(int)
    report = calibration_report(y, p, n_bins=8)
    frac, mean = calibration_curve(y, p, n_bins=8)
    filled = report.counts > 0
    np.testing.assert_allclose(report.observed_fraction[filled], frac)
    np.testing.assert_allclose(report.mean_predicted[filled], mean)
    assert report.counts.sum() == 500


def test_empty_bins_are_nan_and_ignored():
    report = calibration_report([0, 1, 1], [0.05, 0.95, 0.99], n_bins=10)
    assert report.counts.sum() == 3
    assert np.isnan(report.mean_predicted[3])
    assert report.counts[3] == 0
    assert np.isfinite(report.ece)
    assert report.ece == pytest.approx((0.05 + 0.05 + 0.01) / 3)


def test_probability_one_falls_in_last_bin():
    report = calibration_report([1, 1], [1.0, 0.95], n_bins=10)
    assert report.counts[-1] == 2


def test_quantile_bins_hold_equal_counts_and_merge_ties():
    y, p = _bernoulli(1000)
    report = calibration_report(y, p, n_bins=5, strategy="quantile")
    np.testing.assert_array_equal(report.counts, [200] * 5)
    tied = calibration_report([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5], strategy="quantile")
    assert len(tied.counts) == 1
    assert tied.ece == 0.0


def test_calibrated_probabilities_have_small_ece_and_sharpened_large():
    y, p = _bernoulli()
    good = expected_calibration_error(y, p)
    over = expected_calibration_error(y, _sharpen(p, 3.0))
    assert good < 0.02
    assert over > 0.1
    assert expected_calibration_error(y, p, strategy="quantile") < 0.02


def test_two_column_input_and_string_labels():
    y, p = _bernoulli(300)
    ref = calibration_report(y, p)
    two = calibration_report(y, np.c_[1 - p, p])
    assert two.ece == pytest.approx(ref.ece)
    labels = np.where(y == 1, "FAKE", "REAL")
    named = calibration_report(labels, p, pos_label="FAKE")
    assert named.log_loss == pytest.approx(ref.log_loss)
    assert named.pos_label == "FAKE"
    with pytest.raises(ValueError, match="pos_label"):
        calibration_report(labels, p)


def test_log_loss_is_clipped_at_eps():
    report = calibration_report([1, 0], [0.0, 0.0], eps=0.01)
    assert report.log_loss == pytest.approx(-np.log(0.01) / 2 - np.log(0.99) / 2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_bins": 0}, "n_bins"),
        ({"n_bins": 2.5}, "n_bins"),
        ({"strategy": "kmeans"}, "strategy"),
        ({"eps": 0.6}, "eps"),
    ],
)
def test_invalid_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        calibration_report([0, 1], [0.2, 0.7], **kwargs)


@pytest.mark.parametrize(
    ("y", "p", "match"),
    [
        ([0, 1], [0.2, 1.3], r"\[0, 1\]"),
        ([0, 1], [0.2, np.nan], r"\[0, 1\]"),
        ([0, 1, 2], [0.2, 0.3, 0.4], "binary"),
        ([0, 1], np.full((2, 3), 1 / 3), "two-column"),
        ([], [], "empty"),
        ([2, 3], [0.2, 0.3], "pos_label"),
    ],
)
def test_invalid_inputs(y, p, match):
    with pytest.raises(ValueError, match=match):
        calibration_report(y, p)


def test_compare_calibration_before_after():
    y, p = _bernoulli(5000)
    over = _sharpen(p, 4.0)
    comparison = compare_calibration(y, over, p, n_bins=10)
    assert comparison.log_loss_change < -0.05
    assert comparison.ece_change < -0.05
    assert comparison.brier_change < 0
    assert comparison.before.log_loss == pytest.approx(
        calibration_report(y, over).log_loss
    )
    assert "->" in str(comparison)
    worse = compare_calibration(y, p, over)
    assert worse.log_loss_change == pytest.approx(-comparison.log_loss_change)


def test_report_to_dict_is_json_ready():
    report = calibration_report([0, 1, 1], [0.2, 0.6, 0.9], n_bins=3)
    assert isinstance(report, CalibrationReport)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["counts"] == [1, 1, 1]
    assert data["strategy"] == "uniform"
    with pytest.raises(AttributeError):
        report.ece = 0.0  # frozen


# ---------------------------------------------------------------------------
# ReliabilityDisplay
# ---------------------------------------------------------------------------


@pytest.fixture
def pyplot():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_display_from_predictions(pyplot):
    y, p = _bernoulli(400)
    report = calibration_report(y, p, n_bins=5)
    _, ax = pyplot.subplots()
    disp = ReliabilityDisplay.from_predictions(
        y, p, n_bins=5, name="model", ax=ax, show_counts=True, color="C3"
    )
    assert disp.ax_ is ax
    assert disp.figure_ is ax.figure
    label = disp.line_.get_label()
    assert label.startswith("model (ECE = ")
    assert f"{report.ece:.3f}" in label
    np.testing.assert_allclose(disp.line_.get_xdata(), report.mean_predicted)
    np.testing.assert_allclose(disp.line_.get_ydata(), report.observed_fraction)
    assert disp.ref_line_ is not None
    assert len(ax.collections) == 1  # bin-count markers
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert label in legend


def test_display_skips_empty_bins_and_reference_line(pyplot):
    disp = ReliabilityDisplay.from_predictions(
        [0, 1, 1], [0.05, 0.95, 0.99], ref_line=False
    )
    assert disp.ref_line_ is None
    assert len(disp.line_.get_xdata()) == 2
    assert disp.line_.get_label().startswith("ECE = ")


def test_display_from_estimator_with_string_classes(pyplot):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = np.where(X[:, 0] + rng.normal(0, 0.5, 200) > 0, "REAL", "FAKE")
    clf = LogisticRegression().fit(X, y)
    disp = ReliabilityDisplay.from_estimator(clf, X, y)
    assert disp.line_.get_label().startswith("LogisticRegression (ECE = ")
    assert disp.report.pos_label == "REAL"  # classes_[1]
    expected = calibration_report(y, clf.predict_proba(X)[:, 1], pos_label="REAL").ece
    assert disp.report.ece == pytest.approx(expected)
    fake = ReliabilityDisplay.from_estimator(clf, X, y, pos_label="FAKE", name="lr")
    assert fake.report.ece == pytest.approx(
        calibration_report(y, clf.predict_proba(X)[:, 0], pos_label="FAKE").ece
    )
    assert "FAKE" in fake.ax_.get_xlabel()
    with pytest.raises(ValueError, match="pos_label"):
        ReliabilityDisplay.from_estimator(clf, X, y, pos_label="OTHER")


def test_display_from_estimator_passes_the_other_keywords_on(pyplot):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] + rng.normal(0, 0.5, 200) > 0).astype(int)
    clf = LogisticRegression().fit(X, y)
    options = {"n_bins": 4, "strategy": "quantile", "eps": 0.05}
    _, ax = pyplot.subplots()
    disp = ReliabilityDisplay.from_estimator(
        clf, X, y, ax=ax, ref_line=False, show_counts=True, color="C3", **options
    )
    expected = calibration_report(y, clf.predict_proba(X)[:, 1], **options)
    assert disp.report.log_loss == expected.log_loss
    np.testing.assert_array_equal(disp.report.counts, expected.counts)
    np.testing.assert_array_equal(disp.report.bin_edges, expected.bin_edges)
    assert disp.ax_ is ax
    assert disp.ref_line_ is None
    assert len(ax.collections) == 1  # bin-count markers
    assert disp.line_.get_color() == "C3"


def test_display_from_estimator_needs_binary(pyplot):
    X = np.arange(9.0).reshape(-1, 1)
    clf = LogisticRegression().fit(X, np.arange(9) % 3)
    with pytest.raises(ValueError, match="binary"):
        ReliabilityDisplay.from_estimator(clf, X, np.arange(9) % 3)


def test_display_plot_again_on_new_axes(pyplot):
    y, p = _bernoulli(200)
    disp = ReliabilityDisplay(calibration_report(y, p), estimator_name="a")
    _, (ax1, ax2) = pyplot.subplots(1, 2)
    disp.plot(ax=ax1)
    disp.plot(ax=ax2, name="b")
    assert disp.ax_ is ax2
    assert disp.line_.get_label().startswith("b (")
