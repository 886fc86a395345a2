"""Regenerate the committed synthetic book: ``python -m calibrate.data.datasets [--check]``.

Writes ``calibrate/data/datasets/data/cs_book.csv`` (the canonical copy shipped in the wheel),
``calibrate/data/datasets/truth.json`` and, in a source checkout, the byte-identical user copy
``data/cs_book.csv``. With ``--check`` nothing is written; the exit status is 1 when any
of those files is missing or differs from what the generator produces.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from calibrate.data.datasets._io import TRUTH_FILENAME, book_csv_bytes, package_book_path, repo_book_path, truth_json


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m calibrate.data.datasets", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only verify the committed files are up to date")
    args = parser.parse_args(argv)

    targets: dict[Path, bytes] = {}
    csv_bytes = book_csv_bytes()
    targets[package_book_path()] = csv_bytes
    targets[package_book_path().parent.parent / TRUTH_FILENAME] = truth_json().encode("utf-8")
    repo = repo_book_path()
    if repo is not None:
        targets[repo] = csv_bytes

    stale = [p for p, content in targets.items() if not p.is_file() or p.read_bytes() != content]
    if args.check:
        for p in stale:
            print(f"out of date: {p}", file=sys.stderr)
        print("up to date" if not stale else f"{len(stale)} file(s) out of date; run python -m calibrate.data.datasets")
        return 1 if stale else 0
    for p, content in targets.items():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content)
        print(f"wrote {p} ({len(content):,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
