"""Onboarding a product at FNAC the way data ops do it, in the Airflow UI (issue 8).

Headless Chromium logs in, finds the FNAC DAGs, triggers the onboarding of a
pass through its form, approves the human step under Required Actions, waits
for the run's success, then opens the FNAC dashboard from the navigation and
checks what it shows. Each step leaves a screenshot in test-artifacts/browser/
(and, with ``RESELLER_SYNC_DOCS_SCREENSHOTS=docs/screenshots``, the README's).
"""

from __future__ import annotations

import os
import re
import shutil
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from devtools.devstack import APPROVAL_GRACE_SECONDS, APPROVAL_TASK, Stack

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    # Everything included (starting Airflow, the run, the teardown): well under it here.
    pytest.mark.timeout(480, method="signal"),
]

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = "PASS-MAH-JOUR"
"""A pass: the quickest onboarding (no PLACES file)."""
ONBOARDING_DAG = f"fnac_onboarding__{PRODUCT.lower()}"
UI_TIMEOUT_MS = 30_000
"""The longest any page or control may take to show (the UI answers within a second here)."""
expect.set_options(timeout=UI_TIMEOUT_MS)
SLOW_SERVER_MS = 120_000
"""The longest the API server may take to create a run while the rest of the suite loads
the machine (over 30 s has been seen with both cores busy)."""
HUMAN_STEP_SECONDS = 150
RUN_SECONDS = 180
DOCS_SCREENSHOTS = {
    # test artifact -> README screenshot
    "03-dags-tag-fnac": "dags-fnac.png",
    "07-required-actions": "required-actions.png",
    "09-run-graph": "onboarding-graph.png",
    "10-fnac-dashboard": "fnac-dashboard.png",
    "12-mail-sink": "mail-sink.png",
}


class Camera:
    """Numbered screenshots of each step, kept as test artifacts."""

    def __init__(self, page: Page, folder: Path) -> None:
        self.page, self.folder = page, folder
        self.taken: dict[str, Path] = {}

    def __call__(self, name: str, *, full_page: bool = False) -> None:
        path = self.folder / f"{name}.png"
        self.page.screenshot(path=path, full_page=full_page)
        self.taken[name] = path

    def copy_for_docs(self) -> None:
        target = os.environ.get("RESELLER_SYNC_DOCS_SCREENSHOTS")
        if not target:
            return
        folder = ROOT / target
        folder.mkdir(parents=True, exist_ok=True)
        for name, docs_name in DOCS_SCREENSHOTS.items():
            shutil.copy(self.taken[name], folder / docs_name)


@pytest.fixture
def page(browser: Browser, fnac_stack: Stack) -> Iterator[Page]:
    """A fresh browser context that can reach 127.0.0.1 and nothing else."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, base_url=fnac_stack.base)
    context.set_default_timeout(UI_TIMEOUT_MS)
    refused: list[str] = []

    def only_loopback(route: Route) -> None:
        if urllib.parse.urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route(re.compile(r"^https?://"), only_loopback)
    page = context.new_page()
    yield page
    context.close()
    if refused:
        print("Requests refused (not 127.0.0.1):", *sorted(set(refused)), sep="\n  ")


def until(what: str, seconds: float, check: Callable[[], Any]) -> Any:
    """Poll ``check`` (REST API) until it returns something true; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(1)
    pytest.fail(f"gave up waiting for {what} after {seconds:.0f} s")


def test_onboard_a_pass_through_the_ui(page: Page, fnac_stack: Stack, artifacts: Path) -> None:
    shot = Camera(page, artifacts)
    try:
        _onboard_through_the_ui(page, fnac_stack, shot)
    except BaseException:
        shot("failure", full_page=True)
        raise
    shot.copy_for_docs()


