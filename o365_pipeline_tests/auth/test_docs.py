"""docs/AUTHENTICATION.md stays in step with the code: every entity's permission, every translated error."""

from __future__ import annotations

import re
from pathlib import Path

from o365_pipeline.auth.errors import AADSTS_SETTINGS, DEVICE_FLOW_ERRORS
from o365_pipeline.auth.settings import CERT_TYPES, CLOUDS, SCHEMES
from o365_pipeline.graph.entities import ENTITIES

DOC = Path(__file__).resolve().parents[2] / "docs" / "AUTHENTICATION.md"


def _permission_rows(text: str) -> dict[str, set[str]]:
    section = text.split("## Graph permissions per entity", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = line.split("|")
        if len(cells) >= 3 and cells[1].strip().startswith("`"):
            rows[cells[1].strip().strip("`")] = set(
                re.findall(r"`([a-z0-9_]+)`", cells[2])
            )  # digits: usage_office365_...
    return rows


def test_every_entity_is_listed_under_its_permission() -> None:
    rows = _permission_rows(DOC.read_text())
    for entity in ENTITIES.values():
        assert entity.name in rows.get(entity.permission, set()), f"{entity.name} under {entity.permission}"
    listed = {name for names in rows.values() for name in names}
    assert listed <= set(ENTITIES), listed - set(ENTITIES)


def test_every_scheme_cloud_store_type_and_translated_error_is_documented() -> None:
    text = DOC.read_text()
    for scheme in SCHEMES:
        assert f"## {scheme}" in text
    for name in (*CLOUDS, *CERT_TYPES):
        assert f"`{name}`" in text
    for code, (setting, meaning) in AADSTS_SETTINGS.items():
        line = next((line for line in text.splitlines() if line.startswith(f"- {code} ")), "")
        assert meaning.split(": run")[0] in line and setting in line, code
    for error, meaning in DEVICE_FLOW_ERRORS.items():
        assert meaning.split(": run")[0] in text and error in text


OUTLOOK = ("Mail.", "Calendars.", "Contacts.", "MailboxSettings.")  # what Exchange RBAC for Applications can scope


def test_mailbox_scoping_is_rbac_for_applications_with_access_policies_as_legacy() -> None:
    section = DOC.read_text().split("## Scoping mailbox access", 1)[1].split("\n## ", 1)[0]
    rbac, legacy = section.split("### Legacy: application access policies", 1)
    for cmdlet in ("New-ServicePrincipal", "New-ManagementScope", "New-ManagementRoleAssignment"):
        assert cmdlet in rbac, cmdlet
    assert "New-ApplicationAccessPolicy" in legacy and "New-ApplicationAccessPolicy" not in rbac
    roles = {
        cells[1].strip(" `"): cells[2].strip(" `")
        for line in rbac.splitlines()
        if len(cells := line.split("|")) >= 4 and cells[1].strip().startswith("`")
    }
    # every Outlook permission an entity of the catalogue needs has its scoped Exchange role documented
    needed = {e.permission for e in ENTITIES.values() if e.per_user and e.permission.startswith(OUTLOOK)}
    assert needed and needed <= set(roles), needed - set(roles)
    for permission in needed:
        assert roles[permission] == f"Application {permission.removesuffix('.All')}", permission
        assert f'"{roles[permission]}"' in rbac, f"no role assignment for {roles[permission]} in the example"
