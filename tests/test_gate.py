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
    assert names == ["spread", "auc", "red_multiple", "monotone", "trend"]
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
    assert len(suite.findall("testcase")) == 5 and int(suite.get("failures")) >= 3
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
    result = check(v, Policy(min_spread=None, max_trend_p=None, require_monotone=False), min_auc=threshold)
    (c,) = result.checks
    assert c.status == "inconclusive" and not c.passed and not result.passed
    # the interval half-width shrinks as 1/sqrt(n): at n_needed accounts it just excludes the threshold
    expected = math.ceil(v.n_accounts * ((v.auc - v.auc_ci[0]) / (v.auc - threshold)) ** 2)
    assert c.n_needed == expected and c.n_needed > v.n_accounts and f"{expected:,} accounts needed" in c.message
    allowed = check(v, Policy(min_spread=None, max_trend_p=None, require_monotone=False, min_auc=threshold,
                                allow_inconclusive=True))
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
    assert code == 0 and "spread green - red" in out and "red book" in out and "CSM red flag" in out


def test_gate_result_protocol(bundled):
    data, cfg, _ = bundled
    result = check(validate(data, cfg, n_boot=1000), Policy(min_auc=0.7, require_monotone=True))
    assert result.passed and repr(result) == "<GateResult 4 checks passed>"
    assert list(result.to_frame()["name"]) == ["spread", "auc", "monotone", "trend"]
    assert "PASSED" in result.summary() and "<table" in result._repr_html_()
    json.dumps(result.to_dict())
    ax = result.plot()
    assert len(ax.patches) == 4
