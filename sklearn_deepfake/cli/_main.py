"""The ``sklearn-deepfake`` command line.

Each subcommand lives in its own module of this package (``_demo``,
``_extract``, ``_fit``, ``_predict``, ``_tune``, ``_explain``, ``_cache``,
``_scan``), which :func:`_build_parser` registers (see ``_COMMANDS``);
:func:`main` parses the arguments, runs the subcommand and turns failures
into exit codes:

- ``0``: success;
- ``1``: the command failed; a one-line message goes to stderr (add
  ``--traceback`` to see where);
- ``2``: usage error (bad or missing arguments, unknown ``--set`` names);
- ``130``: interrupted with Ctrl-C.

``extract``, ``fit`` and ``predict`` share one face cache
(``--cache DIR``, default ``$SKLEARN_DEEPFAKE_CACHE`` or
``~/.cache/sklearn-deepfake/faces``), so each reuses the faces the others
found. Heavy imports (torch, the face detector) happen inside the
subcommands, so ``sklearn-deepfake --help`` loads none of them.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from sklearn_deepfake import __version__
from sklearn_deepfake.cli import (
    _cache,
    _demo,
    _explain,
    _extract,
    _fit,
    _predict,
    _scan,
    _tune,
)
from sklearn_deepfake.cli._utils import UsageError, concise_warnings, one_line

__all__ = ["main"]

#: The subcommands, in the order ``sklearn-deepfake --help`` lists them. Each
#: module names its command (``NAME``), describes it (``HELP``: one line in the
#: list of commands; ``DESCRIPTION``: the top of the command's own ``--help``),
#: adds its arguments (``add_arguments(parser)``) and runs it (``run(args)``,
#: which returns the exit code).
_COMMANDS = (_demo, _extract, _fit, _predict, _tune, _explain, _cache, _scan)

_DESCRIPTION = """\
Deepfake video detection with scikit-learn pipelines.

Videos go through FrameSampler (which frames to read), FaceCropper (MTCNN
face tracks), then a preset's head (see make_default_pipeline): by default
per-frame features, TemporalPooling (one row per video) and a logistic
regression whose probabilities are clipped (no calibration step unless
'fit --calibration' asks for one).

Typical use:
  sklearn-deepfake extract DATA_DIR            # find faces once (cached)
  sklearn-deepfake fit DATA_DIR -o model.joblib
  sklearn-deepfake predict model.joblib DATA_DIR -o submission.csv"""


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sklearn-deepfake",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run 'sklearn-deepfake COMMAND --help' for the options of a command.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    parser.add_argument(
        "--traceback",
        action="store_true",
        help="on failure, print the full Python traceback, not just the message",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _COMMANDS:
        _add_command(commands, module)
    return parser


def _add_command(commands: Any, module: ModuleType) -> None:
    """Register the subcommand of ``module`` (see ``_COMMANDS``)."""
    # A description with line breaks of its own (paragraphs: demo, tune) is
    # printed as written; the others are wrapped to the terminal's width.
    raw = "\n" in module.DESCRIPTION
    parser = commands.add_parser(
        module.NAME,
        help=module.HELP,
        description=module.DESCRIPTION,
        formatter_class=(
            argparse.RawDescriptionHelpFormatter if raw else argparse.HelpFormatter
        ),
    )
    module.add_arguments(parser)
    parser.set_defaults(func=module.run)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``sklearn-deepfake`` command line.

    Parameters
    ----------
    argv : sequence of str, default=None
        Arguments without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    exit_code : int
        ``0`` on success, ``1`` when the command failed, ``2`` on a usage
        error, ``130`` when interrupted.

    Examples
    --------
    >>> from sklearn_deepfake.cli import main
    >>> main(["--version"])  # doctest: +ELLIPSIS
    sklearn-deepfake ...
    0
    """
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_usage(sys.stderr)
        print(
            "sklearn-deepfake: error: a COMMAND is required (try --help)",
            file=sys.stderr,
        )
        return 2
    try:
        with concise_warnings():
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"sklearn-deepfake {args.command}: interrupted", file=sys.stderr)
        return 130
    except UsageError as exc:
        print(f"sklearn-deepfake {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        if args.traceback:
            traceback.print_exc()
        print(
            f"sklearn-deepfake {args.command}: error: {one_line(exc)}",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
