"""List every measured figure in the project's text and find it in a results file.

A *figure* is a number that reports a measurement:

* a number with a results-like unit: time (``ms``, ``s``, ``seconds``,
  ``min``, ``minutes``, ``h``, ``hours``), memory or size (``KB``, ``MB``,
  ``GB``, ``KiB``, ``MiB``, ``GiB``), a percentage (``%``), a ratio (``1.1x``)
  or a rate (``crops/s``, ``frames/s``, ``videos/s``, ``clips/s``, ``it/s``);
  a range (``17-23 MB``) gives two figures;
* a decimal number (it has a decimal point) that follows a quality metric's
  name (AUC, ROC, log loss, accuracy, Brier, ECE, F1, precision, recall)
  within 100 characters of the same sentence, e.g. both numbers of "an AUC
  of 0.80 / 0.553".

Not figures, by rule:

* anything in code: fenced or literal blocks, code directives, doctest
  lines and the Examples section of a docstring, inline ``code`` and roles.
  Parameter values written as code (``n_frames=32``) are settings; so is a
  number written after ``=`` or ``default`` in prose (``P(FAKE) = 0.8``);
* pixels (``px``) and frame rates (``fps``): in this project they describe a
  setting (crop size) or an input (a video's resolution and frame rate); no
  benchmark measures them. Throughput is written ``frames/s`` or ``crops/s``;
* sizes written with a spaced ``x`` (``150 x 150``, a shape); a ratio is
  written ``1.1x``;
* version numbers (``2.14.1``) and plain counts without a unit (``8,000
  videos``).

Settings and facts that still look like figures (an Optuna heartbeat of 3
minutes, the log loss of a constant 0.5, which is ln 2 = 0.693) are listed in
``benchmarks/audit_allow.txt``, one per line, ``TEXT | REASON``: a figure is
allowed when TEXT occurs in its sentence and contains the figure. A line
without a reason is an error. A reason that starts with ``pending`` marks a
figure whose results file is still to come (from another branch): it is
listed apart, as pending, as long as the script or file its text names has
no results; once they exist the figure is checked against them like any
other (and the line can go).

Every other figure must be *backed*, beside its command: the figure's
sentence, else its paragraph, else its section (a whole docstring, a whole
help text) names a benchmark script (``benchmarks/bench_x.py`` or
``bench_x.py``) or a results file (``benchmarks/results/x.md`` or
``x.json``), and one of the results files so named holds the number. A
script's results are the files it names or writes with ``write_results`` and
the files whose recorded command ran it; a ``.json`` brings its ``.md`` and
the other way round. A figure that names nothing, or names a script that
writes no results, is an orphan. In a ``.json`` file, the numbers of
``outputs`` (strings included) count; in a ``.md`` file, every number. An
AUC, log-loss... figure is backed only by a number stored under a metric's
name: a JSON key path, a table column (or row label) or a line that names
AUC, ROC, loss, Brier, ECE, accuracy, F1, precision, recall or score. A
stored number backs a figure when it rounds to the figure as shown (``0.81``
is backed by ``0.8134``; an integer's trailing zeros are not taken as
digits, so ``8,600`` is backed by ``8,585.6``); a percentage may be stored
as a fraction
(``99.6%`` from ``0.9962``), milliseconds as seconds, MB as bytes or MiB.
The check knows that the number is in the named results, not which row of
them it is: it catches figures with no source and figures that their source
does not hold, and a reader still checks the meaning.

Sources: ``README.md``, ``CHANGELOG.md``, ``docs/**/*.rst`` (generated pages
excluded), the docstrings of every module, class and function of
``sklearn_deepfake`` (read with :mod:`ast`, nothing imported) and the help
texts of the ``sklearn-deepfake`` command (its argparse parser is built and
walked).

    python benchmarks/audit_figures.py [--no-write]

Prints a table of the orphans and exits with status 1 when there is one.
Writes ``benchmarks/results/audit_figures.json`` and ``.md`` (its own results
are never used to back a figure).
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO / "benchmarks"
RESULTS = BENCHMARKS / "results"
ALLOW = REPO / "benchmarks" / "audit_allow.txt"
NAME = "audit_figures"

_NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\d.]*\.\d)"
_NUM = r"(?<![\w.,/-])" + _NUMBER
_UNITS = {
    "ms": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "seconds": 1.0,
    "second": 1.0,
    "min": 60.0,
    "minutes": 60.0,
    "minute": 60.0,
    "h": 3600.0,
    "hours": 3600.0,
    "hour": 3600.0,
    "KB": 1e3,
    "kB": 1e3,
    "MB": 1e6,
    "GB": 1e9,
    "KiB": 2.0**10,
    "MiB": 2.0**20,
    "GiB": 2.0**30,
    "%": None,
    "x": None,
    "\u00d7": None,  # multiplication sign
    "crops/s": None,
    "frames/s": None,
    "videos/s": None,
    "clips/s": None,
    "it/s": None,
}
_UNIT = "|".join(
    sorted((re.escape(u) for u in _UNITS if u not in "x\u00d7"), key=len, reverse=True)
)
# "0.7 s", "1.1x", "99.6%", "17-23 MB"; a unit ends at a non-word character.
_WITH_UNIT = re.compile(
    rf"(?P<lo>{_NUM})(?:\s*(?:-|\u2013|to)\s*(?P<hi>{_NUMBER}))?"
    rf"(?:(?P<unit>[x\u00d7])|(?:\s?|\u00a0)(?P<word>{_UNIT}))(?![\w/])"
)
_DECIMAL = re.compile(rf"(?P<lo>{_NUM})")
_METRIC = re.compile(
    r"\b(AUC|ROC|log[ -]?loss|accuracy|Brier|ECE|F1|precision|recall)\b",
    re.IGNORECASE,
)
_SCRIPT = re.compile(r"benchmarks/([\w-]+\.py)")
_RESULT = re.compile(r"(?<![\w.-])([\w-]+)\.(?:json|md)\b")
_METRIC_WINDOW = 100  # a metric figure follows its metric word within this
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(`*])")


@dataclass
class Figure:
    """One measured number found in the text."""

    source: str
    line: int
    text: str
    value: float
    number: str
    decimals: int
    unit: str
    sentence: str
    named: tuple[str, ...] = ()
    status: str = "orphan"
    backed_by: str = ""


@dataclass
class Pool:
    """The numbers of each results file."""

    numbers: dict[str, list[float]] = field(default_factory=dict)
    commands: dict[str, str] = field(default_factory=dict)
    #: the numbers stored under a metric's name (a JSON key path, a table
    #: column or a line that names AUC, log loss...): the only ones that can
    #: back an AUC or log-loss figure
    metric: dict[str, list[float]] = field(default_factory=dict)


# --------------------------------------------------------------------------
# Text sources
# --------------------------------------------------------------------------


_CODE_DIRECTIVE = re.compile(r"\.\. (code-block|code|sourcecode|literalinclude|math)::")


def _strip_code(text: str) -> str:
    """Blank out code (blocks, doctests, inline code, roles), keeping lines.

    Fenced blocks, literal blocks (after a paragraph ending in ``::``), code
    directives and doctest lines become empty lines; a directive's own line
    (``.. note::``, ``.. versionadded:: 0.2``) too, its prose content stays;
    inline code and roles become ``CODE``.
    """
    out: list[str] = []
    fence = False
    literal: int | None = None  # indent of the line that opened a literal block
    opened: int | None = None  # a literal block may start on the next lines
    doctest = False
    for line in text.split("\n"):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if stripped.startswith("```"):
            fence = not fence
            out.append("")
            continue
        if fence:
            out.append("")
            continue
        if opened is not None and stripped:
            literal = opened if indent > opened else None
            opened = None
        if literal is not None:
            if stripped and indent <= literal:
                literal = None
            else:
                out.append("")
                continue
        if stripped.startswith((">>>", "... ")) or stripped == "...":
            doctest = True
            out.append("")
            continue
        if doctest and stripped:
            out.append("")
            continue
        doctest = False
        if re.match(r"\.\. [\w:-]+::", stripped):
            if _CODE_DIRECTIVE.match(stripped):
                opened = indent
            out.append("")
            continue
        if stripped.endswith("::"):
            opened = indent
        out.append(line)

    def code(m: re.Match) -> str:
        return " CODE " + "\n" * m.group(0).count("\n")

    text = "\n".join(out)
    text = re.sub(r"(:[\w:-]+:)?``.*?``", code, text, flags=re.DOTALL)
    return re.sub(r"(:[\w:-]+:)?`[^`]*`_?", code, text)


def _drop_examples(doc: str) -> str:
    """Remove a numpydoc Examples section (doctests are checked by pytest)."""
    match = re.search(r"^\s*Examples\n\s*-{3,}\n", doc, flags=re.MULTILINE)
    if not match:
        return doc
    rest = doc[match.end() :]
    nxt = re.search(r"^\s*\w[\w ]*\n\s*-{3,}\n", rest, flags=re.MULTILINE)
    kept = rest[nxt.start() :] if nxt else ""
    blank = "\n" * doc[match.start() : len(doc) - len(kept)].count("\n")
    return doc[: match.start()] + blank + kept


_HEADING_RULE = re.compile(r"^([=~^\-#*+])\1{2,}\s*$")
_PARAM_LINE = re.compile(r"^\s*\**[\w, ]+ : \S")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+\.|#\.)\s")


def _paragraphs(text: str) -> Iterator[tuple[int, int, str]]:
    """Yield ``(first line, section, paragraph)`` of the text's blocks.

    A block ends at a blank line, a heading, a list item and a numpydoc
    parameter line (``name : type``); a section starts at each heading.
    """
    lines = text.split("\n")
    start, section, buf = 0, 0, []

    def flush():
        nonlocal buf
        if buf:
            yield start, section, "\n".join(buf)
        buf = []

    for i, line in enumerate(lines, 1):
        nxt = lines[i] if i < len(lines) else ""
        heading = line.strip() and (_HEADING_RULE.match(nxt) or re.match(r"#+ ", line))
        if heading:
            yield from flush()
            section += 1
            continue
        if _HEADING_RULE.match(line) or not line.strip():
            yield from flush()
            continue
        if buf and (_LIST_ITEM.match(line) or _PARAM_LINE.match(line)):
            yield from flush()
        if not buf:
            start = i
        buf.append(line)
    yield from flush()


def _names(text: str) -> set[str]:
    """Benchmark scripts and results files that a text names."""
    names = {f"script:{m}" for m in _SCRIPT.findall(text)}
    names |= {
        f"script:{m}"
        for m in re.findall(r"(?<![\w/])([\w-]+\.py)\b", text)
        if (BENCHMARKS / m).exists()
    }
    names |= {f"result:{m}" for m in _RESULT.findall(text)}
    return names


def _value(token: str) -> tuple[float, int]:
    """The number and its shown precision, in decimal places.

    An integer's trailing zeros are not taken as precise: ``8,600`` is
    shown to the hundred (precision ``-2``), ``50`` to the ten.
    """
    token = token.replace(",", "")
    if "." in token:
        return float(token), len(token.split(".")[1])
    stripped = token.rstrip("0")
    return float(token), -(len(token) - len(stripped)) if stripped else 0


def find_figures(text: str, source: str, *, first_line: int = 1) -> list[Figure]:
    """Find the figures of one text (Markdown, reST or a docstring).

    Parameters
    ----------
    text : str
        The text, code included (it is blanked out here).
    source : str
        Where the text comes from, for the report.
    first_line : int, default=1
        Line number of the text's first line in ``source``.

    Returns
    -------
    figures : list of Figure
    """
    figures: list[Figure] = []
    blocks = list(_paragraphs(text))
    plain = _strip_code(text).split("\n")
    by_section: dict[int, set[str]] = {}
    for _, section, raw in blocks:
        by_section.setdefault(section, set()).update(_names(raw))
    raw_lines = text.split("\n")
    for start, section, raw in blocks:
        para = "\n".join(plain[start - 1 : start + raw.count("\n")])
        offset = 0
        for sentence in _SENTENCE.split(para):
            pos = para.find(sentence, offset)
            offset = max(pos, offset)
            first = start + para[:pos].count("\n")
            line0 = first + first_line - 1
            # the sentence's own lines, then its paragraph, then its section
            own = "\n".join(raw_lines[first - 1 : first + sentence.count("\n")])
            named = tuple(sorted(_names(own) or _names(raw) or by_section[section]))
            for m, text_, unit in _figures_in(sentence):
                value, decimals = _value(m.group(text_))
                spaced = unit and unit not in "%x\u00d7"
                figures.append(
                    Figure(
                        source=source,
                        line=line0 + sentence[: m.start(text_)].count("\n"),
                        text=m.group(text_) + (" " if spaced else "") + unit,
                        value=value,
                        number=m.group(text_),
                        decimals=decimals,
                        unit=unit,
                        sentence=" ".join(sentence.split()),
                        named=named,
                    )
                )
    return figures


def _figures_in(sentence: str) -> list[tuple[re.Match, str, str]]:
    """``(match, group, unit)`` of each figure of one sentence, in order."""
    found = sorted(_find_in(sentence), key=lambda f: f[0].start(f[1]))
    return found


def _find_in(sentence: str) -> Iterator[tuple[re.Match, str, str]]:
    taken: list[tuple[int, int]] = []
    for m in _WITH_UNIT.finditer(sentence):
        if _is_setting(sentence, m.start()):
            continue
        taken.append(m.span())
        unit = m.group("unit") or m.group("word")
        yield m, "lo", unit
        if m.group("hi") is not None:
            yield m, "hi", unit
    metric_ends = [m.end() for m in _METRIC.finditer(sentence)]
    for m in _DECIMAL.finditer(sentence):
        if "." not in m.group("lo") or _is_setting(sentence, m.start()):
            continue
        if any(a <= m.start() < b for a, b in taken):
            continue
        if any(0 <= m.start() - end <= _METRIC_WINDOW for end in metric_ends):
            yield m, "lo", ""


def _is_setting(sentence: str, start: int) -> bool:
    """A number written as a parameter value (``= 0.8``, ``default 30 s``)."""
    before = sentence[max(0, start - 12) : start]
    return bool(re.search(r"(=|\bdefault\b:?)\s*$", before))


def _text_files(repo: Path) -> Iterator[Path]:
    for name in ("README.md", "CHANGELOG.md"):
        if (repo / name).exists():
            yield repo / name
    docs = repo / "docs"
    skip = {"_build", "generated", "auto_examples"}
    for path in sorted(docs.rglob("*.rst")):
        if not skip.intersection(path.relative_to(docs).parts):
            yield path


def docstrings(package: Path) -> Iterator[tuple[str, int, str]]:
    """Yield ``(where, line, docstring)`` of every module, class and function."""
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        rel = path.relative_to(package.parent).as_posix()
        for node in ast.walk(tree):
            if not isinstance(
                node,
                ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef,
            ):
                continue
            body = node.body
            if not (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                continue
            raw = body[0].value.value
            yield rel, body[0].lineno, _drop_examples(raw)


def cli_help_texts() -> list[tuple[str, str]]:
    """Every description, epilog and option help of ``sklearn-deepfake``."""
    from sklearn_deepfake.cli._main import _build_parser as build

    out: list[tuple[str, str]] = []

    def walk(parser: argparse.ArgumentParser, prog: str) -> None:
        for text in (parser.description, parser.epilog):
            if text:
                out.append((prog, text))
        for action in parser._actions:  # argparse has no public walk
            if action.help and action.help is not argparse.SUPPRESS:
                name = "/".join(action.option_strings) or action.dest
                out.append((f"{prog} {name}", action.help.replace("%%", "%")))
            if isinstance(action, argparse._SubParsersAction):
                for sub, subparser in action.choices.items():
                    walk(subparser, f"{prog} {sub}")
                for choice in action._choices_actions:
                    if choice.help:
                        out.append((f"{prog} {choice.dest}", choice.help))

    walk(build(), "sklearn-deepfake")
    return out


def collect(repo: Path = REPO) -> list[Figure]:
    """Every figure of the README, CHANGELOG, docs, docstrings and CLI help."""
    figures: list[Figure] = []
    for path in _text_files(repo):
        rel = path.relative_to(repo).as_posix()
        figures += find_figures(path.read_text(encoding="utf-8"), rel)
    for where, line, doc in docstrings(repo / "sklearn_deepfake"):
        figures += find_figures(doc, where, first_line=line)
    for where, text in cli_help_texts():
        text = re.sub(r"%\((\w+)\)s", "CODE", text)
        figures += find_figures(text, f"cli: {where}", first_line=0)
    return figures


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------


_METRIC_KEY = re.compile(
    r"auc|roc|loss|brier|\bece\b|acc|f1|precision|recall|score", re.IGNORECASE
)


def _numbers(obj: object, where: str = "") -> Iterator[tuple[float, str]]:
    """``(number, where)`` of every number in a JSON value, strings included."""
    if isinstance(obj, bool):
        return
    if isinstance(obj, int | float):
        if math.isfinite(obj):
            yield float(obj), where
    elif isinstance(obj, str):
        for token in re.findall(r"-?\d[\d,]*(?:\.\d+)?(?:[eE]-?\d+)?", obj):
            try:
                yield float(token.replace(",", "")), f"{where} {obj}"
            except ValueError:
                continue
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from _numbers(key, where)
            yield from _numbers(value, f"{where}.{key}")
    elif isinstance(obj, list | tuple):
        for value in obj:
            yield from _numbers(value, where)


def _markdown_numbers(text: str) -> Iterator[tuple[float, str]]:
    """``(number, where)`` of a Markdown file: a table cell's column, a line."""
    header: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("|"):
            header = []
            yield from _numbers(stripped, stripped)
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", stripped.strip("|"))]
        if re.fullmatch(r"[\s:|-]+", stripped):
            continue
        if not header:
            header = cells
            continue
        for i, cell in enumerate(cells):
            column = header[i] if i < len(header) else ""
            yield from _numbers(cell, f"{column} {cells[0]}")


