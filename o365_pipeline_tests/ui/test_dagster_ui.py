"""The Dagster UI in a real browser: the asset graph shows raw, staging and marts; a materialization succeeds; its
figures are plotted over time; the Automation page lists the schedules and sensors."""

import os
import re
import struct
from pathlib import Path

import duckdb
from playwright.sync_api import Browser, Page, expect

from o365_pipeline.graph.entities import ENTITIES
from o365_pipeline.graph.entity_columns import column_descriptions

TIMEOUT_MS = 60_000
VIEWPORT = {"width": 1600, "height": 1000}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) of a PNG file, read from its IHDR chunk; fails on anything that is not a PNG."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def screenshot(page: Page, path: Path) -> None:
    """Save what the browser shows and check it is a real, non-trivial PNG of the viewport."""
    path.unlink(missing_ok=True)
    page.screenshot(path=str(path))
    assert png_size(path) == (VIEWPORT["width"], VIEWPORT["height"])
    assert path.stat().st_size > 20_000, f"{path} looks blank"


def materialize_users(page: Page, url: str) -> None:
    """Materialize o365_raw/users from its page's button and follow the run to success."""
    page.goto(f"{url}/assets/o365_raw/users")
    page.get_by_role("button", name=re.compile(r"Materialize$")).first.click()
    toast = page.get_by_text(re.compile(r"Launched run [0-9a-f]{8}"))
    expect(toast).to_be_visible(timeout=TIMEOUT_MS)
    page.get_by_role("region", name=re.compile("Notifications")).get_by_text("View", exact=True).first.click()
    expect(page).to_have_url(re.compile(r"/runs/[0-9a-f-]+"))
    expect(page.get_by_text("Success", exact=True).first).to_be_visible(timeout=TIMEOUT_MS)


def test_asset_graph_and_materializing_raw_users(dagster_webserver: str, browser: Browser, artifacts: Path) -> None:
    page = browser.new_page(viewport=VIEWPORT)
    page.set_default_timeout(TIMEOUT_MS)

    # The global asset graph: the workload groups of the raw tables and the dbt groups.
    page.goto(f"{dagster_webserver}/asset-groups")
    for group in ("directory", "mail", "staging", "marts"):
        expect(page.get_by_text(group, exact=True).first).to_be_visible(timeout=TIMEOUT_MS)
    screenshot(page, artifacts / "asset-graph.png")

    # The catalog: marts by name, and the staging view of users with its raw table upstream, its mart downstream.
    page.goto(f"{dagster_webserver}/assets/marts")
    for name in ("users", "mailbox_activity_daily", "group_memberships", "licence_utilization"):
        expect(page.get_by_text(name, exact=True).first).to_be_visible(timeout=TIMEOUT_MS)
    page.goto(f"{dagster_webserver}/assets/staging/stg_graph__users")
    expect(page.get_by_text("o365_raw / users", exact=True).first).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_text("marts / users", exact=True).first).to_be_visible(timeout=TIMEOUT_MS)
    screenshot(page, artifacts / "staging-users-lineage.png")

    # Materialize o365_raw/users from its page and follow the run to success; twice, so its figures have a trend.
    for _ in range(2):
        materialize_users(page, dagster_webserver)
    screenshot(page, artifacts / "run-success.png")

    # The asset's page: its columns described from the entity catalogue, and the figures each sync reports
    # (materialization metadata) plotted over time.
    page.goto(f"{dagster_webserver}/assets/o365_raw/users")
    user_type = column_descriptions(ENTITIES["users"])["user_type"]
    expect(page.get_by_text(user_type, exact=True).first).to_be_visible(timeout=TIMEOUT_MS)
    page.get_by_text("Plots", exact=True).first.click()
    for figure in ("rows", "requests", "throttled"):
        expect(page.get_by_text(figure, exact=True).first).to_be_visible(timeout=TIMEOUT_MS)
    page.get_by_text("requests", exact=True).first.scroll_into_view_if_needed()
    screenshot(page, artifacts / "asset-plots.png")

    # The Automation page: the workload schedules and the sensors, shipped stopped.
    page.goto(f"{dagster_webserver}/automation")
    for name in ("sync_directory_schedule", "sync_mail_schedule", "dbt_after_ingestion", "run_failure_summary"):
        expect(page.get_by_text(name, exact=True).first).to_be_visible(timeout=TIMEOUT_MS)
    screenshot(page, artifacts / "automation.png")
    page.close()

    with duckdb.connect(os.environ["O365_DUCKDB_PATH"], read_only=True) as con:
        assert con.execute("select count(*) from o365_raw.users").fetchall()[0][0] > 0
