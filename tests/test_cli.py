"""The command-line layer: shared options, exit codes (contract §3) and one-line usage errors."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from calibrate.cli import cli, main
from calibrate.cli.options import bundled_data_path


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def _commands() -> dict[str, object]:
    """Every leaf command by its path (``tree validate``, ``config publish`` ...)."""
    out = {}
    for name, cmd in cli.commands.items():
        if name == "rules":  # alias of tree
            continue
        subs = getattr(cmd, "commands", None)
        for sub_name, sub in (subs or {name: cmd}).items():
            out[f"{name} {sub_name}" if subs else name] = sub
    return out


# ---------------------------------------------------------------------------------------------
# dates: one ISODate type; a bad date is exit 2 with one line, before any work
# ---------------------------------------------------------------------------------------------
DATE_CASES = [
    (["run", "--train-until", "2024-13-45"], "--train-until", "month must be in 1..12"),
    (["fit", "--train-until", "someday"], "--train-until", "'someday' is not a date"),
    (["validate", "--data", "x.csv", "--config", "c.json", "--as-of", "2024-02-30"], "--as-of", "day is out of range"),
    (["check", "--data", "x.csv", "--config", "c.json", "--as-of", "Q5"], "--as-of", "'Q5' is not a date"),
    (["drift", "--config", "c.json", "--since", "yesterday-ish"], "--since", "is not a date"),
    (["systems", "--test-from", "2025-00-01"], "--test-from", "is not a date"),
    (["tree", "tune", "--test-from", "x"], "--test-from", "is not a date"),
    (["playbook", "--snapshot", "2024-1-99"], "--snapshot", "is not a date"),
    (["explain", "--account", "A", "--before", "nope"], "--before", "is not a date"),
    (["explain", "--account", "A", "--after", "nope"], "--after", "is not a date"),
]


@pytest.mark.parametrize(("args", "option", "reason"), DATE_CASES, ids=[" ".join(c[0][:2]) for c in DATE_CASES])
def test_bad_date_is_exit_2_with_one_line(args, option, reason, capsys, workdir):
    code, out, err = run_cli(args, capsys)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"calibrate: error: Invalid value for '{option}'") and reason in lines[0]
    assert "YYYY-MM-DD" in lines[0] and "Traceback" not in err
    assert list(workdir.iterdir()) == []  # nothing written


def test_every_date_option_uses_the_shared_type():
    from calibrate.cli.options import ISODate

    dated = {"train_until", "as_of", "since", "test_from", "snapshot", "before", "after"}
    seen = set()
    for path, cmd in _commands().items():
        for p in cmd.params:
            if p.name in dated or p.metavar == "DATE":
                assert isinstance(p.type, ISODate), f"{path} {p.name}"
                seen.add(p.name)
    assert seen == dated


def test_isodate_normalises_to_iso():
    from calibrate.cli.options import ISODate

    t = ISODate()
    assert t.convert("2025-03-31", None, None) == "2025-03-31"
    assert t.convert("2025/3/1", None, None) == "2025-03-01"
    assert t.convert("2025-03-31T12:30", None, None) == "2025-03-31T12:30:00"


# ---------------------------------------------------------------------------------------------
# usage errors: one line, exit 2
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("args", "where", "text"), [
    (["run", "--bogus"], "calibrate run", "No such option '--bogus'"),
    (["run", "--n-boot", "500"], "calibrate run", "500 is not in the range x>=1000"),
    (["compare", "--n-boot", "200"], "calibrate compare", "200 is not in the range x>=1000"),
    (["tree", "validate", "--n-boot", "200"], "calibrate tree validate", "200 is not in the range x>=1000"),
    (["compare", "--new", "new.json"], "calibrate compare", "--new needs --current"),
    (["drift", "--fail-on", "sometimes"], "calibrate drift", "'sometimes' is not one of"),
    (["nosuch"], "calibrate", "No such command 'nosuch'"),
])
def test_usage_error_is_one_line(args, where, text, capsys, workdir):
    code, out, err = run_cli(args, capsys)
    assert code == 2 and out == ""
    assert err.endswith(f" (see {where} --help)\n") and err.count("\n") == 1, err
    assert err.startswith("calibrate: error: ") and text in err
    assert list(workdir.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# one definition per option
# ---------------------------------------------------------------------------------------------
def test_every_command_reading_accounts_takes_data_and_query():
    readers = {path for path, cmd in _commands().items() if any(p.name == "data" for p in cmd.params)}
    assert {"run", "fit", "compare", "validate", "check", "drift", "score", "diff", "systems", "tiers", "playbook",
            "explain", "tree validate", "tree tune", "tree classify"} <= readers
    for path in readers:
        assert any(p.name == "query" for p in _commands()[path].params), path


def test_shared_options_are_defined_once():
    """Same option name -> same help text and type everywhere (except --config, whose help names its use)."""
    seen: dict[str, tuple] = {}
    clashes = []
    for path, cmd in _commands().items():
        for p in cmd.params:
            if p.name in {"config_file", "data", "new", "out_file", "out"} or not p.opts[0].startswith("--"):
                continue
            kind = (type(p.type).__name__, getattr(p.type, "min", None), tuple(getattr(p.type, "choices", ())))
            key = (p.opts[0], p.help, kind, p.default if not callable(p.default) else None)
            if key != seen.setdefault(p.opts[0], key):
                clashes.append(f"{path} {p.opts[0]}")
    assert clashes == []
    boot = seen["--n-boot"]
    assert boot[2][:2] == ("IntRange", 1000) and boot[3] == 2000


def test_read_current_is_renamed():
    import calibrate.cli.options as c

    assert hasattr(c, "read_optional_config") and not hasattr(c, "read_current")
    assert c.read_optional_config(None) is None


def test_query_reaches_the_loader(tmp_path, capsys):
    """--query selects rows from a database: tree classify counts only the selected snapshot."""
    frame = pd.read_csv(bundled_data_path())
    db = tmp_path / "book.db"
    with sqlite3.connect(db) as con:
        frame.to_sql("book", con, index=False)
    first = str(frame["snapshot_date"].min())
    code, out, _ = run_cli(["tree", "classify", "--data", f"sqlite:///{db}",
                            "--query", f"SELECT * FROM book WHERE snapshot_date = '{first}'", "--json"], capsys)
    assert code == 0
    assert sum(json.loads(out)["counts"].values()) == int((frame["snapshot_date"] == first).sum())


# ---------------------------------------------------------------------------------------------
# exit 1 when a check fails (contract §3)
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def permuted_csv(tmp_path) -> Path:
    """The bundled book with outcomes shuffled across accounts: the score cannot separate renewals."""
    frame = pd.read_csv(bundled_data_path())
    rng = np.random.default_rng(3)
    acc = frame["account_id"].unique()
    outcome = dict(zip(acc, rng.permutation(frame.groupby("account_id")["renewed"].first().reindex(acc).to_numpy())))
    frame["renewed"] = frame["account_id"].map(outcome)
    path = tmp_path / "permuted.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("command", ["run", "fit"])
def test_run_and_fit_exit_1_when_the_score_does_not_separate(command, permuted_csv, workdir, capsys):
    code, out, _ = run_cli([command, "--data", str(permuted_csv), "--n-boot", "1000", "--json"], capsys)
    assert code == 1
    doc = json.loads(out)
    assert Path(doc["config_path"]).is_file()  # it ran: the config is published, the gate says it fails
    assert doc["predictive"] is False


def test_tiers_exit_reflects_the_tiers_own_checks(tmp_path, capsys):
    """Directions clean (pure noise: no signal points either way) but tiers unordered -> exit 1."""
    rng = np.random.default_rng(11)
    n = 800
    frame = pd.DataFrame({"account_id": [f"A{i:04d}" for i in range(n)], "snapshot_date": "2024-01-01",
                          "renewed": rng.binomial(1, 0.8, n),
                          **{d: rng.uniform(0, 100, n).round(1) for d in ("usage", "engagement", "support", "commercial")},
                          "csm_contacts_per_month": rng.uniform(0, 8, n).round(1)})
    path = tmp_path / "noise.csv"
    frame.to_csv(path, index=False)
    code, out, _ = run_cli(["tiers", "--data", str(path), "--n-boot", "1000", "--json"], capsys)
    doc = json.loads(out)
    assert doc["directions"]["passed"] is True and doc["tiers"]["passed"] is False
    assert code == 1 and doc["passed"] is False


# ---------------------------------------------------------------------------------------------
# issue 18 item 8: flags that can be turned off, one rule-tree group, honest help, no nan lines
# ---------------------------------------------------------------------------------------------
def test_require_monotone_can_be_turned_off_over_a_policy(tmp_path, capsys):
    from calibrate import fit_weights, load_accounts
    from calibrate.config.model import write_config
    from calibrate.fit.draft import build_config

    data = load_accounts(bundled_data_path())
    config = write_config(build_config(fit_weights(data), data).model_copy(update={"version": 1}).sealed(), tmp_path)
    policy = tmp_path / "policy.yaml"
    policy.write_text("require_monotone: true\n")
    args = ["check", "--data", str(bundled_data_path()), "--config", str(config), "--policy", str(policy),
            "--n-boot", "1000", "--json"]
    for flag, on in (([], True), (["--no-require-monotone"], False), (["--require-monotone"], True)):
        code, out, _ = run_cli([*args, *flag], capsys)
        doc = json.loads(out)
        assert code == 0 and ("monotone" in [c["name"] for c in doc["checks"]]) is on
        assert doc["policy"]["require_monotone"] is on


def test_rules_is_a_hidden_alias_of_tree(capsys):
    code, out, _ = run_cli(["--help"], capsys)
    commands = [line.split()[0] for line in out.split("Commands:")[1].splitlines() if line.strip()]
    assert code == 0 and "tree" in commands and "rules" not in commands
    assert cli.commands["rules"].hidden and cli.commands["rules"].commands is cli.commands["tree"].commands
    code, out, _ = run_cli(["rules", "validate", "--help"], capsys)
    assert code == 0 and "--min-spread" in out


def test_help_names_only_options_the_command_has(capsys):
    """`tree validate --min-spread` used to point to a --policy option that command does not have."""
    for path, cmd in _commands().items():
        names = {o for p in cmd.params for o in p.opts + p.secondary_opts}
        for p in cmd.params:
            mentioned = {w.strip(".,;:()`'") for w in (getattr(p, "help", "") or "").split() if w.startswith("--")}
            assert mentioned <= names, (path, p.opts[0], mentioned - names)


def test_tiers_summary_prints_no_nan(capsys):
    """Classes carry no probability, so no Brier/ECE/calibration slope line of nan."""
    import re

    code, out, _ = run_cli(["tiers", "--n-boot", "1000"], capsys)
    assert code == 1 and "AUC " in out and "Brier" not in out
    assert not re.search(r"\bnan\b", out)


# ---------------------------------------------------------------------------------------------
# the error boundary: 2 for input/usage/environment, 3 for a bug; --debug adds the traceback
# ---------------------------------------------------------------------------------------------
INTERNAL = ("calibrate: internal error: ZeroDivisionError: division by zero — rerun with --debug for the "
            "traceback and report it\n")


@pytest.fixture
def broken_config_reader(monkeypatch):
    """A bug inside calibrate: reading a config divides by zero."""
    import calibrate.config.model as model

    monkeypatch.setattr(model, "read_config", lambda *a, **k: 1 / 0)


def test_an_internal_error_is_exit_3_with_one_line(broken_config_reader, capsys, workdir):
    code, out, err = run_cli(["config", "validate", "c.json"], capsys)
    assert (code, out, err) == (3, "", INTERNAL)


def test_debug_shows_the_traceback(broken_config_reader, capsys, workdir):
    code, _, err = run_cli(["--debug", "config", "validate", "c.json"], capsys)
    assert code == 3 and err.startswith("Traceback (most recent call last):") and err.endswith(INTERNAL)
    assert "ZeroDivisionError: division by zero\n" in err
    code, _, err = run_cli(["--debug", "tree", "classify", "--data", "missing.csv"], capsys)  # input error: still 2
    assert code == 2 and "Traceback" in err and err.splitlines()[-1].startswith("calibrate: error: ")


def test_debug_is_off_unless_given(capsys, workdir):
    code, _, err = run_cli(["config", "validate", "missing.json"], capsys)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "config file not found" in err


def test_an_output_that_cannot_be_written_is_exit_2(tmp_path, capsys, workdir):
    (workdir / "taken").write_text("a file, not a directory")
    code, _, err = run_cli(["tree", "classify", "--out", "taken/classes.csv"], capsys)
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("calibrate: error: ") and "taken" in err
    assert "check the path, its permissions and the free disk space" in err


def test_a_missing_optional_dependency_is_exit_2(monkeypatch, capsys, workdir):
    import sys

    for name in [m for m in sys.modules if m == "mlflow" or m.startswith("mlflow.")] + ["mlflow"]:
        monkeypatch.setitem(sys.modules, name, None)  # as if mlflow were not installed (also if imported before)
    (workdir / "store").mkdir()
    (workdir / "store" / "mlflow.db").touch()  # a store exists: what is missing is the library
    code, _, err = run_cli(["promote", "--mlflow", "store"], capsys)
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("calibrate: error: missing optional dependency 'mlflow' (") and "pip install mlflow" in err


def test_a_broken_calibrate_import_is_a_bug_not_the_environment(monkeypatch, capsys, workdir):
    import sys

    monkeypatch.setitem(sys.modules, "calibrate.publish.registry", None)
    code, _, err = run_cli(["promote", "--mlflow", "store"], capsys)
    assert code == 3 and err.startswith("calibrate: internal error: ModuleNotFoundError: ")


def test_sheet_reaches_every_reader(tmp_path, capsys, workdir):
    frame = pd.read_csv(bundled_data_path())
    path = workdir / "book.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as w:
        frame.head(2).to_excel(w, sheet_name="readme", index=False)
        frame.to_excel(w, sheet_name="accounts", index=False)
    code, out, _ = run_cli(["tree", "classify", "--data", str(path), "--sheet", "accounts", "--json"], capsys)
    assert code == 0 and sum(json.loads(out)["counts"].values()) == len(frame)
    code, _, err = run_cli(["tree", "classify", "--data", str(path), "--sheet", "Q9"], capsys)
    assert code == 2 and "no sheet 'Q9'; the workbook has ['readme', 'accounts']" in err
    readers = [path for path, cmd in _commands().items()
               if path != "init" and any(p.name == "data" for p in cmd.params)]  # init profiles its own --data
    assert all(any(p.name == "sheet" for p in _commands()[r].params) for r in readers)


def test_an_inferred_date_format_is_said_on_stderr(capsys, workdir):
    frame = pd.read_csv(bundled_data_path())
    frame["renewal_date"] = pd.to_datetime(frame["renewal_date"]).dt.strftime("%d/%m/%Y")  # days > 12 occur
    frame.to_csv(workdir / "dayfirst.csv", index=False)
    code, out, err = run_cli(["tree", "classify", "--data", "dayfirst.csv", "--json"], capsys)
    assert code == 0 and sum(json.loads(out)["counts"].values()) == len(frame)
    assert "calibrate: note: column 'renewal_date': dates read as %d/%m/%Y (inferred over the whole column)\n" in err


def test_a_dimension_column_with_spaces_is_one_line_exit_2(capsys, workdir):
    frame = pd.read_csv(bundled_data_path()).rename(columns={"usage": "product usage"})
    frame.to_csv(workdir / "spaces.csv", index=False)
    code, out, err = run_cli(["fit", "--data", "spaces.csv", "--dimensions", "product usage,engagement,support,commercial"],
                             capsys)
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert "spaces.csv: dimension name 'product usage' is not an identifier" in err
    assert sorted(p.name for p in workdir.iterdir()) == ["spaces.csv"]  # nothing written
