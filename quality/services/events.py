"""NCR/CAPA events for webhook subscribers, published inside the change's transaction."""

from __future__ import annotations

from quality.models import CAPA, NCR
from webhooks.services.publishing import event_publish


def ncr_event_publish(*, ncr: NCR, action: str) -> None:
    from quality.api.serializers import NCRSerializer  # the API's shape is the payload's shape

    event_publish(event_type=f"ncr.{action}", data=dict(NCRSerializer(ncr).data))


def capa_event_publish(*, capa: CAPA, action: str) -> None:
    from quality.api.serializers import CAPASerializer

    event_publish(event_type=f"capa.{action}", data=dict(CAPASerializer(capa).data))
