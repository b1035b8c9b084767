"""Catalog's integration tests, in a process of their own when this one cannot load them
(another service's tables already took catalog's table names: see ``conftest.py``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import OWN_PROCESS

HERE = Path(__file__).resolve().parent


@pytest.mark.skipif(not OWN_PROCESS, reason="catalog's tests run in this process")
def test_catalog_integration_tests_pass_in_their_own_process() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(HERE)],
        cwd=HERE.parents[3],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout
