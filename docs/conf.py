"""Sphinx configuration: numpydoc API pages and a sphinx-gallery of examples."""

import os
import sys
from importlib.metadata import version as _version

sys.path.insert(0, os.path.abspath(".."))

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
]

templates_path = []
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
root_doc = "index"

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "write_computation_times": False,
}

html_theme = "alabaster"
html_title = f"sklearn-deepfake {release}"
html_static_path = []
