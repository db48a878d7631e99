"""Reading the dashboards as a person does: in headless Chromium (Debian's, driven by Playwright),
collecting console errors, and parsing the figures a page prints back into numbers."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = os.environ.get("METRICS_SCREENSHOTS")  # a directory: save each page's screenshot there


@contextmanager
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: `make test` installs Debian's chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


class Page:
    """One loaded page; `errors` are its console errors and uncaught exceptions."""

    def __init__(self, browser, path: Path) -> None:
        self.errors: list[str] = []
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_load_state("load")
        if SCREENSHOTS:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            name = "-".join(path.parts[-2:]) if path.parent.name == "owners" else path.name
            self.page.screenshot(path=str(Path(SCREENSHOTS) / name.replace(".html", ".png")), full_page=True)

    def text(self, selector: str) -> str:
        return self.page.locator(selector).inner_text().strip()

    def texts(self, selector: str) -> list[str]:
        return [t.strip() for t in self.page.locator(selector).all_inner_texts()]

    def field(self, row: str, name: str) -> str:
        """The text of cell `data-field=name` in the one row matching the CSS selector `row`."""
        return self.text(f'{row} [data-field="{name}"]')

    def js(self, expr: str):
        return self.page.evaluate(expr)


def number(text: str) -> float | None:
    """'32.1%' -> 0.321, '1.25' -> 1.25, '–' -> None."""
    t = text.strip()
    if t in ("–", ""):
        return None
    m = re.fullmatch(r"(-?[\d.]+)(%?)", t)
    assert m, f"not a number: {text!r}"
    return float(m.group(1)) / (100 if m.group(2) else 1)
