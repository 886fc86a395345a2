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
# # 1. Explore the book
#
# Before retuning a health score, look at the book it is meant to describe: how each sub-score
# relates to renewal, how the segments and cohorts differ, and whether the current bands separate
# renewals at all. This notebook uses the bundled synthetic book (`calibrate.data.datasets`), whose true
# renewal model is known, so every picture can be checked against the truth.

# %%
import matplotlib.pyplot as plt
import pandas as pd

import calibrate as cb
from calibrate import plots
from calibrate.data import datasets

book = datasets.load_book()
accounts = cb.load_accounts(book)
accounts

# %% [markdown]
# One row per account per quarterly snapshot; `renewed` is the renewal that followed it.

# %%
frame = accounts.frame
summary = pd.Series({
    "snapshots": len(frame),
    "accounts": accounts.n_accounts,
    "churned snapshots": accounts.n_churned,
    "renewal rate": round(frame["renewed"].mean(), 3),
    "first snapshot": accounts.period[0],
    "last snapshot": accounts.period[1],
})
summary

# %% [markdown]
# ## Each dimension against renewal
# Renewal rate per 10-point bin of each sub-score, with 95 % Wilson intervals. A useful dimension
# rises from left to right; a flat one carries no signal.

# %%
fig, axes = plt.subplots(1, len(accounts.dimensions), figsize=(14, 3.4), sharey=True, layout="constrained")
for ax, dim in zip(axes, accounts.dimensions):
    plots.plot_renewal_by_bins(frame[dim], frame["renewed"], ax=ax, label=dim)

# %% [markdown]
# How the sub-scores move together (strongly correlated dimensions share weight unstably):

# %%
frame[list(accounts.dimensions)].corr().round(2)

# %% [markdown]
# ## Segments and cohorts
# Renewal rate by segment, and by the quarter of the snapshot. The synthetic book has a drift
# starting in period 6 (engagement falls and support starts to matter more): watch the last quarters.

# %%
frame.groupby("segment").agg(snapshots=("renewed", "size"), renewal_rate=("renewed", "mean"),
                              median_arr=("arr", "median")).round(3)

# %%
quarter = frame["snapshot_date"].dt.to_period("Q").astype(str)
cohort = frame.groupby("account_id")["snapshot_date"].transform("min").dt.to_period("Q").astype(str)
table = pd.crosstab(cohort.rename("first seen"), quarter.rename("snapshot quarter"),
                    values=frame["renewed"], aggfunc="mean").round(2)
table

# %%
ax = table.T.plot(marker="o", figsize=(8, 3.4), title="Renewal rate by snapshot quarter, per cohort")
ax.set_ylabel("renewal rate")

# %% [markdown]
# ## Do the current weights separate renewals?
# Score the book with equal weights (a common starting point) and validate: band renewal rates
# with intervals, the spread between the top band and red, and the AUC.

# %%
equal = cb.WeightConfig(
    dimensions=[cb.config.Dimension(name=d, column=d, weight=1 / len(accounts.dimensions)) for d in accounts.dimensions],
    bands=cb.config.default_bands(),
)
check = cb.validate(accounts, equal, n_boot=300, seed=0)
check

# %%
check.plot()
print(check.summary())

# %% [markdown]
# The true weights of this book are below; notebook 2 fits them from the outcomes.

# %%
pd.Series(datasets.TRUE_WEIGHTS, name="true weight")
