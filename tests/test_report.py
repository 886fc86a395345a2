"""The HTML report of a run: verdict with the real figures, every section, self-contained, prints; progress."""

from __future__ import annotations

import base64
import contextlib
import html
import io
import json
import os
import re
import struct
from dataclasses import replace
from pathlib import Path
from unittest import mock

import pandas as pd
import pytest

from calibrate import _progress as progress
from calibrate.cli import main
from calibrate.report.html import SECTIONS, Section, object_html, register_section, result_section, run_report, write_pdf


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_cli(args: list[str], *, tty: bool = False) -> tuple[int, str, str]:
    """Run ``calibrate`` in-process; stderr is a terminal when ``tty`` (and CI is unset)."""
    out, err = io.StringIO(), FakeTTY() if tty else io.StringIO()
    env = {k: v for k, v in os.environ.items() if k not in {"CI", "CALIBRATE_QUIET"}} | {"COLUMNS": "160"}
    with mock.patch.dict(os.environ, env, clear=True), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        with pytest.raises(SystemExit) as info:
            main(args)
    progress.set_quiet(False)
    return info.value.code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """Two runs on the bundled book: v1 from scratch (stderr a terminal), v2 against v1 with --quiet."""
    root = tmp_path_factory.mktemp("runs")
    dirs = ["--configs", str(root / "configs"), "--reports", str(root / "reports"), "--mlflow", str(root / "mlflow")]
    code1, out1, err1 = run_cli(["run", "--json", "--n-boot", "1000", *dirs], tty=True)
    first = json.loads(out1)
    # another seed draws other intervals, so the second run publishes v2 (an identical rerun would publish nothing)
    code2, out2, err2 = run_cli(["run", "--json", "--quiet", "--n-boot", "1000", "--seed", "2", "--current",
                                 first["config_path"], *dirs], tty=True)
    second = json.loads(out2)
    assert code1 == code2 == 0
    return {"first": first, "second": second, "err1": err1, "err2": err2,
            "html1": Path(first["report_path"]).read_text(encoding="utf-8"),
            "html2": Path(second["report_path"]).read_text(encoding="utf-8")}


def _verdict(doc: str) -> str:
    found = re.search(r'<p class="verdict" id="verdict">(.*?)</p>', doc, re.S)
    assert found, "no verdict paragraph"
    return html.unescape(found.group(1))


def _headings(doc: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r"<h2>(.*?)</h2>", doc)]


def test_verdict_states_the_real_figures(runs):
    """The sentence a leader repeats, read from the HTML, equals the figures of the --json output."""
    for key, doc in (("first", runs["html1"]), ("second", runs["html2"])):
        result = runs[key]
        sentence = _verdict(doc)
        assert sentence == result["verdict"]
        bands = {b["name"]: b for b in result["validation"]["bands"]}
        quoted = re.findall(r"(\w+)(?: renews)? (\d+) % \[(\d+)–(\d+)\]", sentence)
        assert [q[0] for q in quoted] == ["green", "red"]
        for name, rate, lo, hi in quoted:
            b = bands[name]
            assert (int(rate), int(lo), int(hi)) == (round(100 * b["renewal_rate"]), round(100 * b["ci_low"]),
                                                     round(100 * b["ci_high"]))
        assert sentence.startswith("The score predicts churn" if key == "first" else "The score still predicts churn")
    assert runs["first"]["verdict"].endswith("recommendation: no current config to compare.")
    # v2 refits the same data: the champion/challenger test on later data finds no gain, so keep v1
    assert "recommendation: keep v1 (log-loss gain" in runs["second"]["verdict"]
    assert runs["second"]["recommendation"]["decision"] == "keep current"


def test_verdict_comes_first_then_every_section(runs):
    doc1, doc2 = runs["html1"], runs["html2"]
    assert doc1.index('class="verdict"') < doc1.index("<h2>")
    base = ["Bands: do they separate renewals?", "Score distributions by outcome", "Calibration and discrimination",
            "Weights: current vs new", "Data provenance"]
    assert _headings(doc1) == base[:4] + ["Methods leaderboard", "Red accounts", "Data provenance"]
    assert _headings(doc2) == base[:4] + ["Current config v1 on the same data", "Band migration: current → new",
                                          "Methods leaderboard", "Adopt or keep? Champion vs challenger",
                                          "Drift since the reference", "Red accounts", "Data provenance"]
    # band colours from the config, lowest-first table rows top band first
    for color in ("#22c55e", "#eab308", "#f97316", "#ef4444"):
        assert f"background:{color}" in doc1
    assert "<b>0</b> (0.0%) change band" in doc2  # identical weights: nobody moves


