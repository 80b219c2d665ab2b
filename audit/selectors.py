"""Reads of the audit trail: events with their seal, and one object's history."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from audit.models import AuditEvent, AuditSeal


def events_with_seal() -> QuerySet[AuditEvent]:
    """Every event, newest first, with `seal_sequence`, `seal_hash` and `seal_previous_hash`
    (None while it awaits its seal). Seals name events by id, not by a foreign key, so these
    are three lookups on the seal table's unique event_id index."""
    seal = AuditSeal.objects.filter(event_id=OuterRef("pk"))
    return AuditEvent.objects.annotate(
        seal_sequence=Subquery(seal.values("sequence")[:1]),
        seal_hash=Subquery(seal.values("hash")[:1]),
        seal_previous_hash=Subquery(seal.values("previous_hash")[:1]),
    ).order_by("-id")


def object_history(object_type: str, object_id: Any) -> QuerySet[AuditEvent]:
    """The events of one object, newest first."""
    return events_with_seal().filter(object_type=object_type, object_id=str(object_id))
