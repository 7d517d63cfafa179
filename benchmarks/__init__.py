"""Benchmarks: speed is measured here, never asserted in tests. Run them with `bin/bench`."""
