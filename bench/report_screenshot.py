"""Open the report of a real `calibrate run` in headless Chromium: every image must load.

    python bench/report_screenshot.py [--out DIR] [--n-boot 1000] [--current]

Runs `calibrate run` on the bundled book in a temporary directory (with `--current`, a second run
against the first config, so the migration and current-vs-new sections are in the report), then:
1. dumps the DOM after a small inline script has recorded each image's naturalWidth/Height and
   fails (exit 1) if any image has a zero natural size or did not complete;
2. takes a full-page screenshot (PNG) and prints the report to PDF with the print CSS;
3. prints the verdict sentence, the image sizes and the output paths.
Exits 0 with a message when Chromium is not installed (`apt-get install -y chromium`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from calibrate.report.html import CHROMIUM_FLAGS, chromium, write_pdf  # noqa: E402

PROBE = """<script>
window.addEventListener("load", () => {
  const imgs = Array.from(document.images).map(i => ({alt: i.alt, w: i.naturalWidth, h: i.naturalHeight,
                                                      complete: i.complete}));
  document.body.setAttribute("data-images", JSON.stringify(imgs));
});
</script>"""


def run_calibrate(workdir: Path, n_boot: int, current: str | None) -> dict:
    args = [sys.executable, "-m", "calibrate", "run", "--json", "--quiet", "--n-boot", str(n_boot)]
    if current:
        args += ["--current", current]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(args, cwd=workdir, env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def probe_images(exe: str, report: Path, profile: str) -> list[dict]:
    probed = report.with_name("probe.html")
    probed.write_text(report.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=10000",
                          "--dump-dom", probed.as_uri()], check=True, capture_output=True, text=True, timeout=120).stdout
    found = re.search(r'data-images="([^"]*)"', dom)
    if not found:
        raise SystemExit("the probe script did not run: no data-images attribute in the dumped DOM")
    import html

    return json.loads(html.unescape(found.group(1)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="Keep the report, screenshot and PDF here.")
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--current", action="store_true", help="Second run against the first config.")
    opts = parser.parse_args()

    exe = chromium()
    if exe is None:
        print("report_screenshot: SKIPPED - Chromium is not installed (apt-get install -y chromium)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        result = run_calibrate(work, opts.n_boot, None)
        if opts.current:
            result = run_calibrate(work, opts.n_boot, result["config_path"])
        run_s = time.perf_counter() - t0
        report = work / result["report_path"]
        out = opts.out.resolve() if opts.out else work / "out"
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as profile:
            t1 = time.perf_counter()
            images = probe_images(exe, report, profile)
            shot = out / "report.png"
            subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--hide-scrollbars",
                            "--window-size=1100,6000", f"--screenshot={shot}", report.as_uri()],
                           check=True, capture_output=True, timeout=120)
            chrome_s = time.perf_counter() - t1
        pdf = write_pdf(report, out / "report.pdf")
        if opts.out:
            (out / "report.html").write_bytes(report.read_bytes())
        bad = [i for i in images if not (i["complete"] and i["w"] > 0 and i["h"] > 0)]
        print(f"verdict: {result['verdict']}")
        print(f"report: {report.stat().st_size / 1024:.0f} KiB, {len(images)} images; "
              f"calibrate run {run_s:.1f} s, chromium {chrome_s:.1f} s")
        for i in images:
            print(f"  {i['w']:>4} x {i['h']:<4} {'ok ' if i in images and i not in bad else 'BAD'} {i['alt']}")
        print(f"screenshot: {shot} ({shot.stat().st_size / 1024:.0f} KiB)"
              + (f"; pdf: {pdf} ({pdf.stat().st_size / 1024:.0f} KiB)" if pdf else "; pdf: not written"))
        if not images or bad:
            print(f"FAILED: {len(bad)} of {len(images)} images did not load")
            return 1
        print("OK: every image loaded with a non-zero natural size")
        return 0


if __name__ == "__main__":
    sys.exit(main())
