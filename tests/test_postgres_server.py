"""The PostgreSQL the store tests run on: a real server, one empty database per test."""

from __future__ import annotations

import psycopg


def test_each_test_gets_its_own_empty_database_on_a_real_server(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        (version,) = conn.execute("SHOW server_version_num").fetchone() or (0,)
        assert int(version) >= 160000
        (tables,) = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone() or (None,)
        assert tables == 0
        conn.execute("CREATE TABLE scratch (id int)")


def test_a_database_of_an_earlier_test_is_gone(postgres_server: str, postgres_url: str) -> None:
    with psycopg.connect(postgres_server) as conn:
        names = [
            r[0]
            for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'call_logs_test_%'")
        ]
    assert len(names) == 1
    assert names[0] in postgres_url


def test_the_english_search_configuration_and_unaccent_are_available(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        (vector,) = conn.execute(
            "SELECT to_tsvector('english', unaccent('Cancelled the Café bookings'))"
        ).fetchone() or ("",)
    assert vector == "'book':4 'cafe':3 'cancel':1"
