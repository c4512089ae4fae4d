"""`make run`: the embedded default (SQLite, tasks in-process, no Redis) with its periodic jobs.

1. Reads `.env` (`CLICKMETER_ENV_FILE`) as the settings do, and checks that HOST:PORT (default
   127.0.0.1:8000) is free before doing anything else.
2. When neither the environment nor that file has a SECRET_KEY, writes a random one there, so the
   README's `manage.py` commands work in this checkout with the same settings.
3. Migrates the SQLite database in the var directory and sets up the demo (idempotent); a
   DATABASE_URL or REDIS_URL set in the environment or `.env` is ignored.
4. Serves with Django's development server, beside `celery beat`, which runs the jobs of
   CELERY_BEAT_SCHEDULE itself, one at a time (there is no broker: tasks run in-process). Ctrl-C
   stops both; if either stops, so does the other.

One `make run` per var directory: a second one is refused, so no job ever runs twice at once.
"""

import fcntl
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import environ

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def fail(message: str) -> None:
    print(f"make run: {message}", file=sys.stderr)
    sys.exit(1)


def env_file() -> Path | None:
    """The env file the settings read (CLICKMETER_ENV_FILE, `.env` by default); None when disabled."""
    path = os.environ.get("CLICKMETER_ENV_FILE", str(ROOT / ".env"))
    return Path(path) if path else None


def secret_key_ensure(path: Path | None) -> None:
    """Give the settings a SECRET_KEY: the environment's, the env file's, or a new one written there."""
    if os.environ.get("SECRET_KEY") or path is None:
        return
    if path.exists():
        print(f"make run: {path} sets no SECRET_KEY; manage.py commands need one there.", file=sys.stderr)
        return
    key = secrets.token_urlsafe(50)
    path.write_text(
        "# Written by `make run` for the embedded default on this machine; read by config/settings.py\n"
        "# (the environment wins). For production, see .env.example.\n"
        f"SECRET_KEY={key}\n"
    )
    path.chmod(0o600)
    os.environ["SECRET_KEY"] = key
    print(f"make run: wrote {path} with a new random SECRET_KEY.")


def address_check(host: str, port: str) -> str:
    """Fail early, with a message, unless the server can listen on host:port; return runserver's addrport."""
    if not port.isdigit() or not 0 < int(port) < 65536:
        fail(f"PORT={port} is not a port number (1-65535).")
    host = host.strip("[]")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        fail(f"HOST={host} cannot be resolved: {exc}.")
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as runserver does
        try:
            sock.bind(address)
        except OSError as exc:
            fail(
                f"cannot listen on {host}:{port} ({exc.strerror}); another server is using it. "
                f"Stop it, or choose another port: PORT={int(port) + 1} make run"
            )
    return f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"


def var_dir_lock(var_dir: Path):
    """Lock the var directory while serving (one scheduler per embedded database); return the lock."""
    var_dir.mkdir(parents=True, exist_ok=True)
    lock = open(var_dir / "run.lock", "w")  # noqa: SIM115 (held until the process exits)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fail(f"another `make run` is serving {var_dir}; stop it first (or set CLICKMETER_VAR_DIR).")
    return lock


def embedded_default_ensure(var_dir: Path) -> None:
    """Serve the embedded default whatever the environment or `.env` says: SQLite in the var
    directory, no Redis (nothing would drain it, nor run a job), development settings. A demo admin
    must never land in a production database named in `.env`."""
    for name in ("DATABASE_URL", "REDIS_URL"):
        if os.environ.get(name):
            print(f"make run: ignoring {name}: make run serves the embedded default (see README, Production).")
    os.environ.update(
        CLICKMETER_VAR_DIR=str(var_dir),
        DATABASE_URL=f"sqlite:///{var_dir / 'clickmeter.sqlite3'}",
        REDIS_URL="",
        DEBUG="true",
    )


def main() -> None:
    path = env_file()
    if path is not None and path.exists():
        environ.Env.read_env(path)  # as the settings do: the environment wins
    addrport = address_check(os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000"))
    secret_key_ensure(path)
    var_dir = ROOT / os.environ.get("CLICKMETER_VAR_DIR", "var")  # relative to the project, as for the server
    _lock = var_dir_lock(var_dir)  # held until this process exits
    embedded_default_ensure(var_dir)
    manage = [sys.executable, str(ROOT / "manage.py")]
    for step in (["migrate", "--verbosity", "0"], ["demo_setup"]):
        if subprocess.run([*manage, *step], cwd=ROOT).returncode:
            sys.exit(1)

    beat = [str(BIN / "celery"), "-A", "config", "--quiet", "beat", "--loglevel", "WARNING"]
    children = {
        "the periodic jobs (celery beat)": subprocess.Popen(
            [*beat, "--schedule", str(var_dir / "celerybeat-schedule")], cwd=ROOT
        ),
        "the server": subprocess.Popen([*manage, "runserver", addrport], cwd=ROOT),
    }
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    stopped = None
    try:
        while stopped is None:
            time.sleep(0.5)
            stopped = next((name for name, child in children.items() if child.poll() is not None), None)
        print(f"make run: {stopped} stopped; stopping the rest.", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        for child in children.values():
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
    sys.exit(1 if stopped else 0)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C while migrating or setting up the demo
        sys.exit(130)
