"""Benchmarks: speed is measured here, never asserted in tests. Run them with `bin/bench`."""

import warnings

# nameko imports eventlet, which warns on every start that it is deprecated: known,
# and only noise in a benchmark's output.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
