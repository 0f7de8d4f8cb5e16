"""`make bench`: benchmarks with timing goals (see docs/benchmarks.md)."""
