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
# # 2. The quarterly recalibration, step by step
#
# `calibrate run` does all of this in one command. Here each step is shown on its own, on the
# bundled book: the config in production, a fit of new weights (checked out of time), the
# validation, the band migration, and finally the published config and its report.
#
# Everything this notebook writes (`configs/`, `reports/`, `mlflow/`) goes to the working directory.

# %%
import pandas as pd

import calibrate as cb
from calibrate.data import datasets

N_BOOT = 300  # bootstrap resamples: 300 for a quick look, 2,000 (the default) for the meeting
accounts = cb.load_accounts(datasets.load_book())
accounts

# %% [markdown]
# ## 1. The config in production
# Say production runs equal weights. How does it do on the latest data?

# %%
current = cb.WeightConfig(
    name="account-health",
    version=1,
    dimensions=[cb.config.Dimension(name=d, column=d, weight=0.25) for d in accounts.dimensions],
    bands=cb.config.default_bands(),
)
cb.write_config(current, "configs")  # published as configs/account-health-v1.json: the next version is 2
current_check = cb.validate(accounts, current, n_boot=N_BOOT, seed=0)
print(current_check.summary())

# %% [markdown]
# ## 2. Fit new weights, out of time
# Fit on the snapshots up to the end of 2024 and validate on 2025 only: a score that only works on
# the data it was fitted on would show it here.

# %%
fit_2024 = cb.fit_weights(accounts, train_until="2024-12-31")
print(fit_2024.summary())
later = accounts.subset(accounts.frame["snapshot_date"] > "2024-12-31")
fitted_2024 = cb.WeightConfig(
    dimensions=[cb.config.Dimension(name=d, column=d, weight=w) for d, w in fit_2024.weights.items()],
    bands=cb.config.default_bands(),
)
on_2025 = {"equal weights": cb.validate(later, current, n_boot=N_BOOT, seed=0),
           "fitted on 2024": cb.validate(later, fitted_2024, n_boot=N_BOOT, seed=0)}
pd.DataFrame({name: {"AUC": v.auc, "spread": v.spread, "spread CI low": v.spread_ci[0]}
              for name, v in on_2025.items()}).T.round(3)

# %% [markdown]
# The fit recovers the known weights of the synthetic book (before its drift):

# %%
fit = cb.fit_weights(accounts)
pd.DataFrame({"true": datasets.TRUE_WEIGHTS, "fitted on 2024": fit_2024.weights, "fitted on all": fit.weights}).round(3)

# %%
fit.plot()

# %% [markdown]
# ## 3. Recalibrate and publish
# `cb.recalibrate` fits on all the data, validates, publishes the next config version (never
# overwriting one), writes the HTML report and logs everything to MLflow.

# %%
result = cb.recalibrate(accounts, current=current, n_boot=N_BOOT, seed=0)
print(result.verdict())

# %%
result.validation

# %%
result.validation.plot()

# %% [markdown]
# ## 4. Who changes band?
# The band migration from the current config to the new one, each account at its latest snapshot,
# and how the red book (accounts in red or below) changes.

# %%
diff = cb.publish.diff_configs(current, result.config, data=accounts)
print(diff.summary())

# %%
diff.plot()

# %% [markdown]
# ## 5. The report for the meeting
# One self-contained HTML file beside the config: the verdict first, then the figures.

# %%
print(result.config_path)
print(result.report_path, f"{result.report_path.stat().st_size / 1024:.0f} KiB")
