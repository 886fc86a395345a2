"""Make `data/account-health-v1.json`, the config "in production" that the quick start recalibrates.

It is the bundled book's own fit on its first six quarters (2024-Q1 .. 2025-Q2, before the documented
drift), so `calibrate run --current data/account-health-v1.json` shows a real quarterly recalibration:
drift in engagement, the champion/challenger test, the band migration. Regenerate it with

    python data/make_current_config.py

(deterministic: same book, same seed, `SOURCE_DATE_EPOCH` fixes `created_at`; the MLflow run it names lives in a
throw-away store).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import calibrate as cb

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1751328000")  # 2025-07-01T00:00:00Z, the quarter after training
    os.chdir(HERE.parent)
    with tempfile.TemporaryDirectory() as tmp:
        run = cb.recalibrate(
            cb.load_accounts("data/cs_book.csv"),
            train_until="2025-06-30",
            seed=0,
            configs_dir=Path(tmp) / "configs",
            reports_dir=Path(tmp) / "reports",
            mlflow_dir=Path(tmp) / "mlflow",
        )
        target = HERE / run.config_path.name
        target.unlink(missing_ok=True)
        shutil.copyfile(run.config_path, target)
    print(f"wrote {target.relative_to(HERE.parent)}: {run.config.weights}")
