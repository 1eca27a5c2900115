"""Browser fixtures: the system Chromium driven by Playwright for Python.

Playwright's own browser downloads are not used: the tests launch the distribution's Chromium
(Debian's ``chromium`` package; ``CHROMIUM`` overrides the path). Without Chromium or the
``playwright`` package the tests skip with the reason, except under CI (``CI=true``), where
that is a failure: CI installs Chromium (.ci/run) and must really drive the page.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI must run the browser tests)")
    pytest.skip(reason)


def chromium_path() -> str:
    """The system Chromium, or skip (fail under CI)."""
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        found = candidate and shutil.which(candidate)
        if found:
            return found
    _unavailable("no Chromium on PATH (Debian: apt-get install chromium)")
    raise AssertionError("unreachable")


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """A headless Chromium for one test."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    executable = chromium_path()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable)
        try:
            yield launched
        finally:
            await launched.close()


class Shots:
    """Screenshots for looking at the design: kept only when BROWSER_SCREENSHOTS names a folder."""

    def __init__(self, folder: str | None, prefix: str) -> None:
        self.folder = Path(folder) if folder else None
        self.prefix = prefix
        self.count = 0

    async def take(self, page: Any, name: str) -> None:
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count += 1
        await page.screenshot(path=str(self.folder / f"{self.prefix}-{self.count:02d}-{name}.png"))


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    """Named screenshots of this test (see Shots)."""
    return Shots(os.environ.get("BROWSER_SCREENSHOTS"), request.node.name.replace("[", "-").strip("]"))
