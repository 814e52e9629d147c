"""Shared docstring entries: filled with their indentation, typos refused."""

import pytest

from sklearn_deepfake.utils._docstrings import fill_doc


def test_entry_is_indented_like_its_placeholder_and_other_percents_stay():
    docs = {"x": "x : int\n    First line.\n\n    After a blank line."}

    @fill_doc(docs)
    def f(x):
        """Use 50% of x.

        Parameters
        ----------
        %(x)s
        y : None
        """

    assert f.__doc__ == (
        "Use 50% of x.\n\n        Parameters\n        ----------\n"
        "        x : int\n            First line.\n\n"
        "            After a blank line.\n        y : None\n        "
    )


def test_unknown_entry_fails_at_decoration():
    with pytest.raises(KeyError, match="'y'"):

        @fill_doc({"x": "x : int"})
        def f():
            """%(y)s"""


def test_placeholder_inside_a_line_is_not_touched_and_no_docstring_is_fine():
    @fill_doc({"x": "x : int"})
    def f():
        """See %(x)s here."""

    assert f.__doc__ == "See %(x)s here."

    @fill_doc({"x": "x : int"})
    def g():
        pass

    assert g.__doc__ is None
