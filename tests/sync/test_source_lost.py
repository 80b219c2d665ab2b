"""A source lost in the middle of a run: the run fails with the source's own words, every
batch committed before stays with its links and cursor, and the next run brings in the rest,
nothing twice."""

from __future__ import annotations

import pytest

from quality.models import Equipment
from sync.models import SyncLink
from sync.services.runs import run_execute, run_start
from tests.sync.test_engine import configure, rows, run

pytestmark = pytest.mark.django_db


def test_a_source_lost_mid_run_fails_it_keeping_each_batch_committed_and_the_next_run_goes_on(
    source,
):
    source.insert(rows(15))
    config = configure(source)  # batches of 3
    kept_at_loss: list[int] = []

    def lose_the_source_after_two_batches(done, total):
        if done.processed == 6 and not kept_at_loss:
            source.drop()
            kept_at_loss.append(Equipment.objects.count())

    failed = run_execute(run=run_start(config=config), progress=lose_the_source_after_two_batches)

    assert failed.status == "failed"
    assert "erp_equipment" in failed.error  # the source's own complaint, naming the table
    assert kept_at_loss == [6]
    assert (failed.created, Equipment.objects.count(), SyncLink.objects.count()) == (6, 6, 6)
    source.create()
    source.insert(rows(15))

    resumed = run(config)

    assert (resumed.status, resumed.created) == ("success", 9)
    assert sorted(Equipment.objects.values_list("number", flat=True)) == [
        f"EQ-{n:05d}" for n in range(1, 16)
    ]
    assert SyncLink.objects.count() == 15
