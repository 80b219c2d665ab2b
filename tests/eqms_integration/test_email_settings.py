"""EMAIL_URL and ALERT_EMAILS as the settings read them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from eqms_integration.env import email_config, env_emails


def test_filemail_keeps_its_absolute_path():
    config = email_config("filemail:///var/spool/eqms-mail")

    assert config["EMAIL_BACKEND"] == "django.core.mail.backends.filebased.EmailBackend"
    assert config["EMAIL_FILE_PATH"] == "/var/spool/eqms-mail"


def test_consolemail_prints_and_smtp_reads_host_port_user_and_an_escaped_password():
    assert email_config("consolemail://")["EMAIL_BACKEND"].endswith("console.EmailBackend")
    config = email_config("smtp+tls://alerts:p%40ss@mail.plant.example:587")

    assert (config["EMAIL_HOST"], config["EMAIL_PORT"]) == ("mail.plant.example", 587)
    assert (config["EMAIL_HOST_USER"], config["EMAIL_HOST_PASSWORD"]) == ("alerts", "p@ss")
    assert config["EMAIL_USE_TLS"] is True and config["EMAIL_TIMEOUT"] == 10


def test_smtps_is_implicit_tls_not_starttls():
    config = email_config("smtps://mail.plant.example:465")

    assert (config["EMAIL_USE_SSL"], config["EMAIL_USE_TLS"]) == (True, False)


@pytest.mark.parametrize(
    ("url", "says"),
    [("http://mail", "unsupported scheme 'http'"), ("filemail://relative", "absolute path")],
)
def test_a_wrong_email_url_stops_start_up_saying_why(url, says):
    with pytest.raises(ImproperlyConfigured, match=says):
        email_config(url)


def test_alert_emails_are_checked_one_by_one(monkeypatch):
    monkeypatch.setenv("ALERT_EMAILS", "ops@plant.example, qa@plant.example")
    assert env_emails("ALERT_EMAILS") == ["ops@plant.example", "qa@plant.example"]

    monkeypatch.setenv("ALERT_EMAILS", "ops@plant.example;qa@plant.example")
    with pytest.raises(ImproperlyConfigured, match="ALERT_EMAILS must list e-mail addresses"):
        env_emails("ALERT_EMAILS")
