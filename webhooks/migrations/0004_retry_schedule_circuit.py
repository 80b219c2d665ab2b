"""Retry schedules and the circuit breaker. Existing subscriptions keep their policy
(retry_schedule null: max_retries + retry_delay_seconds); new ones get the Standard Webhooks
schedule by default."""

from django.db import migrations, models

import webhooks.backoff
import webhooks.models


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0003_operational_event_types"),
    ]

    operations = [
        # Added without a default first: the rows that exist get null (their old policy).
        migrations.AddField(
            model_name="webhooksubscription",
            name="retry_schedule",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="webhooksubscription",
            name="retry_schedule",
            field=models.JSONField(
                blank=True,
                default=webhooks.backoff.standard_retry_schedule,
                help_text="Seconds to wait after each failed attempt (±20 %); null: max_retries "
                "retries after retry_delay_seconds doubling each time.",
                null=True,
                validators=[webhooks.models.validate_retry_schedule],
            ),
        ),
        migrations.AddField(
            model_name="webhooksubscription",
            name="failed_attempts_in_row",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="webhooksubscription",
            name="circuit_opened_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="webhooksubscription",
            name="circuit_probe_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
