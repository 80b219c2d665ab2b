"""Admin forms for API keys; the rules themselves live in services.validation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from apikeys import validation
from apikeys.models import APIKey
from apikeys.scopes import SCOPES


def _field_rule(rule: Callable[[Any], Any], field: str, value: Any) -> Any:
    try:
        return rule(value)
    except ValidationError as exc:
        raise ValidationError(exc.message_dict.get(field, exc.messages)) from None


class APIKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=[(name, f"{name} — {label}") for name, label in SCOPES.items()],
        widget=forms.CheckboxSelectMultiple,
    )
    allowed_networks = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="IPv4/IPv6 addresses or CIDRs, one per line or comma-separated. Empty: any.",
    )

    class Meta:
        model = APIKey
        fields = (
            "name",
            "description",
            "scopes",
            "allowed_networks",
            "expires_at",
            "rate_limit_per_minute",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["allowed_networks"] = "\n".join(self.instance.allowed_networks)

    def clean_name(self) -> str:
        return _field_rule(validation.clean_name, "name", self.cleaned_data["name"])

    def clean_scopes(self) -> list[str]:
        return _field_rule(validation.clean_scopes, "scopes", self.cleaned_data["scopes"])

    def clean_allowed_networks(self) -> list[str]:
        raw = self.cleaned_data["allowed_networks"].replace(",", "\n")
        entries = [line.strip() for line in raw.splitlines() if line.strip()]
        return _field_rule(validation.clean_networks, "allowed_networks", entries)

    def clean_expires_at(self) -> Any:
        value = self.cleaned_data["expires_at"]
        if self.instance.pk and value == self.instance.expires_at:
            return value  # unchanged: an expiry that has since passed stays as it is
        return _field_rule(validation.clean_expiry, "expires_at", value)

    def clean_rate_limit_per_minute(self) -> Any:
        value = self.cleaned_data["rate_limit_per_minute"]
        return _field_rule(validation.clean_rate_limit, "rate_limit_per_minute", value)
