"""The dashboard in a real browser: start `lendsim viz`, drive headless Chromium (Debian's
package, through Playwright), change a control, step, and check that the step counter and the
charts changed; save a screenshot (to $LENDSIM_SCREENSHOT, e.g. docs/dashboard.png, else to
tmp_path). The server is stopped in the fixture's teardown.

Offline, as in a classroom without internet: the server's CDN address leads nowhere and the
browser resolves no host name, so every file the page loads must come from the dashboard
itself (`lendsim viz` fetches the front-end packages from the npm registry once, on its first
start, into Solara's cache); the test checks that the page renders and that no request left
127.0.0.1.

Chromium is never downloaded here (no ``playwright install``): ``.ci/run`` installs Debian's
``chromium``; without it this test fails and says how to install it.
"""

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from dashboard_process import running_dashboard

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 # no route to any CDN: every host name fails to resolve
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
#: Where the server would fetch front-end files it lacks: nothing listens there.
NO_CDN = "http://127.0.0.1:9/npm/"


@pytest.fixture
def dashboard(tmp_path):
    """A running `lendsim viz` on a free port of 127.0.0.1; yields its address."""
    pytest.importorskip("solara", reason="the 'viz' extra")
    pytest.importorskip("playwright", reason="the 'browser' extra")
    # the first start fetches the front-end files
    with running_dashboard(tmp_path, {**os.environ, "SOLARA_ASSETS_CDN": NO_CDN},
                           timeout=300) as url:
        yield url


def _local(url: str) -> bool:
    """A request that stays on this machine (images are blob: and data: URLs)."""
    parts = urlsplit(url)
    return parts.scheme in ("blob", "data") or parts.hostname == "127.0.0.1"


def _month(page) -> int:
    return int(re.search(r"\d+", page.locator(".lendsim-month").inner_text()).group(0))


@pytest.mark.slow
def test_dashboard_in_chromium(dashboard, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package "
                    "(sudo apt-get install -y chromium); .ci/run does this. Do not use "
                    "`playwright install`.")
    pytest.importorskip("playwright", reason="the 'browser' extra")
    from playwright.sync_api import expect, sync_playwright

    shot = Path(os.environ.get("LENDSIM_SCREENSHOT") or tmp_path / "dashboard.png")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1150})
            requests = []
            page.on("request", lambda req: requests.append(req.url))
            page.goto(dashboard)
            expect(page.locator(".lendsim-month")).to_have_text("Month 0", timeout=60_000)
            expect(page.locator(".lendsim-chart-0")).to_be_visible()
            # rendered from local files only: Vuetify styled the app bar, no request left
            assert page.locator(".v-app-bar, .v-toolbar").first.bounding_box()["height"] > 30
            assert any("/_solara/cdn/" in u for u in requests)
            assert [u for u in requests if not _local(u)] == []
            # only the controls a class needs; sliders show their values
            expect(page.get_by_text("Use Threads")).to_have_count(0)
            expect(page.get_by_text("Render Interval")).to_have_count(0)

            # a control: the APR cap slider, 36% -> 30% with the keyboard, then Reset
            cap_input = page.locator(".v-input", has_text="APR cap")
            expect(cap_input).to_contain_text("APR cap: 36%")
            cap = cap_input.get_by_role("slider")
            cap.focus()
            for _ in range(6):
                cap.press("ArrowLeft")
            expect(cap).to_have_attribute("aria-valuenow", "0.3")
            expect(cap_input).to_contain_text("APR cap: 30%")
            page.get_by_role("button", name="Reset").click()
            page.get_by_role("button", name="Step").click()
            expect(page.locator(".lendsim-month")).to_have_text("Month 1", timeout=30_000)
            expect(page.locator(".lendsim-headline")).to_contain_text("APR cap 30%")
            before = [page.locator(f".lendsim-chart-{i}").screenshot() for i in (0, 1)]
            net_before = page.locator(".lendsim-network").screenshot()
            for month in (2, 3):
                page.get_by_role("button", name="Step").click()
                expect(page.locator(".lendsim-month")).to_have_text(f"Month {month}",
                                                                    timeout=30_000)
            page.wait_for_timeout(500)  # the images arrive just after the counter
            after = [page.locator(f".lendsim-chart-{i}").screenshot() for i in (0, 1)]
            assert before[0] != after[0] and before[1] != after[1], "charts did not change"
            assert net_before != page.locator(".lendsim-network").screenshot()
            assert _month(page) == 3

            # a lesson sets the controls: the rate-cap lesson moves the slider to 12%
            page.locator(".v-select", has_text="Lesson").click()
            page.get_by_role("option", name="A rate cap").click()
            expect(cap).to_have_attribute("aria-valuenow", "0.12", timeout=30_000)
            expect(page.locator(".lendsim-month")).to_have_text("Month 0", timeout=30_000)
            for month in range(1, 13):
                page.get_by_role("button", name="Step").click()
                expect(page.locator(".lendsim-month")).to_have_text(f"Month {month}",
                                                                    timeout=30_000)
            expect(page.locator(".lendsim-headline")).to_contain_text("APR cap 12%")
            page.wait_for_timeout(800)
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shot.stat().st_size > 50_000
