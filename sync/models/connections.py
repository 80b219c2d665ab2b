"""Where external systems live and how to log in."""

from __future__ import annotations

from django.db import models


class Connection(models.Model):
    """Where an external system lives and how to log in. Secrets are stored encrypted
    (FIELD_ENCRYPTION_KEYS) and never leave the service."""

    class Kind(models.TextChoices):
        MSSQL = "mssql", "SQL Server"
        POSTGRESQL = "postgresql", "PostgreSQL"
        MYSQL = "mysql", "MySQL / MariaDB"
        SQLITE = "sqlite", "SQLite"
        REST = "rest", "REST API"

    class AuthType(models.TextChoices):
        NONE = "none", "None"
        BASIC = "basic", "HTTP basic"
        BEARER = "bearer", "Bearer token"
        API_KEY_HEADER = "api_key_header", "API key header"
        OAUTH2_CLIENT_CREDENTIALS = "oauth2_client_credentials", "OAuth2 client credentials"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    host = models.CharField(max_length=255, blank=True, default="")
    port = models.PositiveIntegerField(null=True, blank=True)
    database = models.CharField(
        max_length=500, blank=True, default="", help_text="Database name; for SQLite the file path"
    )
    username = models.CharField(max_length=255, blank=True, default="")
    password_encrypted = models.TextField(blank=True, default="", editable=False)
    options = models.JSONField(
        default=dict, blank=True, help_text="driver, encrypt, trust_server_certificate, schema, …"
    )
    base_url = models.URLField(max_length=500, blank=True, default="")
    auth_type = models.CharField(max_length=32, choices=AuthType.choices, default=AuthType.NONE)
    credentials_encrypted = models.TextField(blank=True, default="", editable=False)
    timeout_seconds = models.PositiveIntegerField(default=15)
    last_tested_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_test_ok = models.BooleanField(null=True, editable=False)
    last_test_message = models.CharField(max_length=500, blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [("test_connection", "Can test sync connection")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def is_sql(self) -> bool:
        return self.kind != self.Kind.REST
