"""End to end on the tiny blocked SO(2) config with the learned channel action: train ->
evaluate writes the 24 per-angle results, the swap test and its figure."""

import json
import os

import pytest

from conftest import run_python


@pytest.fixture(scope='module')
def blocked_run(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp('blocked_so2'))
    run_python(['launch.py', '--config', 'configs/test_blocked_so2.py', '--workdir', workdir,
                '--config.num_epochs=1',
                '--config.group.latent_action=grid_and_learned_channels'])
    with open(os.path.join(workdir, 'eval.json')) as f:
        return workdir, json.load(f)


def test_so2_run_reports_every_15_degrees(blocked_run):
    _, results = blocked_run
    assert results['group'] == 'so2'
    assert sorted(results['per_group_element'], key=lambda n: float(n[:-1])) == \
        [f'{15 * i}°' for i in range(24)]


def test_blocked_run_writes_the_swap_test(blocked_run):
    workdir, results = blocked_run
    assert set(results['swap_test']) == {'0°', '90°'}
    for row in results['swap_test'].values():
        assert set(row) == {'a_block_mse', 'b_block_mse', 'digit_b_mse', 'digit_a_mse',
                            'reference_psnr_db'}
        # MSEs of images in [-1, 1] lie in [0, 4].
        for key in ('a_block_mse', 'b_block_mse', 'digit_b_mse', 'digit_a_mse'):
            assert 0.0 <= row[key] <= 4.0
    assert os.path.getsize(os.path.join(workdir, 'figures', 'swap.png')) > 10_000
