"""``calibrate explore``: the API answers with ``calibrate validate``'s figures, refuses bad input, and the page works
in a real browser (Playwright driving Debian's Chromium)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from calibrate import load_accounts, write_config
from calibrate.config.model import read_config
from calibrate.data.datasets import load_book
from calibrate.explore.server import make_server
from calibrate.explore.session import Explorer
from calibrate.fit.draft import build_config
from calibrate.fit.weights import fit_weights
from calibrate.publish.export import scoring_spec
from calibrate.score.scorer import score_frame

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BODY = {"weights": {"usage": 0.55, "engagement": 0.05, "support": 0.25, "commercial": 0.15}, "cuts": [30.0, 45.0, 80.0]}


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "calibrate", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The bundled book as a CSV and a published config fitted on it."""
    root = tmp_path_factory.mktemp("explore")
    book = load_book()
    book.to_csv(root / "book.csv", index=False)
    data = load_accounts(book)
    path = write_config(build_config(fit_weights(data), data).model_copy(update={"version": 1}), root / "configs")
    cfg = read_config(path)
    accounts = load_accounts(root / "book.csv", spec=scoring_spec(cfg), allow_pending=True)  # as validate loads it
    return {"root": root, "config_path": path, "explorer": Explorer(accounts, cfg, n_boot=1000, seed=0)}


@pytest.fixture(scope="module")
def server(project):
    srv = make_server(project["explorer"], port=0, draft_path=project["root"] / "draft.json")
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def request(url: str, body: object = None, *, raw: bytes | None = None, headers: dict | None = None) -> tuple[int, dict]:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_evaluate_answers_what_validate_says(project, server):
    status, got = request(server + "/api/evaluate", BODY)
    assert status == 200, got
    cfg = project["explorer"].candidate(BODY)
    path = write_config(cfg.model_copy(update={"name": "what-if", "version": 1}), project["root"] / "whatif")
    res = cli("validate", "--data", "book.csv", "--config", str(path), "--n-boot", "1000", "--seed", "0", "--json",
              cwd=project["root"])
    assert res.returncode == 0, res.stderr
    want = json.loads(res.stdout)
    assert abs(got["auc"] - want["auc"]["value"]) <= 1e-9 and abs(got["spread"] - want["spread"]["value"]) <= 1e-9
    np.testing.assert_allclose(got["spread_ci"], [want["spread"]["ci_low"], want["spread"]["ci_high"]], rtol=0, atol=1e-9)
    np.testing.assert_allclose(got["auc_ci"], [want["auc"]["ci_low"], want["auc"]["ci_high"]], rtol=0, atol=1e-9)
    assert [b["name"] for b in got["bands"]] == [b["name"] for b in want["bands"]] == got["band_names"]
    for mine, theirs in zip(got["bands"], want["bands"]):
        assert abs(mine["share"] - theirs["share"]) <= 1e-9 and 0 <= mine["share"] <= 1
        assert abs(mine["renewal_rate"] - theirs["renewal_rate"]) <= 1e-9 and 0 <= mine["renewal_rate"] <= 1
    # the migration matrix: a crosstab of the two configs' bands, counted independently
    frame = project["explorer"].data.frame
    before = score_frame(frame, read_config(project["config_path"]), by="name")["band"]
    after = score_frame(frame, cfg, by="name")["band"]
    names = got["band_names"]
    table = pd.crosstab(before, after).reindex(index=names, columns=names, fill_value=0)
    assert got["migration"] == table.to_numpy().tolist() and sum(map(sum, got["migration"])) == len(frame)
    assert got["cuts"] == BODY["cuts"] and got["weights"] == pytest.approx(BODY["weights"], abs=1e-15)
    renewed = frame["renewed"].to_numpy()
    assert sum(got["distribution"]["renewed"]) == int((renewed == 1).sum())


