"""Multi-host training on JAX's distributed runtime, on one machine.

Two ``launch.py`` processes of one CPU device each join a coordinator on 127.0.0.1 (CPU
collectives through gloo) and are compared with one process of two forced CPU devices: the
same global batch, so the same loss curve, parameters and eval.json. The pair is SIGKILLed
after its first checkpoint and relaunched, so the comparison also covers resuming.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import REPO, run_python
from conftest import eval_without_timing as _eval
from conftest import metrics_without_timing as _metrics
from gla import distributed

LAUNCH = ['launch.py', '--config', 'configs/test.py', '--config.num_epochs=2', '--alsologtostderr']
STEPS = 16  # 2 epochs of 256 / 32
TIMEOUT_S = 400


def _gloo_missing() -> bool:
    from jax._src import lib
    jaxlib = getattr(lib, '_jax', None) or getattr(lib, 'xla_extension', None)
    return not hasattr(jaxlib, 'make_gloo_tcp_collectives')


needs_gloo = pytest.mark.skipif(
    _gloo_missing(), reason='the installed jaxlib has no gloo CPU collectives '
    '(make_gloo_tcp_collectives), so CPU processes cannot all-reduce across processes')


# Compiled programs cached on disk for the runs of this module: the relaunched pair loads
# what the first pair compiled (JAX writes the cache from process 0 only).
_CACHE = {'JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS': '0'}


@pytest.fixture(scope='module', autouse=True)
def _compilation_cache(tmp_path_factory):
    _CACHE['JAX_COMPILATION_CACHE_DIR'] = str(tmp_path_factory.mktemp('jax_cache'))


def _env(**extra):
    env = dict(os.environ, PYTHONPATH=REPO, JAX_PLATFORMS='cpu', **_CACHE, **extra)
    if 'XLA_FLAGS' not in extra:
        env.pop('XLA_FLAGS', None)  # one CPU device per process
    return env


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class _Pair:
    """Two launch.py processes of one distributed run; their output goes to log files."""

    def __init__(self, workdir: str, logdir: str):
        address = f'127.0.0.1:{_free_port()}'
        self.logs = [os.path.join(logdir, f'process{i}.log') for i in range(2)]
        self.procs = []
        for i, log in enumerate(self.logs):
            with open(log, 'w') as out:
                self.procs.append(subprocess.Popen(
                    [sys.executable] + LAUNCH + [
                        '--workdir', workdir, f'--coordinator_address={address}',
                        '--num_processes=2', f'--process_id={i}', '--multihost_timeout_s=120'],
                    cwd=REPO, env=_env(), stdout=out, stderr=subprocess.STDOUT))

    def output(self, i: int) -> str:
        with open(self.logs[i]) as f:
            return f.read()

    def kill(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
        for proc in self.procs:
            proc.wait()

    def fail(self, why: str):
        self.kill()
        raise AssertionError(why + ''.join(f'\n--- process {i} ---\n{self.output(i)[-4000:]}'
                                           for i in range(2)))

    def wait(self, until=lambda: False, timeout: float = TIMEOUT_S) -> bool:
        """Polls until both processes exited 0 (returns False) or ``until()`` holds (True).
        A process that fails or a timeout kills both: one alone would wait for the other
        until JAX's heartbeat timeout."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            codes = [proc.poll() for proc in self.procs]
            if any(code not in (None, 0) for code in codes):
                self.fail(f'a process failed: exit codes {codes}')
            if all(code == 0 for code in codes):
                return False
            if until():
                return True
            time.sleep(0.05)
        self.fail(f'timed out after {timeout} s')


def _steps(directory):
    return sorted(int(d) for d in os.listdir(directory) if d.isdigit())


@pytest.fixture(scope='module')
def single(tmp_path_factory):
    """One process, two forced CPU devices: the reference."""
    workdir = str(tmp_path_factory.mktemp('single'))
    proc = run_python(LAUNCH + ['--workdir', workdir],
                      env_extra=dict(_CACHE, JAX_PLATFORMS='cpu', XLA_FLAGS=(
                          '--xla_force_host_platform_device_count=2')), timeout=TIMEOUT_S)
    assert 'process 0/1, 2 local / 2 global devices' in proc.stderr
    return workdir


@pytest.fixture(scope='module')
def pair(tmp_path_factory):
    """Two processes x one CPU device, SIGKILLed after the first checkpoint, relaunched."""
    workdir = str(tmp_path_factory.mktemp('pair'))
    latest = os.path.join(workdir, 'checkpoints', 'latest')
    first = _Pair(workdir, str(tmp_path_factory.mktemp('first_logs')))
    stopped = first.wait(until=lambda: os.path.isdir(latest) and bool(_steps(latest)))
    first.kill()
    assert stopped, 'the pair finished before it could be killed'
    killed_at = _steps(latest)
    second = _Pair(workdir, str(tmp_path_factory.mktemp('second_logs')))
    second.wait()
    return dict(workdir=workdir, killed_at=killed_at, first=first, second=second)


def _params(workdir):
    import jax
    from gla import run as run_lib
    run = run_lib.load_run(workdir, 'latest')  # this test process: one plain process
    return run.step, jax.tree.map(np.asarray, run.params)


def _assert_close(a, b, path=''):
    """Nested JSON values equal, floats within float tolerance."""
    if isinstance(a, dict):
        assert sorted(a) == sorted(b), path
        for k in a:
            _assert_close(a[k], b[k], f'{path}/{k}')
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_close(x, y, f'{path}[{i}]')
    elif isinstance(a, float):
        assert b == pytest.approx(a, rel=1e-4, abs=1e-6), path
    else:
        assert a == b, path


