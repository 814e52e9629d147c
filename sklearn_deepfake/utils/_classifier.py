"""Labels from probabilities: the ``predict`` of the probabilistic classifiers.

The classifiers of the package that compute ``predict_proba`` themselves
(:class:`~sklearn_deepfake.classifiers.FramewiseClassifier`, the ensembles,
the deep video classifiers) turn it into labels in one place,
:meth:`ProbaClassifierMixin.predict`. The rule is the most probable class;
only an exact tie between two classes depends on the class: by default it
goes to the first of ``classes_`` (:func:`numpy.argmax`), and a class whose
:meth:`~ProbaClassifierMixin._tie_class_index` names a column gives a
binary tie to that column's class (``p >= 0.5``).

Those that clip their probabilities to ``[eps, 1 - eps]`` (the meta-
classifiers of :mod:`sklearn_deepfake.calibration`,
:mod:`sklearn_deepfake.classifiers` and :mod:`sklearn_deepfake.ensemble`)
share :meth:`ClippedProbaClassifierMixin.predict_proba` too.

``PROBA_DOCS`` holds the docstring text that these classifiers share
(:func:`~sklearn_deepfake.utils._docstrings.fill_doc`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._proba import clip_proba

__all__ = ["PROBA_DOCS", "ClippedProbaClassifierMixin", "ProbaClassifierMixin"]

PROBA_DOCS = {
    "y_pred": """y_pred : ndarray of shape (n_samples,)
    Predicted labels, from ``classes_``.""",
    "clipped_proba": """proba : ndarray of shape (n_samples, n_classes)
    Probabilities clipped to ``[eps, 1 - eps]``, then renormalised so that
    rows sum to one; columns in the order of ``classes_``.""",
}


class ProbaClassifierMixin(ClassifierMixin):
    """Classifier whose ``predict`` reads its ``predict_proba``.

    Subclasses set ``classes_`` and implement ``predict_proba``; a binary
    classifier that breaks ties toward one class overrides
    :meth:`_tie_class_index`.
    """

    def _tie_class_index(self) -> int | None:
        """Column whose class wins a binary tie; None: the first class."""
        return None

    @fill_doc(PROBA_DOCS)
    def predict(self, X: Any) -> np.ndarray:
        """Return the most probable class of each sample.

        An exact tie goes to the first class of ``classes_``, except in the
        binary classifiers that decide ties toward one class (its
        probability at least 0.5): the fake class in the video classifiers
        of :mod:`sklearn_deepfake.nets`, ``classes_[1]`` in
        :class:`~sklearn_deepfake.ensemble.SeedEnsembleClassifier`.

        Parameters
        ----------
        X : list or array-like
            Samples, in the form that ``predict_proba`` takes.

        Returns
        -------
        %(y_pred)s
        """
        proba = self.predict_proba(X)
        k = self._tie_class_index()
        if k is None:
            return self.classes_[np.argmax(proba, axis=1)]
        return self.classes_[np.where(proba[:, k] >= 0.5, k, 1 - k)]


class ClippedProbaClassifierMixin(ProbaClassifierMixin):
    """Classifier whose probabilities are clipped to ``[eps, 1 - eps]``.

    Subclasses have an ``eps`` parameter and implement
    ``_unclipped_proba(X)``, the probabilities before clipping; one whose
    clipping rule differs overrides :meth:`_clip`.
    """

    def _clip(self, proba: np.ndarray) -> np.ndarray:
        """Clip to ``[eps, 1 - eps]`` and renormalise the rows (:func:`clip_proba`)."""
        return clip_proba(proba, self.eps)

    @fill_doc(PROBA_DOCS)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Return the class probabilities, clipped to ``[eps, 1 - eps]``.

        Parameters
        ----------
        X : list or array-like
            Samples, in the form that ``fit`` takes.

        Returns
        -------
        %(clipped_proba)s
        """
        check_is_fitted(self)
        return self._clip(self._unclipped_proba(X))
