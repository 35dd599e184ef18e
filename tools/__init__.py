"""Generators for checked-in files derived from other files (dashboards, Kubernetes rules).

Each module writes its outputs with ``python -m tools.<module>`` (or ``make generate``); a test
rebuilds them and fails when the checked-in copy differs, so the two never drift.
"""
