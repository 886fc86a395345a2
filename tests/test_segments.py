"""Per-segment weights: partial pooling with known truth, the config, and one answer from every scorer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from calibrate import load_accounts, write_config
from calibrate.config.model import Calibration, Dimension, WeightConfig, default_bands, read_config
from calibrate.config.segments import SegmentWeights
from calibrate.data.load import DataSpec
from calibrate.errors import ConfigError, DataError, FitError
from calibrate.fit.segments import fit_segments, with_segments
from calibrate.fit.weights import fit_weights
from calibrate.publish.export import export_sql
from calibrate.publish.registry import champion_uri, promote, register_scorer
from calibrate.score.scorer import score_frame

ROOT = Path(__file__).resolve().parents[1]

DIMS = ("d1", "d2", "d3", "d4", "d5", "d6")
TRUTH = {"a": (0.30, 0.25, 0.15, 0.10, 0.10, 0.10), "b": (0.05, 0.10, 0.15, 0.20, 0.25, 0.25),
         "c": (0.23, 0.12, 0.18, 0.12, 0.21, 0.14)}
"""Two big segments far apart, a small one near (but not at) their mix: where pooling should help it."""
SIZES = {"a": 20000, "b": 20000, "c": 500}


def book(seed: int, sizes: dict[str, int] = SIZES) -> pd.DataFrame:
    """One snapshot per account; ``logit P(renew) = -3 + 8 · Σ wₛ,ᵢ sᵢ / 100`` with the segment's true weights."""
    rng = np.random.default_rng(seed)
    parts = []
    for s, n in sizes.items():
        x = rng.uniform(0, 100, size=(n, len(DIMS)))
        eta = -3.0 + 8.0 * (x @ np.array(TRUTH[s])) / 100
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
        parts.append(pd.DataFrame({"account_id": [f"{s}{i}" for i in range(n)], "tier": s, "renewed": y,
                                   **{d: x[:, j] for j, d in enumerate(DIMS)}}))
    return pd.concat(parts, ignore_index=True)


def distance(weights: dict[str, float], segment: str) -> float:
    return float(np.linalg.norm(np.array([weights[d] for d in DIMS]) - TRUTH[segment]))


@pytest.mark.slow
def test_pooling_recovers_known_segment_weights():
    """Big segments within 0.04 of their truth; the small one closer to its truth than its separate fit and than
    the global weights (mean distance over four simulated books: one book's luck does not decide)."""
    small = {"pooled": [], "separate": [], "global": []}
    for seed in range(4):
        data = load_accounts(book(seed), spec=DataSpec(dimensions=DIMS))
        fit = fit_weights(data)
        pooled = fit_segments(data, fit, column="tier", seed=seed)
        separate = fit_segments(data, fit, column="tier", pooling="none")
        for s in ("a", "b"):
            assert max(abs(pooled.weights[s][d] - w) for d, w in zip(DIMS, TRUTH[s])) < 0.04, (seed, s)
        small["pooled"].append(distance(pooled.weights["c"], "c"))
        small["separate"].append(distance(separate.weights["c"], "c"))
        small["global"].append(distance(fit.weights, "c"))
        assert 0 < pooled.strength["c"] and pooled.strength["c"] > pooled.strength["a"], pooled.strength
    mean = {k: float(np.mean(v)) for k, v in small.items()}
    assert mean["pooled"] < mean["separate"] and mean["pooled"] < mean["global"], mean


@pytest.fixture(scope="module")
def small_book():
    sizes = {"a": 3000, "b": 3000, "c": 400}
    return load_accounts(book(7, sizes), spec=DataSpec(dimensions=DIMS))


