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
# # 4. Real data: IBM Telco customer churn
#
# 7,043 telecom customers (IBM sample data, Apache 2.0; see `data/ibm-telco/README.md`), one row
# each, `Churn` Yes/No. There are no health sub-scores, so we *declare* four 0–100 dimensions from
# the columns, with transforms written out below, and run the same flow as on a CS book.
# The point is the workflow on messy real data, not a claim that these are the right dimensions.

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

import calibrate as cb
from calibrate import plots

N_BOOT = 300


def find_data(name: str = "data/ibm-telco/Telco-Customer-Churn.csv") -> Path:
    """The CSV from the repository root (the notebook may run from notebooks/ or elsewhere)."""
    for base in [Path.cwd(), *Path.cwd().parents]:
        if (base / name).exists():
            return base / name
    import os

    return Path(os.environ["CALIBRATE_REPO"]) / name


raw = pd.read_csv(find_data())
raw.shape, raw["Churn"].value_counts().to_dict()

# %% [markdown]
# ## Declared transforms (each dimension on 0–100, higher = healthier)
#
# | dimension | from | transform |
# |---|---|---|
# | `commercial` | `tenure` (months, 0–72), `Contract` | 50 · min(tenure, 72)/72 + 50 · term, term = 0 month-to-month, ½ one year, 1 two year |
# | `usage` | 7 services: `PhoneService`, `MultipleLines`, `InternetService`, `OnlineBackup`, `DeviceProtection`, `StreamingTV`, `StreamingMovies` | 100 · share of them subscribed |
# | `support` | `TechSupport`, `OnlineSecurity` | 100 · share of the two support add-ons subscribed |
# | `engagement` | `PaymentMethod` | billing commitment: automatic payment 100, mailed check 50, electronic check 0 |
#
# Also: `account_id` ← `customerID`; `arr` ← 12 · `MonthlyCharges`; `segment` ← `InternetService`;
# the outcome is read from `Churn` (renewed = not churned). `TotalCharges` (blank for the 11
# customers with tenure 0) is not used.

# %%
services = ["PhoneService", "MultipleLines", "InternetService", "OnlineBackup", "DeviceProtection",
            "StreamingTV", "StreamingMovies"]
subscribed = raw[services].apply(lambda c: ~c.isin(["No", "No phone service", "No internet service"]))
term = raw["Contract"].map({"Month-to-month": 0.0, "One year": 0.5, "Two year": 1.0})
payment = raw["PaymentMethod"].map(lambda m: 100.0 if "automatic" in m else 50.0 if m == "Mailed check" else 0.0)

telco = pd.DataFrame({
    "account_id": raw["customerID"],
    "Churn": raw["Churn"],
    "arr": 12 * raw["MonthlyCharges"],
    "segment": raw["InternetService"],
    "commercial": (50 * raw["tenure"].clip(upper=72) / 72 + 50 * term).round(2),
    "usage": (100 * subscribed.mean(axis=1)).round(2),
    "support": (100 * (raw[["TechSupport", "OnlineSecurity"]] == "Yes").mean(axis=1)).round(2),
    "engagement": payment,
})
telco.describe().round(1)

# %%
spec = cb.DataSpec(dimensions=("usage", "engagement", "support", "commercial"), churn_column="Churn")
accounts = cb.load_accounts(telco, spec=spec)
accounts

# %% [markdown]
# ## Each declared dimension against retention

# %%
fig, axes = plt.subplots(1, 4, figsize=(14, 3.4), sharey=True, layout="constrained")
for ax, dim in zip(axes, accounts.dimensions):
    plots.plot_renewal_by_bins(accounts.frame[dim], accounts.frame["renewed"], ax=ax, label=dim)

# %% [markdown]
# More services do not mean more loyalty here: fibre-optic customers with many services leave more
# often. A weight on the simplex cannot be negative, so the fit will put (almost) nothing on `usage`
# rather than reward it — a finding for the people who defined the dimension.

# %%
equal = cb.WeightConfig(
    name="telco-health",
    version=1,
    dimensions=[cb.config.Dimension(name=d, column=d, weight=0.25) for d in accounts.dimensions],
    bands=cb.config.default_bands(),
)
cb.write_config(equal, "configs")  # v1: equal weights, the starting point
print(cb.validate(accounts, equal, n_boot=N_BOOT).summary())

# %%
fit = cb.fit_weights(accounts)
print(fit.summary())

# %% [markdown]
# ## The full run: fit, validate, publish, report

# %%
result = cb.recalibrate(accounts, current=equal, name="telco-health", n_boot=N_BOOT, seed=0)
print(result.verdict())

# %%
result.validation

# %%
result.validation.plot()

# %%
diff = cb.publish.diff_configs(equal, result.config, data=accounts)
diff.plot()
print(diff.summary())