def test_report_is_self_contained_and_every_image_decodes(runs):
    for doc in (runs["html1"], runs["html2"]):
        assert "<link" not in doc and "<script" not in doc and "http://" not in doc and "https://" not in doc
        srcs = re.findall(r'<img alt="[^"]+" src="([^"]+)"', doc)
        assert len(srcs) == doc.count("<img") >= 5
        for src in srcs:
            assert src.startswith("data:image/png;base64,")
            png = base64.b64decode(src.split(",", 1)[1])
            assert png[:8] == b"\x89PNG\r\n\x1a\n"
            width, height = struct.unpack(">II", png[16:24])  # IHDR: the natural size
            assert width > 100 and height > 100
        assert "@media print" in doc and "@page" in doc


def test_report_holds_no_account_rows(runs):
    from calibrate.cli.options import bundled_data_path

    ids = pd.read_csv(bundled_data_path(), usecols=["account_id"])["account_id"].unique()
    for doc in (runs["html1"], runs["html2"]):
        assert not any(i in doc for i in ids[:200])


def _final_rows(drawn: str) -> list[str]:
    """The rows a terminal shows once a live display has stopped (ANSI codes and redraws removed)."""
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn)
    return [line.split("\r")[-1].rstrip() for line in text.split("\n") if line.split("\r")[-1].strip()]


def _done(rows: list[str], label: str) -> bool:
    return any(re.fullmatch(rf"✓ {re.escape(label)} +━+ 100% \d+:\d\d:\d\d", row) for row in rows)


def test_progress_on_a_terminal_silent_with_quiet(runs):
    rows = _final_rows(runs["err1"])
    assert _done(rows, "fitting weights on 15,520 rows")
    assert _done(rows, "validating (1,000 bootstrap resamples of 3,500 accounts)")
    assert _done(rows, "writing the report")  # nested in the publishing step: a row of its own
    assert _done(rows, "publishing the config, the report and the MLflow run")
    assert "✓" not in runs["err2"] and "━" not in runs["err2"]  # --quiet: no progress (MLflow's messages are not ours)


class Board:
    """A stand-in for a result the lead will attach to RunResult (leaderboard, drift, red metrics)."""

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"method": ["simplex", "logit"], "auc": [0.81234, 0.80111]})

    def plot(self, ax=None):
        ax.bar([0, 1], [0.81234, 0.80111])
        return ax


class Broken(Board):
    def plot(self, ax=None):
        raise RuntimeError("no figure")


def test_optional_sections_render_when_the_run_carries_them(runs, tmp_path):
    """Leaderboard, drift and red metrics are duck-typed attributes of the run; absent = no section."""
    import calibrate as cb
    from calibrate.cli.options import bundled_data_path

    data = cb.load_accounts(str(bundled_data_path()))
    config = cb.read_config(runs["first"]["config_path"])
    fit = cb.fit_weights(data)
    validation = cb.validate(data, config, n_boot=200)
    result = cb.RunResult(config=config, config_path=Path("c.json"), report_path=Path("r.html"), mlflow_run_id="x",
                          fit=fit, validation=validation)

    class WithExtras:  # RunResult is frozen; a wrapper with the attributes stands in for the lead's new fields
        def __init__(self, base, **extra):
            self.__dict__.update({f: getattr(base, f) for f in base.__dataclass_fields__}, **extra)
            self._base = base

        def verdict(self):
            return self._base.verdict()

        predictive = property(lambda self: self._base.predictive)

    doc = run_report(WithExtras(result, leaderboard=Board(), drift=Broken(), red_metrics=None), data,
                     sections=["bands", "leaderboard", "drift", "red_metrics", "provenance"],
                     extra={"Champion vs challenger": Board()})
    heads = _headings(doc)
    assert heads == ["Bands: do they separate renewals?", "Methods leaderboard", "Drift since the reference",
                     "Champion vs challenger", "Data provenance"]
    assert "<td>simplex</td>" in doc and "0.812" in doc
    assert "(figure unavailable: RuntimeError)" in doc  # a failing plot does not cost the report


