"""Django's createsuperuser and changepassword, as operators run them, are in the audit trail
(channel `command`, the OS user running manage.py), and never with a password or its hash."""

from __future__ import annotations

import getpass
import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

PASSWORD = "Wide-Rivers-Carry-9-Boats"


class TTY(StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def typed(monkeypatch):
    """What the person types at the prompts (the terminal is the edge of the process)."""
    answers: dict[str, list[str]] = {"input": [], "password": []}
    monkeypatch.setattr("builtins.input", lambda prompt="": answers["input"].pop(0))
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": answers["password"].pop(0))
    return answers


def events_of(user) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(object_type="user", object_id=str(user.pk)))


def shown(event: AuditEvent) -> str:
    return json.dumps([event.changes, event.object_repr, event.reason, event.actor_name])


def test_a_superuser_created_with_noinput_is_recorded_with_its_flags_and_not_its_password(
    monkeypatch,
):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)

    call_command(
        "createsuperuser",
        "--noinput",
        "--username",
        "root",
        "--email",
        "r@example.com",
        stdout=StringIO(),
    )

    user = get_user_model().objects.get(username="root")
    (event,) = events_of(user)
    assert (event.action, event.channel, event.actor_type) == ("created", "command", "system")
    assert event.actor_name.endswith("(manage.py createsuperuser)")
    assert event.changes == {
        "is_active": [None, True],
        "is_staff": [None, True],
        "is_superuser": [None, True],
        "username": [None, "root"],
    }
    assert user.check_password(PASSWORD)
    assert PASSWORD not in shown(event) and user.password not in shown(event)


def test_a_superuser_created_at_the_prompts_is_recorded_once(typed):
    typed["input"] += ["chief", "chief@example.com"]
    typed["password"] += [PASSWORD, PASSWORD]

    call_command("createsuperuser", interactive=True, stdin=TTY(), stdout=StringIO())

    user = get_user_model().objects.get(username="chief")
    (event,) = events_of(user)
    assert (event.action, event.object_repr) == ("created", "chief")
    assert user.is_superuser and user.check_password(PASSWORD)
    assert PASSWORD not in shown(event)


def test_a_refused_createsuperuser_records_nothing(make_user, monkeypatch):
    make_user("taken")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)

    with pytest.raises(CommandError, match="already taken"):
        call_command("createsuperuser", "--noinput", "--username", "taken", "--email", "")

    assert not AuditEvent.objects.filter(object_type="user").exists()


def test_changepassword_is_recorded_as_the_admin_records_it_without_the_password(make_user, typed):
    user = make_user("alice")
    old_hash = user.password
    typed["password"] += [PASSWORD, PASSWORD]
    out = StringIO()

    call_command("changepassword", "alice", stdout=out)

    user.refresh_from_db()
    (event,) = events_of(user)
    assert (event.action, event.channel, event.actor_type) == (
        "password_changed",
        "command",
        "system",
    )
    assert event.actor_name.endswith("(manage.py changepassword)")
    assert event.changes == {"password": ["[secret]", "[changed]"]}
    assert user.check_password(PASSWORD)
    assert "Password changed successfully for user 'alice'" in out.getvalue()
    for secret in (PASSWORD, old_hash, user.password):
        assert secret not in shown(event)


def test_changepassword_that_gives_up_changes_and_records_nothing(make_user, typed):
    user = make_user("bob")
    typed["password"] += ["one-Long-passw0rd", "another-Long-passw0rd"] * 3
    out = StringIO()

    with pytest.raises(CommandError, match="after 3 attempts"):
        call_command("changepassword", "bob", stdout=out)

    user.refresh_from_db()
    assert user.check_password("pw-12345678")
    assert out.getvalue().count("Passwords do not match") == 3
    assert events_of(user) == []


def test_changepassword_of_a_user_that_does_not_exist_says_so():
    with pytest.raises(CommandError, match="user 'nobody' does not exist"):
        call_command("changepassword", "nobody")