@needs_gloo
def test_pair_runs_as_two_processes_and_resumes_after_kill(pair):
    first, second = pair['first'], pair['second']
    for i in range(2):
        assert f'process {i}/2, 1 local / 2 global devices' in first.output(i)
        assert f'process {i}/2, 1 local / 2 global devices' in second.output(i)
    assert pair['killed_at'] and pair['killed_at'][-1] < STEPS, pair['killed_at']
    assert f'resumed from step {pair["killed_at"][-1]}' in second.output(0)
    # Process 1 logs warnings and errors only: one copy of the progress log.
    assert 'resumed from step' not in second.output(1)


@needs_gloo
def test_pair_matches_one_process_with_two_devices(pair, single):
    one, two = _metrics(single), _metrics(pair['workdir'])
    assert [(r['step'], r['split']) for r in two] == [(r['step'], r['split']) for r in one]
    _assert_close(one, two)
    step_one, params_one = _params(single)
    step_two, params_two = _params(pair['workdir'])
    assert step_one == step_two == STEPS
    import jax
    for a, b in zip(jax.tree.leaves(params_one), jax.tree.leaves(params_two)):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)
    _assert_close(_eval(single), _eval(pair['workdir']))


@needs_gloo
def test_pair_writes_one_checkpoint_per_step_and_one_set_of_files(pair, single):
    root = os.path.join(pair['workdir'], 'checkpoints')
    assert sorted(os.listdir(root)) == ['best', 'latest']
    assert _steps(os.path.join(root, 'latest')) == [8, 16]
    assert _steps(os.path.join(root, 'best')) == [16]
    for which in ('latest', 'best'):
        leftovers = [d for d in os.listdir(os.path.join(root, which)) if not d.isdigit()]
        assert not leftovers, leftovers
    # One checkpoint written by both processes together: each wrote its part of one state.
    state = os.listdir(os.path.join(root, 'latest', '16', 'state'))
    assert {'ocdbt.process_0', 'ocdbt.process_1'} <= set(state), state
    for name in ('config.json', 'eval.json', 'figures/transforms.png', 'figures/losses.png'):
        assert os.path.isfile(os.path.join(pair['workdir'], name)), name
    assert len(_metrics(pair['workdir'])) == len(_metrics(single))  # no row twice


@pytest.mark.parametrize('mode,flags,environ,expected', [
    ('auto', {}, {}, False),  # a plain single process
    ('auto', dict(coordinator_address='127.0.0.1:1234', num_processes=2, process_id=1), {},
     True),
    ('auto', {}, {'SLURM_NTASKS': '4', 'SLURM_PROCID': '3'}, True),  # srun, 4 tasks
    ('auto', {}, {'SLURM_NTASKS': '1', 'SLURM_PROCID': '0'}, False),  # srun, 1 task
    ('auto', {}, {'SLURM_NTASKS': '4'}, False),  # the batch script, not an srun task
    ('auto', {}, {'OMPI_COMM_WORLD_SIZE': '2'}, True),  # mpirun -n 2
    ('on', {}, {}, True),  # Cloud TPU pod slice: JAX detects the rest
    ('off', {}, {'SLURM_NTASKS': '4', 'SLURM_PROCID': '0'}, False),
])
def test_when_a_process_joins_the_distributed_runtime(mode, flags, environ, expected):
    args = dict(dict(coordinator_address=None, num_processes=None, process_id=None), **flags)
    assert distributed.should_initialize(mode, environ=environ, **args) is expected


@pytest.mark.parametrize('mode,flags,message', [
    ('auto', dict(coordinator_address='127.0.0.1:1234'), 'without --num_processes, --process_id'),
    ('auto', dict(num_processes=2, process_id=0), 'without --coordinator_address'),
    ('off', dict(num_processes=2), '--multihost=off contradicts --num_processes'),
    ('sometimes', {}, "--multihost='sometimes'"),
])
def test_contradictory_multihost_flags_are_refused(mode, flags, message):
    args = dict(dict(coordinator_address=None, num_processes=None, process_id=None), **flags)
    with pytest.raises(ValueError, match=message):
        distributed.should_initialize(mode, environ={}, **args)


def test_multihost_on_without_a_cluster_says_which_flags_to_give(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(('SLURM_', 'OMPI_'))}
    proc = subprocess.run(
        [sys.executable] + LAUNCH + ['--workdir', str(tmp_path / 'w'), '--multihost=on'],
        cwd=REPO, env=dict(env, PYTHONPATH=REPO, JAX_PLATFORMS='cpu'), capture_output=True,
        text=True, timeout=120)
    assert proc.returncode != 0
    assert 'jax.distributed found no cluster to join' in proc.stderr
    assert '--coordinator_address=HOST0:PORT --num_processes=N --process_id=I' in proc.stderr


@pytest.mark.parametrize('address,host,port,loopback', [
    ('127.0.0.1:1234', '127.0.0.1', 1234, True),
    ('localhost:80', 'localhost', 80, True),
    ('[::1]:5000', '::1', 5000, True),
    ('10.0.0.2:8476', '10.0.0.2', 8476, False),
    ('node001:8476', 'node001', 8476, False),
])
def test_coordinator_address(address, host, port, loopback):
    assert distributed.split_address(address) == (host, port)
    assert distributed.is_loopback(host) is loopback


@pytest.mark.parametrize('address', ['127.0.0.1', '127.0.0.1:', ':1234', 'host:port',
                                     'host:70000'])
def test_malformed_coordinator_address_is_refused(address):
    with pytest.raises(ValueError, match='must be HOST:PORT'):
        distributed.split_address(address)
