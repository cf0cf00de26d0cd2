"""A minimal Django app for the integration tests: one model with a JSONField."""
