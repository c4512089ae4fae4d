import os
from pathlib import Path

import pytest

from devtools.stack import static_files_collect


@pytest.fixture(scope="session")
def static_root(tmp_path_factory) -> Path:
    """The static files production's storage collects: once for the run, shared by its xdist workers."""
    run_dir = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        run_dir = run_dir.parent  # the workers' temporary directories share the run's
    return static_files_collect(run_dir / "static")


@pytest.fixture(autouse=True)
def _served_static_root(static_root, monkeypatch):
    """The production-shaped servers the tests start (devtools/stack.py) serve these static files."""
    monkeypatch.setenv("STATIC_ROOT", str(static_root))
