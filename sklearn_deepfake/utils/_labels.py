"""Which class label means "fake": one rule for the whole library."""

from __future__ import annotations

from numbers import Number
from typing import Any

import numpy as np

__all__ = ["fake_class_index", "fake_column", "label_role"]


def label_role(label: Any) -> str | None:
    """Return ``"fake"``, ``"real"`` or None (unknown) for one class label.

    A label is fake if it is 1 or True, or a string equal to ``"fake"``
    ignoring case; it is real if it is 0 or False, or the string
    ``"real"`` ignoring case. Anything else is unknown.

    Examples
    --------
    >>> from sklearn_deepfake.utils._labels import label_role
    >>> [label_role(v) for v in ("FAKE", "Real", 1, False, "other", 2)]
    ['fake', 'real', 'fake', 'real', None, None]
    """
    if hasattr(label, "item") and np.ndim(label) == 0:
        label = label.item()
    if isinstance(label, str):
        name = label.strip().lower()
        return {"fake": "fake", "real": "real"}.get(name)
    if isinstance(label, Number) and not isinstance(label, complex):
        if label == 1:
            return "fake"
        if label == 0:
            return "real"
    return None


def fake_class_index(classes: Any) -> int:
    """Return the position of the fake class among two class labels.

    scikit-learn sorts ``classes_``, so with the DFDC string labels
    ``["FAKE", "REAL"]`` the fake class comes first, while with ``[0, 1]``
    or ``[False, True]`` it comes second. The rule: the class whose label
    is fake (1, True or ``"fake"`` in any case, see ``label_role``);
    else the other one of a class whose label is real (0, False or
    ``"real"``); else ``classes[1]`` (the larger label after sorting).
    Use it to pick the P(fake) column of ``predict_proba``.

    Parameters
    ----------
    classes : array-like of shape (2,)
        Class labels, in the order of the ``predict_proba`` columns
        (``estimator.classes_``).

    Returns
    -------
    index : int
        0 or 1.

    Raises
    ------
    ValueError
        If ``classes`` does not hold exactly two labels.

    Examples
    --------
    >>> from sklearn_deepfake.utils import fake_class_index
    >>> fake_class_index(["FAKE", "REAL"]), fake_class_index([0, 1])
    (0, 1)
    >>> fake_class_index(["real", "swap"]), fake_class_index(["a", "b"])
    (1, 1)
    """
    classes = list(np.asarray(classes, dtype=object).ravel())
    if len(classes) != 2:
        raise ValueError(f"Expected two class labels, got {len(classes)}: {classes}.")
    roles = [label_role(c) for c in classes]
    if roles.count("fake") == 1:
        return roles.index("fake")
    if roles.count("real") == 1:
        return 1 - roles.index("real")
    return 1


def fake_column(model: Any) -> int:
    """Column of ``model.predict_proba`` that holds P(FAKE).

    For a binary model, the column of the fake class by
    :func:`fake_class_index`; for any other number of classes, the last one
    (also when the model has no ``classes_``: ``[0, 1]`` is assumed).

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> from sklearn_deepfake.utils._labels import fake_column
    >>> fake_column(DummyClassifier().fit([[0], [0]], ["FAKE", "REAL"]))
    0
    """
    classes = getattr(model, "classes_", [0, 1])
    if len(classes) != 2:
        return len(classes) - 1
    return fake_class_index(classes)
