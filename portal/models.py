"""Per-user portal preferences (rendered server-side, so a page never flashes the wrong theme)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

THEMES = (("system", "System"), ("light", "Light"), ("dark", "Dark"))


class Preference(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_preference")
    theme = models.CharField(max_length=16, choices=THEMES, default="system")

    class Meta:
        db_table = "portal_preference"

    def __str__(self) -> str:
        return f"{self.user}: {self.theme}"
