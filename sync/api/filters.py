from __future__ import annotations

from eqms_integration.api.filters import BaseFilterSet, CaseInsensitiveChoiceFilter
from sync.models import SyncConfiguration


class SyncConfigurationFilter(BaseFilterSet):
    system_type = CaseInsensitiveChoiceFilter(choices=SyncConfiguration.SystemType.choices)

    class Meta:
        model = SyncConfiguration
        fields = ("entity_type", "system_type", "sync_direction", "enabled", "connection")
