"""NCR/CAPA events for webhook subscribers, published inside the change's transaction. The
payloads are quality.payloads' contract, never the REST API's serializers."""

from __future__ import annotations

from quality import payloads
from quality.models import CAPA, NCR
from webhooks.services.publishing import event_publish


def ncr_event_publish(*, ncr: NCR, action: str) -> None:
    event_publish(event_type=f"ncr.{action}", data=payloads.ncr_data(ncr))


def capa_event_publish(*, capa: CAPA, action: str) -> None:
    event_publish(event_type=f"capa.{action}", data=payloads.capa_data(capa))
