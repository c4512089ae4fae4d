"""Processes of the production-shaped stack on loopback ports, started by the end-to-end tests and the benchmarks.

Each test gets its own Redis (AOF on, `noeviction`, in a temporary directory) so it can stop and
restart the broker, plus gunicorn and Celery processes pointed at the pytest database.
"""

import fcntl
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BROWSER_USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
BIN = Path(sys.executable).parent


def free_port() -> int:
    """A free port below the ephemeral range (which client sockets use under load)."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


def wait_until(predicate, *, timeout: float, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


class Process:
    def __init__(self, name: str, argv: list[str], env: dict, log_dir: Path):
        self.name, self.argv, self.env = name, argv, env
        self.log_path = log_dir / f"{name}.log"
        self.popen = None

    def start(self):
        log = open(self.log_path, "ab")  # noqa: SIM115 (kept open for the process's lifetime)
        self.popen = subprocess.Popen(
            self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self

    def kill(self, sig=signal.SIGKILL):
        """Signal the whole process group (a Celery worker and its pool children alike)."""
        if self.popen and self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
            self.popen.wait(timeout=30)

    def stop(self):
        if self.popen and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


class Redis:
    def __init__(self, directory: Path, log_dir: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        argv = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(directory),
            "--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "noeviction", "--save", "",
        ]  # fmt: skip
        self.process = Process(f"redis-{self.port}", argv, dict(os.environ), log_dir)

    def start(self):
        self.process.start()
        wait_until(self.ping, timeout=10, message="redis")
        return self

    def ping(self) -> bool:
        result = subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True)
        return result.stdout.strip() == "PONG"

    def cli(self, *args) -> str:
        return subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True).stdout.strip()

    def shutdown(self):
        """Stop as an operator would; the AOF keeps every acknowledged write."""
        self.cli("shutdown")
        self.process.popen.wait(timeout=15)


CLICKHOUSE_SERVER = "/usr/sbin/clickhouse-server"  # Debian's package (`make services` installs it)
CLICKHOUSE_CONFIG = """<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>{port}</tcp_port>
  <path>{directory}/</path>
  <tmp_path>{directory}/tmp/</tmp_path>
  <user_files_path>{directory}/user_files/</user_files_path>
  <format_schema_path>{directory}/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size>
  <remote_servers>{remote_servers}</remote_servers>
</yandex>
"""
CLICKHOUSE_USERS = """<yandex>
  <profiles><default></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