def load_pool(folder: Path = RESULTS) -> Pool:
    """Read the numbers of every results file (``.json`` outputs, ``.md``)."""
    pool = Pool()
    for path in sorted(folder.glob("*")):
        if path.stem == NAME or path.suffix not in {".json", ".md"}:
            continue
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".md":
            found = list(_markdown_numbers(text))
        else:
            try:
                record = json.loads(text)
            except json.JSONDecodeError:
                continue  # reported by the page builder; backs nothing
            if isinstance(record, dict) and "outputs" in record:
                pool.commands[path.name] = str(record.get("command", ""))
                found = list(_numbers(record["outputs"]))
            else:
                found = list(_numbers(record))
        pool.numbers[path.name] = [v for v, _ in found]
        pool.metric[path.name] = [v for v, w in found if _METRIC_KEY.search(w)]
    return pool


def _script_results(script: str, pool: Pool, repo: Path) -> set[str]:
    """Results files of a script: named in it, written by it or run by it."""
    stem = Path(script).stem
    files = {n for n, cmd in pool.commands.items() if script in cmd}
    files |= {n for n in pool.numbers if Path(n).stem == stem}
    source = repo / "benchmarks" / script
    if source.exists():
        text = source.read_text(encoding="utf-8")
        names = set(re.findall(r"results/([\w.-]+?)\.(?:json|md)", text))
        names |= set(re.findall(r"write_results\(\s*[\"']([\w.-]+)[\"']", text))
        files |= {n for n in pool.numbers if Path(n).stem in names}
    # a .json brings its .md table, and the other way round
    stems = {Path(n).stem for n in files}
    return {n for n in pool.numbers if Path(n).stem in stems}