def test_none_is_each_segment_fitted_alone_and_full_is_the_global_fit(small_book):
    fit = fit_weights(small_book)
    separate = fit_segments(small_book, fit, column="tier", pooling="none")
    alone = fit_weights(small_book.subset(small_book.frame["tier"] == "b"))
    np.testing.assert_allclose([separate.weights["b"][d] for d in DIMS], [alone.weights[d] for d in DIMS], atol=1e-6)
    full = fit_segments(small_book, fit, column="tier", pooling="full")
    assert all(full.weights[s] == fit.weights for s in "abc") and set(full.strength.values()) == {np.inf}
    # the penalty pulls toward the global weights: the stronger, the closer
    gaps = [distance_to(fit_segments(small_book, fit, column="tier", pooling="auto", grid=(lam,)).weights["c"],
                        fit.weights) for lam in (0.0, 0.1, 100.0)]
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 0.01


def distance_to(a: dict[str, float], b: dict[str, float]) -> float:
    return float(np.linalg.norm([a[k] - b[k] for k in a]))


def test_segment_fit_refusals(small_book):
    fit = fit_weights(small_book)
    with pytest.raises(FitError, match="segment column 'plan' is not in the data"):
        fit_segments(small_book, fit, column="plan")
    tiny = small_book.subset(small_book.frame["tier"].ne("c") | (small_book.frame.index % 40 == 0))
    with pytest.raises(FitError, match="segment 'c' has too few churn or renewal events to fit alone"):
        fit_segments(tiny, fit_weights(tiny), column="tier", pooling="none")
    auto = fit_segments(tiny, fit_weights(tiny), column="tier")
    assert auto.notes == {"c": "too few events to fit alone: global weights"} and np.isinf(auto.strength["c"])
    with pytest.raises(FitError, match="segment weights are fitted on unweighted rows; drop --weight-by"):
        fit_segments(small_book, replace(fit, options={**fit.options, "weight_by": "arr"}), column="tier")
    with pytest.raises(FitError, match="segment weights pool simplex fits"):
        fit_segments(small_book, replace(fit, method="logit"), column="tier")
    with pytest.raises(FitError, match=r"pooling must be one of \['auto', 'none', 'full'\]; got 'partial'"):
        fit_segments(small_book, fit, column="tier", pooling="partial")
    holes = replace(small_book, frame=small_book.frame.assign(tier=small_book.frame["tier"].where(
        small_book.frame.index != 5)))
    with pytest.raises(FitError, match="segment column 'tier' has missing values \\(first at row 5\\)"):
        fit_segments(holes, fit, column="tier")


def test_pooling_without_by_segment_is_one_line_exit_2(tmp_path):
    book(2, {"a": 300, "b": 300}).to_csv(tmp_path / "book.csv", index=False)
    res = cli("fit", "--data", "book.csv", "--dimensions", ",".join(DIMS), "--pooling", "none", "--quiet", cwd=tmp_path)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    assert "pooling applies to segment weights only; add --by-segment COLUMN or drop --pooling" in res.stderr
    assert not (tmp_path / "configs").exists()


def segment_config(missing: str = "redistribute") -> WeightConfig:
    dims = [Dimension(name="usage", column="Usage", weight=0.4),
            Dimension(name="support", column="open_tickets", weight=0.35, direction="lower_is_healthier"),
            Dimension(name="commercial", column="commercial", weight=0.25)]
    segs = SegmentWeights(column="Tier", weights={"SMB": {"usage": 0.7, "support": 0.1, "commercial": 0.2},
                                                  "Enterprise": {"usage": 0.1, "support": 0.6, "commercial": 0.3}})
    return WeightConfig(dimensions=dims, bands=default_bands(), missing=missing, version=1, segments=segs,
                        calibration=Calibration(intercept=-2.4, slope=0.071))


