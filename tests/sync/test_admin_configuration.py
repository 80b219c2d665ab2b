"""The sync configuration page in the admin: saves that need no remote, warnings, the overview
(statistics, cursors, next run, conflicts, chart), the mapping editor and the run-now button."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model

from sync.models import SyncConfiguration
from tests.sync.sources import SQLiteSource
from tests.sync.test_engine import configure, rows

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


def form_data(config: SyncConfiguration, **overrides) -> dict:
    """The change form as the admin posts it, with the configuration's stored values."""
    data = {}
    for field in SyncConfiguration._meta.concrete_fields:
        if field.name in ("id", "created_at", "updated_at"):
            continue
        value = getattr(config, field.attname)
        if field.name == "field_mappings":
            value = json.dumps(value)
        elif isinstance(value, bool):
            if not value:
                continue
            value = "on"
        data[field.name] = "" if value is None else value
    data.update(overrides)
    return data


def page_of(client, config: SyncConfiguration) -> str:
    return client.get(f"/admin/sync/syncconfiguration/{config.pk}/change/").content.decode()


def test_a_configuration_is_renamed_in_the_admin_while_its_database_is_down(admin_client, source):
    config = configure(source)
    source.path.rename(source.path.with_suffix(".gone"))
    url = f"/admin/sync/syncconfiguration/{config.pk}/change/"

    renamed = admin_client.post(url, form_data(config, name="ERP gauges", description="nightly"))
    remapped = admin_client.post(url, form_data(config, remote_key="description"))

    assert renamed.status_code == 302
    config.refresh_from_db()
    assert (config.name, config.description) == ("ERP gauges", "nightly")
    assert remapped.status_code == 200 and config.remote_key == "equipment_no"


def test_saving_a_two_way_configuration_with_a_read_only_transform_warns(admin_client, source):
    config = configure(source, sync_direction="bidirectional")

    response = admin_client.post(
        f"/admin/sync/syncconfiguration/{config.pk}/change/", form_data(config), follow=True
    )

    messages = [str(m) for m in response.context["messages"]]
    assert any("'trim' applies to values read from the external system only" in m
               for m in messages)  # fmt: skip


def test_an_outbound_configuration_with_a_transform_that_does_nothing_is_refused(
    admin_client, source
):
    config = configure(source, sync_direction="outbound")
    mappings = [{"local": "name", "remote": "description", "transform": "upper"}]

    response = admin_client.post(
        f"/admin/sync/syncconfiguration/{config.pk}/change/",
        form_data(config, field_mappings=json.dumps(mappings)),
    )

    assert response.status_code == 200
    assert "does nothing on the way out" in response.content.decode()
    config.refresh_from_db()
    assert "transform" not in config.field_mappings[0]
