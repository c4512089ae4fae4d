from pathlib import Path

import pytest

from devtools.stack import static_files_collect
from tests.conftest import static_root_path


@pytest.fixture(scope="session")
def static_root(tmp_path_factory) -> Path:
    """The static files production's storage collects: once for the run, shared by its xdist workers
    (tests/conftest.py starts collecting them as the run starts)."""
    return static_files_collect(static_root_path(tmp_path_factory))


@pytest.fixture(autouse=True)
def _served_static_root(static_root, monkeypatch):
    """The production-shaped servers the tests start (devtools/stack.py) serve these static files."""
    monkeypatch.setenv("STATIC_ROOT", str(static_root))