def scoring_frame(n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({
        "account_id": [f"A{i:05d}" for i in range(n)],
        "Tier": rng.choice(np.array(["SMB", "Enterprise", "Startup", None], dtype=object), n),  # Startup: unseen
        "Usage": rng.integers(0, 101, n).astype(float),
        "open_tickets": rng.uniform(0, 100, n),
        "commercial": rng.choice([0.0, 25.0, 50.0, 75.0, 100.0], n),
    })
    frame.loc[::13, "Usage"] = np.nan
    return frame


def expected_scores(frame: pd.DataFrame, config: WeightConfig) -> np.ndarray:
    """Row by row: the segment's weights (else the global ones), redistributed over the present sub-scores."""
    out = []
    for _, row in frame.iterrows():
        w = config.segments.weights.get(row["Tier"], config.weights)
        values = {"usage": row["Usage"], "support": 100 - row["open_tickets"], "commercial": row["commercial"]}
        present = {k: v for k, v in values.items() if not np.isnan(v)}
        total = sum(w[k] for k in present)
        out.append(sum(w[k] * v for k, v in present.items()) / total)
    return np.array(out)


def test_scorer_sql_and_mlflow_apply_the_segment_weights(tmp_path):
    cfg = segment_config()
    frame = scoring_frame()
    expected = expected_scores(frame, cfg)
    reference = score_frame(frame, cfg).set_index(frame["account_id"])
    np.testing.assert_allclose(reference["score"], expected, rtol=0, atol=1e-9)
    # an unseen or empty segment scores with the global weights
    plain = score_frame(frame, cfg.model_copy(update={"segments": None}))
    other = frame["Tier"].isna().to_numpy() | (frame["Tier"] == "Startup").to_numpy()
    np.testing.assert_array_equal(reference["score"].to_numpy()[other], plain["score"].to_numpy()[other])
    assert not np.allclose(reference["score"].to_numpy()[~other], plain["score"].to_numpy()[~other])

    con = duckdb.connect()
    con.register("accounts", frame)
    sql = export_sql(cfg, dialect="duckdb")
    assert "WHEN CAST(\"src\".\"Tier\" AS TEXT) = 'SMB'" in sql
    in_duckdb = con.sql(sql).df().set_index("account_id").loc[reference.index]

    store = tmp_path / "mlflow"
    path = write_config(cfg, tmp_path)
    promote(register_scorer(path, mlflow_dir=store).config_version, mlflow_dir=store)
    import mlflow

    from_mlflow = mlflow.pyfunc.load_model(champion_uri()).predict(frame).set_index(frame["account_id"])
    for name, got in {"duckdb": in_duckdb, "mlflow": from_mlflow}.items():
        np.testing.assert_allclose(got["score"], reference["score"], rtol=0, atol=1e-9, err_msg=name)
        np.testing.assert_allclose(got["p_renew"], reference["p_renew"], rtol=0, atol=1e-9, err_msg=name)
        assert (got["band"].to_numpy() == reference["band"].to_numpy()).all(), name


def test_config_holds_segment_weights_and_old_configs_still_read(tmp_path):
    cfg = segment_config()
    back = read_config(write_config(cfg, tmp_path))
    assert back.schema_version == "1.1" and back.segments.weights["SMB"] == {"usage": 0.7, "support": 0.1,
                                                                              "commercial": 0.2}
    old = segment_config().model_copy(update={"segments": None, "schema_version": "1.0", "version": 2})
    old_path = write_config(old, tmp_path)
    assert json.loads(old_path.read_text())["schema_version"] == "1.0" and "segments" not in old_path.read_text()
    assert read_config(old_path).segments is None  # a 1.0 file reads as it is, its seal checked
    doc = json.loads(old_path.read_text())
    doc["dimensions"][0]["weight"], doc["dimensions"][1]["weight"] = 0.35, 0.4
    old_path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match="content_hash does not match"):
        read_config(old_path)
    with pytest.raises(ValueError, match="segments need schema_version 1.1"):
        WeightConfig.model_validate(cfg.model_dump() | {"schema_version": "1.0"})
    bad = cfg.model_dump()
    bad["segments"]["weights"]["SMB"] = {"usage": 0.7, "support": 0.3}
    with pytest.raises(ValueError, match="segment 'SMB': weights must name exactly the dimensions"):
        WeightConfig.model_validate(bad)
    bad["segments"]["weights"]["SMB"] = {"usage": 0.7, "support": 0.2, "commercial": 0.2}
    with pytest.raises(ValueError, match="segment 'SMB': weights must sum to 1"):
        WeightConfig.model_validate(bad)
    bad["segments"]["weights"]["SMB"] = {"usage": 1.5, "support": -0.3, "commercial": -0.2}
    with pytest.raises(ValueError, match="segment 'SMB': weights must lie in \\[0, 1\\]"):
        WeightConfig.model_validate(bad)
    with pytest.raises(DataError, match="column 'Tier' \\(the config's segment\\) is not in the data"):
        score_frame(scoring_frame().drop(columns="Tier"), cfg)


