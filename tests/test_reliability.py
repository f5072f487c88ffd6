"""Faults a run survives and bad input it refuses (docs/reliability.md lists each case).

Faults: SIGKILL three times (once in the middle of a checkpoint save), SIGTERM / Ctrl-C,
damaged checkpoints, non-finite values, two runs in one workdir, determinism. Every
interrupted run must equal the uninterrupted one (``conftest.uninterrupted``) bit for bit.
Bad input: each case raises an error whose message names the problem and the fix, before
anything is compiled, and leaves the workdir exactly as it was.
"""

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import orbax.checkpoint as ocp
import pytest

from conftest import REPO, run_python
from configs import test as test_config
from gla import checkpointing
from gla import groups
from gla import errors
from gla import stopping
from gla import workdir as workdir_lib
from gla import train
from gla import train_setup
from gla.data import sources
from gla.groups import base
import test_data

LAUNCH = ['launch.py', '--config', 'configs/test.py', '--config.num_epochs=3']
ENV = dict(os.environ, PYTHONPATH=REPO)


# ------------------------------------------------------------------------------ helpers

def _config(**overrides):
    """configs/test.py with the run of ``uninterrupted`` (3 epochs) and dotted overrides."""
    config = test_config.get_config()
    config.num_epochs = 3
    for dotted, value in overrides.items():
        *sections, name = dotted.split('.')
        target = config
        for s in sections:
            target = target[s]
        target[name] = value
    return config


def _steps(workdir, which='latest'):
    d = os.path.join(workdir, 'checkpoints', which)
    return sorted(int(n) for n in os.listdir(d) if n.isdigit()) if os.path.isdir(d) else []


def _raw_state(workdir, step):
    """The whole saved train state (step, params, Adam moments) as numpy, no target."""
    path = os.path.join(workdir, 'checkpoints', 'latest', str(step), 'state')
    with ocp.StandardCheckpointer() as ckptr:
        return ckptr.restore(path)


def _assert_same_run(a, b):
    """Final state, optimizer state, eval.json and metrics.jsonl equal bit for bit."""
    import jax
    assert _steps(a)[-1] == _steps(b)[-1] == 24
    sa, sb = _raw_state(a, 24), _raw_state(b, 24)
    assert jax.tree.structure(sa) == jax.tree.structure(sb)
    assert 'opt_state' in sa
    for x, y in zip(jax.tree.leaves(sa), jax.tree.leaves(sb)):
        np.testing.assert_array_equal(x, y)
    for name in ('eval.json', 'metrics.jsonl'):
        assert _comparable(a, name) == _comparable(b, name), name


def _comparable(workdir, name):
    with open(os.path.join(workdir, name)) as f:
        rows = [json.loads(line) for line in f] if name.endswith('jsonl') else [json.load(f)]
    for row in rows:  # wall-clock numbers differ between runs
        row.pop('images_per_sec', None)
        row.pop('training', None)
    return rows


def _snapshot(path):
    """Everything observable about a directory tree (or its absence)."""
    if not os.path.exists(path):
        return None
    out = {}
    for root, dirs, files in os.walk(path):
        for n in dirs + files:
            full = os.path.join(root, n)
            st = os.stat(full)
            out[os.path.relpath(full, path)] = (st.st_size, st.st_mtime_ns, st.st_mode)
    return out


def _launch(workdir, **env):
    """``launch.py`` in the background; its log goes to ``proc.log`` (a file, so a full
    pipe can never stall it)."""
    log = workdir.rstrip('/') + f'.{time.monotonic_ns()}.log'
    with open(log, 'w') as f:
        proc = subprocess.Popen([sys.executable] + LAUNCH + ['--workdir', workdir], cwd=REPO,
                                env=dict(ENV, **env), stdout=subprocess.DEVNULL, stderr=f)
    proc.log = log
    return proc


def _log(proc):
    with open(proc.log) as f:
        return f.read()


def _wait_for(proc, condition, what):
    deadline = time.time() + 300
    while time.time() < deadline:
        if condition():
            return
        assert proc.poll() is None, f'the run ended before {what}:\n{_log(proc)[-3000:]}'
        time.sleep(0.01)
    raise AssertionError(f'timed out waiting for {what}')


