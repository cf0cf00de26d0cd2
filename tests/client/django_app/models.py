"""The model the Django tests read and write through the rotating backend."""

from __future__ import annotations

from django.db import models


class Order(models.Model):
    note = models.CharField(max_length=100)
    data = models.JSONField(default=dict)  # JSONField needs the backend's own adapters (jsonb)

    class Meta:
        app_label = "django_app"