"""


class ClickHouse:
    """A ClickHouse server of its own (Debian's clickhouse-server), its data in `directory`;
    `remote_servers`: the clusters it knows (clickhouse_cluster)."""

    def __init__(self, directory: Path, log_dir: Path, *, remote_servers: str = ""):
        self.port = free_port()
        self.directory, self.remote_servers = directory, remote_servers
        argv = [CLICKHOUSE_SERVER, f"--config-file={directory / 'config.xml'}"]
        self.process = Process(f"clickhouse-{self.port}", argv, dict(os.environ), log_dir)

    def url(self, database: str) -> str:
        return f"clickhouse://default@127.0.0.1:{self.port}/{database}"

    def start(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        config = CLICKHOUSE_CONFIG.format(port=self.port, directory=self.directory, remote_servers=self.remote_servers)
        (self.directory / "config.xml").write_text(config)
        (self.directory / "users.xml").write_text(CLICKHOUSE_USERS)
        self.process.start()
        wait_until(self.ping, timeout=60, message=f"clickhouse-server\n{self.process.log()}")
        return self

    def ping(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self):
        """Killed: a test's server keeps nothing worth a clean shutdown (ten seconds on 18.16)."""
        self.process.kill()


def clickhouse_cluster(directory: Path, *, name: str, shards: int) -> list[ClickHouse]:
    """`shards` servers, each a shard of the cluster `name` that every one of them knows, started."""
    servers = [ClickHouse(directory / f"shard{n}", directory) for n in range(shards)]
    replicas = "".join(
        f"<shard><replica><host>127.0.0.1</host><port>{server.port}</port></replica></shard>" for server in servers
    )
    for server in servers:
        server.remote_servers = f"<{name}>{replicas}</{name}>"
    return [server.start() for server in servers]


def static_files_collect(static_root: Path) -> Path:
    """Collect the static files into `static_root` with production's storage (hashed names,
    compressed copies), as the Procfile's release step does, unless a process did already; return it.
    The servers serve them given STATIC_ROOT=static_root."""
    static_root.parent.mkdir(parents=True, exist_ok=True)
    with open(static_root.parent / f"{static_root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (static_root / "staticfiles.json").exists():
            env = {"SECRET_KEY": "collectstatic-" + "x" * 40, **os.environ}
            env.update(DJANGO_SETTINGS_MODULE="config.settings", DEBUG="false")
            argv = [str(BIN / "python"), "manage.py", "collectstatic", "--noinput", "-v0"]
            subprocess.run(argv, cwd=ROOT, env={**env, "STATIC_ROOT": str(static_root)}, check=True)
    return static_root


class Stack:
    """gunicorn + Celery worker + beat + a persistent Redis, sharing one environment."""

    def __init__(self, tmp_path: Path, database_url: str, *, web_args: tuple[str, ...] = (), **extra_env):
        self.tmp = tmp_path
        self.redis = Redis(tmp_path, tmp_path)
        self.web_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.web_port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CLICKMETER_", "DEBUG"))}
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DATABASE_URL=database_url,
            REDIS_URL=self.redis.url,
            SECRET_KEY="e2e-secret-" + "x" * 40,
            DEBUG="false",
            SECURE_SSL_REDIRECT="false",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            CLICKMETER_INGEST_CLAIM_IDLE_SECONDS="5",
            LOG_LEVEL="WARNING",
        )
        env.update(extra_env)
        self.env = env
        self.web = Process(
            "web",
            [str(BIN / "gunicorn"), "config.wsgi", "-c", "config/gunicorn.py", "--bind", f"127.0.0.1:{self.web_port}",
             *web_args],
            env, tmp_path,
        )  # fmt: skip
        self.workers: list[Process] = []
        self.beat = Process(
            "beat",
            [str(BIN / "celery"), "-A", "config", "beat", "--loglevel", "WARNING", "-s", str(tmp_path / "beat")],
            env, tmp_path,
        )  # fmt: skip

    def start_web(self):
        self.web.start()
        wait_until(self.alive, timeout=30, message=f"gunicorn\n{self.web.log()}")

    def alive(self) -> bool:
        try:
            return self.get("/healthz")[0] == 200
        except urllib.error.URLError:
            return False

    def start_worker(self) -> Process:
        worker = Process(
            f"worker-{len(self.workers)}",
            [str(BIN / "celery"), "-A", "config", "worker", "--concurrency", "2", "--loglevel", "WARNING",
             "--without-gossip", "--without-mingle", "-n", f"w{len(self.workers)}@%h"],
            self.env, self.tmp,
        )  # fmt: skip
        self.workers.append(worker.start())
        return worker

    def start(self, *, worker=True, beat=True):
        self.redis.start()
        self.start_web()
        if worker:
            self.start_worker()
        if beat:
            self.beat.start()
        return self

    def stop(self):
        for process in [self.web, self.beat, *self.workers, self.redis.process]:
            process.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.log()}" for p in [self.web, self.beat, *self.workers])

    def request(self, method: str, path: str, body=None, headers=None) -> tuple[int, dict, dict]:
        data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
        request = urllib.request.Request(  # noqa: S310 (always http://127.0.0.1)
            self.base_url + path, data=data, method=method, headers=headers or {}
        )
        request.add_header("User-Agent", BROWSER_USER_AGENT)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback only)
                return response.status, dict(response.headers), json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), json.loads(error.read() or b"null")

    def get(self, path: str, key: str | None = None):
        status, _, body = self.request("GET", path, headers={"Authorization": f"Bearer {key}"} if key else {})
        return status, body

    def ingest(self, write_key: str, envelope: dict) -> tuple[int, dict, dict]:
        return self.request("POST", "/v1/events", envelope, {"Authorization": f"Bearer {write_key}"})
