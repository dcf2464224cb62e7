"""The /ui dashboard in a real browser (issue 20), on each backend.

A real `ingestry serve` on a store the test seeds; headless Chromium from Debian
driven by Playwright. The main flow: sign in, see the sources, open a quarantined row,
fix the convention (config edit + restart, as an operator would), replay from the UI
and see it released, open a record and its version diff, get a 403 page for a source
outside the key's scope. Every page is screenshotted into the artifacts directory
(tests/e2e/browser.py says where) and checked: not blank, the plot drawn, every control
labelled, axe-core clean.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import ingestry
from tests.e2e.browser import axe_violations, browser, png_colours, unlabelled_controls
from tests.e2e.processes import child_env, server

pytestmark = pytest.mark.slow

BAD_ROWS = (
    b'{"id": "BAD-1", "type": "order", "order_number": "#9001", "total_price": "1.00"}\n'
    b'{"id": "BAD-2", "type": "order", "order_number": "#9002", "total_price": "2.00"}\n'
    b'{"id": "BAD-3", "type": "order", "order_number": "caf\xe9",'
    b' "created_at": "2026-11-02T01:15:00Z"}\n'
)
SRN_1001 = "srn:ingestry:record:order:harvest:customer_orders:ORD-1001"


@pytest.fixture
def artifacts(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    out = tmp_path_factory.getbasetemp() / "ui-artifacts" / name
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture
def seeded(project: Path) -> dict[str, str]:
    """customer_orders with quarantined rows and a record at version 2; a key that may
    use customer_orders and exchange_rates (not orders_json)."""
    (project / "bad.jsonl").write_bytes(BAD_ROWS)
    changed = (project / "data/samples/orders.jsonl").read_text().splitlines()[0]
    (project / "v2.jsonl").write_text(changed.replace('"12.86"', '"13.00"') + "\n")
    with ingestry.open(project / "ingestry.yaml") as store:
        store.ingest_files("customer_orders", [str(project / "data/samples/orders.jsonl")])
        store.ingest_files("customer_orders", [str(project / "bad.jsonl")])
        store.ingest_files("customer_orders", [str(project / "v2.jsonl")])
        store.ingest_files("exchange_rates", [str(project / "data/samples/exchange_rates.csv")])
        _, token = store.create_api_key("ops", ["customer_orders", "exchange_rates"])
        _, admin = store.create_api_key("root", [], admin=True)
    return {"token": token, "admin": admin}


class Shots:
    """Screenshots, numbered in the order taken, each checked as it is saved."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.taken: list[Path] = []

    def take(self, page: Any, name: str) -> Path:
        path = self.directory / f"{len(self.taken):02d}-{name}.png"
        data = page.screenshot(path=str(path), full_page=True)
        assert png_colours(data) > 3, f"{path} is blank (one colour)"
        self.taken.append(path)
        missing = unlabelled_controls(page)
        assert not missing, f"controls without a label on {page.url}: {missing}"
        violations = axe_violations(page)
        assert not violations, f"axe-core on {page.url}: {violations}"
        return path


@pytest.fixture
def shots(artifacts: Path) -> Shots:
    return Shots(artifacts)


@pytest.fixture
def chromium() -> Iterator[Any]:
    with browser() as launched:
        yield launched


def _fix_convention(project: Path) -> None:
    """The operator's fix: created_at is no longer required."""
    config = project / "ingestry.yaml"
    text = config.read_text()
    fixed = text.replace(
        "created_at:   {path: created_at, type: timestamp, required: true}",
        "created_at:   {path: created_at, type: timestamp}",
    )
    assert fixed != text
    config.write_text(fixed)


