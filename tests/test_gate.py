"""The CI gate (issue 4): `calibrate check` exit codes, named failures, inconclusive, policy files, JUnit."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from calibrate import fit_weights, load_accounts
from calibrate.cli import main
from calibrate.cli.options import bundled_data_path
from calibrate.config.model import write_config
from calibrate.errors import ConfigError
from calibrate.validation.gate import Policy, check, read_policy
from calibrate.fit.draft import build_config
from calibrate.validation.separation import validate

ROOT = Path(__file__).resolve().parents[1]
STRICT = ["--min-spread", "0.3", "--min-auc", "0.75", "--min-red-multiple", "2", "--require-monotone"]


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    """The bundled book and its fitted config, published as v1."""
    data = load_accounts(bundled_data_path())
    cfg = build_config(fit_weights(data), data).model_copy(update={"version": 1}).sealed()
    path = write_config(cfg, tmp_path_factory.mktemp("configs"))
    return data, cfg, path


@pytest.fixture(scope="module")
def shuffled(bundled, tmp_path_factory):
    book = pd.read_csv(bundled_data_path())
    book["renewed"] = np.random.default_rng(0).permutation(book["renewed"].to_numpy())
    path = tmp_path_factory.mktemp("shuffled") / "shuffled.csv"
    book.to_csv(path, index=False)
    return path


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def test_check_exits_0_on_bundled_data_with_its_fitted_config(bundled, tmp_path):
    _, _, config = bundled
    junit = tmp_path / "gate.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "calibrate", "check", "--data", str(bundled_data_path()), "--config", str(config),
         *STRICT, "--junit", str(junit), "--json"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["passed"] is True
    names = [c["name"] for c in out["checks"]]
    assert names == ["spread", "auc", "red_multiple", "monotone", "trend", "red_share"]
    assert all(set(c) >= {"name", "passed", "value", "threshold", "message"} for c in out["checks"])
    cases = ET.parse(junit).getroot().findall(".//testcase")
    assert [c.get("name") for c in cases] == names and not ET.parse(junit).getroot().findall(".//failure")


def test_check_exits_1_naming_failed_checks_when_outcomes_are_shuffled(bundled, shuffled, tmp_path, capsys):
    _, _, config = bundled
    junit = tmp_path / "gate.xml"
    code, out, _ = run_cli(["check", "--data", str(shuffled), "--config", str(config), *STRICT,
                            "--junit", str(junit)], capsys)
    assert code == 1
    lines = {line.split()[1]: line for line in out.splitlines() if line.startswith(("FAIL", "INCONCLUSIVE", "PASS"))}
    for name, threshold in [("spread", "+0.300"), ("auc", "0.750"), ("red_multiple", "2.00")]:
        assert lines[name].startswith("FAIL") and f"below the threshold {threshold}" in lines[name]
    assert "FAILED: spread, auc, red_multiple" in out
    root = ET.parse(junit).getroot()
    suite = root.find("testsuite")
    assert len(suite.findall("testcase")) == 6 and int(suite.get("failures")) >= 3
    failed = {c.get("name") for c in suite.findall("testcase") if c.find("failure") is not None}
    assert {"spread", "auc", "red_multiple"} <= failed


def test_check_exits_2_on_malformed_file(bundled, tmp_path, capsys):
    _, _, config = bundled
    bad = tmp_path / "bad.csv"
    bad.write_text("account_id,renewed,usage\nA,1,50\nB,maybe,60\n")
    code, out, err = run_cli(["check", "--data", str(bad), "--config", str(config)], capsys)
    assert code == 2 and out == "" and "bad.csv" in err and "missing column" in err


def test_inconclusive_names_accounts_needed_and_can_be_allowed(bundled, capsys, tmp_path):
    data, cfg, config = bundled
    small_ids = data.frame["account_id"].drop_duplicates().iloc[:150]
    small = data.subset(data.frame["account_id"].isin(small_ids).to_numpy())
    v = validate(small, cfg, n_boot=2000)
    threshold = round(v.auc - (v.auc - v.auc_ci[0]) / 2, 3)  # inside the interval, below the estimate
    result = check(v, Policy(min_spread=None, max_trend_p=None, require_monotone=False, red_share_guideline=None),
                   min_auc=threshold)
    (c,) = result.checks
    assert c.status == "inconclusive" and not c.passed and not result.passed
    # the interval half-width shrinks as 1/sqrt(n): at n_needed accounts it just excludes the threshold
    expected = math.ceil(v.n_accounts * ((v.auc - v.auc_ci[0]) / (v.auc - threshold)) ** 2)
    assert c.n_needed == expected and c.n_needed > v.n_accounts and f"{expected:,} accounts needed" in c.message
    allowed = check(v, Policy(min_spread=None, max_trend_p=None, require_monotone=False, min_auc=threshold,
                                red_share_guideline=None, allow_inconclusive=True))
    assert allowed.passed and allowed.checks[0].status == "inconclusive"
    assert ET.fromstring(allowed.to_junit()).find(".//skipped") is not None


def test_policy_file_yaml_and_json_with_flags_overriding(bundled, tmp_path, capsys):
    _, _, config = bundled
    yml = tmp_path / "policy.yaml"
    yml.write_text("version: 2026.1\nmin_spread: 0.3\nmin_auc: 0.99\nrequire_monotone: true\nmax_red_share: 0.5\n")
    args = ["check", "--data", str(bundled_data_path()), "--config", str(config), "--policy", str(yml), "--json"]
    code, out, _ = run_cli(args, capsys)
    res = json.loads(out)
    assert code == 1 and [c["name"] for c in res["checks"] if not c["passed"]] == ["auc"]
    assert res["policy"]["version"] == "2026.1"
    code, out, _ = run_cli([*args, "--min-auc", "0.7"], capsys)
    assert code == 0 and json.loads(out)["passed"]
    js = tmp_path / "policy.json"
    js.write_text(json.dumps({"min_auc": 0.7, "max_trend_p": 0.01}))
    assert read_policy(js) == Policy(min_auc=0.7, max_trend_p=0.01)


@pytest.mark.parametrize("text, pattern", [
    ("min_spred: 0.3\n", r"policy.yaml: key 'min_spred': Extra inputs are not permitted; allowed keys"),
    ("min_auc: 2\n", r"policy.yaml: key 'min_auc': Input should be less than or equal to 1"),
    ("min_auc: [\n", r"policy.yaml: not readable YAML/JSON"),
])
def test_bad_policy_is_a_config_error(tmp_path, bundled, capsys, text, pattern):
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=pattern):
        read_policy(path)
    code, _, err = run_cli(["check", "--data", str(bundled_data_path()), "--config", str(bundled[2]),
                            "--policy", str(path)], capsys)
    assert code == 2 and "policy.yaml" in err


def test_validate_command_json_and_by(bundled, capsys):
    _, _, config = bundled
    code, out, _ = run_cli(["validate", "--data", str(bundled_data_path()), "--config", str(config),
                            "--by", "segment", "--json", "--n-boot", "1000"], capsys)
    d = json.loads(out)
    assert code == 0 and d["by"] == "segment" and [g["group"] for g in d["groups"]] == ["Enterprise", "Mid-Market", "SMB"]
    assert [b["name"] for b in d["bands"]] == ["critical", "red", "amber", "green"]
    assert {"value", "ci_low", "ci_high"} <= set(d["spread"]) and {"value", "ci_low", "ci_high"} <= set(d["auc"])
    assert d["n"] == 15520 and d["red"]["red_multiple"] > 2 and d["csm"]["adds_information"]
    code, out, _ = run_cli(["validate", "--data", str(bundled_data_path()), "--config", str(config),
                            "--n-boot", "1000"], capsys)
    assert code == 0 and "spread green − red" in out and "red book" in out and "CSM red flag" in out


def test_gate_result_protocol(bundled):
    data, cfg, _ = bundled
    result = check(validate(data, cfg, n_boot=1000), Policy(min_auc=0.7, require_monotone=True))
    assert result.passed and repr(result) == "<GateResult 5 checks passed>"
    assert list(result.to_frame()["name"]) == ["spread", "auc", "monotone", "trend", "red_share"]
    assert "PASSED" in result.summary() and "<table" in result._repr_html_()
    json.dumps(result.to_dict())
    ax = result.plot()
    assert len(ax.patches) == 5


def _banded_book(cfg, counts):
    """Accounts whose every sub-score is the band's score, so each band holds exactly ``(n, renewed)``."""
    score, renewed = [], []
    for s, (n, k) in counts.items():
        score += [float(s)] * n
        renewed += [1] * k + [0] * (n - k)
    x = np.array(score)
    return pd.DataFrame({"account_id": [f"A{i:05d}" for i in range(len(x))], "renewed": renewed,
                         **{dim: x for dim in cfg.weights}})


