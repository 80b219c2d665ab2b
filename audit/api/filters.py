from __future__ import annotations

import django_filters

from audit.models import AuditEvent


class AuditEventFilter(django_filters.FilterSet):
    occurred_after = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ("object_type", "object_id", "actor_type", "actor_id", "channel", "action")