def test_main_flow_in_a_real_browser(
    project: Path, seeded: dict[str, str], chromium: Any, shots: Shots, tmp_path: Path
) -> None:
    env = child_env()
    log = tmp_path / "serve.log"
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    with server(project, env, log) as client:
        base = str(client.base_url)
        # no key: the login page, never data
        response = page.goto(f"{base}/ui")
        assert response is not None and response.status == 401
        assert page.locator("input[type=password]").count() == 1
        assert "customer_orders" not in page.content()
        shots.take(page, "login")

        page.fill("input[type=password]", seeded["token"])
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/ui")
        cookie = next(c for c in context.cookies() if c["name"] == "ingestry_ui")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

        # overview: the key's sources, not the others; the volume plot drawn
        table = page.locator("table").first.inner_text()
        assert "customer_orders" in table and "exchange_rates" in table
        assert "orders_json" not in table
        plot = page.locator("figure svg.plot").first
        assert plot.locator("rect.bar").count() >= 1
        assert plot.locator("path.series").count() == 3
        shots.take(page, "overview")

        # the quarantine, linked from the overview
        page.click("text=Browse the quarantine")
        assert "quarantine" in page.url
        groups = page.locator("section[aria-labelledby=h-groups]").inner_text()
        assert "required column 'created_at' is missing" in groups
        shots.take(page, "quarantine")

        # a quarantined row that is not UTF-8: the hex view shows its exact bytes
        page.locator("tr", has_text="not UTF-8").locator("a").first.click()
        assert re.search(r"/ui/quarantine/\d+$", page.url)
        hexdump = page.locator("pre.hex").inner_text()
        assert "63 61 66 e9" in hexdump  # c a f \xe9
        shots.take(page, "quarantine-entry")
        page.go_back()
        assert page.url.endswith("/ui/quarantine")

    # fix the convention, restart the server (settings are read at start)
    _fix_convention(project)
    with server(project, env, log) as client:
        base = str(client.base_url)
        page.goto(f"{base}/ui/quarantine?source=customer_orders")
        for marker in ("#9001", "#9002"):
            page.locator("tr", has_text=marker).locator("input[type=checkbox]").check()
        page.click("button:has-text('Dry run selected')")
        preview = page.locator("table").first.inner_text()
        assert re.search(r"customer_orders\s+2\s+2\s+0", preview), preview
        shots.take(page, "replay-preview")
        page.click("button:has-text('Replay for real')")
        page.wait_for_url(re.compile(r"/ui/quarantine\?.*done="))
        assert "released 2, still quarantined 0" in page.locator("p.ok").inner_text()
        entries = page.locator("table.entries").inner_text()
        assert "#9001" not in entries and "#9002" not in entries
        page.goto(f"{base}/ui/quarantine?source=customer_orders&status=released")
        released = page.locator("table.entries").inner_text()  # bytes dropped once resolved
        assert "bad.jsonl:1\t" in released and "bad.jsonl:2\t" in released, released
        shots.take(page, "quarantine-released")

        # the released rows are records now; the API agrees
        api = httpx.get(
            f"{base}/v1/records/srn:ingestry:record:order:harvest:customer_orders:BAD-1",
            headers={"X-API-Key": seeded["token"]},
        )
        assert api.status_code == 200, api.text

        # a record and its version diff
        page.goto(f"{base}/ui/records?convention=order&source=customer_orders")
        shots.take(page, "records")
        page.click("a:text-is('ORD-1001')")
        assert page.url.endswith(SRN_1001)
        diff = page.locator("table.diff").inner_text()
        assert "columns.total" in diff and "12.86" in diff and "13.00" in diff
        assert "RecordUpdated v2" in page.content()
        shots.take(page, "record")

        # source page: runs and the rate plot; replay and retention dry runs
        page.goto(f"{base}/ui/sources/customer_orders")
        assert page.locator("svg.plot rect.bar").count() >= 1
        page.click("button:has-text('Retention: dry run first')")
        assert "Retention dry run" in page.content()
        page.click("button:has-text('Replay: dry run first')")
        assert "Replay dry run: what would change" in page.content()
        shots.take(page, "source")

        page.goto(f"{base}/ui/jobs")
        shots.take(page, "jobs")

        # a source outside the key's scope: a 403 page
        response = page.goto(f"{base}/ui/sources/orders_json")
        assert response is not None and response.status == 403
        assert "may not use source 'orders_json'" in page.content()
        shots.take(page, "forbidden")
        response = page.goto(f"{base}/ui/quarantine?source=orders_json")
        assert response is not None and response.status == 403

        # phone width: no sideways scrolling of the page itself
        phone = chromium.new_context(viewport={"width": 375, "height": 800})
        phone.add_cookies([{**cookie, "sameSite": "Strict"}])
        small = phone.new_page()
        for path in ("/ui", "/ui/quarantine", f"/ui/records/{SRN_1001}"):
            small.goto(f"{base}{path}")
            width = small.evaluate("document.documentElement.scrollWidth")
            assert width <= 375, f"{path} is {width}px wide at 375px"
        shots.take(small, "overview-phone")
        phone.close()
    context.close()
    assert len(shots.taken) >= 12


def test_forms_need_the_csrf_token_and_headers_read_pages(
    project: Path, seeded: dict[str, str], tmp_path: Path
) -> None:
    """A cookie-authenticated post without the token is refused (nothing changes); a
    script reads any page with X-API-Key; /ui without a key never shows data."""
    with server(project, child_env(), tmp_path / "serve.log") as client:
        bare = client.get("/ui/quarantine")
        assert bare.status_code == 401 and 'type="password"' in bare.text
        assert "customer_orders" not in bare.text

        page = client.get("/ui/quarantine", headers={"X-API-Key": seeded["token"]})
        assert page.status_code == 200 and "#9001" in page.text
        entry = re.search(r'value="(customer_orders:\d+)"', page.text)
        assert entry is not None

        client.cookies.set("ingestry_ui", seeded["token"], path="/ui")
        forged = client.post(
            "/ui/quarantine/discard", data={"entry": entry.group(1), "why": "forged"}
        )
        assert forged.status_code == 403 and "CSRF" in forged.text
        still = client.get("/ui/quarantine")
        assert entry.group(1).split(":")[1] in still.text

        token = re.search(r'name="csrf" value="([0-9a-f]+)"', still.text)
        assert token is not None
        done = client.post(
            "/ui/quarantine/discard",
            data={"entry": entry.group(1), "why": "test data", "csrf": token.group(1)},
        )
        assert done.status_code == 303 and "discarded+1" in done.headers["location"]

        # scope: another source's entry cannot be discarded by naming a granted source
        other = client.post(
            "/ui/quarantine/discard",
            data={"entry": "orders_json:1", "why": "x", "csrf": token.group(1)},
        )
        assert other.status_code == 403


def test_the_setting_turns_the_dashboard_off(
    project: Path, seeded: dict[str, str], tmp_path: Path
) -> None:
    env = child_env({"INGESTRY_API_UI": "0"})
    with server(project, env, tmp_path / "serve.log") as client:
        assert client.get("/ui", headers={"X-API-Key": seeded["token"]}).status_code == 404
        assert client.get("/v1/sources", headers={"X-API-Key": seeded["token"]}).status_code == 200