def test_an_estimate_exactly_at_its_threshold_fails_without_crashing(bundled, tmp_path, capsys):
    """green 114/150 and red 247/325 both renew 0.76: spread exactly 0 = min_spread, the interval
    reaching below it (a null book of the audit; issue 18 item 1). It fails on purpose: no number of
    accounts would lift the interval above a threshold the estimate sits on."""
    _, cfg, config = bundled
    book = _banded_book(cfg, {90: (150, 114), 40: (325, 247), 60: (200, 170), 10: (40, 20)})
    assert 114 / 150 == 247 / 325  # the same double: the spread is exactly 0
    v = validate(load_accounts(book), cfg, n_boot=1000)
    assert v.spread == 0.0 and v.spread_ci[0] < 0.0 < v.spread_ci[1]
    c = check(v, Policy(require_monotone=False, max_trend_p=None)).checks[0]
    assert (c.status, c.passed, c.n_needed) == ("fail", False, None)
    assert c.message == "spread green - red +0.000 is exactly at the threshold +0.000: more accounts would not lift the interval above it"
    data = tmp_path / "null.csv"
    book.to_csv(data, index=False)
    code, out, _ = run_cli(["check", "--data", str(data), "--config", str(config), "--n-boot", "1000"], capsys)
    assert code == 1 and "FAILED: spread" in out and "exactly at the threshold" in out


