"""Benchmarks that print their figures next to a floor; run with `make bench`."""
