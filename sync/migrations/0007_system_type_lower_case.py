"""system_type values become lower case like every other choice ("ERP" → "erp",
"Other" → "other"); stored rows are rewritten, and back again on reverse."""

from django.db import migrations, models

OLD_TO_NEW = {
    "ERP": "erp",
    "MES": "mes",
    "WMS": "wms",
    "CRM": "crm",
    "PLM": "plm",
    "Other": "other",
}


def _rename(apps, mapping: dict[str, str]) -> None:
    configurations = apps.get_model("sync", "SyncConfiguration")
    for old, new in mapping.items():
        configurations.objects.filter(system_type=old).update(system_type=new)


def to_lower_case(apps, schema_editor) -> None:
    _rename(apps, OLD_TO_NEW)


def to_old_case(apps, schema_editor) -> None:
    _rename(apps, {new: old for old, new in OLD_TO_NEW.items()})


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0006_run_outcome_with_conflicts_and_missing_ids"),
    ]

    operations = [
        migrations.AlterField(
            model_name="syncconfiguration",
            name="system_type",
            field=models.CharField(
                choices=[
                    ("erp", "ERP"),
                    ("mes", "MES"),
                    ("wms", "WMS"),
                    ("crm", "CRM"),
                    ("plm", "PLM"),
                    ("other", "Other"),
                ],
                max_length=8,
            ),
        ),
        migrations.RunPython(to_lower_case, to_old_case),
    ]
