r"""Docstring text shared by several public functions, written once.

When several public functions or methods take the same parameter with the
same meaning (a Display's ``estimator`` and ``X`` in ``from_estimator`` and
``plot``; the ``n_jobs`` of the feature transformers), its description is
kept once, in a dict beside the code that uses it, and filled into each
docstring when the module is imported, as MNE-Python's ``fill_doc`` does. A
placeholder is ``%(name)s`` on a line of its own, indented as the text it
stands for; every line of the entry gets that indentation. Other ``%``
signs in a docstring are left alone, and an unknown name is an error at
import time, so a typo cannot reach the documentation.

Examples
--------
>>> from sklearn_deepfake.utils._docstrings import fill_doc
>>> docs = {"n_jobs": "n_jobs : int\n    Videos at once."}
>>> @fill_doc(docs)
... def f(n_jobs=None):
...     '''Do it (100% of the time).
...
...     %(n_jobs)s
...     '''
>>> f.__doc__.splitlines()[2:4]
['    n_jobs : int', '        Videos at once.']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

__all__ = ["fill_doc"]

_T = TypeVar("_T")
_PLACEHOLDER = re.compile(r"^(?P<indent>[ \t]*)%\((?P<name>\w+)\)s[ \t]*$", re.M)


def _fill(doc: str, docs: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name, indent = match.group("name"), match.group("indent")
        if name not in docs:
            raise KeyError(f"no shared docstring entry {name!r}; known: {sorted(docs)}")
        lines = docs[name].strip("\n").splitlines()
        return "\n".join(indent + line if line.strip() else "" for line in lines)

    return _PLACEHOLDER.sub(replace, doc)


def fill_doc(docs: Mapping[str, str]) -> Callable[[_T], _T]:
    """Return a decorator that fills ``%(name)s`` lines from ``docs``.

    Parameters
    ----------
    docs : mapping of str to str
        Entry name -> text, written without the leading indentation (the
        placeholder's indentation is added to every line).

    Returns
    -------
    decorator : callable
        Fills the docstring of the function, method or class it decorates
        (and returns it); an object without a docstring is returned as is.
    """

    def decorate(obj: Any) -> Any:
        if obj.__doc__:
            obj.__doc__ = _fill(obj.__doc__, docs)
        return obj

    return decorate
