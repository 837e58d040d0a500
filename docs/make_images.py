"""Regenerate the README's images (``make readme-images``) from a fresh Kutim comparison.

Runs ``pilkada-sim compare`` on the bundled Kutim scenario (20 replications, its seed) with the
report in Bahasa Indonesia, copies two charts to docs/img/, and screenshots the first screen of
briefing.html in headless Chromium (Debian's package) as docs/img/briefing.png; plays the bundled
Kutim exercise and copies its timeline chart as docs/img/exercise_timeline.png.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from sim.cli import main as cli

ROOT = Path(__file__).resolve().parent.parent
IMG = ROOT / "docs" / "img"


def main() -> int:
    IMG.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        code = cli(
            [
                "compare",
                str(ROOT / "scenarios/kutim-2024.yaml"),
                "--baseline",
                "pemilu2024",
                "--reps",
                "20",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        if code:
            return code
        for name in ("response_ecdf", "map"):
            shutil.copy(out / "charts" / f"{name}.png", IMG / f"{name}.png")
        exercise = Path(tmp) / "exercise"
        code = cli(
            [
                "exercise",
                str(ROOT / "scenarios/kutim-2024.yaml"),
                "--injects",
                str(ROOT / "scenarios/exercises/kutim-latihan-pra-operasi.csv"),
                "--plan",
                "pemilu2024",
                "--out",
                str(exercise),
                "--quiet",
            ]
        )
        if code:
            return code
        shutil.copy(exercise / "charts" / "timeline.png", IMG / "exercise_timeline.png")
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if chromium is None:
            print("no chromium: docs/img/briefing.png not updated (apt-get install chromium)", file=sys.stderr)
            return 1
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={Path(tmp) / 'profile'}",
                "--hide-scrollbars",
                "--window-size=1200,1500",
                f"--screenshot={IMG / 'briefing.png'}",
                (out / "briefing.html").as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    print(f"updated {', '.join(p.name for p in sorted(IMG.glob('*.png')))} in {IMG}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
