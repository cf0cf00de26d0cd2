"""Real servers started on loopback for tests, demo and benchmarks."""
