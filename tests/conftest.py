"""Shared test helpers. Tests never download and never time anything."""

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

# One persistent XLA compilation cache for the whole session, this process and every run it
# starts (the environment is inherited): the suite compiles the same tiny configs' steps in
# dozens of fresh processes. It only reuses executables XLA built for identical programs,
# so no result changes; it cut tests/test_reliability.py from 117 s to 79 s, and caching
# every compile, not only those over a second, to 74 s. Set JAX_COMPILATION_CACHE_DIR
# yourself to keep one across sessions.
if 'JAX_COMPILATION_CACHE_DIR' not in os.environ:
    os.environ['JAX_COMPILATION_CACHE_DIR'] = tempfile.mkdtemp(prefix='gla-tests-xla-')
    atexit.register(shutil.rmtree, os.environ['JAX_COMPILATION_CACHE_DIR'], True)
os.environ.setdefault('JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS', '0')


def run_python(args, env_extra=None, timeout=600, check=True):
    """Runs ``python args...`` from the repo root in a fresh process (fresh JAX)."""
    env = dict(os.environ, PYTHONPATH=REPO, **(env_extra or {}))
    proc = subprocess.run([sys.executable] + list(args), cwd=REPO, env=env, timeout=timeout,
                          capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f'{args} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n'
                             f'{proc.stderr[-6000:]}')
    return proc


def eval_without_timing(workdir):
    """``workdir/eval.json`` less its ``training`` block (wall-clock timings differ)."""
    with open(os.path.join(workdir, 'eval.json')) as f:
        results = json.load(f)
    results.pop('training')
    return results


def metrics_without_timing(workdir):
    """``workdir/metrics.jsonl`` rows less their ``images_per_sec``."""
    with open(os.path.join(workdir, 'metrics.jsonl')) as f:
        rows = [json.loads(line) for line in f]
    for row in rows:
        row.pop('images_per_sec', None)
    return rows


@pytest.fixture
def tiny_config():
    from configs import test as test_config
    return test_config.get_config()


@pytest.fixture(scope='session')
def uninterrupted(tmp_path_factory):
    """A finished 3-epoch run of ``configs/test.py`` (24 steps, checkpoints at 8, 16, 24),
    shared by the end-to-end and reliability tests: the reference every interrupted run
    must equal."""
    workdir = str(tmp_path_factory.mktemp('uninterrupted'))
    run_python(['launch.py', '--config', 'configs/test.py', '--workdir', workdir,
                '--config.num_epochs=3'])
    return workdir
