"""A real, throw-away PostgreSQL server for the tests (session fixture ``postgres_url``).

``initdb`` into a temporary directory, ``pg_ctl start`` on a free local port (unix socket in
the same directory), password authentication for a user ``calibrate``. PostgreSQL refuses to
run as root, so as root the server runs as the ``postgres`` user (``runuser``). Where no
PostgreSQL binaries exist (``.ci/system-packages.sh`` installs them) the tests skip with the reason.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_USER = "calibrate"
PG_PASSWORD = "s3cret-Pg-pw"  # a test secret: the redaction tests grep every artifact for it


def _bin_dir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *cmd]
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(cmd)]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """``postgresql://calibrate:<pw>@127.0.0.1:<port>/postgres`` of a server started for this session."""
    bindir = _bin_dir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (no initdb); run .ci/system-packages.sh to install it")
    if os.geteuid() == 0:
        import pwd

        try:
            server_user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server as")
    root = Path(tempfile.mkdtemp(prefix="calibrate-pg-"))
    data, pwfile = root / "data", root / "pw"
    pwfile.write_text(PG_PASSWORD + "\n")
    if os.geteuid() == 0:
        for p in (root, pwfile):
            os.chown(p, server_user.pw_uid, server_user.pw_gid)
    port = _free_port()
    run = lambda cmd: subprocess.run(_as_server_user(cmd), check=True, capture_output=True, text=True)  # noqa: E731
    try:
        run([str(bindir / "initdb"), "-D", str(data), "-U", PG_USER, "--auth=scram-sha-256",
             f"--pwfile={pwfile}", "-E", "UTF8", "--no-sync"])
        run([str(bindir / "pg_ctl"), "-D", str(data), "-w", "-t", "60", "-l", str(root / "log"), "start",
             "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"])
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"could not start PostgreSQL: {(exc.stderr or exc.stdout).strip()[:300]}")
    try:
        yield f"postgresql://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def copy_frame(url: str, table: str, frame, types: dict[str, str]) -> None:
    """Create ``table`` with the given column types and COPY ``frame`` into it (fast, exact text)."""
    import io

    import psycopg

    cols = ", ".join(f'"{c}" {types[c]}' for c in frame.columns)
    buf = io.StringIO()
    frame.to_csv(buf, index=False, header=False, na_rep="", date_format="%Y-%m-%d")
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute(f'DROP TABLE IF EXISTS "{table}"')
        cur.execute(f'CREATE TABLE "{table}" ({cols})')
        with cur.copy(f'COPY "{table}" FROM STDIN WITH (FORMAT csv)') as copy:
            copy.write(buf.getvalue())