def _candidates(fig: Figure) -> list[tuple[float, float]]:
    """``(value, tolerance)`` pairs a stored number may match, in stored units.

    The tolerance is half a unit of the last shown digit, so that a stored
    number matches when it rounds to the figure as shown; a figure whose unit
    may be stored in another one (a percentage as a fraction, seconds as
    milliseconds, MB as bytes or MiB) is converted with its tolerance.
    """
    tol = 0.5 * 10.0**-fig.decimals + 1e-9
    out = [(fig.value, tol)]
    if fig.unit == "%":
        out.append((fig.value / 100, tol / 100))
    elif fig.unit in {"s", "sec", "seconds", "second"}:
        out.append((fig.value * 1e3, tol * 1e3))
    elif fig.unit in {"min", "minutes", "minute", "h", "hours", "hour", "ms"}:
        scale = _UNITS[fig.unit]
        out.append((fig.value * scale, tol * scale))
    elif _UNITS.get(fig.unit):
        nbytes = _UNITS[fig.unit]
        for per in (1.0, 2.0**20, 1e6):
            out.append((fig.value * nbytes / per, tol * nbytes / per))
    return out


def named_results(fig: Figure, pool: Pool, repo: Path = REPO) -> set[str]:
    """The results files of the scripts and files that ``fig``'s text names."""
    files: set[str] = set()
    for name in fig.named:  # nothing named: nothing to search
        kind, _, what = name.partition(":")
        if kind == "script":
            files |= _script_results(what, pool, repo)
        else:
            files |= {n for n in pool.numbers if Path(n).stem == what}
    return files


