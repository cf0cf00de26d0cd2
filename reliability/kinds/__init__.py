"""One harness per secret kind."""
