"""An unpublished config from a fit: the weights with the columns, bands and provenance a scorer needs."""

from __future__ import annotations

from calibrate.config.model import (
    Band,
    Calibration,
    Dimension,
    Provenance,
    WeightConfig,
    default_bands,
)
from calibrate.data.load import Accounts
from calibrate.fit.weights import FitResult

__all__ = ["build_config"]


def _library_versions() -> dict[str, str]:
    from importlib.metadata import version

    from calibrate import __version__

    return {"calibrate": __version__} | {pkg: version(pkg) for pkg in ("numpy", "scipy", "pandas", "scikit-learn", "statsmodels")}


def build_config(
    fit: FitResult,
    data: Accounts,
    *,
    name: str = "account-health",
    bands: list[Band] | None = None,
    template: WeightConfig | None = None,
    seed: int = 0,
) -> WeightConfig:
    """An unpublished (version 0) config from a fit: weights, bands, calibration and provenance.

    Columns, directions, bands and the red band are taken from ``template`` (the current config)
    when given, so a recalibration changes the weights and nothing the scorer relies on.
    """
    previous = {d.name: d for d in template.dimensions} if template else {}
    dims = [
        Dimension(
            name=dim,
            column=previous[dim].column if dim in previous else data.spec.column(dim),
            weight=w,
            direction=fit.directions.get(dim) or (previous[dim].direction if dim in previous else "higher_is_healthier"),
        )
        for dim, w in fit.weights.items()
    ]
    start, end = data.period
    provenance = Provenance(
        method=fit.method,
        options={k: v for k, v in fit.options.items()},
        training_rows=fit.n,
        training_accounts=fit.n_accounts,
        training_events=fit.n_events,
        period_start=start,
        period_end=fit.options.get("train_until") or end,
        data_source=data.source,
        data_sha256=data.sha256,
        seed=seed,
        library_versions=_library_versions(),
    )
    return WeightConfig(
        name=name,
        dimensions=dims,
        bands=bands or (list(template.bands) if template else default_bands()),
        red_band=template.red_band if template else "red",
        missing=template.missing if template else "error",
        calibration=Calibration(intercept=fit.intercept, slope=fit.slope),
        provenance=provenance,
    )
