from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from eqms_integration.text import counted
from sync.models import SyncConfiguration
from sync.selectors import configuration_statistics
from sync.services.schedules import next_run_at


class Command(BaseCommand):
    help = "List sync configurations with their schedule, last run and waiting conflicts."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--enabled", action="store_true", help="only enabled ones")

    def handle(self, *args: Any, enabled: bool, **options: Any) -> None:
        configs = SyncConfiguration.objects.select_related("connection").order_by("pk")
        if enabled:
            configs = configs.filter(enabled=True)
        stats = configuration_statistics(config.pk for config in configs)
        self.stdout.write(
            f"{'id':>4}  {'name':<28} {'direction':<13} {'type':<5} {'schedule':<16} "
            f"{'last run':<48} {'next run':<16} conflicts"
        )
        for config in configs:
            last = stats[config.pk]["last_run"]
            last_text = (
                f"{last['status']} {last['finished_at']:%Y-%m-%d %H:%M} ({last['processed']} rows)"
                if last and last["finished_at"]
                else "never"
            )
            upcoming = next_run_at(config)
            schedule = {
                "manual": "manual",
                "interval": f"every {config.interval_minutes} min",
                "cron": config.cron_expression,
            }[config.schedule_type] + ("" if config.enabled else " (off)")
            self.stdout.write(
                f"{config.pk:>4}  {config.name[:28]:<28} {config.sync_direction:<13} "
                f"{config.sync_type:<5} {schedule[:16]:<16} {last_text[:48]:<48} "
                f"{upcoming.strftime('%Y-%m-%d %H:%M') if upcoming else '-':<16} "
                f"{stats[config.pk]['pending_conflicts']}"
            )
        self.stdout.write(counted(len(configs), "configuration"))
