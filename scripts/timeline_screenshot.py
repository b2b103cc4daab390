"""Take the README's screenshot: the demo's timeline in headless Chromium.

Records `ledger demo` into a fresh SQLite ledger, writes
`ledger report timeline --partner DEMO-CONTOSO --on 2021-06-01`, opens it at
1280x800 and saves the part of the page that is drawn as a PNG.

Usage:
    python scripts/timeline_screenshot.py [docs/timeline.png]
"""

from __future__ import annotations

import base64
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.browser import Browser, find_chromium

ON = "2021-06-01"
ACTOR = "admin@contoso.example"


def main(out: Path) -> None:
    binary = find_chromium()
    if binary is None:
        sys.exit("no chromium: apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as tmp:
        ledger = [str(Path(sys.executable).with_name("ledger")), "--db"]
        ledger.append(f"sqlite:///{tmp}/demo.db")
        subprocess.run([*ledger, "--actor", ACTOR, "demo"], check=True, text=True,
                       capture_output=True)  # fmt: skip
        page = Path(tmp) / "timeline.html"
        subprocess.run(
            [*ledger, "report", "timeline", "--partner", "DEMO-CONTOSO", "--on", ON,
             "--out", str(page)],
            check=True, capture_output=True,
        )  # fmt: skip
        browser = Browser(binary, f"{tmp}/profile", 1280, 800)
        try:
            browser.open(page.as_uri())
            height = browser.evaluate(
                "Math.ceil(document.querySelector('svg')"
                ".getBoundingClientRect().bottom) + 16"
            )
            shot = browser.send(
                "Page.captureScreenshot",
                format="png",
                clip={"x": 0, "y": 0, "width": 1280, "height": height, "scale": 1},
            )
        finally:
            browser.close()
    out.write_bytes(base64.b64decode(shot["data"]))
    print(f"wrote {out} (1280x{height})")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/timeline.png"))