def back(fig: Figure, pool: Pool, repo: Path = REPO) -> tuple[bool, str]:
    """Find the results file that holds ``fig``; return ``(found, file)``."""
    numbers = pool.metric if not fig.unit else pool.numbers
    for name in sorted(named_results(fig, pool, repo)):
        for value, tol in _candidates(fig):
            if any(abs(v - value) <= tol for v in numbers.get(name, ())):
                return True, name
    return False, ""


# --------------------------------------------------------------------------
# Allow-list
# --------------------------------------------------------------------------


def read_allow(path: Path = ALLOW) -> list[tuple[str, str]]:
    """Read ``TEXT | REASON`` lines; a line without a reason is an error."""
    entries = []
    if not path.exists():
        return entries
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        text, sep, reason = line.partition(" | ")
        if not sep or not text.strip() or not reason.strip():
            raise ValueError(f"{path.name}:{i}: expected 'TEXT | REASON', got {line!r}")
        entries.append((text.strip(), reason.strip()))
    return entries


def _allowed(fig: Figure, allow: Iterable[tuple[str, str]]) -> str:
    for text, reason in allow:
        if text in fig.sentence and fig.number in text:
            return reason
    return ""


# --------------------------------------------------------------------------
# Audit
# --------------------------------------------------------------------------


