# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 3. Drift and the CI gate
#
# A published config carries its validation at fit time (band rates, spread, AUC): the baseline.
# Each quarter, the same figures on the new snapshots say whether the score still separates
# renewals. The bundled book drifts from period 6 on (engagement falls by 12 points and support
# starts to matter more), so the last quarters should look worse than the first ones.

# %%
import pandas as pd

import calibrate as cb
from calibrate import datasets, plots

N_BOOT = 300
accounts = cb.load_accounts(datasets.load_book())
quarters = accounts.frame["snapshot_date"].dt.to_period("Q").astype(str)
print(datasets.truth()["drift"]["description"])

# %% [markdown]
# ## The config fitted before the drift
# Fit on the first four quarters (2024) only, as if it had been published at the start of 2025.

# %%
baseline_fit = cb.fit_weights(accounts, train_until="2024-12-31")
config = cb.WeightConfig(
    name="account-health",
    version=1,
    dimensions=[cb.Dimension(name=d, column=d, weight=w) for d, w in baseline_fit.weights.items()],
    bands=cb.default_bands(),
)
baseline = cb.validate(accounts.subset(accounts.frame["snapshot_date"] <= "2024-12-31"), config, n_boot=N_BOOT)
baseline

# %% [markdown]
# ## Quarter by quarter
# The same config validated on each quarter's snapshots: spread (top band minus red) with its
# account-level bootstrap interval, and the AUC with its DeLong interval.

# %%
per_quarter = {q: cb.validate(accounts.subset(quarters == q), config, n_boot=N_BOOT, seed=0)
               for q in sorted(quarters.unique())}
trend = pd.DataFrame({q: {"rows": v.n, "spread": v.spread, "spread CI low": v.spread_ci[0],
                          "AUC": v.auc, "AUC CI low": v.auc_ci[0], "monotone": v.monotone}
                      for q, v in per_quarter.items()}).T
trend

# %%
plots.plot_validation_trend(per_quarter)

# %% [markdown]
# ## How the sub-scores moved
# Mean of each dimension per quarter: the engagement shift of the last two quarters is visible
# in the raw inputs, before any outcome is known.

# %%
accounts.frame.groupby(quarters)[list(accounts.dimensions)].mean().round(1)

# %% [markdown]
# ## The gate
# A CI job fails (exit 1) when the score no longer separates renewals. The checks, written out:
# the spread's lower bound stays above a minimum, the bands stay monotone, and the AUC does not
# fall more than 0.05 below the baseline. Each check is a value, not an exception.

# %%
MIN_SPREAD, MAX_AUC_DROP = 0.20, 0.05


def gate(v: cb.Validation) -> pd.DataFrame:
    checks = [
        ("spread lower bound", v.spread_ci[0], MIN_SPREAD, v.spread_ci[0] >= MIN_SPREAD),
        ("bands monotone", float(v.monotone), 1.0, v.monotone),
        ("AUC drop vs baseline", baseline.auc - v.auc, MAX_AUC_DROP, baseline.auc - v.auc <= MAX_AUC_DROP),
    ]
    return pd.DataFrame(checks, columns=["check", "value", "threshold", "passed"])


latest = sorted(per_quarter)[-1]
result = gate(per_quarter[latest])
print(f"{latest}: {'PASS (exit 0)' if result['passed'].all() else 'FAIL (exit 1): recalibrate'}")
result.round(3)

# %%
pd.DataFrame({q: gate(v).set_index("check")["passed"] for q, v in per_quarter.items()}).T
