"""Shared test helpers. Tests never download and never time anything."""

import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)


def run_python(args, env_extra=None, timeout=600, check=True):
    """Runs ``python args...`` from the repo root in a fresh process (fresh JAX)."""
    env = dict(os.environ, PYTHONPATH=REPO, **(env_extra or {}))
    proc = subprocess.run([sys.executable] + list(args), cwd=REPO, env=env, timeout=timeout,
                          capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f'{args} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n'
                             f'{proc.stderr[-6000:]}')
    return proc


@pytest.fixture
def tiny_config():
    from configs import test as test_config
    return test_config.get_config()