@pytest.fixture
def finished_copy(uninterrupted, tmp_path):
    """A private copy of the finished uninterrupted run (latest 16, 24; best 24)."""
    workdir = str(tmp_path / 'copy')
    shutil.copytree(uninterrupted, workdir)
    os.remove(os.path.join(workdir, 'eval.json'))
    return workdir


# ------------------------------------------------------------------------------ faults

def test_sigkill_three_times_once_mid_save_equals_uninterrupted(uninterrupted, tmp_path):
    workdir = str(tmp_path / 'killed')
    latest = os.path.join(workdir, 'checkpoints', 'latest')
    # 1. Killed inside the save of step 8: orbax's temporary directory is on disk, the
    #    step is not finalised.
    proc = _launch(workdir, **{stopping.KILL_ENV: 'save_latest@8'})
    assert proc.wait() == -signal.SIGKILL
    assert any(n.startswith('8.orbax-checkpoint-tmp') for n in os.listdir(latest))
    assert _steps(workdir) == []
    # 2, 3. SIGKILL at a random moment after the run has saved a step beyond the one it
    #    resumed from (the kill lands in the following steps, validation or saves; on a
    #    fast machine the 2nd may land after step 16, then the 3rd hits the start-up).
    rng = random.Random(7)
    for _ in range(2):
        new = min(max(_steps(workdir), default=0) + 8, 16)
        proc = _launch(workdir)
        _wait_for(proc, lambda: new in _steps(workdir), f'step {new} was saved')
        time.sleep(rng.uniform(0.0, 0.1))
        assert proc.poll() is None, 'the run ended before it could be killed'
        proc.send_signal(signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL
    # 4. The same command runs to the end.
    proc = _launch(workdir)
    assert proc.wait() == 0, _log(proc)[-3000:]
    _assert_same_run(uninterrupted, workdir)


def test_sigterm_checkpoints_the_current_step_and_resumes_exactly(uninterrupted, tmp_path):
    workdir = str(tmp_path / 'terminated')
    proc = _launch(workdir)
    _wait_for(proc, lambda: 8 in _steps(workdir), 'step 8 was saved')
    proc.send_signal(signal.SIGTERM)
    proc.wait()
    stderr = _log(proc)
    assert proc.returncode == 128 + signal.SIGTERM, stderr[-3000:]
    stopped = _steps(workdir)[-1]
    assert f'stopped by SIGTERM at step {stopped}; a checkpoint of step {stopped}' in stderr
    assert 'Traceback' not in stderr
    assert not os.path.exists(os.path.join(workdir, 'eval.json'))
    run_python(LAUNCH + ['--workdir', workdir])
    _assert_same_run(uninterrupted, workdir)


def test_ctrl_c_sets_the_stop_flag_a_second_one_aborts():
    previous = signal.getsignal(signal.SIGINT)
    with stopping.StopSignals() as stop:
        assert not stop.requested
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.requested and stop.signum == signal.SIGINT
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
    assert signal.getsignal(signal.SIGINT) is previous
    err = stopping.StopRequested(12, signal.SIGINT, '/w')
    assert err.exit_code == 130 and 'at step 12' in str(err) and '/w' in str(err)


def _damage(workdir, which, step, how):
    step_dir = os.path.join(workdir, 'checkpoints', which, str(step))
    files = sorted(os.path.join(r, n) for r, _, ns in os.walk(os.path.join(step_dir, 'state'))
                   for n in ns)
    victim = max(files, key=os.path.getsize)  # an array chunk
    if how == 'truncated':
        with open(victim, 'r+b') as f:
            f.truncate(os.path.getsize(victim) // 2)
    elif how == 'deleted':
        os.remove(victim)
    elif how == 'flipped':
        data = bytearray(open(victim, 'rb').read())
        data[len(data) // 2] ^= 0xFF
        open(victim, 'wb').write(bytes(data))
    return os.path.relpath(victim, step_dir)


def test_damaged_latest_step_falls_back_to_the_newest_intact(uninterrupted, finished_copy,
                                                             caplog):
    # The relaunch resumes from step 16, replays 17..24 and saves step 24 again.
    victim = _damage(finished_copy, 'latest', 24, 'truncated')
    caplog.set_level('WARNING')
    summary = train.train(_config(), finished_copy)
    workdir_lib.unlock_workdir(finished_copy)
    assert summary['final_step'] == 24
    said = caplog.text
    assert 'checkpoint step 24 in' in said and 'falling back to step 16' in said
    assert victim in said
    damaged = os.path.join(finished_copy, 'checkpoints', 'damaged', 'latest-24')
    assert os.path.isdir(damaged)  # kept for inspection, out of orbax's way
    for x, y in zip(_flat_leaves(_raw_state(uninterrupted, 24)),
                    _flat_leaves(_raw_state(finished_copy, 24))):
        np.testing.assert_array_equal(x, y)


def _flat_leaves(tree):
    import jax
    return jax.tree.leaves(tree)


def _abstract_state(workdir):
    """The restore target of a run's train state, built without compiling anything."""
    import functools
    import jax
    from gla import models, parallel, state as state_lib
    config = workdir_lib.read_config(workdir)
    group = groups.get_group(config.group.name)
    model = models.build_model(config, group, 1)
    abstract = jax.eval_shape(functools.partial(state_lib.create_train_state, config, model,
                                                group, (28, 28, 1)), jax.random.key(0))
    sharding = parallel.replicated(parallel.make_mesh())
    return jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sharding),
                        abstract)


@pytest.mark.parametrize('how', ['deleted', 'flipped'])
def test_damage_orbax_may_miss_still_falls_back(uninterrupted, finished_copy, how, caplog):
    victim = _damage(finished_copy, 'latest', 24, how)
    caplog.set_level('WARNING')
    ckpts = checkpointing.RunCheckpoints(finished_copy)
    state, _ = ckpts.restore_intact('latest', _abstract_state(finished_copy))
    ckpts.close()
    assert int(state.step) == 16 and victim in caplog.text
    assert _steps(finished_copy) == [16]
    for x, y in zip(_flat_leaves(_raw_state(uninterrupted, 16)['params']),
                    _flat_leaves(state.params)):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize('how', ['truncated', 'deleted', 'flipped'])
def test_checksums_name_the_damaged_file(finished_copy, how):
    step_dir = os.path.join(finished_copy, 'checkpoints', 'latest', '24')
    assert checkpointing.damage_of(step_dir) is None
    victim = _damage(finished_copy, 'latest', 24, how)
    reason = checkpointing.damage_of(step_dir)
    assert victim in reason
    assert {'truncated': 'bytes', 'deleted': 'missing', 'flipped': 'checksum'}[how] in reason


def test_no_intact_step_stops_naming_the_directory_and_moves_nothing(finished_copy):
    for step in (16, 24):
        _damage(finished_copy, 'latest', step, 'truncated')
    before = _snapshot(finished_copy)
    ckpts = checkpointing.RunCheckpoints(finished_copy)
    with pytest.raises(errors.CheckpointError,
                       match='no intact checkpoint in .*checkpoints/latest') as info:
        ckpts.restore_intact('latest', _abstract_state(finished_copy))
    ckpts.close()
    assert 'step 24' in str(info.value) and 'step 16' in str(info.value)
    assert _snapshot(finished_copy) == before


def test_damaged_best_step_is_replaced_by_its_latest_copy(finished_copy, caplog):
    _damage(finished_copy, 'best', 24, 'truncated')
    caplog.set_level('WARNING')
    ckpts = checkpointing.RunCheckpoints(finished_copy)
    ckpts.check_best()
    assert ckpts.latest_step('best') == 24
    ckpts.close()
    assert 'best checkpoint step 24 was damaged' in caplog.text
    best = os.path.join(finished_copy, 'checkpoints', 'best', '24')
    assert checkpointing.damage_of(best) is None
    assert os.path.isdir(os.path.join(finished_copy, 'checkpoints', 'damaged', 'best-24'))


def test_non_finite_gradient_stops_at_its_step_without_a_checkpoint(finished_copy):
    # Resume the finished run for a 4th epoch with an absurd step size: the first updates
    # overflow. The run stops at that step, before the epoch's checkpoint.
    proc = run_python(LAUNCH[:-1] + ['--workdir', finished_copy, '--config.num_epochs=4',
                                     '--config.optimizer.learning_rate=1e6'], check=False)
    assert proc.returncode == 1
    assert re.search(r'NonFiniteError: step 2[5-8]: (loss|recon|inv|const|grad_norm) is '
                     r'(nan|inf); training stopped and no checkpoint was written',
                     proc.stderr), proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr
    assert _steps(finished_copy) == [16, 24] and _steps(finished_copy, 'best') == [24]


_HOLDER = '''
import sys, time
from gla import workdir as workdir_lib
workdir_lib.lock_workdir(sys.argv[1])
print('locked', flush=True)
time.sleep(300)
'''


def test_second_run_in_a_workdir_is_refused_naming_the_first(tmp_path):
    workdir = str(tmp_path / 'shared')
    os.makedirs(workdir)
    holder = subprocess.Popen([sys.executable, '-c', _HOLDER, workdir], cwd=REPO, env=ENV,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'locked'
        with pytest.raises(errors.WorkdirBusyError,
                           match=f'in use by another run \\(pid {holder.pid} on host '):
            train.train(_config(), workdir)
        assert os.listdir(workdir) == ['.lock']  # the refused run wrote nothing
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # A killed holder leaves no stale lock: the kernel released it.
    workdir_lib.lock_workdir(workdir)
    with open(os.path.join(workdir, '.lock')) as f:
        assert f'pid {os.getpid()}' in f.read()
    workdir_lib.unlock_workdir(workdir)


# ------------------------------------------------------------------------------ bad input

BAD_CONFIGS = {
    'unknown data source': ({'data.source': 'mnist'},
                            "config.data.source='mnist' is unknown; use one of"),
    'unknown bundled set': ({'data.name': 'cifar'}, "config.data.name='cifar' is unknown"),
    'unknown group': ({'group.name': 'c8'}, "config.group.name='c8' is unknown; use one of"),
    'unknown mask kind': ({'mask.kind': 'soft'}, "config.mask.kind='soft' is unknown; use"),
    'unknown latent action': ({'group.latent_action': 'mlp'},
                              "config.group.latent_action='mlp' is unknown; use one of"),
    'tau 0': ({'mask.tau': 0.0}, r'config.mask.tau=0.0 must lie in \(0, 1\)'),
    'tau 1': ({'mask.tau': 1.0}, r'config.mask.tau=1.0 must lie in \(0, 1\)'),
    'tau 1.5': ({'mask.tau': 1.5}, r'config.mask.tau=1.5 must lie in \(0, 1\)'),
    'zero learning rate': ({'optimizer.learning_rate': 0.0},
                           'optimizer.learning_rate=0.0 must be > 0'),
    'negative learning rate': ({'optimizer.learning_rate': -1e-3},
                               'optimizer.learning_rate=-0.001 must be > 0'),
    'zero batch': ({'batch_size': 0}, 'batch_size=0 must be > 0'),
    'negative batch': ({'batch_size': -32}, 'batch_size=-32 must be > 0'),
    'zero epochs': ({'num_epochs': 0}, 'num_epochs=0 must be > 0'),
    'negative epochs': ({'num_epochs': -1}, 'num_epochs=-1 must be > 0'),
    'batch above the data': ({'batch_size': 512},
                             'batch_size=512 exceeds the 256 training examples; lower'),
    '2D group on 3D data': ({'data.spatial_ndim': 3},
                            "config.group.name='c4' acts on 2D grids but "
                            'config.data.spatial_ndim=3; pick a group'),
    'empty encoder': ({'model.encoder_features': ()},
                      'config.model.encoder_features=\\(\\) must be one or more'),
    'zero dilation': ({'model.encoder_context_dilations': (2, 0)},
                      r'config.model.encoder_context_dilations=\(2, 0\) must be positive'),
    'volume blocks on a code latent': (
        {'model.latent_volume_dilations': (1,), 'model.latent': 'code'},
        r"config.model.latent_volume_dilations reads a 2D grid latent as a volume; with 3D "
        r"data or latent='code' set it to \(\)"),
    'tilt of a grid action': ({'group.volume_tilt': 0.3},
                              "config.group.volume_tilt=0.3 tilts the volumetric action, but "
                              "config.group.latent_action='grid'"),
    'tilt past the vertical': ({'group.volume_tilt': 2.0},
                               'config.group.volume_tilt=2.0 must be a number of radians '
                               'strictly between'),
    'zero sub-cells': ({'group.subcells': 0},
                       'config.group.subcells=0 must be a positive integer'),
    'sub-cells that do not divide the width': (
        {'group.subcells': 3}, r'config.group.subcells=3 moves 9 copies of each latent '
                               r'channel, so the latent width 16 '),
    'variant channels beyond one copy': (
        {'group.latent_action': 'grid_regular', 'mask.kind': 'manual', 'mask.num_variant': 8},
        r"config.mask.num_variant=8 counts the variant channels of each of the 4 copies that "
        r"config.group.latent_action='grid_regular' moves, so it must be at most 4"),
    'sub-cells of a channel action': (
        {'group.subcells': 2, 'group.latent_action': 'fourier'},
        "config.group.subcells=2 refines the grid actions"),
    'regular copies that do not divide the width': (
        {'group.latent_action': 'grid_regular', 'model.encoder_features': (8, 6)},
        "config.group.latent_action='grid_regular' moves 4 copies .* the latent width 6 "),
}


@pytest.mark.parametrize('case', sorted(BAD_CONFIGS))
def test_bad_config_is_refused_before_the_workdir_exists(tmp_path, case):
    overrides, message = BAD_CONFIGS[case]
    workdir = str(tmp_path / 'w')
    with pytest.raises(ValueError, match=message):
        train.train(_config(**overrides), workdir)
    assert not os.path.exists(workdir)


def test_bad_config_leaves_an_existing_run_as_it_was(finished_copy):
    before = _snapshot(finished_copy)
    with pytest.raises(errors.ConfigError, match='mask.tau'):
        train.train(_config(**{'mask.tau': 2.0}), finished_copy)
    assert _snapshot(finished_copy) == before


def test_3d_group_on_2d_data_is_refused(tmp_path, monkeypatch):
    # No 3D group is registered on this branch yet; a stand-in with spatial_ndim=3 checks
    # the rule every group obeys.
    cube = base.Group(name='cube', spatial_ndim=3, sample=None, identity=None, compose=None,
                      inverse=None, act=None, eval_elements=None, describe=None,
                      check_grid=None)
    monkeypatch.setitem(groups._GROUP_FACTORIES, 'cube', lambda: cube)
    with pytest.raises(ValueError, match="config.group.name='cube' acts on 3D grids but "
                                         'config.data.spatial_ndim=2'):
        train.train(_config(**{'group.name': 'cube'}), str(tmp_path / 'w'))
    assert not os.path.exists(tmp_path / 'w')


def _npz(tmp_path, shape):
    path = str(tmp_path / f'{"x".join(map(str, shape))}.npz')
    rng = np.random.default_rng(0)
    np.savez(path, images=rng.integers(0, 256, (80,) + shape, dtype=np.uint8),
             labels=np.repeat(np.arange(4), 20))
    return path


@pytest.mark.parametrize('shape,message', [
    ((28, 32), r'C4 rotates square 2D grids, got spatial shape \(28, 32\): use square'),
    ((30, 30), r'images of shape \(30, 30, 1\) decode to \(28, 28, 1\).*divisible by'),
    ((4, 4, 4), r"config.group.name='c4' acts on 2D grids but config.data.spatial_ndim=3"),
])
def test_grid_the_action_or_network_cannot_use_is_refused(tmp_path, shape, message):
    overrides = {'data.source': 'npz', 'data.path': _npz(tmp_path, shape),
                 'data.max_train_examples': 0, 'batch_size': 16}
    if len(shape) == 3:
        overrides['data.spatial_ndim'] = 3
    with pytest.raises(ValueError, match=message):
        train.train(_config(**overrides), str(tmp_path / 'w'))
    assert not os.path.exists(tmp_path / 'w')


@pytest.mark.parametrize('case', ['missing', 'empty', 'truncated', 'not_npz', 'wrong_keys',
                                  'wrong_rank', 'non_finite', 'label_mismatch', 'bad_range',
                                  'bad_dtype'])
def test_bad_data_file_is_refused_before_the_workdir_exists(tmp_path, case):
    path, message = test_data._bad_files(tmp_path)[case]
    workdir = str(tmp_path / 'w')
    with pytest.raises(sources.DataError, match=message):
        train.train(_config(**{'data.source': 'npz', 'data.path': path}), workdir)
    assert not os.path.exists(workdir)


def test_resume_with_other_shapes_names_the_fields_and_changes_nothing(finished_copy):
    before = _snapshot(finished_copy)
    with pytest.raises(errors.ConfigMismatchError) as info:
        train.train(_config(**{'model.encoder_features': (8, 32), 'mask.kind': 'manual'}),
                    finished_copy)
    message = str(info.value)
    assert 'model.encoder_features: [8, 16] in config.json, [8, 32] now' in message
    assert "mask.kind: 'learned' in config.json, 'manual' now" in message
    assert 'new --workdir' in message and 'Nothing in the workdir was changed' in message
    assert _snapshot(finished_copy) == before


def test_checkpoints_without_config_json_are_refused_and_kept(finished_copy):
    os.remove(os.path.join(finished_copy, 'config.json'))
    before = _snapshot(finished_copy)
    with pytest.raises(errors.ConfigMismatchError, match='holds checkpoints but no '
                       'config.json'):
        train.train(_config(), finished_copy)
    assert _snapshot(finished_copy) == before


def test_a_workdir_is_created_with_its_missing_parents(tmp_path):
    workdir = str(tmp_path / 'no' / 'such' / 'w')
    workdir_lib.check_workdir(workdir)  # checks create nothing
    assert not os.path.exists(tmp_path / 'no')
    train_setup.prepare(_config(), workdir)
    workdir_lib.unlock_workdir(workdir)
    assert os.path.isdir(workdir) and os.path.isfile(os.path.join(workdir, '.lock'))


def test_a_file_in_the_way_of_the_workdirs_parents_is_refused_naming_it(tmp_path):
    (tmp_path / 'runs').write_text('not a folder')
    with pytest.raises(errors.WorkdirError, match=f'{tmp_path}/runs is a file, so --workdir'):
        train.train(_config(), str(tmp_path / 'runs' / 'a' / 'w'))
    assert (tmp_path / 'runs').read_text() == 'not a folder'


def test_read_only_parent_workdir_is_refused(tmp_path):
    if os.geteuid() == 0:  # root writes through permissions: use a read-only file system
        parent = '/proc'
    else:
        parent = str(tmp_path / 'ro')
        os.makedirs(parent)
        os.chmod(parent, 0o555)
    workdir = os.path.join(parent, 'gla_run')
    with pytest.raises(errors.WorkdirError, match='is not writable'):
        train.train(_config(), workdir)
    assert not os.path.exists(workdir)


def test_workdir_that_is_a_file_is_refused(tmp_path):
    path = tmp_path / 'file'
    path.write_text('x')
    with pytest.raises(errors.WorkdirError, match='is a file, not a directory'):
        train.train(_config(), str(path))


def test_a_misspelt_override_names_the_field_and_the_nearest_valid_ones(tmp_path):
    proc = run_python(LAUNCH + ['--workdir', str(tmp_path / 'w'),
                                '--config.optimizer.learning_rat=0.1'], check=False)
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(
        'ConfigError: --config.optimizer.learning_rat: no such config field; did you mean '
        'optimizer.learning_rate')
    assert not (tmp_path / 'w').exists()


def test_launcher_prints_the_problem_without_a_traceback_and_exits_1(tmp_path):
    workdir = tmp_path / 'w'
    proc = run_python(LAUNCH + ['--workdir', str(workdir), '--config.mask.kind=soft',
                                '--config.optimizer.learning_rate=-1'], check=False)
    assert proc.returncode == 1
    assert "ConfigError: invalid config: optimizer.learning_rate=-1.0 must be > 0; " \
           "config.mask.kind='soft' is unknown" in proc.stderr
    assert 'Traceback' not in proc.stderr
    assert not workdir.exists()
