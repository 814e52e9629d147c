import os

import numpy as np
import pandas as pd
import pytest

from sklearn_deepfake.submission import write_submission


def test_write_submission_plain(tmp_path):
    out = tmp_path / "submission.csv"
    df = write_submission(out, ["/x/a.mp4", "b.mp4"], [0.25, 0.75])
    read = pd.read_csv(out)
    assert list(read.columns) == ["filename", "label"]
    assert read["filename"].tolist() == ["a.mp4", "b.mp4"]
    np.testing.assert_allclose(read["label"], [0.25, 0.75])
    pd.testing.assert_frame_equal(df, read)
    # no temporary file left behind
    assert os.listdir(tmp_path) == ["submission.csv"]


def test_write_submission_predict_proba_and_eps(tmp_path):
    proba = np.array([[1.0, 0.0], [0.0, 1.0], [0.4, 0.6]])
    df = write_submission(tmp_path / "s.csv", ["a", "b", "c"], proba, eps=0.01)
    np.testing.assert_allclose(df["label"], [0.01, 0.99, 0.6])


@pytest.mark.parametrize(
    ("classes", "column"),
    [(None, 1), ([0, 1], 1), (["FAKE", "REAL"], 0), (np.array(["REAL", "FAKE"]), 1)],
)
def test_write_submission_picks_the_fake_column(tmp_path, classes, column):
    proba = np.array([[0.9, 0.1], [0.3, 0.7]])
    df = write_submission(tmp_path / "s.csv", ["a", "b"], proba, classes=classes)
    np.testing.assert_allclose(df["label"], proba[:, column])


def test_fake_column_of_a_string_labelled_model(tmp_path):
    from sklearn.linear_model import LogisticRegression

    from sklearn_deepfake.utils._labels import fake_column

    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    model = LogisticRegression().fit(X, ["REAL", "REAL", "FAKE", "FAKE"])
    assert model.classes_.tolist() == ["FAKE", "REAL"]
    assert fake_column(model) == 0
    proba = model.predict_proba(X)
    df = write_submission(
        tmp_path / "s.csv", list("abcd"), proba, classes=model.classes_
    )
    # The fake videos (the last two) get the high probabilities.
    assert df["label"].iloc[2:].min() > df["label"].iloc[:2].max()


def test_write_submission_sample_order_missing_and_extra(tmp_path):
    sample = tmp_path / "sample_submission.csv"
    pd.DataFrame({"filename": ["c.mp4", "a.mp4", "b.mp4"], "label": 0.5}).to_csv(
        sample, index=False
    )
    with pytest.warns(UserWarning, match="sample_submission|no prediction") as record:
        df = write_submission(
            tmp_path / "s.csv",
            ["a.mp4", "c.mp4", "z.mp4"],
            [0.1, 0.9, 0.7],
            sample_submission=sample,
            fallback=0.4,
        )
    messages = sorted(str(w.message) for w in record)
    assert len(messages) == 2
    assert "no prediction" in messages[0]
    assert "b.mp4" in messages[0]
    assert "not written: z.mp4" in messages[1]
    assert df["filename"].tolist() == ["c.mp4", "a.mp4", "b.mp4"]
    np.testing.assert_allclose(df["label"], [0.9, 0.1, 0.4])


def test_write_submission_nan_gets_fallback_with_warning(tmp_path):
    with pytest.warns(UserWarning, match=r"NaN or infinite.*b\.mp4"):
        df = write_submission(
            tmp_path / "s.csv", ["a.mp4", "b.mp4", "c.mp4"], [0.2, np.nan, np.inf]
        )
    np.testing.assert_allclose(df["label"], [0.2, 0.5, 0.5])


def test_write_submission_out_of_range_is_clipped_with_warning(tmp_path):
    with pytest.warns(UserWarning, match=r"outside \[0, 1\].*a\.mp4"):
        df = write_submission(tmp_path / "s.csv", ["a.mp4", "b.mp4"], [1.2, 0.3])
    np.testing.assert_allclose(df["label"], [1.0, 0.3])


def test_write_submission_is_atomic_on_failure(tmp_path, monkeypatch):
    out = tmp_path / "s.csv"
    out.write_text("filename,label\nold.mp4,0.5\n")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_submission(out, ["a.mp4"], [0.1])
    assert out.read_text() == "filename,label\nold.mp4,0.5\n"
    assert os.listdir(tmp_path) == ["s.csv"]


def test_write_submission_duplicates(tmp_path):
    df = write_submission(tmp_path / "s.csv", ["a", "a", "b"], [0.3, 0.3, 0.6])
    assert df["filename"].tolist() == ["a", "b"]
    with pytest.raises(ValueError, match="two different predictions: a"):
        write_submission(tmp_path / "s.csv", ["a", "a"], [0.3, 0.4])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"filenames": ["a", "b"], "proba": [0.1]}, "2 filenames but 1"),
        ({"proba": [[0.1, 0.2, 0.7]]}, "shape"),
        ({"fallback": 1.5}, "fallback"),
        ({"eps": 0.5}, "eps"),
        ({"sample_submission": pd.DataFrame({"name": ["a"]})}, "filename"),
    ],
)
def test_write_submission_errors(tmp_path, kwargs, match):
    args = {"filenames": ["a"], "proba": [0.1], **kwargs}
    with pytest.raises(ValueError, match=match):
        write_submission(tmp_path / "s.csv", **args)
    assert not os.listdir(tmp_path)


def test_write_submission_rejects_single_string(tmp_path):
    with pytest.raises(TypeError, match="sequence"):
        write_submission(tmp_path / "s.csv", "a.mp4", [0.1])
