"""``DATABASES[...]["ENGINE"] = "secret_rotation_kit.django.postgresql"``: Django's PostgreSQL
backend with credentials from Secrets Manager (``base.DatabaseWrapper``)."""
