"""On PostgreSQL, the database itself refuses to change or delete audit rows.

Row triggers refuse UPDATE and DELETE on events and seals, and on the chain head a DELETE or
an UPDATE that moves it backwards (which is how a truncated tail would be hidden). TRUNCATE
is a statement of its own that these triggers do not see: it needs the table owner's rights,
and Django's test runner uses it to empty tables between transactional tests. Other
databases have no trigger here; give the application's database user INSERT and SELECT only
on these tables where that matters (README, "Audit trail").
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'The audit trail is append-only: % on % refused.', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;

CREATE FUNCTION audit_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.last_sequence < OLD.last_sequence THEN
        RAISE EXCEPTION 'The audit chain head only moves forward: % refused.', TG_OP
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER audit_auditevent_append_only BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_auditseal_append_only BEFORE UPDATE OR DELETE ON audit_auditseal
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_auditchainhead_forward_only BEFORE UPDATE OR DELETE ON audit_auditchainhead
    FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS audit_auditchainhead_forward_only ON audit_auditchainhead;
DROP TRIGGER IF EXISTS audit_auditseal_append_only ON audit_auditseal;
DROP TRIGGER IF EXISTS audit_auditevent_append_only ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_head_forward_only();
DROP FUNCTION IF EXISTS audit_refuse_change();
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # no placeholders: plpgsql uses %

    return run


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_audit_events_and_seals")]

    operations = [
        migrations.RunPython(_on_postgresql(FORWARD), _on_postgresql(BACKWARD), elidable=False),
    ]
