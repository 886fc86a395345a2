"""Champion/challenger: do the new weights beat the current ones on later data?

:func:`champion_challenger` scores the held-out rows of the same folds as the leaderboard (by
default one out-of-time split: fit on earlier snapshots, judge on later ones) with the current
config (the champion) and the new one (the challenger). The challenger is used *as published*
when it was fitted only on data before the validation rows; otherwise its method is refitted on
the training side of each fold (:func:`calibrate.fit.weights.fit_weights`), so it is never judged on rows
it was fitted on. Both scores get their probability from a logistic link fitted on the training
rows, so the comparison is about the weights.

Evidence, on the pooled held-out rows:

* log-loss improvement = mean log-loss(current) − mean log-loss(new) (> 0: new is better), with a
  paired account-level percentile bootstrap interval (the same resampled accounts for both);
* AUC difference = AUC(new) − AUC(current), with DeLong's paired interval
  (:func:`calibrate._stats.delong_paired`) and the same paired account-level bootstrap interval.

Decision: **adopt** when the log-loss improvement's lower bound is above ``min_gain`` and the AUC
difference's (bootstrap) lower bound is above ``−max_auc_loss``; otherwise **keep current**. The
reasons say which condition held or failed, with the figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from calibrate._params import Interval, validate_params
from calibrate.fit import heldout as _heldout
from calibrate.config.direction import HIGHER
from calibrate.config.model import WeightConfig
from calibrate.fit.weights import FitResult, fit_weights
from calibrate.fit.folds import FOLD_PARAMS, Fold, validation_folds
from calibrate.compare.methods import Leaderboard, leaderboard
from calibrate.data.load import Accounts

__all__ = ["ChampionChallenger", "champion_challenger", "compare_with_current"]

Decision = Literal["adopt", "keep current"]


@dataclass(frozen=True)
class ChampionChallenger:
    """The held-out comparison of the current (champion) and new (challenger) weights.

    Figures are ``(value, ci_low, ci_high)``; differences are signed so that positive favours
    the new weights. ``passed`` is true when the decision is ``"adopt"``.
    """

    decision: Decision
    reasons: tuple[str, ...]
    log_loss_current: float
    log_loss_new: float
    log_loss_gain: tuple[float, float, float]
    auc_current: float
    auc_new: float
    auc_diff: tuple[float, float, float]
    auc_diff_delong: tuple[float, float, float]
    auc_pvalue: float
    n_test: int
    n_accounts: int
    folds: tuple[str, ...]
    challenger: Literal["as published", "refit on each training side"]
    min_gain: float
    max_auc_loss: float
    n_boot: int
    seed: int
    checks: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        """True when the new weights should be adopted."""
        return self.decision == "adopt"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe figures, decision and reasons."""

        def ci(t: tuple[float, float, float]) -> dict[str, float]:
            return dict(zip(("value", "ci_low", "ci_high"), map(float, t)))

        return {
            "decision": self.decision,
            "passed": self.passed,
            "reasons": list(self.reasons),
            "log_loss": {"current": self.log_loss_current, "new": self.log_loss_new, "gain": ci(self.log_loss_gain)},
            "auc": {
                "current": self.auc_current,
                "new": self.auc_new,
                "diff": ci(self.auc_diff),
                "diff_delong": ci(self.auc_diff_delong),
                "pvalue_delong": self.auc_pvalue,
            },
            "n_test": self.n_test,
            "n_accounts": self.n_accounts,
            "folds": list(self.folds),
            "challenger": self.challenger,
            "min_gain": self.min_gain,
            "max_auc_loss": self.max_auc_loss,
            "n_boot": self.n_boot,
            "seed": self.seed,
            "checks": [dict(c) for c in self.checks],
        }

    def to_frame(self) -> pd.DataFrame:
        """Two rows (log-loss gain, AUC difference) with value and interval."""
        return pd.DataFrame(
            [
                {"figure": "log-loss gain (current - new)", "value": self.log_loss_gain[0],
                 "ci_low": self.log_loss_gain[1], "ci_high": self.log_loss_gain[2]},
                {"figure": "AUC difference (new - current)", "value": self.auc_diff[0],
                 "ci_low": self.auc_diff[1], "ci_high": self.auc_diff[2]},
            ]
        )

    def summary(self) -> str:
        """The recommendation, the figures and why."""
        g, d = self.log_loss_gain, self.auc_diff
        return "\n".join(
            [
                f"Champion/challenger on {self.n_test:,} held-out rows ({self.n_accounts:,} accounts; "
                f"folds {', '.join(self.folds)}; challenger {self.challenger}): {self.decision.upper()}",
                f"  log-loss  current {self.log_loss_current:.4f}  new {self.log_loss_new:.4f}  "
                f"gain {g[0]:+.4f} [{g[1]:+.4f}, {g[2]:+.4f}]",
                f"  AUC       current {self.auc_current:.3f}  new {self.auc_new:.3f}  "
                f"diff {d[0]:+.4f} [{d[1]:+.4f}, {d[2]:+.4f}] (DeLong p = {self.auc_pvalue:.3g})",
                *(f"  - {r}" for r in self.reasons),
            ]
        )

    def plot(self, ax: Any = None) -> Any:
        """The two differences with their intervals and the decision thresholds; returns the Axes."""
        from calibrate.plots import plot_champion_challenger

        return plot_champion_challenger(self, ax=ax)

    def _repr_html_(self) -> str:
        return f"<p><b>{self.decision}</b></p>" + self.to_frame().to_html(index=False, float_format=lambda v: f"{v:.4f}")

    def __repr__(self) -> str:
        g = self.log_loss_gain
        return f"<ChampionChallenger {self.decision}: log-loss gain {g[0]:+.4f} [{g[1]:+.4f}, {g[2]:+.4f}], AUC {self.auc_diff[0]:+.4f}>"


