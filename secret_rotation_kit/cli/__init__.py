"""Operator CLI (``secret-rotation``): see, start and check rotations; never prints a value."""
