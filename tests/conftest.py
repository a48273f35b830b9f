"""Fixtures shared by every test directory: a private PostgreSQL server (tests/pgcluster.py)."""
from pgcluster import pg_cluster, pg_db  # noqa: F401 - pytest fixtures
