"""Fixtures of the data-quality tests. Re-seeding after transactional tests lives in tests/conftest.py."""
