"""``llmobserve db upgrade|current`` and ``llmobserve backup``, as an operator runs them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from llmobserve.control import HEAD, ControlStore, default_url
from tests.conftest import run_cli


def test_db_current_and_upgrade(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    before = run_cli("db", "current", "--data-dir", data)
    assert before.returncode == 0 and "none (empty store)" in before.stdout and "db upgrade" in before.stdout
    upgraded = run_cli("db", "upgrade", "--data-dir", data)
    assert upgraded.returncode == 0 and f"upgraded to revision {HEAD}" in upgraded.stdout, upgraded.stderr
    again = run_cli("db", "upgrade", "--data-dir", data)
    assert f"already at revision {HEAD}" in again.stdout
    assert f"revision {HEAD}, up to date" in run_cli("db", "current", "--data-dir", data).stdout


def test_backup_is_a_consistent_copy_and_postgres_is_sent_to_pg_dump(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = ControlStore.open(default_url(data))
    _, key_id = store.create_key("acme", ("read",))
    target = tmp_path / "control-backup.db"
    done = run_cli("backup", str(target), "--data-dir", str(data))  # while the store is open
    store.close()
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT key_id FROM api_keys").fetchall() == [(key_id,)]
        assert copy.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
    refused = run_cli("backup", str(target), "--data-dir", str(data))
    assert refused.returncode == 2 and "exists" in refused.stderr  # never overwrites a backup
    url = "postgresql+psycopg://u:secret@127.0.0.1:5432/db"  # said before any connection is tried
    to_pg = run_cli("backup", str(tmp_path / "x.db"), env={"LLMOBSERVE_DATABASE_URL": url})
    assert to_pg.returncode == 2 and "pg_dump" in to_pg.stderr and "secret" not in to_pg.stderr


def test_a_bad_database_url_is_one_clear_line(tmp_path: Path) -> None:
    done = run_cli("db", "current", env={"LLMOBSERVE_DATABASE_URL": "mysql://root@db/x"})
    assert done.returncode == 2 and "LLMOBSERVE_DATABASE_URL" in done.stderr and "postgresql+psycopg" in done.stderr
    down = run_cli("db", "current", env={"LLMOBSERVE_DATABASE_URL": "postgresql+psycopg://u:secret@127.0.0.1:1/x"})
    assert down.returncode == 1 and "cannot read the control store" in down.stderr and "secret" not in down.stderr


def test_users_invite_list_and_remove(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    made = run_cli(
        "users", "invite", "--workspace", "acme", "--email", "Bo@Example.com", "--role", "admin", "--data-dir", data
    )
    assert made.returncode == 0, made.stderr
    link = made.stdout.strip().splitlines()[-1]
    assert "/invite/" in link and "invited bo@example.com to acme as admin" in made.stdout
    store = ControlStore.open(default_url(tmp_path / "data"))
    try:
        token = link.rsplit("/", 1)[1]
        joined = store.people.sign_in_oidc("https://idp", "bo", "okta", "bo@example.com", "Bo", "off", token)
    finally:
        store.close()
    listed = run_cli("users", "list", "--data-dir", data)
    assert f"acme\tadmin\t{joined.user_id}\tbo@example.com\tBo" in listed.stdout
    bad = run_cli("users", "invite", "--workspace", "acme", "--email", "x@y.z", "--role", "king", "--data-dir", data)
    assert bad.returncode == 2 and "--role must be one of" in bad.stderr
    removed = run_cli("users", "remove", "--workspace", "acme", "--user", "bo@example.com", "--data-dir", data)
    assert removed.returncode == 0, removed.stderr
    assert "nobody yet" in run_cli("users", "list", "--workspace", "acme", "--data-dir", data).stdout