def test_red_share_above_the_guideline_warns_by_default_and_blocks_by_policy(bundled, tmp_path, capsys):
    """On the bundled book the default bands put 11.1 % of accounts in red or below: `check` passes with a
    warning that points to band tuning; `max_red_share` (policy or flag) makes the same share a failure."""
    data, cfg, config = bundled
    v = validate(data, cfg, n_boot=1000)
    share = v.red.share_red_or_below
    f = data.frame
    book = f[f["snapshot_date"] == f["snapshot_date"].max()]  # the book as it stands: the latest snapshot
    score = book[list(cfg.weights)].to_numpy() @ np.array(list(cfg.weights.values()))
    assert share == pytest.approx(np.mean(score < next(b.min for b in cfg.bands if b.name == "amber")), abs=1e-12)
    assert share > Policy().red_share_guideline == 0.10
    result = check(v)
    c = result.checks[-1]
    assert (c.name, c.status, c.passed, c.value, c.threshold) == ("red_share", "warn", True, share, 0.10)
    assert "tune the band cut-points (calibrate.tune_bands" in c.message
    assert result.passed and result.warnings == (c,) and result.summary().endswith("PASSED: every check holds (warning: red_share)")
    assert ET.fromstring(result.to_junit()).find(".//failure") is None
    blocking = check(v, max_red_share=0.10).checks[-1]
    assert (blocking.status, blocking.passed, blocking.threshold) == ("fail", False, 0.10)
    assert "tune the band cut-points" in blocking.message
    assert check(v, red_share_guideline=0.2).checks[-1].status == "pass"
    assert [c.name for c in check(v, Policy(red_share_guideline=None)).checks] == ["spread", "monotone", "trend"]
    policy = tmp_path / "policy.yaml"
    policy.write_text("max_red_share: 0.10\n")
    args = ["check", "--data", str(bundled_data_path()), "--config", str(config), "--n-boot", "1000"]
    code, out, _ = run_cli(args, capsys)
    assert code == 0 and "WARN         red_share" in out and "(warning: red_share)" in out
    code, out, err = run_cli([*args, "--policy", str(policy), "--json"], capsys)
    assert code == 1 and "calibrate check: fail: red_share: share of the book in red or below 11.1% > 10%" in err
