from __future__ import annotations

from audit.models import AuditEvent
from eqms_integration.api.filters import BaseFilterSet, UTCIsoDateTimeFilter


class AuditEventFilter(BaseFilterSet):
    occurred_after = UTCIsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = UTCIsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ("object_type", "object_id", "actor_type", "actor_id", "channel", "action")