def _fitted_before(config: WeightConfig, data: Accounts, fold: Fold) -> bool:
    """The config's training period ends before the fold's first validation snapshot."""
    prov = config.provenance
    if prov is None or prov.period_end is None or "snapshot_date" not in data.frame:
        return False
    first_test = data.frame["snapshot_date"].iloc[fold.test].min()
    return pd.Timestamp(prov.period_end) < first_test


def _default_directions(data: Accounts) -> dict[str, str]:
    """Every dimension higher-is-healthier: the directions :func:`fit_weights` assumes when given none."""
    return dict.fromkeys(data.dimensions, HIGHER)


def _refit_options(config: WeightConfig) -> dict[str, Any]:
    """The fit options a config was made with (method, floor, cap, fixed...), to refit it on a training side."""
    if config.provenance is None:
        return {"method": "simplex"}
    options = {k: v for k, v in config.provenance.options.items()
               if k in {"floor", "cap", "fixed", "on_negative", "alpha", "penalty", "directions", "weight_by"}
               and v is not None}
    return {"method": config.provenance.method, **options}


@validate_params({**FOLD_PARAMS, "n_boot": [Interval(int, 1, None)]})
def champion_challenger(
    data: Accounts,
    new: WeightConfig,
    current: WeightConfig,
    *,
    folds: list[Fold] | None = None,
    scheme: Literal["auto", "time", "group"] = "auto",
    k: int = 5,
    min_gain: float = 0.0,
    max_auc_loss: float = 0.005,
    n_boot: int = 2000,
    seed: int = 0,
    fold_fits: Sequence[FitResult] | None = None,
    scores: _heldout.FoldScores | None = None,
) -> ChampionChallenger:
    """Should the new weights replace the current ones? Judged on held-out (later) data.

    Parameters
    ----------
    data : Accounts
        Snapshots with outcomes, holding every dimension of both configs (by name).
    new, current : WeightConfig
        The challenger and the champion.
    folds : list of Fold, optional
        Default :func:`calibrate.fit.folds.validation_folds` (out-of-time when there are snapshot dates).
    scheme, k : see :func:`calibrate.fit.folds.validation_folds`
    min_gain : float, default 0.0
        Log-loss improvement (nats per row) whose lower bound must be exceeded to adopt.
    max_auc_loss : float, default 0.005
        Largest AUC loss tolerated: adopt only if the AUC difference's lower bound is above ``−max_auc_loss``.
    n_boot : int, default 2000
    seed : int, default 0
    fold_fits : sequence of FitResult, optional
        The challenger's refit on each fold's training side (``fit_weights(train, **options of new)``)
        when the caller already has them; fitted here otherwise (and only when needed).
    scores : FoldScores, optional
        Shared memo of the fold sides' scores (fresh otherwise).

    The log-loss gain and the paired AUC difference come from the same draw of accounts
    (:func:`calibrate.fit.heldout.account_mean_intervals` and :func:`calibrate._stats.bootstrap_aucs`,
    both :func:`calibrate._stats.cluster_bootstrap_counts`' draws for the seed).

    Returns
    -------
    ChampionChallenger
    """
    from calibrate import _stats

    folds = folds if folds is not None else validation_folds(data, scheme=scheme, k=k, seed=seed)
    as_published = all(_fitted_before(new, data, f) for f in folds)
    refit_options = _refit_options(new)
    scores = scores if scores is not None else _heldout.FoldScores()
    p_new, p_cur, s_new, s_cur, rows = [], [], [], [], []
    for i, fold in enumerate(folds):
        train, test = fold.split(data)
        y_tr = train.frame["renewed"].to_numpy(dtype=float)
        refit = None if as_published else (fold_fits[i] if fold_fits is not None else fit_weights(train, **refit_options))
        challenger = new if refit is None else _heldout.with_weights(new, refit.weights)
        for cfg, p_out, s_out in ((challenger, p_new, s_new), (current, p_cur, s_cur)):
            s_te, _ = scores(fold.name, "test", test.frame, cfg)  # scores and links: the leaderboard's, when shared
            p_out.append(_heldout.link_probability(s_te, scores.link(fold.name, train.frame, cfg, y_tr)))
            s_out.append(s_te)
        rows.append(fold.test)
    del train, test  # the last fold's sides: not needed by the bootstraps below (the training side is most rows)
    frame = data.frame.iloc[np.concatenate(rows)]
    y = frame["renewed"].to_numpy(dtype=int)
    groups = frame["account_id"].to_numpy()
    pn, pc = np.concatenate(p_new), np.concatenate(p_cur)
    sn, sc = np.concatenate(s_new), np.concatenate(s_cur)
    loss_new, loss_cur = _heldout.row_log_loss(y, pn), _heldout.row_log_loss(y, pc)
    (gain,) = _heldout.account_mean_intervals(groups, [loss_cur - loss_new], n_boot=n_boot, seed=seed)
    delong = _stats.delong_paired(y, sn, sc)
    _, boot = scores.aucs(groups, y, [sn, sc], n_boot=n_boot, seed=seed)  # paired; the leaderboard's rows when shared
    diff = boot[0] - boot[1]
    boot_lo, boot_hi = np.percentile(diff[np.isfinite(diff)], [2.5, 97.5])
    auc_diff = (float(delong.diff), float(boot_lo), float(boot_hi))

    better = gain[1] > min_gain
    not_worse = auc_diff[1] > -max_auc_loss
    reasons = [
        (f"log-loss improves by {gain[0]:+.4f} per row, interval [{gain[1]:+.4f}, {gain[2]:+.4f}] above {min_gain:g}"
         if better else
         f"log-loss gain {gain[0]:+.4f} [{gain[1]:+.4f}, {gain[2]:+.4f}] is not clearly above {min_gain:g}: "
         "the new weights do not predict later renewals better"),
        (f"AUC {auc_diff[0]:+.4f} [{auc_diff[1]:+.4f}, {auc_diff[2]:+.4f}] rules out a loss above {max_auc_loss:g}"
         if not_worse else
         f"AUC {auc_diff[0]:+.4f} [{auc_diff[1]:+.4f}, {auc_diff[2]:+.4f}] may be worse by more than {max_auc_loss:g}"),
    ]
    checks = (
        {"name": "log_loss_gain", "passed": bool(better), "value": gain[1], "threshold": min_gain,
         "message": reasons[0]},
        {"name": "auc_not_worse", "passed": bool(not_worse), "value": auc_diff[1], "threshold": -max_auc_loss,
         "message": reasons[1]},
    )
    return ChampionChallenger(
        decision="adopt" if better and not_worse else "keep current",
        reasons=tuple(reasons),
        log_loss_current=float(loss_cur.mean()),
        log_loss_new=float(loss_new.mean()),
        log_loss_gain=gain,
        auc_current=float(_stats.auc(y, sc)),
        auc_new=float(_stats.auc(y, sn)),
        auc_diff=auc_diff,
        auc_diff_delong=(float(delong.diff), float(delong.ci_low), float(delong.ci_high)),
        auc_pvalue=float(delong.pvalue),
        n_test=len(y),
        n_accounts=int(pd.unique(groups).size),
        folds=tuple(f.name for f in folds),
        challenger="as published" if as_published else "refit on each training side",
        min_gain=min_gain,
        max_auc_loss=max_auc_loss,
        n_boot=n_boot,
        seed=seed,
        checks=checks,
    )