def test_with_segments_records_the_pooling(small_book):
    from calibrate.fit.draft import build_config

    fit = fit_weights(small_book)
    segs = fit_segments(small_book, fit, column="tier", pooling="none")
    cfg = with_segments(build_config(fit, small_book), segs, small_book)
    assert cfg.segments.column == "tier" and cfg.segments.weights["c"] == segs.weights["c"]
    assert cfg.provenance.options["pooling"] == "none" and cfg.provenance.options["by_segment"] == "tier"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "calibrate", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "CALIBRATE_QUIET": "1"})


@pytest.mark.slow
def test_fit_by_segment_cli(tmp_path):
    frame = book(1, {"a": 3000, "b": 3000, "c": 400})
    frame["snapshot_date"] = np.where(np.arange(len(frame)) % 3 == 0, "2025-04-01", "2025-01-01")
    frame.to_csv(tmp_path / "book.csv", index=False)
    dims = ",".join(DIMS)
    res = cli("fit", "--data", "book.csv", "--dimensions", dims, "--by-segment", "tier", "--n-boot", "1000",
              "--json", cwd=tmp_path)
    assert res.returncode in (0, 1), res.stderr
    payload = json.loads(res.stdout)
    assert set(payload["segment_weights"]) == {"a", "b", "c"} and set(payload["segment_weights"]["a"]) == set(DIMS)
    tests = {s["segment"]: s for s in payload["segment_tests"]["segments"]}
    assert tests["a"]["decision"] == "adopt" and tests["a"]["log_loss_gain"][1] > 0  # far from the global mix
    cfg = read_config(payload["config_path"])
    assert cfg.segments.weights == payload["segment_weights"]
    bad = cli("fit", "--data", "book.csv", "--dimensions", dims, "--by-segment", "plan", "--n-boot", "1000", "--quiet",
              cwd=tmp_path)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "segment column 'plan' is not in the data" in bad.stderr
    wrong = cli("fit", "--data", "book.csv", "--dimensions", dims, "--by-segment", "tier", "--pooling", "some",
                cwd=tmp_path)
    assert wrong.returncode == 2 and "'some' is not one of 'auto', 'none', 'full'" in wrong.stderr


def test_score_frame_in_chunks_gives_the_figures_of_one_pass(monkeypatch):
    """score_frame works SCORE_ROWS rows at a time (bounded memory): segment weights, gaps, contributions and the
    missing-value message's row number are those of one pass over the whole frame."""
    from calibrate.score import scorer

    frame = scoring_frame()  # every 13th usage missing
    whole = scorer.score_frame(frame, segment_config(), keys=["account_id"])
    monkeypatch.setattr(scorer, "SCORE_ROWS", 7)
    pd.testing.assert_frame_equal(scorer.score_frame(frame, segment_config(), keys=["account_id"]), whole)
    assert len(scorer.score_frame(frame.iloc[:0], segment_config())) == 0
    full = frame.assign(Usage=frame["Usage"].fillna(50.0))
    full.loc[2222, "Usage"] = np.nan  # in the chunk starting at row 2219
    with pytest.raises(DataError, match=r"column 'Usage': missing sub-score \(first at row 2222\)"):
        scorer.score_frame(full, segment_config("error"))
