"""Benchmarks with their data generators; not part of the test run. ``python -m bench``."""
