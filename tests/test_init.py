"""`calibrate init` (profile a raw export into calibrate.yaml), the profile's statistics against independent
references, and the fit's direction/shape report with --orient auto; the real exports end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from calibrate.cli import main
from calibrate.data.datasets._real import iranian_paths
from calibrate.data.profile import _isotonic, assess_signals, shape_test
from calibrate.data.spec import read_spec

TELCO = Path(__file__).parents[1] / "data" / "ibm-telco" / "Telco-Customer-Churn.csv"


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def export(n: int = 1500, seed: int = 5) -> pd.DataFrame:
    """A raw export with known truth: usage helps, satisfaction is wrong-way (higher churns more), a leak, an id,
    a constant, a step at logins = 5, a U-shaped discount, and blanks in usage."""
    rng = np.random.default_rng(seed)
    usage = rng.gamma(2.0, 30.0, n)
    satisfaction = rng.integers(1, 11, n).astype(float)
    logins = rng.integers(0, 12, n).astype(float)
    discount = rng.uniform(0, 40, n)
    eta = (-0.3 + 0.015 * usage - 0.25 * (satisfaction - 5) + 1.5 * (logins >= 5) - 0.006 * (discount - 20) ** 2)
    renewed = rng.random(n) < 1 / (1 + np.exp(-eta))
    frame = pd.DataFrame({
        "Account ID": [f"ACC-{i:05d}" for i in range(n)],
        "usage": usage.round(1), "satisfaction": satisfaction, "logins": logins, "discount": discount.round(2),
        "cancel_reason_code": np.where(renewed, 0, 1) * rng.integers(1, 4, n),
        "region": "EU", "Status": np.where(renewed, "Existing Customer", "Attrited Customer"),
    })
    frame.loc[rng.choice(n, 30, replace=False), "usage"] = np.nan
    return frame


@pytest.fixture
def raw_csv(workdir) -> Path:
    path = workdir / "export.csv"
    export().to_csv(path, index=False)
    return path


def test_init_profiles_every_signal(raw_csv, capsys):
    code, out, err = run_cli(["init", "--data", str(raw_csv), "--outcome", "Status", "--churned-value",
                              "Attrited Customer", "--id", "Account ID", "--json"], capsys)
    assert code == 0, err
    payload = json.loads(out)
    assert payload["spec_path"] == "calibrate.yaml"
    sig = {s["name"]: s for s in payload["signals"]}
    assert set(sig) == {"usage", "satisfaction", "logins", "discount", "cancel_reason_code", "region"}
    assert set(sig["usage"]) >= {"name", "column", "kind", "direction", "auc", "transform", "missing", "warnings"}
    frame = export()
    y = (frame["Status"] == "Existing Customer").to_numpy()
    # the wrong-way satisfaction score: reported lower_is_healthier, with the warning
    ref = roc_auc_score(y, frame["satisfaction"])
    assert sig["satisfaction"]["auc"] == pytest.approx(ref, abs=1e-4) and ref < 0.5
    assert sig["satisfaction"]["direction"] == "lower_is_healthier"
    assert any(w.startswith("wrong-way signal") for w in sig["satisfaction"]["warnings"])
    ok = frame["usage"].notna().to_numpy()
    assert sig["usage"]["auc"] == pytest.approx(roc_auc_score(y[ok], frame["usage"][ok]), abs=1e-4)
    assert sig["usage"]["direction"] == "higher_is_healthier" and sig["usage"]["missing"] == "median"
    assert sig["usage"]["share_missing"] == pytest.approx(30 / 1500)
    assert sig["cancel_reason_code"]["use"] is False
    assert any(w.startswith("likely leakage") for w in sig["cancel_reason_code"]["warnings"])
    assert sig["region"]["use"] is False and "constant column" in sig["region"]["warnings"][0]
    assert sig["logins"]["transform"] == "step"
    assert any(w.startswith("U shape") for w in sig["discount"]["warnings"])
    spec = read_spec("calibrate.yaml")
    assert spec.keys.account_id == "Account ID" and spec.outcome.churned_value == "Attrited Customer"
    assert next(s for s in spec.signals if s.name == "logins").threshold == 5.0
    text = Path("calibrate.yaml").read_text()
    assert "# WARNING: wrong-way signal" in text and "AUC" in text


def test_id_like_column_and_no_id(raw_csv, capsys):
    code, out, _ = run_cli(["init", "--data", str(raw_csv), "--outcome", "Status", "--churned-value",
                            "Attrited Customer", "--json"], capsys)
    sig = {s["column"]: s for s in json.loads(out)["signals"]}
    assert sig["Account ID"]["use"] is False and "id-like" in sig["Account ID"]["warnings"][0]
    text = Path("calibrate.yaml").read_text()
    assert "no --id: each row is one account, numbered R00001... in file order" in text
    assert read_spec("calibrate.yaml").keys.account_id is None


def test_init_never_overwrites_without_force(raw_csv, capsys):
    Path("calibrate.yaml").write_text("mine\n")
    args = ["init", "--data", str(raw_csv), "--outcome", "Status", "--churned-value", "Attrited Customer"]
    code, out, err = run_cli(args, capsys)
    assert code == 2 and "calibrate.yaml exists; pass --force" in err and err.count("\n") == 1
    assert Path("calibrate.yaml").read_text() == "mine\n"
    code, _, _ = run_cli([*args, "--force"], capsys)
    assert code == 0 and Path("calibrate.yaml").read_text() != "mine\n"


@pytest.mark.parametrize("args, message", [
    (["--churned-value", "x", "--renewed-value", "y"], "exactly one of --churned-value and --renewed-value"),
    (["--churned-value", "Gone"], "no row has the label 'Gone' declared as churned_value (--churned-value)"),
    (["--churned-value", "Attrited Customer", "--id", "nope"], "column(s) ['nope'] not in the file"),
])
def test_init_bad_input_is_exit_2(raw_csv, capsys, args, message):
    code, out, err = run_cli(["init", "--data", str(raw_csv), "--outcome", "Status", *args], capsys)
    assert code == 2 and message in err and err.count("\n") == 1 and out == ""
    assert not Path("calibrate.yaml").exists()


# -- the statistics against independent references ---------------------------------------------------------
def test_pava_matches_scikit_learn():
    rng = np.random.default_rng(0)
    for increasing in (True, False):
        r, n = rng.random(12), rng.integers(3, 60, 12).astype(float)
        ref = IsotonicRegression(increasing=increasing).fit(np.arange(12.0), r, sample_weight=n).predict(np.arange(12.0))
        np.testing.assert_allclose(_isotonic(r, n, increasing), ref, atol=1e-12)


def test_shape_test_linear_deviance_matches_a_row_level_logit():
    rng = np.random.default_rng(1)
    x = rng.normal(size=2000)
    y = (rng.random(2000) < 1 / (1 + np.exp(-0.8 * x))).astype(float)
    t = shape_test(y, x)
    codes = pd.qcut(x, 10, labels=False)
    lin = LogisticRegression(C=np.inf).fit(codes.reshape(-1, 1), y)
    dummies = np.eye(10)[codes]
    free = LogisticRegression(C=np.inf, fit_intercept=False).fit(dummies, y)
    ll = lambda m, X: np.sum(y * np.log(m.predict_proba(X)[:, 1]) + (1 - y) * np.log(m.predict_proba(X)[:, 0]))
    deviance = 2 * (ll(free, dummies) - ll(lin, codes.reshape(-1, 1)))
    assert t.p_linear == pytest.approx(stats.chi2.sf(deviance, 8), rel=1e-3)


@pytest.mark.parametrize("truth, expected", [
    (lambda x: 0.8 * x, "monotone"),
    (lambda x: 1.5 * (x ** 2 - 1), "u_shape"),
    (lambda x: np.where(x > 0.5, 2.0, 0.0), "threshold"),
])
def test_shape_test_finds_the_simulated_shape(truth, expected):
    rng = np.random.default_rng(2)
    x = rng.normal(size=4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-truth(x)))).astype(float)
    result = shape_test(y, x)
    assert result.shape == expected, result.text
    if expected == "threshold":
        assert result.threshold == pytest.approx(0.5, abs=0.3)


def test_assess_signals_tells_wrong_way_from_no_effect():
    rng = np.random.default_rng(3)
    n = 3000
    good, reverse, noise = rng.uniform(0, 100, n), rng.uniform(0, 100, n), rng.uniform(0, 100, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.04 * (good - 50) - 0.04 * (reverse - 50))))).astype(float)
    frame = pd.DataFrame({"renewed": y, "good": good, "reverse": reverse, "noise": noise})
    checks = {c.name: c for c in assess_signals(frame, {d: "higher_is_healthier" for d in ("good", "reverse", "noise")})}
    assert checks["good"].verdict == "ok" and checks["reverse"].verdict == "wrong_way"
    assert checks["noise"].verdict == "no_effect"
    assert checks["reverse"].auc == pytest.approx(roc_auc_score(y, reverse), abs=1e-4)
    flipped = {c.name: c for c in assess_signals(frame, {"reverse": "lower_is_healthier"})}
    assert flipped["reverse"].verdict == "ok"


def test_fit_reports_wrong_way_and_orient_auto_flips_it(workdir, capsys):
    rng = np.random.default_rng(4)
    n = 1200
    dims = {d: rng.uniform(0, 100, n).round(2) for d in ("usage", "engagement", "support")}
    eta = 0.04 * (dims["usage"] - 50) + 0.03 * (dims["engagement"] - 50) - 0.04 * (dims["support"] - 50)
    book = pd.DataFrame({"account_id": [f"A{i}" for i in range(n)], **dims,
                         "renewed": (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)})
    book.to_csv("book.csv", index=False)
    base = ["fit", "--data", "book.csv", "--dimensions", "usage,engagement,support", "--n-boot", "1000", "--json"]
    code, out, err = run_cli(base, capsys)
    signals = {s["name"]: s["verdict"] for s in json.loads(out)["signals"]}
    assert signals == {"usage": "ok", "engagement": "ok", "support": "wrong_way"}
    code, out, err = run_cli([*base, "--orient", "auto"], capsys)
    payload = json.loads(out)
    config = json.loads(Path(payload["config_path"]).read_text())
    support = next(d for d in config["dimensions"] if d["name"] == "support")
    assert support["direction"] == "lower_is_healthier" and support["weight"] > 0.2
    assert "flipped by --orient auto" in config["provenance"]["options"]["input"]["oriented"]["support"]


# -- the real exports, from their raw files: init -> fit --spec -> validate --spec ---------------------------
@pytest.mark.parametrize("name, source, flags", [
    ("iranian", iranian_paths()[0], ["--outcome", "Churn", "--churned-value", "1"]),
    ("telco", TELCO, ["--outcome", "Churn", "--churned-value", "Yes", "--id", "customerID"]),
])
def test_real_export_init_fit_validate(workdir, capsys, name, source, flags):
    shutil.copy(source, workdir / "export.csv")
    code, out, err = run_cli(["init", "--data", "export.csv", *flags, "--json"], capsys)
    assert code == 0, err
    signals = {s["column"]: s for s in json.loads(out)["signals"]}
    if name == "iranian":  # complaints and non-active status churn more: inverted by the data, not by hand
        assert signals["Complains"]["direction"] == "lower_is_healthier"
        assert signals["Status"]["direction"] == "lower_is_healthier"
    else:  # TotalCharges: 11 blanks read as missing, imputed by the median
        assert signals["TotalCharges"]["kind"] == "numeric" and signals["TotalCharges"]["missing"] == "median"
        assert "customerID" not in signals  # the id is a key, not a candidate
    code, out, err = run_cli(["fit", "--spec", "calibrate.yaml", "--n-boot", "1000", "--json", "--quiet"], capsys)
    assert code == 0, err
    fitted = json.loads(out)
    config = json.loads(Path(fitted["config_path"]).read_text())
    assert config["provenance"]["options"]["input"]["spec"] == "calibrate.yaml"
    code, out, err = run_cli(["validate", "--spec", "calibrate.yaml", "--data", "export.csv", "--config",
                              fitted["config_path"], "--n-boot", "1000", "--json"], capsys)
    assert code == 0, err
    validated = json.loads(out)
    assert validated["auc"]["value"] == pytest.approx(fitted["validation"]["auc"]["value"], abs=1e-12)
    assert validated["auc"]["value"] > 0.8
    # the config alone scores the raw numeric file the same way (its transforms are stored in it)
    code, out, err = run_cli(["score", "--spec", "calibrate.yaml", "--data", "export.csv", "--config",
                              fitted["config_path"], "--out", "scores.csv"], capsys)
    assert code == 0, err
    if name == "iranian":
        from calibrate.config.model import read_config
        from calibrate.score.scorer import score_frame

        raw = pd.read_csv("export.csv").drop_duplicates(ignore_index=True)
        np.testing.assert_allclose(pd.read_csv("scores.csv")["score"],
                                   score_frame(raw, read_config(fitted["config_path"]))["score"], atol=1e-9)


def test_orient_auto_through_a_spec_flips_the_declared_direction(raw_csv, capsys):
    run_cli(["init", "--data", str(raw_csv), "--outcome", "Status", "--churned-value", "Attrited Customer",
             "--id", "Account ID"], capsys)
    text = Path("calibrate.yaml").read_text()  # the analyst insists satisfaction is higher-is-healthier
    head, rest = text.split('column: "satisfaction"', 1)
    Path("calibrate.yaml").write_text(head + 'column: "satisfaction"' +
                                      rest.replace('"lower_is_healthier"', '"higher_is_healthier"', 1))
    base = ["fit", "--spec", "calibrate.yaml", "--n-boot", "1000", "--json", "--quiet"]
    code, out, err = run_cli(base, capsys)
    assert {s["name"]: s["verdict"] for s in json.loads(out)["signals"]}["satisfaction"] == "wrong_way"
    code, out, err = run_cli([*base, "--orient", "auto"], capsys)
    config = json.loads(Path(json.loads(out)["config_path"]).read_text())
    sat = next(d for d in config["dimensions"] if d["name"] == "satisfaction")
    assert sat["direction"] == "lower_is_healthier" and sat["weight"] > 0.05 and sat["transform"]["kind"] == "minmax"
    assert "satisfaction" in config["provenance"]["options"]["input"]["oriented"]
