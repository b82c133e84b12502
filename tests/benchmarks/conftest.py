"""Fixtures the page benchmarks share with the gunicorn tests: a database and checkpoints of their own."""

from tests.concurrency.test_gunicorn import checkpoint_place, own_database  # noqa: F401