@pytest.mark.parametrize(("body", "message"), [
    ({"weights": {"usage": 1.0}, "cuts": [25, 50, 75]}, "weights must name exactly the dimensions"),
    ({**BODY, "weights": {**BODY["weights"], "usage": 0.9}}, "weights must sum to 1"),
    ({**BODY, "weights": {**BODY["weights"], "usage": -0.1, "engagement": 0.7}}, "weights must be >= 0"),
    ({**BODY, "weights": {**BODY["weights"], "usage": "0.55"}}, "weight of 'usage' must be a finite number"),
    ({**BODY, "cuts": [50, 40, 80]}, "cuts must be strictly increasing and inside (0, 100)"),
    ({**BODY, "cuts": [25, 50]}, "cuts must be a list of 3 band edges"),
    ({**BODY, "extra": 1}, 'the body must be a JSON object {"weights"'),
    ([1, 2], 'the body must be a JSON object {"weights"'),
])
def test_bad_bodies_are_refused_with_400(server, body, message):
    status, payload = request(server + "/api/evaluate", body)
    assert status == 400 and message in payload["error"]


def test_not_json_other_hosts_and_unknown_paths(server):
    status, payload = request(server + "/api/evaluate", raw=b'{"weights": NaN')
    assert status == 400 and payload["error"].startswith("the body is not JSON")
    status, payload = request(server + "/api/evaluate", raw=b'{"weights": {"usage": NaN}, "cuts": []}')
    assert status == 400
    status, payload = request(server + "/api/state", headers={"Host": "attacker.example"})
    assert status == 403 and "host 'attacker.example' refused" in payload["error"]
    assert request(server + "/api/nothing")[0] == 404
    status, payload = request(server + "/api/evaluate", raw=b"")
    assert status == 400 and payload["error"].startswith("send a JSON body of 1 to 65536 bytes")


def test_draft_is_sealed_by_config_publish(project, server):
    status, payload = request(server + "/api/draft", BODY)
    assert status == 200 and payload["next"] == f"calibrate config publish {payload['path']}"
    draft = json.loads(Path(payload["path"]).read_text())
    assert draft["version"] == 0 and draft.get("content_hash") is None
    res = cli("config", "publish", payload["path"], "--configs", "published", "--json", cwd=project["root"])
    assert res.returncode == 0, res.stderr
    sealed = read_config(project["root"] / json.loads(res.stdout)["path"])
    assert sealed.content_hash == sealed.compute_hash() and sealed.weights == pytest.approx(BODY["weights"], abs=1e-15)
    assert [b.min for b in sealed.bands[1:]] == BODY["cuts"] and sealed.parent_version == 1


def test_bad_cli_input_is_one_line_exit_2(project):
    res = cli("explore", "--data", "missing.csv", "--config", str(project["config_path"]), cwd=project["root"])
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and "missing.csv" in res.stderr
    res = cli("explore", "--data", "book.csv", "--config", str(project["config_path"]), "--port", "70000",
              cwd=project["root"])
    assert res.returncode == 2 and "70000 is not in the range 0<=x<=65535" in res.stderr


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"Debian's Chromium is not installed ({CHROMIUM}); "
                    "CI installs it with .ci/system-packages.sh")
def test_page_in_a_real_browser(server):
    from playwright.sync_api import expect, sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server + "/")
            auc = page.locator("#auc")
            expect(auc).to_have_attribute("data-request", re.compile("weights"), timeout=120_000)
            before = auc.text_content()
            page.fill("#w-engagement", "20")  # engagement to 0.02: the others take up the rest
            expect(auc).to_have_attribute("data-request", re.compile(r'"engagement":0\.0[12]'), timeout=120_000)
            sent = json.loads(auc.get_attribute("data-request"))
            shown = auc.text_content()
        finally:
            browser.close()
    assert sum(sent["weights"].values()) == pytest.approx(1.0, abs=1e-12)
    status, api = request(server + "/api/evaluate", sent)
    assert status == 200 and shown == f"{api['auc']:.4f}" and shown != before
    assert errors == []
