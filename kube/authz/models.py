"""Bearer tokens, stored hashed (SHA-256): a stolen database dump yields no usable token."""

from __future__ import annotations

from django.db import models


class Token(models.Model):
    token_hash = models.CharField(max_length=64, unique=True)
    user_name = models.CharField(max_length=253)
    uid = models.CharField(max_length=64, blank=True)
    groups = models.JSONField(default=list)
    description = models.CharField(max_length=253, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "kube_token"

    def __str__(self) -> str:
        return f"token for {self.user_name}"
