"""Scheduled check that every secret of an environment was rotated within the policy."""