def audit(
    figures: list[Figure],
    pool: Pool,
    allow: list[tuple[str, str]],
    repo: Path = REPO,
) -> list[Figure]:
    """Mark each figure ``backed``, ``allowed`` or ``orphan``; return them."""
    for fig in figures:
        reason = _allowed(fig, allow)
        pending = reason.lower().startswith("pending")
        if reason and not pending:
            fig.status, fig.backed_by = "allowed", reason
            continue
        if pending and not named_results(fig, pool, repo):
            # pending only while the named results do not exist; once they
            # do, the figure is checked against them like any other
            fig.status, fig.backed_by = "pending", reason
            continue
        found, name = back(fig, pool, repo)
        if found:
            fig.status, fig.backed_by = "backed", name
    return figures


def table(figures: list[Figure], status: str = "orphan") -> str:
    """A Markdown table of the figures of one status (the orphans by default)."""
    last = "reason" if status in {"allowed", "pending"} else "named"
    rows = [f"| where | figure | sentence | {last} |", "|---|---|---|---|"]
    for f in figures:
        if f.status != status:
            continue
        sentence = f.sentence if len(f.sentence) < 160 else f.sentence[:157] + "..."
        sentence = sentence.replace("|", "\\|")
        extra = f.backed_by if last == "reason" else ", ".join(f.named) or "-"
        rows.append(f"| {f.source}:{f.line} | {f.text} | {sentence} | {extra} |")
    return "\n".join(rows)


