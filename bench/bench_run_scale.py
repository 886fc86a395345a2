"""``calibrate run --current`` against a minimal hand-written pipeline, whole processes, interleaved (issue 19).

    python bench/bench_run_scale.py [--rows 100000 1000000] [--big] [--repeat 2] [--work /tmp/calibrate-scale]

For each size it writes the scale book (bench/make_scale_book.py: rows / 8 accounts × 8 quarters,
12 dimensions, Parquet, and the current config fitted on the first six quarters; cached in
``--work``), then runs, alternately and ``--repeat`` times each, as separate processes:

* ``calibrate``: ``python -m calibrate run --data book.parquet --dimensions d00,…,d11 --current
  current.json -q`` into fresh configs/reports/mlflow directories;
* ``minimal``: ``python bench/minimal_pipeline.py book.parquet OUT`` (read Parquet, statsmodels Logit and
  the simplex MLE, score, a 1,000-resample account bootstrap of the green − red spread, AUC, PSI of 13
  columns, one PNG, one MLflow run).

Prints per size the median wall time of each, their ratio (goal ≤ 3×), the peak RSS of each process
(``resource.getrusage(RUSAGE_CHILDREN)`` after each run: the children's high-water mark, so the
command's own peak when it is the largest so far — each run is measured in a fresh child of a fresh
measuring process to keep the figures separate), and at the end how time and memory grow with rows
(log-log slope between consecutive sizes; 1 = linear). ``--big`` adds 10,000,000 rows (one run each:
the book is ~1 GB in memory; goal: peak RSS ≤ 5 GiB).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
_MEASURE = r"""
import resource, subprocess, sys, time
t = time.perf_counter()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
wall = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(f"{wall} {peak} {rc.returncode}")
sys.stderr.write(rc.stderr[-2000:] if rc.returncode not in (0, 1) else "")
"""


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, int, int]:
    """Wall seconds, peak RSS bytes and exit code of ``cmd`` run in a fresh measuring process."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, *cmd], capture_output=True, text=True, env=env, check=True)
    if out.stderr:
        sys.stderr.write(out.stderr)
    wall, peak, rc = out.stdout.split()
    return float(wall), int(peak), int(rc)


def commands(book: Path, current: Path, scratch: Path, dims: str) -> dict[str, list[str]]:
    run_dir = scratch / "run"
    return {
        "calibrate": [sys.executable, "-m", "calibrate", "run", "--data", str(book), "--dimensions", dims,
                      "--current", str(current), "-q", "--configs", str(run_dir / "configs"),
                      "--reports", str(run_dir / "reports"), "--mlflow", str(run_dir / "mlflow")],
        "minimal": [sys.executable, str(HERE / "minimal_pipeline.py"), str(book), str(scratch / "minimal"),
                    "--dims", dims],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--big", action="store_true", help="also 10,000,000 rows (one run each)")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "calibrate-scale")
    args = ap.parse_args()
    sys.path[:0] = [str(ROOT), str(HERE)]  # this checkout's calibrate, whatever is installed
    from make_scale_book import dimension_names, write_book

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    dims = ",".join(dimension_names(12))
    sizes = [(r, args.repeat) for r in args.rows] + ([(10_000_000, 1)] if args.big else [])
    results = []
    for rows, repeat in sizes:
        book, current = write_book(args.work / f"rows-{rows}", rows, 12)
        times: dict[str, list[float]] = {"calibrate": [], "minimal": []}
        peaks: dict[str, list[int]] = {"calibrate": [], "minimal": []}
        for _ in range(repeat):
            for name in ("calibrate", "minimal"):  # interleaved: the machine's load hits both alike
                scratch = Path(tempfile.mkdtemp(prefix="scale-", dir=args.work))
                try:
                    wall, peak, rc = measure(commands(book, current, scratch, dims)[name], env)
                finally:
                    shutil.rmtree(scratch, ignore_errors=True)
                if rc not in (0, 1):  # calibrate run exits 1 when the score stops predicting (still published)
                    raise SystemExit(f"{name} at {rows:,} rows exited {rc}")
                times[name].append(wall)
                peaks[name].append(peak)
        row = {"rows": rows, **{f"{n}_s": statistics.median(t) for n, t in times.items()},
               **{f"{n}_peak_gib": max(p) / 2**30 for n, p in peaks.items()},
               "ratios": [c / m for c, m in zip(times["calibrate"], times["minimal"])]}
        results.append(row)
        print(f"{rows:>11,} rows: calibrate run {row['calibrate_s']:7.1f} s, peak {row['calibrate_peak_gib']:5.2f} GiB | "
              f"minimal {row['minimal_s']:6.1f} s, peak {row['minimal_peak_gib']:5.2f} GiB | ratio "
              f"{row['calibrate_s'] / row['minimal_s']:4.1f}x (pairs: {', '.join(f'{r:.1f}' for r in row['ratios'])})",
              flush=True)
    for a, b in zip(results, results[1:]):
        lr = math.log(b["rows"] / a["rows"])
        print(f"growth {a['rows']:,} -> {b['rows']:,} rows (log-log slope, 1 = linear): "
              f"calibrate time {math.log(b['calibrate_s'] / a['calibrate_s']) / lr:.2f}, "
              f"memory {math.log(b['calibrate_peak_gib'] / a['calibrate_peak_gib']) / lr:.2f}; "
              f"minimal time {math.log(b['minimal_s'] / a['minimal_s']) / lr:.2f}, "
              f"memory {math.log(b['minimal_peak_gib'] / a['minimal_peak_gib']) / lr:.2f}")
    print(json.dumps(results))


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"bench took {time.perf_counter() - start:.0f} s", file=sys.stderr)
