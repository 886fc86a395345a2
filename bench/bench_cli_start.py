"""Start-up cost of the CLI against importing click and pandas (issue 11, item 4).

Run: python bench/bench_cli_start.py [repeats]   (from the repository root; default 15 repeats)
Times, in fresh interpreters and in the same run, ``python -m calibrate validate --help``,
``python -m calibrate --help`` and the baseline ``python -c "import click, pandas"``. The three are
interleaved (one of each per round, in a rotating order) so a busy machine slows all alike; the
median of each is printed with its ratio to the baseline (target: under 1x — the CLI imports only
click at start-up, pandas and the rest when a command runs).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    "calibrate validate --help": [sys.executable, "-m", "calibrate", "validate", "--help"],
    "calibrate --help": [sys.executable, "-m", "calibrate", "--help"],
    "import click, pandas": [sys.executable, "-c", "import click, pandas"],
}
BASELINE = "import click, pandas"


def once(argv: list[str]) -> float:
    """Wall time of one run, seconds (output discarded; a failure stops the bench)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's calibrate, not an installed one
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(repeats: int = 15) -> dict[str, float]:
    """Median seconds per command over ``repeats`` interleaved rounds, after one warm-up round."""
    names = list(COMMANDS)
    for name in names:  # warm the file cache and the bytecode
        once(COMMANDS[name])
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[: r % len(names)]:
            times[name].append(once(COMMANDS[name]))
    medians = {name: statistics.median(t) for name, t in times.items()}
    base = medians[BASELINE]
    print(f"{'command':<28}{'median':>10}{'ratio':>9}   ({repeats} interleaved repeats)")
    for name, m in medians.items():
        print(f"{name:<28}{m * 1000:>8.0f} ms{m / base:>8.2f}x")
    return medians


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
