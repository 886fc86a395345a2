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
        assert sentence == result["headline"] and sentence.startswith(result["verdict"])
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
    first = ["Bands: do they separate renewals?", "Quarter by quarter: does the score keep separating renewals?",
             "Expected churned ARR at the next renewal"]
    then = ["Score distributions by outcome", "Calibration and discrimination", "Weights: current vs new"]
    end = ["Methods leaderboard", "The red book: does red catch churn?", "Data provenance",
           "Glossary: how to read the figures"]
    assert _headings(doc1) == first + then + end
    assert _headings(doc2) == first + ["Drift since the reference", "Adopt or keep? Current vs new weights on later data",
                                       *then, "Current config v1 on the same data", "Band migration: v1 → v2", *end]
    # band colours from the config, lowest-first table rows top band first
    for color in ("#22c55e", "#eab308", "#f97316", "#ef4444"):
        assert f"background:{color}" in doc1
    assert "<b>0</b> (0.0 %) change band" in doc2  # identical weights: nobody moves


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
    """A result the run carries as an attribute is one registered line; absent = no section; headers in words."""
    import calibrate as cb
    from calibrate.cli.options import bundled_data_path

    data = cb.load_accounts(str(bundled_data_path()))
    config = cb.read_config(runs["first"]["config_path"])
    fit = cb.fit_weights(data)
    validation = cb.validate(data, config, n_boot=200)
    result = cb.RunResult(config=config, config_path=Path("c.json"), report_path=Path("r.html"), mlflow_run_id="x",
                          fit=fit, validation=validation)

    class WithExtras:  # RunResult is frozen; a wrapper with the attributes stands in for a new field
        def __init__(self, base, **extra):
            self.__dict__.update({f: getattr(base, f) for f in base.__dataclass_fields__}, **extra)
            self._base = base

        def headline(self):
            return self._base.headline()

        predictive = property(lambda self: self._base.predictive)

    saved = dict(SECTIONS)
    try:
        register_section("board", result_section("board", "A new board"))
        register_section("broken", result_section("broken", "A broken figure"))
        register_section("absent", result_section("absent", "Absent"))
        doc = run_report(WithExtras(result, board=Board(), broken=Broken(), absent=None), data,
                         sections=["bands", "board", "broken", "absent", "provenance"],
                         extra={"Champion vs challenger": Board()})
    finally:
        SECTIONS.clear()
        SECTIONS.update(saved)
    heads = _headings(doc)
    assert heads == ["Bands: do they separate renewals?", "A new board", "A broken figure",
                     "Champion vs challenger", "Data provenance", "Glossary: how to read the figures"]
    assert re.search(r"<td[^>]*>simplex</td>", doc) and "0.812" in doc
    assert '<th><a href="#g-auc">AUC</a></th>' in doc  # the field auc, in words, linked to the glossary
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


# -- issue 15: the outputs a CS leader reads -------------------------------------------------------------------
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bundled(tmp_path_factory) -> dict:
    """The acceptance run: ``calibrate run --current data/account-health-v1.json`` in a temp dir (accounts included)."""
    work = tmp_path_factory.mktemp("bundled")
    before = os.getcwd()
    os.chdir(work)
    try:
        code, out, err = run_cli(["run", "--current", str(REPO / "data" / "account-health-v1.json"), "--n-boot", "1000",
                                  "--include-accounts"])
    finally:
        os.chdir(before)
    assert code == 0, err
    report = work / re.search(r"^report:\s+(\S+)$", out, re.M).group(1)
    return {"out": out, "html": report.read_text(encoding="utf-8"), "path": report, "work": work}


def _section(doc: str, heading: str) -> str:
    start = doc.index(f"<h2>{heading}</h2>")
    return doc[start:doc.index("</section>", start)]


