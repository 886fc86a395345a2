"""False-alarm rate of ``detect_drift`` on books that do not drift.

For each seed: a book from the bundled generator with ``drift=False`` (3,500 accounts, 8 quarterly
snapshots), a config fitted on periods 0–5 (as ``calibrate run --train-until`` would), then
``detect_drift`` on the whole history (new window: periods 6–7). A false alarm is a verdict of
``recalibrate`` (what a CI gate with ``--fail-on recalibrate`` fails on); the ``watch`` rate is
reported too, with the statistics that raised it.

    python bench/false_alarms.py            # 100 seeds, 2 processes
    python bench/false_alarms.py --seeds 20 --drift   # power check: the drifted generator
"""

from __future__ import annotations

import argparse
import collections
import time
from concurrent.futures import ProcessPoolExecutor

from calibrate.data.datasets import make_book
from calibrate.drift.detect import detect_drift, fit_reference_config
from calibrate.errors import FitError
from calibrate.data.load import load_accounts

TRAIN_UNTIL = "2025-04-01"  # period 5 of a book starting 2024-01-01


def one(seed: int, drift: bool = False) -> tuple[int, str, list[str]]:
    data = load_accounts(make_book(drift=drift, seed=seed))
    try:
        config = fit_reference_config(data, train_until=TRAIN_UNTIL, n_boot=500, seed=seed)
    except FitError as exc:  # no config to monitor: counted apart, never as "ok"
        return seed, "fit-error", [str(exc)]
    report = detect_drift(data, config, seed=seed, n_boot=500)
    return seed, report.verdict, [f"{f.level}:{f.statistic}" + (f":{f.dimension}" if f.dimension else "")
                                  for f in report.findings if not f.passed]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--first", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--drift", action="store_true", help="use the drifted generator (detection rate instead)")
    args = ap.parse_args()
    seeds = range(args.first, args.first + args.seeds)
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        results = list(pool.map(one, seeds, [args.drift] * len(seeds)))
    failed = [s for s, v, _ in results if v == "fit-error"]
    results = [r for r in results if r[1] != "fit-error"]
    n = len(results)
    verdicts = collections.Counter(v for _, v, _ in results)
    reasons = collections.Counter(r for _, _, rs in results for r in rs)
    label = "detection" if args.drift else "false-alarm"
    print(f"{n} seeds ({'drift' if args.drift else 'no drift'}), {time.perf_counter() - t0:.0f} s")
    print(f"verdicts: {dict(verdicts)}")
    if failed:
        print(f"seeds whose training fit raised FitError (excluded, rate over the other {n}): {failed}")
    print(f"{label} rate (recalibrate): {verdicts['recalibrate'] / n:.1%}")
    print(f"{label} rate (watch or worse): {(verdicts['watch'] + verdicts['recalibrate']) / n:.1%}")
    print("reasons raised:", dict(reasons.most_common()))
    print("seeds with a recalibrate verdict:", [s for s, v, _ in results if v == "recalibrate"])


if __name__ == "__main__":
    main()
