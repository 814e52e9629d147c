"""``sklearn-deepfake cache info|verify|prune DIR``: inspect the face store."""

from __future__ import annotations

import argparse
import os

NAME = "cache"
HELP = "inspect, check or clean a face store (info, verify, prune)"
DESCRIPTION = (
    "Inspect the face store that extract, fit and predict "
    "fill (--cache DIR). 'info' prints its size, number of records, crop "
    "formats and the records whose video is gone (no path it was seen "
    "under still holds a file of its size); 'verify' also checks every "
    "record's checksums and exits with 1 when one fails; 'prune' removes "
    "the records whose video is gone, stray temporary files and records "
    "of the earlier .npz face cache."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``cache`` to its parser."""
    parser.add_argument("action", choices=("info", "verify", "prune"))
    parser.add_argument("dir", metavar="DIR", help="the face store folder")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="prune: list what would be removed, remove nothing",
    )


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def run(args: argparse.Namespace) -> int:
    """Print the face store's summary; verify or prune it as asked."""
    from sklearn_deepfake.cli._utils import UsageError
    from sklearn_deepfake.faces import FaceStore

    if not os.path.isdir(args.dir):
        raise UsageError(f"DIR {args.dir!r} is not a folder")
    store = FaceStore(args.dir)
    info = store.info()
    formats = ", ".join(f"{k} {v}" for k, v in sorted(info["formats"].items()))
    print(f"face store {info['root']}")
    print(f"  {info['n_records']} record(s), {_size(info['bytes'])} on disk")
    if formats:
        print(f"  crop formats: {formats}")
    print(f"  records whose video is gone: {len(info['gone'])}")
    if info["n_tmp"]:
        print(f"  stray temporary files: {info['n_tmp']}")
    if info["n_legacy"]:
        print(
            f"  records of the earlier .npz face cache (not read): {info['n_legacy']}"
        )
    code = 0
    if args.action == "verify":
        failures = store.verify()
        print(f"  checksum failures: {len(failures)}")
        for key, why in sorted(failures.items()):
            print(f"    {key}: {why}")
        code = 1 if failures else 0
    elif args.action == "prune":
        removed = store.prune(dry_run=args.dry_run)
        verb = "would remove" if args.dry_run else "removed"
        n_rec = sum(p.endswith(".skdf") for p in removed)
        print(f"  {verb} {n_rec} record(s) and {len(removed) - n_rec} other file(s)")
    return code