def test_register_section_order_and_replacement():
    saved = dict(SECTIONS)
    try:
        register_section("custom", lambda r, d: Section("Custom", "<p>x</p>"))
        assert list(SECTIONS)[-2:] == ["custom", "provenance"]  # provenance stays last
        register_section("first", lambda r, d: None, before="bands")
        assert list(SECTIONS)[0] == "first"
        register_section("custom", lambda r, d: None)  # replaced in place
        assert list(SECTIONS)[-2] == "custom"
        assert result_section("nothing", "Nothing")(object(), None) is None
    finally:
        SECTIONS.clear()
        SECTIONS.update(saved)


def test_object_html_escapes_text():
    class Evil:
        def to_frame(self):
            return pd.DataFrame({"name": ["<script>alert(1)</script>"]})

    out = object_html(Evil())
    assert "<script>" not in out and "&lt;script&gt;" in out


def test_render_report_escapes_every_field_but_trusted_bodies():
    from calibrate.report.html import render_report

    evil = "<script>alert('x')</script>"
    doc = render_report(title=evil, subtitle=evil, verdict=evil, verdict_ok=False,
                        sections=[Section(evil, "<p><b>trusted</b></p>")])
    assert "<script>" not in doc and doc.count("&lt;script&gt;alert(") == 5  # <title>, <h1>, subtitle, verdict, <h2>
    assert "<p><b>trusted</b></p>" in doc and "border-left: 6px solid #dc2626" in doc
    assert doc.endswith("</html>\n")


def test_verdict_when_the_score_fails(runs):
    import calibrate as cb

    config = cb.read_config(runs["first"]["config_path"])
    v = cb.validate(cb.load_accounts(str(cb.data.datasets.package_book_path())), config, n_boot=200)
    flat = replace(v, spread_ci=(-0.02, 0.05))
    result = cb.RunResult(config=config, config_path=Path("c"), report_path=Path("r"), mlflow_run_id="x",
                          fit=None, validation=flat)  # type: ignore[arg-type]
    assert result.verdict().startswith("The score does NOT reliably predict churn: green renews")
    assert result.verdict().endswith(f"recommendation: do not adopt v{config.version}; review the dimensions.")
    better = replace(result, current=config.model_copy(update={"version": 0}), validation=v,
                     current_validation=replace(v, auc=v.auc - 0.05))
    assert f"recommendation: adopt v{config.version} (AUC {v.auc:.2f} vs {v.auc - 0.05:.2f} for v0)." in better.verdict()


def test_write_pdf_prints_the_report(runs, tmp_path):
    from calibrate.report.html import chromium

    if chromium() is None:
        assert write_pdf(runs["first"]["report_path"], tmp_path / "r.pdf") is None
        pytest.skip("Chromium not installed: write_pdf returns None")
    pdf = write_pdf(runs["first"]["report_path"], tmp_path / "r.pdf")
    assert pdf is not None and pdf.read_bytes()[:5] == b"%PDF-"


def test_progress_enabled_only_on_a_terminal(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("CALIBRATE_QUIET", raising=False)
    assert progress.enabled(FakeTTY()) and not progress.enabled(io.StringIO())
    monkeypatch.setenv("CI", "true")
    assert not progress.enabled(FakeTTY())
    monkeypatch.delenv("CI")
    progress.set_quiet(True)
    try:
        assert not progress.enabled(FakeTTY())
    finally:
        progress.set_quiet(False)


def test_progress_step_and_iterate_output(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("CALIBRATE_QUIET", raising=False)
    monkeypatch.setenv("COLUMNS", "100")
    tty = FakeTTY()
    with progress.step("outer [x]", stream=tty):
        assert list(progress.iterate(range(4), label="resamples", stream=tty)) == [0, 1, 2, 3]
        assert list(progress.iterate(iter("ab"), label="no length", stream=tty)) == ["a", "b"]
    with pytest.raises(ValueError), progress.step("boom", stream=tty):
        raise ValueError
    rows = _final_rows(tty.getvalue())
    assert _done(rows, "outer [x]") and _done(rows, "resamples") and _done(rows, "no length")  # markup not parsed
    assert any(re.fullmatch(r"[^✓] boom — failed +━+ +\d+:\d\d:\d\d", row) for row in rows)  # no 100 %
    assert tty.getvalue().count("✓ outer [x]") == 1  # the outer row is final once, after its inner rows
    quiet = io.StringIO()  # not a terminal: nothing written, items unchanged
    with progress.step("x", stream=quiet):
        assert list(progress.iterate("abc", label="y", stream=quiet)) == ["a", "b", "c"]
    assert quiet.getvalue() == ""