def report(figures: list[Figure]) -> str:
    """The counts, then the pending figures and the orphans, as Markdown."""
    counts = {
        s: sum(f.status == s for f in figures)
        for s in ("backed", "allowed", "pending", "orphan")
    }
    text = f"{len(figures)} figures: " + ", ".join(
        f"{n} {s}" for s, n in counts.items()
    )
    if counts["pending"]:
        text += "\n\nPending (a results file still to come):\n\n"
        text += table(figures, "pending")
    if counts["orphan"]:
        text += "\n\nOrphans:\n\n" + table(figures, "orphan")
    return text


def main(argv: list[str] | None = None) -> int:
    """Audit the repository; print the orphans; 1 when there is one."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-write", action="store_true", help="write no results")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    pool = load_pool(RESULTS)
    allow = read_allow(ALLOW)
    figures = audit(collect(REPO), pool, allow, REPO)
    text = report(figures)
    print(text)

    def listed(status: str) -> list[dict]:
        return [
            {"where": f"{f.source}:{f.line}", "figure": f.text, "note": f.backed_by}
            for f in figures
            if f.status == status
        ]

    if not args.no_write:
        sys.path.insert(0, str(REPO / "benchmarks"))
        from _results import write_results

        write_results(
            NAME,
            inputs={
                "sources": len({f.source.split(":")[0] for f in figures}),
                "results_files": sorted(pool.numbers),
                "allow_list_entries": len(allow),
            },
            outputs={
                "figures": len(figures),
                **{s: len(listed(s)) for s in ("backed", "allowed", "pending")},
                "orphan": len(listed("orphan")),
                "pending_figures": listed("pending"),
                "orphans": listed("orphan"),
            },
            markdown=text,
        )
    return 1 if any(f.status == "orphan" for f in figures) else 0


if __name__ == "__main__":
    raise SystemExit(main())
