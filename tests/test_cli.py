import csv
import os
import subprocess
import sys

import pytest

from sklearn_deepfake import __version__, cli
from sklearn_deepfake.cli import main


def test_cli_help_lists_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: sklearn-deepfake" in out
    assert "demo" in out


def test_cli_demo_help_lists_options(capsys):
    assert main(["demo", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--dir", "--n-jobs", "--keep", "--n-originals"):
        assert option in out


def test_cli_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"sklearn-deepfake {__version__}"


def test_cli_without_command_is_usage_error(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "a COMMAND is required" in err


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["nonsense"], "invalid choice"),
        (["demo", "--n-jobs", "0"], "must not be 0"),
        (["demo", "--n-jobs", "two"], "expected an integer"),
        (["demo", "--n-originals", "0"], "at least 1"),
        (["demo", "--bogus"], "unrecognized arguments"),
    ],
)
def test_cli_bad_arguments_exit_2(argv, match, capsys):
    assert main(argv) == 2
    assert match in capsys.readouterr().err


def test_cli_failure_is_one_line_exit_1(tmp_path, capsys):
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    assert main(["demo", "--dir", str(not_a_folder)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.startswith("sklearn-deepfake demo: error:")
    assert "file.txt" in err


def test_cli_failure_in_a_step_is_reported(monkeypatch, tmp_path, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full\nwhile writing")

    monkeypatch.setattr(cli, "_run_demo", broken)
    assert main(["demo", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err == "sklearn-deepfake demo: error: disk full while writing\n"

    assert main(["--traceback", "demo", "--dir", str(tmp_path)]) == 1
    assert "Traceback (most recent call last)" in capsys.readouterr().err


def test_cli_temporary_folder_removed_unless_kept(monkeypatch, capsys):
    seen = []
    monkeypatch.setattr(cli, "_run_demo", lambda root, **kw: seen.append(root))
    assert main(["demo"]) == 0
    assert not os.path.exists(seen[-1])
    assert main(["demo", "--keep"]) == 0
    assert os.path.isdir(seen[-1])
    assert seen[-1] in capsys.readouterr().out
    os.rmdir(seen[-1])


def test_cli_python_dash_m():
    result = subprocess.run(
        [sys.executable, "-m", "sklearn_deepfake", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "usage: sklearn-deepfake" in result.stdout


def test_cli_help_does_not_import_torch():
    code = (
        "import sys, contextlib, io\n"
        "from sklearn_deepfake.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['demo', '--help'])\n"
        "print(sorted(m for m in ('torch', 'cv2', 'av') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.slow
def test_cli_demo_end_to_end(tmp_path, capsys):
    assert main(["demo", "--dir", str(tmp_path), "--n-originals", "2"]) == 0
    out = capsys.readouterr().out
    assert "[6/6]" in out  # 4 training + 2 test videos, each reported
    assert "s/video" in out
    if "skipping the classifier" not in out:
        assert "CV log loss" in out
        with open(tmp_path / "submission.csv", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert len(rows) == 2
        assert all(0.0 < float(r["label"]) < 1.0 for r in rows)
