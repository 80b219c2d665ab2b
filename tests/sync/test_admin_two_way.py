"""Conflicts, the delta preview and the retry list in the admin."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from quality import services as quality
from quality.models import Equipment
from sync.models import SyncConflict
from tests.sync.sources import SQLiteSource
from tests.sync.test_engine import T0, configure, rows, run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_settling(settings) -> None:
    settings.SYNC_LOCAL_SETTLE_SECONDS = 0


@pytest.fixture
def admin_client(client):
    get_user_model().objects.create_superuser("boss", password="pw-12345678")
    client.login(username="boss", password="pw-12345678")
    return client


@pytest.fixture
def source(tmp_path) -> SQLiteSource:
    src = SQLiteSource(tmp_path)
    src.create()
    src.insert(rows(3))
    return src


def make_conflict(source) -> SyncConflict:
    config = configure(source, sync_direction="bidirectional", conflict_strategy="manual")
    run(config)
    source.update("EQ-00001", "ERP name", T0 + timedelta(days=1))
    quality.equipment_update(
        equipment=Equipment.objects.get(number="EQ-00001"), data={"name": "QMS name"}
    )
    run(config)
    return SyncConflict.objects.get()


def test_a_conflict_shows_both_sides_and_is_resolved_with_custom_values(admin_client, source):
    conflict = make_conflict(source)

    page = admin_client.get(f"/admin/sync/syncconflict/{conflict.pk}/change/").content.decode()
    response = admin_client.post(
        f"/admin/sync/syncconflict/{conflict.pk}/resolve/",
        {
            "resolution": "custom_value",
            "custom__name": "Both agreed",
            "custom__status": "active",
            "custom__calibration_due_date": "2027-03-01",
            "notes": "phoned the plant",
        },
        follow=True,
    )

    assert "ERP name" in page and "QMS name" in page and "Gauge 1" in page
    assert 'class="differs"' in page and "resolve-form" in page
    assert "resolved, custom value" in response.content.decode()
    assert Equipment.objects.get(number="EQ-00001").name == "Both agreed"
    assert source.all()["EQ-00001"][0] == "Both agreed"
    conflict.refresh_from_db()
    assert conflict.resolved_by.username == "boss" and "phoned the plant" in conflict.notes


def test_a_refused_resolution_says_why_and_changes_nothing(admin_client, source):
    conflict = make_conflict(source)

    response = admin_client.post(
        f"/admin/sync/syncconflict/{conflict.pk}/resolve/",
        {"resolution": "custom_value", "custom__status": "exploded"},
        follow=True,
    )

    assert "Not resolved" in response.content.decode()
    assert SyncConflict.objects.get().status == "pending"
    assert admin_client.get(f"/admin/sync/syncconflict/{conflict.pk}/resolve/").status_code == 405


def test_an_auditor_sees_conflicts_but_cannot_resolve_them(client, source):
    from django.contrib.auth.models import Group

    conflict = make_conflict(source)
    auditor = get_user_model().objects.create_user("auditor", password="pw-12345678", is_staff=True)
    auditor.groups.add(Group.objects.get(name="Auditor"))
    client.login(username="auditor", password="pw-12345678")

    page = client.get(f"/admin/sync/syncconflict/{conflict.pk}/change/")
    refused = client.post(
        f"/admin/sync/syncconflict/{conflict.pk}/resolve/", {"resolution": "ignored"}
    )

    assert page.status_code == 200 and "resolve-form" not in page.content.decode()
    assert refused.status_code == 403
    assert SyncConflict.objects.get().status == "pending"


def test_the_delta_preview_action_lists_what_the_next_run_would_read(admin_client, source):
    config = configure(source)

    page = admin_client.post(
        "/admin/sync/syncconfiguration/",
        {"action": "preview_delta", "_selected_action": [config.pk]},
    ).content.decode()

    assert "The next delta run would read" in page and "<strong>3</strong>" in page
    assert "EQ-00002" in page and "Gauge 2" in page


def test_list_syncs_shows_each_configuration_with_its_last_run_and_conflicts(source):
    make_conflict(source)
    out = StringIO()

    call_command("list_syncs", stdout=out)

    text = out.getvalue()
    assert "ERP equipment" in text and "bidirectional" in text
    assert "success" in text and text.rstrip().endswith("1 configuration")
    line = next(line for line in text.splitlines() if "ERP equipment" in line)
    assert line.rstrip().endswith(" 1")  # one conflict waiting


def test_the_conflict_screen_preselects_nothing_links_the_record_and_folds_the_hashes(
    admin_client, source
):
    conflict = make_conflict(source)
    equipment = Equipment.objects.get(number="EQ-00001")

    page = admin_client.get(f"/admin/sync/syncconflict/{conflict.pk}/change/").content.decode()
    unchosen = admin_client.post(
        f"/admin/sync/syncconflict/{conflict.pk}/resolve/",
        {"notes": "forgot to choose"},
        follow=True,
    )

    form = page[page.index('id="resolve-form"') :]
    assert "checked" not in form and form.count('name="resolution"') == 4
    assert f'href="/admin/quality/equipment/{equipment.pk}/change/" id="local-record"' in page
    details = page[page.index("<details") : page.index("</details>")]
    assert "Technical details" in details and conflict.source_hash in details
    assert conflict.source_hash not in page[: page.index("<details")]
    assert "Not resolved: choose how to resolve it." in unchosen.content.decode()
    assert SyncConflict.objects.get().status == "pending"
