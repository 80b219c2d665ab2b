"""Record numbers stay unique and gap-free when many clients create records at once.

In CI this runs on PostgreSQL (and on SQLite in the embedded run): real threads, real
transactions, each on its own database connection.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from quality import services
from quality.models import CAPA, NCR

THREADS = 8
PER_THREAD = 5


def create_concurrently(create) -> list[BaseException]:
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(PER_THREAD):
                create()
        except BaseException as exc:  # collected and reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_ncr_creation_hands_out_each_number_exactly_once():
    errors = create_concurrently(lambda: services.ncr_create(title="Concurrent"))

    assert errors == []
    year = timezone.localdate().year
    numbers = sorted(NCR.objects.values_list("number", flat=True))
    expected = [f"NCR-{year}-{i:04d}" for i in range(1, THREADS * PER_THREAD + 1)]
    assert numbers == expected, f"on {connection.vendor}"


@pytest.mark.django_db(transaction=True)
def test_ncr_and_capa_numbers_are_counted_separately():
    services.ncr_create(title="A")
    services.ncr_create(title="B")
    capa = services.capa_create(title="C")

    assert capa.number.endswith("-0001")
    assert CAPA.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_failed_creation_does_not_burn_a_number():
    services.ncr_create(title="First")
    with pytest.raises(Exception):  # noqa: B017 - any validation error will do
        services.ncr_create(title="")
    second = services.ncr_create(title="Second")

    assert second.number.endswith("-0002")


def test_numbers_grow_past_four_digits(db):
    from quality.models import NumberSequence

    NumberSequence.objects.create(prefix="NCR", year=timezone.localdate().year, last_value=9999)

    assert services.ncr_create(title="Many").number.endswith("-10000")