def compare_with_current(
    data: Accounts,
    new_config: WeightConfig,
    current_config: WeightConfig | None,
    *,
    seed: int = 0,
    n_boot: int = 1000,
    learned_rows: bool = True,
) -> tuple[Leaderboard, ChampionChallenger | None]:
    """The leaderboard and (with a current config) the adopt/keep recommendation, on the same folds.

    What ``calibrate run`` shows. Folds: one out-of-time split when ``data`` has at least two
    snapshot dates, else 5 grouped folds by account (:func:`calibrate.fit.folds.validation_folds`).

    Parameters
    ----------
    data : Accounts
    new_config : WeightConfig
        The freshly fitted config (the challenger).
    current_config : WeightConfig or None
        The config in production; ``None`` gives no champion/challenger (and no ``current`` row).
    seed : int, default 0
    n_boot : int, default 1000
    learned_rows : bool, default True
        The leaderboard's rows that judge the sub-scores (see :func:`calibrate.compare.methods.leaderboard`).

    Returns
    -------
    (Leaderboard, ChampionChallenger or None)
    """
    folds = validation_folds(data, seed=seed)
    # computed once, shared by both: the fold sides' scores per weight set, and (when the new config is a
    # simplex fit with the leaderboard's options) one simplex fit per fold — the leaderboard's "simplex" row
    # and the challenger's refit
    scores = _heldout.FoldScores()
    refit = _refit_options(new_config)
    fits = None
    if refit == {"method": "simplex"} or refit == {"method": "simplex", "directions": _default_directions(data)}:
        # the plain simplex fit reads only these columns: each fold's training copy holds them alone
        needed = ["account_id", "renewed", *(["snapshot_date"] if "snapshot_date" in data.frame else []),
                  *data.dimensions]
        fit_data = replace(data, frame=data.frame[needed])
        fits = [fit_weights(fold.split(fit_data)[0], **refit) for fold in folds]
        del fit_data
    board = leaderboard(data, current=current_config, folds=folds, n_boot=n_boot, seed=seed, fold_fits=fits,
                        scores=scores, learned_rows=learned_rows)
    if current_config is None:
        return board, None
    return board, champion_challenger(data, new_config, current_config, folds=folds, n_boot=n_boot, seed=seed,
                                      fold_fits=fits, scores=scores)
