"""Speed and agreement of the Python scorer and the exported SQL in DuckDB.

Run: PYTHONPATH=. python bench/bench_scorers.py [n_rows]
Prints each timing as a ratio to score_frame measured in the same run (machines are noisy), and the
largest score difference between the two.
"""

from __future__ import annotations

import sys
import time

import duckdb
import numpy as np
import pandas as pd

from calibrate.config.model import Calibration, Dimension, WeightConfig, default_bands
from calibrate.publish.export import export_sql
from calibrate.score.scorer import score_frame


def best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main(n: int) -> None:
    rng = np.random.default_rng(0)
    names = ("usage", "engagement", "support", "commercial")
    frame = pd.DataFrame({d: rng.uniform(0, 100, n).round(2) for d in names})
    frame.loc[::13, "usage"] = np.nan
    cfg = WeightConfig(
        dimensions=[Dimension(name=d, column=d, weight=w) for d, w in zip(names, (0.4, 0.25, 0.2, 0.15))],
        bands=default_bands(), missing="redistribute", calibration=Calibration(intercept=-2.5, slope=0.08),
    )
    con = duckdb.connect()
    con.register("accounts", frame)
    sql = export_sql(cfg)
    py = best(lambda: score_frame(frame, cfg))
    db = best(lambda: con.sql(sql).df())
    diff = np.abs(con.sql(sql).df()["score"].to_numpy() - score_frame(frame, cfg)["score"].to_numpy()).max()
    print(f"n={n:,}: score_frame {py:.3f} s; DuckDB SQL export {db / py:.2f}x score_frame; max |score diff| {diff:.1e}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
