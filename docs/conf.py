"""Sphinx configuration: numpydoc API pages and a sphinx-gallery of examples.

Build offline, warnings as errors::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Environment variables:

``SKDF_DOCS_PLOT_GALLERY=0``
    Do not run the gallery examples (their pages show the code only): the
    fast build that the test-suite runs. ``-D plot_gallery=0`` does the same.
``SKDF_DOCS_INTERSPHINX=1``
    Link to the Python, NumPy, scikit-learn... documentation (downloads
    their inventories, so it needs the network).
"""

import os
import sys
from importlib.metadata import version as _version
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE / "sphinxext"))

project = "sklearn-deepfake"
author = "sklearn-deepfake developers"
copyright = "2026, sklearn-deepfake developers"
release = _version("sklearn-deepfake")
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "skdf_docs",  # docs/sphinxext: API pages and the list of messages
]


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() not in {"0", "false", "no", "off", ""}


templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
root_doc = "index"
default_role = "literal"  # `x` in a docstring is code, not a reference

autosummary_generate = True
autodoc_default_options = {"members": True}
autodoc_typehints = "none"  # numpydoc's Parameters sections say it better
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()

# A reference to one of our own objects that does not exist is an error;
# references to other projects only resolve with intersphinx, and private
# names (a leading underscore somewhere in the path) are not documented.
nitpicky = True
_EXTERNAL = (
    "sklearn|numpy|np|scipy|pandas|pd|joblib|torch|torchvision|timm|skorch|"
    "optuna|matplotlib|dask|distributed|facenet_pytorch|av|cv2|PIL|onnx|"
    "onnxruntime|librosa|os|pathlib|collections|typing|warnings|argparse|"
    "tempfile|concurrent|builtins|Bunch|ndarray|DataFrame|Axes|Figure"
)
nitpick_ignore_regex = [
    (r"py:.*", rf"({_EXTERNAL})(\..*)?"),
    (r"py:.*", r"(?!sklearn_deepfake\.)\w+\..*"),  # other packages' dotted names
    (r"py:.*", r".*\._\w.*"),  # private modules and names
    (r"py:.*", r"(self|cls)\..*"),
]

plot_gallery = "True" if _flag("SKDF_DOCS_PLOT_GALLERY", True) else "False"

sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    "subsection_order": [
        "../examples/basics",
        "../examples/deep",
        "../examples/tuning",
        "../examples/inspection",
        "../examples/without_fakes",
        "../examples/multimodal",
        "*",
        "../examples/scaling",
    ],
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "write_computation_times": False,
    "doc_module": ("sklearn_deepfake",),
    "backreferences_dir": "generated/backreferences",
    "abort_on_example_error": True,
}

intersphinx_mapping = {}
if _flag("SKDF_DOCS_INTERSPHINX", False):
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "joblib": ("https://joblib.readthedocs.io/en/stable", None),
        "matplotlib": ("https://matplotlib.org/stable", None),
        "skorch": ("https://skorch.readthedocs.io/en/stable", None),
    }

html_theme = "alabaster"
html_title = f"sklearn-deepfake {release}"
html_static_path = []
html_theme_options = {"fixed_sidebar": True, "page_width": "1100px"}


def _skip_members_of_other_libraries(app, what, name, obj, skip, options):
    """Leave out what a class inherits from scikit-learn, torch and the like.

    A method a class inherits from one of this package's own bases (the
    shared ``predict`` and ``predict_proba`` of the classifiers, the shared
    ``from_estimator`` of the video Displays) is part of its API and is
    documented on its page; ``get_params``, ``set_output`` and the rest of
    scikit-learn's machinery are not repeated on every page.
    """
    if skip:
        return None
    member = getattr(obj, "fget", None) or getattr(obj, "__func__", None) or obj
    module = getattr(member, "__module__", None)
    if module is not None and not module.startswith("sklearn_deepfake"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_members_of_other_libraries)