def test_bundled_run_prints_the_verdict_with_the_drift_reason_first(bundled):
    """First line: does it predict, drift and why (engagement's mean move, in points, from the data), the decision."""
    frame = pd.read_csv(REPO / "data" / "cs_book.csv", parse_dates=["snapshot_date"])
    ref = frame.loc[frame["snapshot_date"].between("2024-01-01", "2025-04-01"), "engagement"].mean()
    new = frame.loc[frame["snapshot_date"].between("2025-07-01", "2025-10-01"), "engagement"].mean()
    first = bundled["out"].splitlines()[0]
    assert first.startswith("The score still predicts churn: green renews ")
    assert "recommendation: adopt v2" in first or "recommendation: keep v1" in first
    assert f"Drift: recalibrate — engagement moved down {ref - new:.0f} points on average ({ref:.1f} → {new:.1f}" in first
    # the default text is the meeting's; the statistical detail waits for --verbose
    assert "one-sided p=" not in bundled["out"] and "(--verbose adds" in bundled["out"]


def test_report_first_box_names_the_drift_verdict_and_engagement(bundled):
    doc = bundled["html"]
    assert doc.index('id="verdict"') < doc.index("<h2>")
    box = _verdict(doc)
    assert "Drift: recalibrate" in box and "engagement" in box


