"""Benchmarks of the storefront under gunicorn against a ceiling; run with ``make bench``."""
