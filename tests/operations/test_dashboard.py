"""The operations dashboard on the admin index: who sees it, what each line says, where it
links, and a number of queries that does not grow with the number of objects."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.operations.dashboard_state import realistic_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def login(client):
    def as_(role: str | None = None, *, superuser: bool = False):
        users = get_user_model()
        if superuser:
            user = users.objects.create_superuser("root", password="pw-12345678")
        else:
            user = users.objects.create_user(f"u-{role}", password="pw-12345678", is_staff=True)
            if role:
                user.groups.add(Group.objects.get(name=role))
        client.force_login(user)
        return client

    return as_


def page(client) -> str:
    response = client.get("/admin/")
    assert response.status_code == 200
    return response.content.decode()


def row(html: str, attribute: str, pk: int) -> str:
    match = re.search(rf'<tr {attribute}="{pk}">(.*?)</tr>', html, re.S)
    assert match, f"no row {attribute}={pk}"
    return re.sub(r"\s+", " ", match.group(1))


def test_an_admin_sees_what_needs_attention_with_links_to_the_lists(login, settings):
    state = realistic_state(settings)
    html = page(login("Admin"))

    hooks = state.webhooks
    disabled = row(html, "data-subscription", hooks.disabled.pk)
    assert ">disabled<" in disabled and "410 Gone" in disabled
    failing = row(html, "data-subscription", hooks.failing.pk)
    assert ">failing<" in failing and "2 delivery(ies) in a row given up" in failing
    cells = re.findall(r'<td class="num">(.*?)</td>', failing)
    assert cells[:2] == ["10", "0 %"]  # attempts and success rate over 24 h
    assert f"?subscription__id__exact={hooks.failing.pk}&amp;status__exact=failed" in cells[2]
    assert ">2</a>" in cells[2]  # given up in 24 h
    assert "status__in=pending%2Cdelivering" in cells[3] and ">4</a> (2 due)" in cells[3]
    assert cells[4] == "45 min"  # the oldest delivery waiting
    assert re.findall(r'<td class="num">(.*?)</td>', row(html, "data-subscription", hooks.ok.pk))[
        :2
    ] == ["6", "100 %"]
    assert html.index(f'data-subscription="{hooks.disabled.pk}"') < html.index(
        f'data-subscription="{hooks.ok.pk}"'
    )  # trouble first

    sync = state.sync
    failed = row(html, "data-configuration", sync.failing.pk)
    assert "Failed" in failed and "could not connect to erp.plant.local:1433" in failed
    assert f"/admin/sync/syncrun/{sync.failed_run.pk}/change/" in failed
    assert f"configuration__id__exact={sync.failing.pk}&amp;status__in=failed%2Ctimeout" in failed
    conflicted = row(html, "data-configuration", sync.conflicted.pk)
    assert (
        f"/admin/sync/syncconflict/?configuration__id__exact={sync.conflicted.pk}"
        '&amp;status__exact=pending">1</a>' in conflicted
    )
    assert re.search(r"\d{4}-\d\d-\d\d 02:00", conflicted)  # next run of "0 2 * * *"

    keys = state.keys
    assert f'href="/admin/apikeys/apikey/{keys.expiring.pk}/change/">MES gateway</a>' in html
    assert f'href="/admin/apikeys/apikey/{keys.locked.pk}/change/">WMS scanner</a>' in html
    assert '<a href="/admin/apikeys/apikey/?state=idle_90">1</a>' in html
    assert '<a href="/admin/apikeys/apikey/?state=expiring">1</a>' in html

    worker = re.search(r'data-check="worker">(.*?)</div>\s*</div>', html, re.S).group(1)
    assert ">down<" in worker and "no worker seen for 600 s" in worker
    assert ">up<" in re.search(r'data-check="beat">(.*?)</div>\s*</div>', html, re.S).group(1)


def test_a_staff_user_without_a_role_sees_the_plain_index(login, settings):
    realistic_state(settings)

    html = page(login(None))

    assert 'id="eqms-dashboard"' not in html


def test_an_auditor_sees_counts_of_keys_but_not_their_names(login, settings):
    state = realistic_state(settings)

    html = page(login("Auditor"))

    assert 'id="dashboard-webhooks"' in html and 'id="dashboard-sync"' in html
    assert state.keys.expiring.name not in html and state.keys.locked.name not in html
    assert "Key names and lists: Admin role." in html


def test_the_number_of_queries_does_not_grow_with_the_number_of_objects(login, settings):
    client = login(superuser=True)
    realistic_state(settings)
    with CaptureQueriesContext(connection) as small:
        page(client)
    more_of_everything(settings)

    with CaptureQueriesContext(connection) as large:
        page(client)

    assert len(large) == len(small)


def test_the_admin_index_stays_within_its_query_budget(
    login, settings, django_assert_max_num_queries
):
    client = login("Admin")  # a role's permissions are read too, unlike a superuser's
    realistic_state(settings)

    with django_assert_max_num_queries(22):
        page(client)


def more_of_everything(settings) -> None:
    from sync.models import Connection, SyncConfiguration, SyncRun
    from webhooks import services as webhooks

    for n in range(5):
        webhooks.subscription_create(
            name=f"Extra {n}", url=f"http://127.0.0.1:9/x{n}", events=["ncr.created"]
        )
    connection_row = Connection.objects.first()
    for n in range(5):
        config = SyncConfiguration.objects.create(
            name=f"Extra config {n}",
            system_type="ERP",
            connection=connection_row,
            entity_type="orders",
            remote_object="o",
            remote_key="id",
        )
        SyncRun.objects.create(configuration=config, status="failed", error="x")
