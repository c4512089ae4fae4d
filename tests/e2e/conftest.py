import fcntl
import os
import subprocess
from pathlib import Path

import pytest

from devtools.stack import BIN, ROOT


@pytest.fixture(scope="session")
def static_root(tmp_path_factory) -> Path:
    """The static files as the Procfile's release step collects them with production's storage
    (hashed names, compressed copies): once for the run, shared by its xdist workers."""
    run_dir = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        run_dir = run_dir.parent  # the workers' temporary directories share the run's
    static_root = run_dir / "static"
    with open(run_dir / "static.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (static_root / "staticfiles.json").exists():
            env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "false"}
            argv = [str(BIN / "python"), "manage.py", "collectstatic", "--noinput", "-v0"]
            subprocess.run(argv, cwd=ROOT, env={**env, "STATIC_ROOT": str(static_root)}, check=True)
    return static_root


@pytest.fixture(autouse=True)
def _served_static_root(static_root, monkeypatch):
    """The production-shaped servers the tests start (devtools/stack.py) serve these static files."""
    monkeypatch.setenv("STATIC_ROOT", str(static_root))