def _onboard_through_the_ui(page: Page, stack: Stack, shot: Camera) -> None:
    # Log in through the form -----------------------------------------------------
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/auth/login"))
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(stack.password())
    shot("01-login")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Welcome")).to_be_visible()
    shot("02-home")

    # The FNAC DAGs: the tag filter, then the search box ----------------------------
    page.get_by_role("link", name="Dags", exact=True).first.click()
    expect(page).to_have_url(re.compile(r"/dags$"))
    page.get_by_role("link", name="fnac", exact=True).first.click()
    expect(page).to_have_url(re.compile(r"tags=fnac"))
    for dag_id in ("fnac_inbound", "fnac_nightly", ONBOARDING_DAG, "fnac_onboarding__evt-lumen"):
        expect(page.get_by_role("link", name=dag_id, exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="boxoffice_migrate")).to_have_count(0)
    shot("03-dags-tag-fnac")
    page.get_by_role("textbox", name=re.compile("Search Dags")).fill("fnac_onboarding__pass")
    expect(page.get_by_role("link", name="fnac_onboarding__evt-lumen")).to_have_count(0)
    expect(page.get_by_role("link", name=ONBOARDING_DAG, exact=True)).to_be_visible()
    shot("04-dags-search")

    # Trigger the onboarding through its form, with the defaults --------------------
    page.get_by_role("link", name=ONBOARDING_DAG, exact=True).click()
    expect(page).to_have_url(re.compile(rf"/dags/{ONBOARDING_DAG}$"))
    breadcrumb = page.get_by_role("navigation", name="breadcrumb")
    expect(breadcrumb.get_by_role("link", name=ONBOARDING_DAG)).to_be_visible()
    trigger = page.get_by_role("button", name="Trigger Dag")
    # The DAG's own, once the list has gone and the page has loaded: on a machine busy with
    # the rest of the suite, the API server has taken more than 30 s to answer it.
    expect(trigger).to_have_count(1, timeout=SLOW_SERVER_MS)
    trigger.click()
    form = page.get_by_role("dialog")
    expect(form.get_by_role("heading", name=f"Trigger Dag - {ONBOARDING_DAG}")).to_be_visible()
    for field in ("Resend the sale sheet", "Dry run"):
        expect(form.get_by_role("checkbox", name=field)).not_to_be_checked()
    expect(form.get_by_text("Build every file and show it in the logs")).to_be_visible()
    shot("05-trigger-form")
    form.get_by_role("button", name="Trigger", exact=True).click()
    # The API server creates the run: on a machine busy with the rest of the suite, that
    # has taken more than Playwright's default 30 s.
    expect(page).to_have_url(
        re.compile(rf"/dags/{ONBOARDING_DAG}/runs/[^/]+$"), timeout=SLOW_SERVER_MS
    )
    run_id = urllib.parse.unquote(page.url.rsplit("/runs/", 1)[1])
    expect(page.get_by_role("heading", name=run_id)).to_be_visible()
    shot("06-run-triggered")

    # The human step, approved under Required Actions --------------------------------
    until(
        f"{APPROVAL_TASK} to wait for a person",
        HUMAN_STEP_SECONDS,
        lambda: _human_step_waiting(stack, run_id),
    )
    time.sleep(APPROVAL_GRACE_SECONDS)  # a person takes a moment (see devstack)
    page.get_by_role("button", name="Browse").click()
    page.get_by_role("menuitem", name="Required Actions").click()
    expect(page).to_have_url(re.compile(r"/required_actions"))
    request = page.get_by_role("row").filter(has_text=run_id)
    expect(request).to_contain_text("Approval Required")
    expect(request).to_contain_text(f"FNAC's codes for {PRODUCT} recorded?")
    request.get_by_role("button", name="Open Review Drawer").click()
    drawer = page.get_by_role("dialog", name="Required Actions")
    expect(drawer.get_by_text(f"include/mappings/fnac/{PRODUCT}.yaml")).to_be_visible()
    shot("07-required-actions")
    drawer.get_by_role("button", name="Approve").click()
    expect(request).to_contain_text("Approval Received")
    expect(request).to_contain_text("admin")
    shot("08-approved")

    # The run goes through every step -----------------------------------------------
    state = until(
        "the onboarding run to end",
        RUN_SECONDS,
        lambda: _final_state(stack, run_id),
    )
    assert state == "success", f"the onboarding run ended {state}; see test-artifacts/browser/logs"
    request.get_by_role("link", name=run_id).click()
    expect(page).to_have_url(re.compile(rf"/dags/{ONBOARDING_DAG}/runs/"))
    page.get_by_role("button", name=re.compile("Show Graph")).click()
    expect(page.get_by_text("Success", exact=True).first).to_be_visible()
    expect(page.get_by_test_id(f"rf__node-{APPROVAL_TASK}")).to_be_visible()
    page.get_by_role("button", name="Collapse Details Panel").click()  # room for the graph
    page.get_by_role("button", name=re.compile("fit view", re.I)).click()
    page.wait_for_timeout(1000)  # the graph's zoom is animated
    shot("09-run-graph")

    # The FNAC dashboard, through the navigation ------------------------------------
    page.get_by_role("link", name="FNAC", exact=True).click()
    expect(page).to_have_url(re.compile(r"/plugin/fnac"))
    dashboard = page.frame_locator("iframe").first
    expect(dashboard.get_by_role("heading", name="FNAC interface")).to_be_visible()
    product = dashboard.get_by_role("row").filter(has_text=PRODUCT)
    expect(product).to_contain_text("live")
    fiche = dashboard.locator('tr[data-stream="outbound-FICHE"]')
    expect(fiche).to_contain_text("FICHE_")
    expect(fiche).not_to_have_class(re.compile(r"\blate\b"))
    expect(dashboard.locator('tr[data-stream="inbound-ACK_FICHE"]')).to_contain_text("ACK_FICHE_")
    expect(dashboard.locator('tr[data-stream="inbound-TEST"]')).to_contain_text("TEST_")
    shot("10-fnac-dashboard")
    dashboard.get_by_role("link", name="Exchange journal").click()
    sent = dashboard.get_by_role("row").filter(has_text="outbound").filter(has_text="FICHE_")
    expect(sent).to_have_count(1)
    expect(sent).to_contain_text("acknowledged")
    expect(sent).to_contain_text(PRODUCT)
    shot("11-fnac-journal")

    # The sale sheet went to FNAC's contact (mail sink page) -------------------------
    page.goto(stack.mail_page)
    sale_sheet = page.get_by_role("link", name=re.compile(f"Fiche de mise en vente {PRODUCT}"))
    expect(sale_sheet).to_be_visible()
    shot("12-mail-sink")


def _human_step_waiting(stack: Stack, run_id: str) -> bool:
    if state := _final_state(stack, run_id):
        pytest.fail(f"the run ended {state} before its human step")
    return stack.awaits_input(ONBOARDING_DAG, run_id, APPROVAL_TASK)


def _final_state(stack: Stack, run_id: str) -> str | None:
    state = stack.run_state(ONBOARDING_DAG, run_id)
    return state if state in ("success", "failed") else None
