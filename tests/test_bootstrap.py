"""grouped_bootstrap_score: percentile intervals that resample whole groups."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, roc_auc_score

from sklearn_deepfake.model_selection import (
    BootstrapScore,
    clipped_log_loss,
    grouped_bootstrap_score,
)


def _grouped_scores(n_groups, per_group, seed):
    """Labels and scores where each group shares a random offset."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), per_group)
    y = np.tile(np.arange(per_group) % 2, n_groups)
    shift = rng.normal(0, 1.5, n_groups)[g]
    p = 1 / (1 + np.exp(-(1.0 * (2 * y - 1) + shift + rng.normal(0, 0.5, len(y)))))
    return y, p, g


def test_point_is_the_metric_on_all_the_data():
    y, p, g = _grouped_scores(12, 4, seed=0)
    res = grouped_bootstrap_score(y, p, g, n_boot=200)
    assert isinstance(res, BootstrapScore)
    assert res.score == pytest.approx(roc_auc_score(y, p))
    assert res.low <= res.score <= res.high
    assert (res.n_groups, res.n_samples, res.n_boot) == (12, 48, 200)
    ll = grouped_bootstrap_score(y, p, g, metric="log_loss", n_boot=50)
    assert ll.score == pytest.approx(clipped_log_loss(y, p))
    acc = grouped_bootstrap_score(y, p, g, metric="accuracy", n_boot=50)
    assert acc.score == pytest.approx(accuracy_score(y, p > 0.5))
    # ties count one half, as in roc_auc_score
    q = np.round(p, 1)
    assert grouped_bootstrap_score(y, q, g, n_boot=5).score == pytest.approx(
        roc_auc_score(y, q)
    )
    assert set(res.as_dict()) == {
        "score",
        "low",
        "high",
        "confidence",
        "n_groups",
        "n_samples",
        "n_boot",
    }


def test_perfect_separation_has_a_degenerate_interval():
    y = np.array([0, 1] * 6)
    p = np.where(y == 1, 0.9, 0.2)
    res = grouped_bootstrap_score(y, p, np.repeat(np.arange(6), 2), n_boot=300)
    assert (res.score, res.low, res.high) == (1.0, 1.0, 1.0)


def test_covers_a_known_rate_about_95_percent_of_the_time():
    # Groups of 5 clips whose positive rate varies by group: the population
    # rate is 0.3 by construction, and the clips of a group are correlated.
    rng = np.random.default_rng(0)
    n_sim, covered = 100, 0
    for s in range(n_sim):
        rates = rng.beta(3, 7, size=30)  # mean 0.3
        g = np.repeat(np.arange(30), 5)
        p = (rng.random(len(g)) < rates[g]).astype(float)
        y = np.zeros(len(g), dtype=int)
        res = grouped_bootstrap_score(
            y, p, g, metric="positive_rate", n_boot=200, random_state=s
        )
        covered += res.low <= 0.3 <= res.high
    assert 0.85 <= covered / n_sim <= 1.0


def test_interval_over_two_groups_spans_them_over_twenty_narrows():
    # the same 80 real clips, in 2 or in 20 groups; each group's clips share
    # a rate of being called fake
    rng = np.random.default_rng(4)
    y = np.zeros(80, dtype=int)
    for n_groups in (2, 20):
        g = np.repeat(np.arange(n_groups), 80 // n_groups)
        rates = rng.uniform(0.1, 0.6, n_groups)
        p = (rng.random(80) < rates[g]).astype(float)
        own = [p[g == k].mean() for k in range(n_groups)]
        res = grouped_bootstrap_score(y, p, g, metric="positive_rate", n_boot=2000)
        assert res.n_groups == n_groups
        if n_groups == 2:
            # 3 possible resamples (A+A, A+B, B+B): the interval runs from
            # one group's own rate to the other's
            assert (res.low, res.high) == (min(own), max(own))
        else:
            assert min(own) < res.low < res.score < res.high < max(own)
            assert res.high - res.low < 0.5 * (max(own) - min(own))


def test_whole_groups_are_resampled_not_single_clips():
    # Every clip of a group has the same score: resampling clips one by one
    # would narrow the interval by sqrt(clips per group); groups do not.
    rng = np.random.default_rng(1)
    g = np.repeat(np.arange(10), 8)
    p = rng.random(10)[g]
    y = np.zeros(len(g), dtype=int)
    grouped = grouped_bootstrap_score(y, p, g, metric=lambda _, q: q.mean())
    by_clip = grouped_bootstrap_score(
        y, p, np.arange(len(g)), metric=lambda _, q: q.mean()
    )
    assert grouped.n_groups == 10
    assert by_clip.n_groups == 80
    assert grouped.high - grouped.low > 2 * (by_clip.high - by_clip.low)


def test_reproducible_by_seed():
    y, p, g = _grouped_scores(8, 4, seed=2)
    a = grouped_bootstrap_score(y, p, g, n_boot=300, random_state=3)
    b = grouped_bootstrap_score(y, p, g, n_boot=300, random_state=3)
    c = grouped_bootstrap_score(y, p, g, n_boot=300, random_state=4)
    assert a == b
    assert (a.low, a.high) != (c.low, c.high)


def test_repeats_are_averaged_and_resampled_together():
    y, p, g = _grouped_scores(10, 4, seed=3)
    q = np.clip(p + 0.2, 0, 1)
    res = grouped_bootstrap_score(y, np.vstack([p, q]), g, metric="log_loss")
    assert res.score == pytest.approx(
        (clipped_log_loss(y, p) + clipped_log_loss(y, q)) / 2
    )
    with pytest.raises(ValueError, match="shape"):
        grouped_bootstrap_score(y, np.vstack([p, q]).T, g)


def test_single_class_resamples_are_dropped_for_auc():
    # each group holds one class: some resamples draw fakes only
    y = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    p = np.linspace(0.1, 0.9, 8)
    g = np.repeat(np.arange(4), 2)
    res = grouped_bootstrap_score(y, p, g, n_boot=400)
    assert 0 < res.n_boot < 400


def test_errors():
    y = np.array([0, 1, 0, 1])
    p = np.array([0.2, 0.8, 0.3, 0.7])
    g = np.array([0, 0, 1, 1])
    with pytest.raises(ValueError, match="both classes"):
        grouped_bootstrap_score(np.zeros(4, dtype=int), p, g)
    # the false-positive rate of real clips needs no second class
    assert grouped_bootstrap_score(np.zeros(4, int), p, g, metric="positive_rate")
    with pytest.raises(ValueError, match="at least 2 groups"):
        grouped_bootstrap_score(y, p, np.zeros(4))
    with pytest.raises(ValueError, match="one entry per sample"):
        grouped_bootstrap_score(y, p, g[:3])
    with pytest.raises(ValueError, match="binary labels"):
        grouped_bootstrap_score(np.array([0, 1, 2, 1]), p, g)
    with pytest.raises(ValueError, match="NaN"):
        grouped_bootstrap_score(y, np.array([0.1, np.nan, 0.2, 0.3]), g)
    with pytest.raises(ValueError, match="metric must be"):
        grouped_bootstrap_score(y, p, g, metric="f1")
    with pytest.raises(ValueError, match="n_boot"):
        grouped_bootstrap_score(y, p, g, n_boot=0)
    with pytest.raises(ValueError, match="confidence"):
        grouped_bootstrap_score(y, p, g, confidence=95)
