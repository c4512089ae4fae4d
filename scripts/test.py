"""`make test`'s run of the suite, isolated from any other run on the machine.

1. Gives the run its own PostgreSQL databases: TEST_DATABASE_URL's server, with a name made unique
   to this run (pytest-django then creates `test_<name>`, one per xdist worker: `test_<name>_gw0`…).
2. Starts a private Redis for the run on a free loopback port below 32768, with nothing persisted:
   the suite empties its Redis database before every test, so a shared server would lose another
   run's data; each xdist worker uses its own database of it (tests/settings.py).
3. Runs pytest in parallel (pytest-xdist, TEST_WORKERS workers, `auto` by default: one per core)
   with coverage and its floor (pyproject.toml), its data files in the run's temporary directory,
   passing on any further arguments.
4. Stops that Redis and drops the run's databases, whatever the outcome.
"""

import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/clickmeter"
# The highest xdist worker number the private Redis has a database for.
REDIS_DATABASES = 256


def free_port() -> int:
    """A port free now, below the ephemeral range (which client sockets use under load)."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


def redis_start(directory: Path) -> tuple[subprocess.Popen, int]:
    """A private redis-server, answering on its port; another port if another process took the first."""
    for _ in range(5):
        port = free_port()
        server = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory), "--save", "",
             "--appendonly", "no", "--databases", str(REDIS_DATABASES)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=port, socket_timeout=1)
        for _ in range(100):
            if server.poll() is not None:
                break
            try:
                # Ours, not a server another process started on the same port in the meantime.
                if client.info("server")["process_id"] == server.pid:
                    return server, port
            except redis.ConnectionError:
                pass
            time.sleep(0.05)
        server.kill()
        server.wait()
    raise RuntimeError("redis-server did not start")


def databases_drop(server_url: str, name: str) -> None:
    """Drop the run's test databases, and any connection a killed test's process left open to them."""
    url = urlsplit(server_url)
    with psycopg.connect(url._replace(path="/postgres").geturl(), autocommit=True) as connection:
        names = connection.execute(
            "SELECT datname FROM pg_database WHERE datname = %s OR datname LIKE %s",
            [f"test_{name}", f"test_{name}\\_gw%"],
        ).fetchall()
        for (database,) in names:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    server_url = os.environ.get("TEST_DATABASE_URL") or DEFAULT_DATABASE_URL
    name = f"{urlsplit(server_url).path.strip('/') or 'clickmeter'}_{secrets.token_hex(4)}"
    with tempfile.TemporaryDirectory(prefix="clickmeter-test-") as run_dir:
        redis_server, redis_port = redis_start(Path(run_dir))
        try:
            env = {
                **os.environ,
                "DATABASE_URL": urlsplit(server_url)._replace(path=f"/{name}").geturl(),
                "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                "COVERAGE_FILE": str(Path(run_dir) / ".coverage"),
            }
            print(f"test run: databases test_{name}*, Redis on 127.0.0.1:{redis_port}", flush=True)
            workers = os.environ.get("TEST_WORKERS") or "auto"
            # `--cov` before another option: followed by a path, it would take the path for its source.
            argv = [
                str(BIN / "pytest"),
                "--create-db",
                "--cov",
                "--durations=15",
                "-n",
                workers,
                "--dist",
                "worksteal",
                *sys.argv[1:],
            ]
            return subprocess.run(argv, cwd=ROOT, env=env).returncode
        finally:
            redis_server.terminate()
            redis_server.wait()
            databases_drop(server_url, name)


if __name__ == "__main__":
    sys.exit(main())
