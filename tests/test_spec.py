"""The project spec (calibrate.yaml): schema, line-numbered errors, loading a raw export through it, --spec on the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from calibrate.cli import main
from calibrate.config.model import Dimension, Transform, WeightConfig, default_bands
from calibrate.data.spec import (SCHEMA_FILE, Keys, Outcome, Signal, Spec, find_spec, json_schema, read_spec,
                                 render_spec)
from calibrate.data.spec_load import RawInput, fit_signal_transform, load_with_spec, name_view
from calibrate.errors import ConfigError, DataError
from calibrate.score.scorer import score_frame

GOOD = """\
spec_version: 1
keys:
  account_id: acct
outcome:
  column: Attrition_Flag
  churned_value: Attrited Customer
missing: error
signals:
  - name: usage
    column: Usage
    kind: numeric
    transform: percentile
  - name: tickets
    column: Tickets
    kind: numeric
    direction: lower_is_healthier
    transform: minmax
    clip: [0, 100]
  - name: plan
    column: Plan
    kind: categorical
    transform: categories
    points: {"Gold": 100, "Basic": 0}
"""


def raw_frame(n: int = 400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    usage = rng.gamma(2.0, 50.0, n)
    tickets = rng.poisson(2.0, n)
    plan = rng.choice(["Gold", "Basic"], n)
    p = 1 / (1 + np.exp(-(-0.5 + 0.01 * usage - 0.3 * tickets + 0.8 * (plan == "Gold"))))
    renewed = rng.random(n) < p
    return pd.DataFrame({"acct": [f"C{i}" for i in range(n)], "Usage": usage.round(2), "Tickets": tickets,
                         "Plan": plan, "Attrition_Flag": np.where(renewed, "Existing Customer", "Attrited Customer")})


def write(tmp_path: Path, text: str, name: str = "calibrate.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_committed_schema_is_current():
    assert json.loads(SCHEMA_FILE.read_text()) == json_schema(), (
        "calibrate/data/schema/calibrate-spec.schema.json is stale: regenerate it with "
        "python -c 'from calibrate.data.spec import write_schema; write_schema()'")


def test_schema_validates_a_written_spec(tmp_path):
    import jsonschema
    import yaml

    doc = yaml.safe_load(GOOD)
    jsonschema.Draft202012Validator(json_schema()).validate(doc)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(json_schema()).validate({**doc, "unknown": 1})


@pytest.mark.parametrize("edit, line, message", [
    (("transform: minmax", "transform: zscore"), 17, "signals.1.transform"),
    (("    clip: [0, 100]", "    clip: [0, 100]\n    colour: red"), 19, "Extra inputs are not permitted"),
    (("  - name: plan", "  - name: usage"), 8, "signal names ['usage'] repeat"),
    (("    points: {\"Gold\": 100, \"Basic\": 0}", "    points: {\"Gold\": 120}"), 19, "points must lie in 0-100"),
    (("  churned_value: Attrited Customer", "  churned_value: x\n  renewed_value: y"), 4,
     "exactly one of churned_value and renewed_value"),
    (("missing: error", "missing: error\nmissing: keep"), 8, "key 'missing' repeats"),
    (("    kind: numeric\n    transform: percentile", "    kind: numeric\n    transform: step"), 9,
     "transform 'step' needs a threshold"),
    (("keys:\n  account_id: acct", "keys:\n  account_id: [acct\n"), 5, "not valid YAML"),
])
def test_spec_errors_name_the_line(tmp_path, edit, line, message):
    path = write(tmp_path, GOOD.replace(*edit, 1))
    with pytest.raises(ConfigError) as info:
        read_spec(path)
    assert f"{path} line {line}" in str(info.value)
    assert message in str(info.value)


def test_missing_spec_file_says_how_to_make_one(tmp_path):
    with pytest.raises(ConfigError, match="spec not found; write one with `calibrate init"):
        read_spec(tmp_path / "nope.yaml")


def test_yes_no_labels_stay_text(tmp_path):
    spec = read_spec(write(tmp_path, GOOD.replace("Attrited Customer", "Yes")))
    assert spec.outcome.churned_value == "Yes"


def test_render_reads_back_unchanged(tmp_path):
    spec = read_spec(write(tmp_path, GOOD))
    again = read_spec(write(tmp_path, render_spec(spec, header=["a header"]), "again.yaml"))
    assert again.model_dump() == spec.model_dump()


def test_find_spec_walks_up_to_the_nearest_ancestor(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    write(tmp_path, GOOD)
    assert find_spec(tmp_path / "a" / "b") == tmp_path / "calibrate.yaml"
    write(tmp_path / "a", GOOD)
    assert find_spec(tmp_path / "a" / "b") == tmp_path / "a" / "calibrate.yaml"


# -- loading a raw export -------------------------------------------------------------------------------------
def test_load_maps_labels_keys_and_transforms(tmp_path):
    raw = raw_frame()
    spec = read_spec(write(tmp_path, GOOD))
    accounts, info = load_with_spec(raw, spec)
    f = accounts.frame
    assert accounts.dimensions == ("usage", "tickets", "plan")
    assert (f["renewed"] == (raw["Attrition_Flag"] == "Existing Customer").astype(int)).all()
    assert f["account_id"].tolist() == raw["acct"].tolist()
    # percentile: the mid-rank percentile of each value in the sample (closed form on distinct values)
    x = raw["Usage"].to_numpy()
    below = (x[:, None] > x[None, :]).sum(1)
    equal = (x[:, None] == x[None, :]).sum(1)
    np.testing.assert_allclose(f["usage"], 100 * (below + 0.5 * equal) / len(x), atol=1.0)  # 101 knots: within one percentile
    # minmax over the full range, healthy-oriented (lower_is_healthier: 100 minus it)
    t = raw["Tickets"].to_numpy()
    np.testing.assert_allclose(f["tickets"], 100 - 100 * (t - t.min()) / (t.max() - t.min()))
    assert set(f["plan"]) == {0.0, 100.0} and (f["plan"] == np.where(raw["Plan"] == "Gold", 100.0, 0.0)).all()
    assert set(info.transforms) == {"usage", "tickets"}


def test_rows_are_numbered_without_an_id(tmp_path):
    spec = read_spec(write(tmp_path, GOOD.replace("  account_id: acct\n", "  account_id: null\n  id_prefix: X-\n")))
    accounts, _ = load_with_spec(raw_frame(5), spec)
    assert accounts.frame["account_id"].tolist() == ["X-00001", "X-00002", "X-00003", "X-00004", "X-00005"]


@pytest.mark.parametrize("change, message", [
    (lambda r: r.assign(Attrition_Flag=r["Attrition_Flag"].where(r.index != 3, "Unknown")),
     "holds 3 labels ['attrited customer', 'existing customer', 'unknown']"),
    (lambda r: r.assign(Attrition_Flag="Existing Customer"), "no row has the label 'Attrited Customer'"),
    (lambda r: r.assign(Usage=r["Usage"].astype(object).where(r.index != 7, "n/a")),
     "non-numeric value 'n/a' at row 8 of numeric signal 'usage'"),
    (lambda r: r.drop(columns="Tickets"), "column(s) ['Tickets']"),
])
def test_bad_input_is_refused_with_the_fix(tmp_path, change, message):
    spec = read_spec(write(tmp_path, GOOD))
    with pytest.raises(DataError) as info:
        load_with_spec(change(raw_frame()), spec)
    assert message in str(info.value)


def test_missing_value_names_the_spec_line_and_median_is_reported(tmp_path):
    path = write(tmp_path, GOOD)
    raw = raw_frame()
    raw.loc[[4, 9], "Usage"] = np.nan
    with pytest.raises(DataError) as info:
        load_with_spec(raw, read_spec(path))
    assert "missing value at row(s) 5, 10" in str(info.value)
    assert f"{path} line 9" in str(info.value) and "--missing median" in str(info.value)
    spec = read_spec(write(tmp_path, GOOD.replace("missing: error", "missing: median")))
    accounts, info2 = load_with_spec(raw, spec)
    known = accounts.frame["usage"].drop(index=[4, 9])
    assert accounts.imputed == {"usage": 2} and info2.fill["usage"] == pytest.approx(np.median(known))
    assert accounts.frame.loc[[4, 9], "usage"].tolist() == [np.median(known)] * 2


def test_a_config_reuses_its_stored_transforms_and_fill_on_new_data(tmp_path):
    spec = read_spec(write(tmp_path, GOOD.replace("missing: error", "missing: median")))
    train = raw_frame(400, seed=3)
    _, info = load_with_spec(train, spec)
    dims = [Dimension(name=n, column=n, weight=w) for n, w in (("usage", 0.5), ("tickets", 0.3), ("plan", 0.2))]
    from calibrate.config.model import Provenance

    prov = Provenance(method="simplex", training_rows=1, training_accounts=1, training_events=1, data_source="x",
                      data_sha256="x", seed=0)
    cfg = info.attach(WeightConfig(dimensions=dims, bands=default_bands(), provenance=prov))
    assert cfg.dimensions[0].column == "Usage" and cfg.dimensions[0].transform == info.transforms["usage"]
    new = raw_frame(300, seed=11).assign(Usage=lambda r: r["Usage"] * 3)  # shifted: a refit would differ
    new.loc[0, "Usage"] = np.nan
    accounts, _ = load_with_spec(new, spec, config=cfg)
    expected = np.interp(new["Usage"][1:], info.transforms["usage"].knots, info.transforms["usage"].values)
    np.testing.assert_allclose(accounts.frame["usage"][1:], expected)
    assert accounts.frame["usage"][0] == info.fill["usage"]
    # and the config alone scores the raw numeric columns the same way (by column, through its transforms)
    assert cfg.dimensions[1].direction == "lower_is_healthier"  # the spec's direction, put back into the config
    both = score_frame(new.iloc[1:].assign(Plan=np.where(new["Plan"][1:] == "Gold", 100.0, 0.0)), cfg)
    np.testing.assert_allclose(both["score"], score_frame(accounts.frame.iloc[1:], name_view(cfg))["score"])


def test_log_and_step_transforms():
    x = np.array([0.0, 1.0, 3.0, 9.0, 99.0, np.nan])
    log = fit_signal_transform(x, Signal(name="a", column="a", kind="numeric", transform="log", clip=[0, 100]))
    np.testing.assert_allclose(np.interp(x[:5], log.knots, log.values), 100 * np.log1p(x[:5]) / np.log1p(99.0))
    step = fit_signal_transform(x, Signal(name="a", column="a", kind="numeric", transform="step", threshold=3.0))
    assert np.interp([2.9, 3.0, 50.0], step.knots, step.values).tolist() == [0.0, 100.0, 100.0]


def test_score_frame_applies_a_transform_to_a_read_only_float_frame():
    # pandas 3 returns a read-only view of a one-block float frame; the scorer must not write into it
    t = Transform(kind="minmax", knots=[0.0, 10.0], values=[0.0, 100.0])
    cfg = WeightConfig(dimensions=[Dimension(name="a", column="a", weight=0.5, transform=t),
                                   Dimension(name="b", column="b", weight=0.5)], bands=default_bands())
    assert score_frame(pd.DataFrame({"a": [5.0], "b": [50.0]}), cfg)["score"].tolist() == [50.0]


def test_raw_input_without_a_spec_records_only_the_flips():
    assert RawInput(spec=None, oriented={"x": "flipped"}).record() == {"oriented": {"x": "flipped"}}


# -- the CLI ----------------------------------------------------------------------------------------------------
def run_cli(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


@pytest.fixture
def project(workdir):
    raw = raw_frame(600)
    raw.to_csv(workdir / "export.csv", index=False)
    write(workdir, GOOD.replace("keys:", "source: export.csv\nkeys:"))
    return workdir


def test_calibrate_yaml_is_found_and_named_on_stderr(project, capsys):
    code, out, err = run_cli(["tiers", "--data", "export.csv", "--column", "Tickets", "--json", "--n-boot", "1000"],
                             capsys)
    assert "using spec" in err and "calibrate.yaml" in err
    checks = {c["name"]: c for c in json.loads(out)["directions"]["checks"]}
    assert set(checks) == {"direction:usage", "direction:tickets", "direction:plan"}  # the spec's signals
    assert all(c["passed"] for c in checks.values())  # each points the way the spec declares (healthy-oriented)


@pytest.mark.parametrize("args, message", [
    (["--outcome", "Attrition_Flag"], "--outcome needs --churned-value"),
    (["--dimensions", "usage,tickets"], "--dimensions does not combine with a spec"),
])
def test_spec_flag_usage_errors(project, capsys, args, message):
    code, out, err = run_cli(["compare", "--data", "export.csv", *args], capsys)
    assert code == 2 and message in err and err.count("\n") == 1 and out == ""


def test_a_bad_spec_is_exit_2_naming_the_line(project, capsys):
    write(project, GOOD.replace("kind: categorical", "kind: text"), "bad.yaml")
    code, out, err = run_cli(["compare", "--data", "export.csv", "--spec", "bad.yaml"], capsys)
    assert code == 2 and "bad.yaml line 21: field signals.2.kind" in err and err.count("\n") == 1


def test_common_case_flags_without_a_spec_file(workdir):
    from calibrate.cli.options import SpecArgs, load_training

    raw = raw_frame(300)
    book = pd.DataFrame({"cust": raw["acct"], "Churn": np.where(raw["Attrition_Flag"] == "Attrited Customer",
                                                                 "True", "False"),
                         "usage": np.linspace(0, 100, 300), "support": np.linspace(100, 0, 300)})
    book.to_csv(workdir / "b.csv", index=False)
    args = SpecArgs(outcome="Churn", churned_value="True", id="cust", missing="median")
    accounts, info = load_training("b.csv", "usage,support", None, args)
    assert accounts.dimensions == ("usage", "support") and info.spec.missing == "median"
    assert accounts.frame["account_id"].tolist() == book["cust"].tolist()
    assert (accounts.frame["renewed"] == (book["Churn"] == "False").astype(int)).all()
    np.testing.assert_allclose(accounts.frame["usage"], book["usage"])  # transform none: already 0-100
