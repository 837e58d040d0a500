"""The briefing as a person sees it: headless Chromium renders briefing.html; the screenshot is not blank."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import CHROMIUM, chromium_command
from matplotlib.image import imread

from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (.ci/run installs Debian's)")
def test_briefing_renders_in_a_real_browser(tmp_path):
    out = tmp_path / "run"
    assert (
        main(
            [
                "run",
                str(ROOT / "scenarios/teaching-hoax.yaml"),
                "--reps",
                "3",
                "--workers",
                "1",
                "--out",
                str(out),
                "--quiet",
                "--no-report",
            ]
        )
        == 0
    )
    assert main(["report", str(out), "--formats", "html"]) == 0
    shot = tmp_path / "shot.png"
    cmd = chromium_command(tmp_path / "profile", 1280, 1600, f"--screenshot={shot}", (out / "briefing.html").as_uri())
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    img = imread(shot)
    assert img.shape[0] >= 1000 and img.shape[1] >= 1200
    gray = img[..., :3].mean(axis=2)
    assert gray.std() > 0.05  # text, tables and charts, not an empty page
    assert (gray < 0.5).mean() > 0.005  # some dark ink (text) on the page
