"""Every admin page this layer adds or changes opens for each role that may see it (no 500
for a person who may only read), and shows no button the role cannot use."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from apikeys import services as apikeys
from quality import services as quality
from tests.sync.sources import SQLiteSource
from tests.sync.test_engine import configure, rows, run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sync_test_systems")]


@pytest.fixture
def objects(tmp_path, settings):
    settings.SYNC_LOCAL_SETTLE_SECONDS = 0
    source = SQLiteSource(tmp_path)
    source.create()
    source.insert(rows(2))
    config = configure(source)
    done = run(config)
    key = apikeys.apikey_create(name="ERP", scopes=["*"]).api_key
    ncr = quality.ncr_create(title="A")
    capa = quality.capa_create(title="B")
    return {
        f"/admin/sync/syncconfiguration/{config.pk}/change/": "/run/",
        f"/admin/sync/syncconfiguration/{config.pk}/preview/": None,
        f"/admin/sync/syncrun/{done.pk}/change/": None,
        f"/admin/sync/connection/{config.connection_id}/change/": "/test/",
        f"/admin/apikeys/apikey/{key.pk}/change/": "/revoke/",
        "/admin/apikeys/apikeyevent/": None,
        f"/admin/quality/ncr/{ncr.pk}/change/": "/close/",
        f"/admin/quality/capa/{capa.pk}/change/": "/close/",
        "/admin/django_celery_beat/periodictask/": None,
    }


@pytest.mark.parametrize("role", ["Auditor", "Manager"])
def test_pages_open_for_readers_and_managers_without_buttons_they_cannot_use(client, objects, role):
    user = get_user_model().objects.create_user("someone", password="pw-12345678", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client.login(username="someone", password="pw-12345678")

    for url, button in objects.items():
        response = client.get(url)
        assert response.status_code in (200, 403), (url, response.status_code)
        if response.status_code == 200 and button and role == "Auditor":
            assert f'{button}" class="object-action' not in response.content.decode(), url