def _cells_outside_provenance(doc: str) -> list[str]:
    body = doc[:doc.index("<h2>Data provenance</h2>")]
    return [html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", body, re.S)]


def test_no_table_shows_a_field_name(bundled, runs):
    """No header or cell outside the provenance shows a snake_case field name (auc_low, missed_churn_arr...)."""
    from calibrate._labels import snake_case

    for doc in (bundled["html"], runs["html1"], runs["html2"]):
        cells = _cells_outside_provenance(doc)
        assert len(cells) > 100
        assert sorted({w for c in cells for w in snake_case(c)}) == []
        assert not any(c.strip().lower() == "nan" for c in cells)


def test_arr_reads_as_currency(bundled, runs):
    red = runs["second"]["validation"]["red"]
    section = _section(runs["html2"], "The red book: does red catch churn?")
    assert f"${red['missed_churn_arr']:,.0f}" in section
    churn = _section(bundled["html"], "Expected churned ARR at the next renewal")
    assert re.search(r"<b>\$\d{1,3}(,\d{3})+</b> of \$\d{1,3}(,\d{3})+ ARR", churn)


def test_per_quarter_section_matches_independent_figures(runs):
    """Each quarter's AUC equals scikit-learn's on that quarter's rows; its band rates' intervals equal statsmodels' Wilson."""
    from sklearn.metrics import roc_auc_score
    from statsmodels.stats.proportion import proportion_confint

    import calibrate as cb
    from calibrate.cli.options import bundled_data_path
    from calibrate.score.scorer import score_frame

    data = cb.load_accounts(str(bundled_data_path()))
    config = cb.read_config(runs["first"]["config_path"])
    s = score_frame(data.frame, config, contributions=False, by="name")
    quarter = data.frame["snapshot_date"].dt.to_period("Q").astype(str)
    section = _section(runs["html1"], "Quarter by quarter: does the score keep separating renewals?")
    assert "<img" in section
    rows = {r[0]: r for r in (re.findall(r"<td[^>]*>(.*?)</td>", tr) for tr in re.findall(r"<tr>(.*?)</tr>", section))
            if r}
    assert sorted(rows) == sorted(quarter.unique()) and len(rows) == 8
    green = len(config.bands) - 1
    for q, cells in rows.items():
        m = (quarter == q).to_numpy()
        y = data.frame.loc[m, "renewed"].to_numpy()
        auc = roc_auc_score(y, s.loc[m, "score"])
        assert cells[3].startswith(f"{auc:.3f} (")
        top = m & (s["band_index"] == green).to_numpy()
        k, n = int(data.frame.loc[top, "renewed"].sum()), int(top.sum())
        lo, hi = proportion_confint(k, n, method="wilson")
        assert html.unescape(cells[5]) == f"{100 * k / n:.0f} % ({100 * lo:.0f}–{100 * hi:.0f})"


def test_expected_churned_arr_matches_a_simulation():
    """Σ arr·(1 − p) and its 95 % interval agree with 20,000 simulated renewals of the same accounts."""
    import numpy as np

    from calibrate.report.sections import expected_churned_arr

    rng = np.random.default_rng(7)
    n = 400
    frame = pd.DataFrame({"arr": rng.lognormal(10, 1, n)})
    p = rng.uniform(0.3, 0.99, n)
    band = rng.integers(0, 3, n)
    table = expected_churned_arr(frame, p, band, ["red", "amber", "green"]).set_index("band")
    sims = (rng.random((20_000, n)) > p) @ frame["arr"].to_numpy()  # churned ARR of each simulated renewal
    total = table.loc["total"]
    assert total["expected_churned_arr"] == pytest.approx(sims.mean(), rel=0.01)
    assert total["ci_low"] == pytest.approx(np.quantile(sims, 0.025), rel=0.03)
    assert total["ci_high"] == pytest.approx(np.quantile(sims, 0.975), rel=0.03)
    assert table.loc[["green", "amber", "red"], "expected_churned_arr"].sum() == pytest.approx(total["expected_churned_arr"])
    with pytest.raises(ValueError, match=r"confidence must be 0.95; got 0.9."):
        expected_churned_arr(frame, p, band, ["red", "amber", "green"], confidence=0.9)


def test_red_accounts_only_with_include_accounts_and_under_a_banner(bundled, runs):
    import calibrate as cb
    from calibrate.cli.options import bundled_data_path
    from calibrate.score.scorer import score_frame

    assert "Red accounts to act on" not in runs["html1"] and 'id="accounts-banner"' not in runs["html1"]
    doc = bundled["html"]
    assert doc.index('id="accounts-banner"') < doc.index('id="verdict"')
    data = cb.load_accounts(str(bundled_data_path()))
    config = cb.read_config(next((bundled["work"] / "configs").glob("*-v2.json")))
    s = score_frame(data.frame, config, contributions=False, by="name")
    latest = (data.frame["snapshot_date"] == data.frame["snapshot_date"].max()).to_numpy()
    red = [b.name for b in config.bands].index(config.red_band)
    n_red = int((latest & (s["band_index"] <= red).to_numpy()).sum())
    section = _section(doc, "Red accounts to act on")
    assert f"{n_red:,} accounts are red or below at the latest snapshot" in section
    assert "top reason" in section and "no owner column" in section


def test_a_band_renewing_100_and_one_renewing_0_render(tmp_path, monkeypatch):
    """A Wilson bound a rounding error inside the rate (0.9999999999999999 at 100 %) draws no bar, never fails;
    every figure of the report has a title and both axis labels."""
    import calibrate as cb
    from calibrate.report import base
    from calibrate.cli.options import bundled_data_path
    from calibrate.score.scorer import score_frame

    config = cb.read_config(REPO / "data" / "account-health-v1.json")
    frame = cb.load_accounts(str(bundled_data_path())).frame.copy()
    band = score_frame(frame, config, contributions=False, by="name")["band_index"].to_numpy()
    frame.loc[band == len(config.bands) - 1, "renewed"] = 1
    frame.loc[band == 0, "renewed"] = 0
    data = cb.load_accounts(frame)
    v = cb.validate(data, config, n_boot=200)
    assert v.bands[-1].renewal_rate == 1.0 and v.bands[0].renewal_rate == 0.0
    result = cb.RunResult(config=config, config_path=Path("c"), report_path=Path("r"), mlflow_run_id="x",
                          fit=None, validation=v)  # type: ignore[arg-type]
    drawn = []
    real = base.figure_png
    monkeypatch.setattr(base, "figure_png", lambda ax: drawn.append(ax) or real(ax))
    doc = run_report(result, data)
    assert len(drawn) == doc.count("<img") >= 6
    for ax in drawn:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel(), (ax.get_title(), ax.get_xlabel(), ax.get_ylabel())
    table = _section(doc, "Bands: do they separate renewals?")
    assert "100.0 %" in table and ">0.0 %<" in table


def test_report_reads_at_900_and_1280_px_in_chromium(bundled, tmp_path_factory):
    """Playwright drives Debian's Chromium: no horizontal scroll at 900 and 1,280 px, every image loads; screenshots kept."""
    from calibrate.report.html import chromium

    exe = chromium()
    if exe is None:
        pytest.skip("Chromium is not installed (.ci/system-packages.sh installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    shots = tmp_path_factory.mktemp("report-screenshots")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        try:
            for width in (900, 1280):
                page = browser.new_page(viewport={"width": width, "height": 1000})
                page.goto(bundled["path"].as_uri())
                page.wait_for_load_state("load")
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                images = page.evaluate("Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth])")
                assert len(images) >= 8 and all(done and w > 0 for _, done, w in images), images
                page.screenshot(path=str(shots / f"report-{width}.png"), full_page=True)
                page.close()
        finally:
            browser.close()
    assert all((shots / f"report-{w}.png").stat().st_size > 10_000 for w in (900, 1280))
    print(f"report screenshots kept in {shots}")


def test_expected_churn_without_arr_counts_accounts_not_dollars():
    """No ``arr`` column: the section counts expected churns (each account weighs 1), never prints dollars."""
    import calibrate as cb
    from calibrate.report.sections import expected_churn_section
    from conftest import logistic_book

    book = logistic_book(2000, seed=3)
    data = cb.load_accounts(book.drop(columns="arr"))
    run = cb.recalibrate(data, n_boot=1000, n_boot_weights=10, dry_run=True)
    section = expected_churn_section(run, data)
    assert section.title == "Expected churns at the next renewal" and "$" not in section.body
    p = cb.score_frame(book, run.config)["p_renew"].to_numpy()
    expected = f"<b>{(1 - p).sum():,.0f}</b> are expected to churn"
    assert expected in section.body and "no <code>arr</code>" in section.body
    with_arr = expected_churn_section(run, cb.load_accounts(book))
    assert with_arr.title == "Expected churned ARR at the next renewal" and "$" in with_arr.body


def test_report_scores_each_config_once(monkeypatch):
    """Inside scores_shared a repeated scored() is the same frame; outside it every call scores afresh."""
    import calibrate as cb
    from calibrate.report.base import scored, scores_shared
    from calibrate.score import scorer
    from conftest import logistic_book

    data = cb.load_accounts(logistic_book(500, seed=1))
    cfg = cb.read_config(REPO / "data" / "account-health-v1.json")
    calls = []
    real = scorer.score_frame
    monkeypatch.setattr(scorer, "score_frame", lambda *a, **k: calls.append(1) or real(*a, **k))
    with scores_shared():
        first = scored(data, cfg)
        assert scored(data, cfg) is first and len(calls) == 1
        scored(data, cfg, contributions=True)
        scored(data, cfg.model_copy(update={"missing": "redistribute"}))
        assert len(calls) == 3
    pd.testing.assert_frame_equal(scored(data, cfg), first)
    assert len(calls) == 4


def test_leaderboard_section_names_its_folds_and_reads_a_share_above_the_ceiling():
    """Grouped folds are not called an out-of-time split; a share above 100 % of the additive ceiling is explained."""
    from types import SimpleNamespace

    import calibrate as cb
    from calibrate.compare.methods import leaderboard
    from calibrate.report.sections import leaderboard_section
    from conftest import logistic_book

    data = cb.load_accounts(logistic_book(1500, seed=4).drop(columns=["snapshot_date", "renewal_date"]))
    board = leaderboard(data, n_boot=200)
    body = leaderboard_section(SimpleNamespace(leaderboard=board), data).body
    assert f"the same {len(board.folds)} folds grouped by account" in body and "out-of-time" not in body
    low = replace(board, methods=tuple(replace(m, auc=(0.51, 0.5, 0.52)) if m.method == "additive" else m
                                       for m in board.methods))
    assert low.share_of_additive("simplex") > 1
    assert "Above 100 %" in leaderboard_section(SimpleNamespace(leaderboard=low), data).body
    assert ("Above 100 %" in body) == (max(board.share_of_additive(m) for m in ("simplex", "learned")) > 1)
