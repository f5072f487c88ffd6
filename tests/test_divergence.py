"""Divergence is acted on: the monitor's floor and once-per-term log, and a real run that
blows up (the tiny config at 200x its step size) rolled back or stopped."""

import json
import os
import re

import pytest

from conftest import run_python
from gla import divergence

# configs/test.py from Flax's initialisation (sub-pixel convolutions, whole batches, 10 steps
# a call: the float rounding this trajectory was measured with) at learning rate 0.2:
# validation L_inv goes 0.316 -> 0.043 -> 0.458 (10.5x its best) at step 24 while the loss gets
# worse (0.846 -> 1.18); measured, deterministic on CPU. (From PyTorch's initialisation, the
# default, the same step size does not blow up in 4 epochs.)
DIVERGING = ['launch.py', '--config', 'configs/test.py', '--config.num_epochs=4',
             '--config.optimizer.learning_rate=0.2', '--config.divergence_factor=5',
             '--config.model.init=flax', '--config.model.conv_transpose=subpixel',
             '--config.steps_per_dispatch=10', '--config.micro_batch_size=0']


def test_a_tiny_term_that_wobbles_is_not_a_divergence_but_a_real_blow_up_is():
    monitor = divergence.DivergenceMonitor(factor=100.0, floor=1e-4)
    assert monitor.update(1, 'val', {'inv': 5e-9, 'recon': 1e-3}) == []
    assert monitor.update(2, 'val', {'inv': 2e-3, 'recon': 1e-3}) == []  # the floor holds
    warned = monitor.update(3, 'val', {'inv': 0.5, 'recon': 1e-3})  # 5000x the floor
    assert len(warned) == 1 and warned[0].startswith('step 3: val/inv = 0.5 is')


def test_a_term_whose_best_is_exactly_zero_can_still_be_judged():
    """A mask gone all-invariant makes L_const exactly 0; its later rise must not divide by
    zero (seen on the planes config at a high step size)."""
    monitor = divergence.DivergenceMonitor(factor=100.0, floor=1e-4)
    monitor.update(1, 'train', {'const': 0.0})
    assert monitor.update(2, 'train', {'const': 0.005}) == []  # below 100 x the floor
    warned = monitor.update(3, 'train', {'const': 0.02})
    assert warned and 'is 200x its best (0)' in warned[0]
    unfloored = divergence.DivergenceMonitor(factor=100.0, floor=0.0)
    unfloored.update(1, 'train', {'const': 0.0})
    assert 'infinitely far above its best' in unfloored.update(2, 'train', {'const': 1e-3})[0]


def test_each_term_is_announced_once_and_recorded_every_time():
    monitor = divergence.DivergenceMonitor(factor=10.0, floor=0.0)
    monitor.update(1, 'val', {'inv': 0.01, 'const': 0.01})
    first = monitor.update(2, 'val', {'inv': 1.0, 'const': 0.01})
    second = monitor.update(3, 'val', {'inv': 2.0, 'const': 1.0})
    assert len(first) == 1 and len(second) == 2 and len(monitor.warnings) == 3
    assert len(monitor.announce(first)) == 1
    lines = monitor.announce(second)
    assert len(lines) == 1 and 'val/const' in lines[0]  # val/inv was already announced
    restored = divergence.DivergenceMonitor(10.0, 0.0, monitor.state())
    assert restored.announce(second) == []  # the record survives a resume


def _rows(workdir):
    with open(os.path.join(workdir, 'metrics.jsonl')) as f:
        return [json.loads(line) for line in f]


def test_a_diverging_run_rolls_back_to_its_best_checkpoint_with_smaller_steps(tmp_path):
    workdir = str(tmp_path / 'rollback')
    proc = run_python(DIVERGING + ['--workdir', workdir])
    events = [r for r in _rows(workdir) if r['split'] == 'event']
    assert events[0] == {'step': 16, 'split': 'event', 'rollback': 1, 'update_scale': 0.5}
    assert [e['update_scale'] for e in events] == [0.5 ** (i + 1) for i in range(len(events))]
    assert proc.stderr.count('divergence: rolled back to step') == len(events)
    # announced once, with the factor, as first recorded (recorded again after each rollback)
    announced = re.findall(r'val/inv = [0-9.e+-]+ is [0-9.]+x its best', proc.stderr)
    recorded = [w for r in _rows(workdir) for w in r.get('warnings', []) if 'val/inv' in w]
    assert len(announced) == 1 and len(recorded) >= 1 and announced[0] in recorded[0]
    with open(os.path.join(workdir, 'eval.json')) as f:
        training = json.load(f)['training']
    assert training['rollbacks'] == len(events) and training['final_step'] == 32
    assert f'rollbacks: {len(events)}' in proc.stdout
    # the rate of the rows after a rollback counts from the restored step, not the last row
    assert all(r['images_per_sec'] > 0 for r in _rows(workdir) if r['split'] == 'train')


def test_a_diverging_run_with_stop_ends_there_and_evaluates_the_best(tmp_path):
    workdir = str(tmp_path / 'stop')
    proc = run_python(DIVERGING + ['--workdir', workdir, '--config.divergence_action=stop'])
    assert max(r['step'] for r in _rows(workdir)) == 24
    with open(os.path.join(workdir, 'eval.json')) as f:
        results = json.load(f)
    assert results['step'] == 16 and results['training']['stopped_early'] == \
        "stopped at step 24 by divergence_action='stop'"
    assert "training stopped at step 24 by divergence_action='stop'" in proc.stdout


@pytest.mark.parametrize('field, value, message', [
    ('divergence_action', 'panic', "config.divergence_action='panic' is unknown"),
    ('divergence_factor', 1.0, 'config.divergence_factor=1.0 must be > 1'),
    ('divergence_floor', -1.0, 'config.divergence_floor=-1.0 must be >= 0')])
def test_bad_divergence_settings_are_named(tiny_config, field, value, message):
    from gla import config_checks
    tiny_config[field] = value
    assert any(message in p for p in config_checks.config_problems(tiny_config))
