"""The ``sklearn-deepfake`` command line (entry point :func:`main`).

One private module per subcommand (``_demo``, ``_extract``, ``_fit``,
``_predict``, ``_tune``, ``_explain``, ``_cache``, ``_scan``), each with its
``NAME``, ``HELP``, ``DESCRIPTION``, ``add_arguments(parser)`` and
``run(args)``; ``_main`` registers them, builds the parser and turns failures
into exit codes; ``_options`` holds the options several
subcommands share and ``_utils`` the helpers (labels files, ``--set``
parsing, atomic writes). Nothing below this package imports from it.
"""

from sklearn_deepfake.cli._main import main

__all__ = ["main"]
