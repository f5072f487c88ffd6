"""Many seeds in one program (config.num_seeds): each seed equals a single run of that seed to
float rounding, and is an ordinary run directory that restores and compares."""

import json
import os

import jax
import numpy as np
import pytest

from conftest import metrics_without_timing as _metrics
from conftest import run_python

LAUNCH = ['launch.py', '--config', 'configs/test.py', '--config.num_epochs=3']
PSNR = 'transformed_psnr_db_mean_over_test_images_and_group_elements'


@pytest.fixture(scope='module')
def two_seeds(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp('two_seeds'))
    proc = run_python(LAUNCH + ['--workdir', workdir, '--config.num_seeds=2'])
    return workdir, proc


def _close_rows(one, two):
    assert [r['step'] for r in one] == [r['step'] for r in two]
    for a, b in zip(one, two):
        for term in ('loss', 'recon', 'inv', 'const'):
            assert b[term] == pytest.approx(a[term], rel=1e-5, abs=1e-7), (a['step'], term)


@pytest.mark.parametrize('seed', [0, 1])
def test_each_seed_equals_a_single_run_of_that_seed(two_seeds, uninterrupted, tmp_path, seed):
    import gla
    workdir, _ = two_seeds
    single = uninterrupted  # configs/test.py, 3 epochs, seed 0
    if seed == 1:
        single = str(tmp_path / 'seed1')
        run_python(LAUNCH + ['--workdir', single, '--config.seed=1'])
    together = os.path.join(workdir, f'seed{seed}')
    _close_rows(_metrics(single), _metrics(together))
    for a, b in zip(jax.tree.leaves(gla.load_run(single, 'latest').params),
                    jax.tree.leaves(gla.load_run(together, 'latest').params)):
        np.testing.assert_allclose(a, b, atol=1e-6)
    with open(os.path.join(single, 'eval.json')) as f:
        expected = json.load(f)
    with open(os.path.join(together, 'eval.json')) as f:
        got = json.load(f)
    assert got[PSNR] == pytest.approx(expected[PSNR], abs=1e-4)
    assert got['linear_probe'] == expected['linear_probe']


def test_the_seeds_differ_and_each_is_an_ordinary_run(two_seeds):
    workdir, proc = two_seeds
    configs = []
    for seed in (0, 1):
        with open(os.path.join(workdir, f'seed{seed}', 'config.json')) as f:
            configs.append(json.load(f))
    assert [c['seed'] for c in configs] == [0, 1] and {c['num_seeds'] for c in configs} == {1}
    params = [np.asarray(jax.tree.leaves(__import__('gla').load_run(
        os.path.join(workdir, f'seed{s}')).params)[0]) for s in (0, 1)]
    assert np.abs(params[0] - params[1]).max() > 1e-3  # independent initialisations
    assert 'gla: 2 seeds: transformed PSNR' in proc.stdout


def test_compare_reads_the_seeds_of_one_program(two_seeds, tmp_path):
    from gla import compare
    workdir, _ = two_seeds
    results = [compare.load_result(os.path.join(workdir, f'seed{s}')) for s in (0, 1)]
    assert all(r is not None for r in results)
    assert compare.consecutive([0, 1, 2]) and not compare.consecutive([0, 2])
