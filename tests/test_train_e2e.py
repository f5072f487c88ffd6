"""End to end on the tiny config: train -> checkpoint -> evaluate, data parallelism over 2
forced CPU devices, a user's npz, the recipe. (Kill and resume: tests/test_reliability.py.)"""

import json
import os

import numpy as np
import pytest

from conftest import run_python
from conftest import eval_without_timing as _eval
from conftest import metrics_without_timing as _metrics

LAUNCH = ['launch.py', '--config', 'configs/test.py']


def tiny_data_config():
    from configs import test
    return test.get_config().data


def test_run_writes_eval_json_figures_and_checkpoints(uninterrupted):
    results = _eval(uninterrupted)
    for key in ('transformed_psnr_db_mean_over_test_images_and_group_elements',
                'transformed_mse_mean', 'transformed_ssim_mean', 'equivariance_error_relative',
                'invariance_error_relative', 'variant_share', 'per_group_element',
                'linear_probe'):
        assert key in results, key
    assert set(results['per_group_element']) == {'0°', '90°', '180°', '270°'}
    from gla.data import sources
    test = sources.load_dataset(tiny_data_config()).test
    majority = np.max(np.bincount(test.labels)) / len(test.labels)
    for part in ('z', 'z_v', 'z_i'):
        for split in ('upright', 'transformed'):  # 3 epochs: every probe beats the majority
            assert results['linear_probe'][part][split] > majority + 0.1, (part, split)
    # Known answer: a rotation keeps every pixel, so the all-black baseline under C4 is the
    # PSNR of -1 against the upright test digits, computed here with numpy alone.
    black = np.mean(10 * np.log10(4 / np.mean((test.images + 1) ** 2, axis=(1, 2, 3))))
    assert results['baselines']['black_image_psnr_db'] == pytest.approx(black, abs=1e-3)
    with open(os.path.join(uninterrupted, 'eval.json')) as f:
        training = json.load(f)['training']
    assert training['best_step'] == results['step']
    for name in ('transforms.png', 'losses.png'):
        assert os.path.getsize(os.path.join(uninterrupted, 'figures', name)) > 10_000
    rows = _metrics(uninterrupted)
    assert [r['step'] for r in rows if r['split'] == 'val'] == [8, 16, 24]
    # Training lowers the validation loss on this tiny problem.
    val = [r['loss'] for r in rows if r['split'] == 'val']
    assert val[-1] < val[0]


def test_two_cpu_devices_match_one(uninterrupted, tmp_path):
    workdir = str(tmp_path / 'two_devices')
    proc = run_python(LAUNCH + ['--workdir', workdir, '--config.num_epochs=3',
                                '--alsologtostderr'],
                      env_extra={'XLA_FLAGS': '--xla_force_host_platform_device_count=2'})
    assert '2 global devices' in proc.stderr
    one = [r for r in _metrics(uninterrupted)]
    two = [r for r in _metrics(workdir)]
    assert [r['step'] for r in one] == [r['step'] for r in two]
    for a, b in zip(one, two):
        for term in ('loss', 'recon', 'inv', 'const'):
            assert b[term] == pytest.approx(a[term], rel=2e-3, abs=1e-6), (a['step'], term)
    assert _eval(workdir)['transformed_psnr_db_mean_over_test_images_and_group_elements'] == \
        pytest.approx(_eval(uninterrupted)[
            'transformed_psnr_db_mean_over_test_images_and_group_elements'], abs=0.05)


def test_batch_that_does_not_divide_over_devices_is_refused(tmp_path):
    proc = run_python(LAUNCH + ['--workdir', str(tmp_path / 'w'), '--config.batch_size=33',
                                '--config.micro_batch_size=0'],
                      env_extra={'XLA_FLAGS': '--xla_force_host_platform_device_count=2'},
                      check=False)
    assert proc.returncode != 0
    assert 'batch_size=33 does not divide over 2 devices' in proc.stderr


def test_npz_source_trains_and_evaluates(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (('train', 64), ('val', 16), ('test', 16)):
        arrays[f'{split}_images'] = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        arrays[f'{split}_labels'] = rng.integers(0, 3, (n, 1))
    path = tmp_path / 'user.npz'
    np.savez(path, **arrays)
    workdir = tmp_path / 'npz_run'
    run_python(LAUNCH + ['--workdir', str(workdir), '--config.data.source=npz',
                         f'--config.data.path={path}', '--config.num_epochs=1',
                         '--config.data.max_train_examples=0',
                         '--config.data.max_val_examples=0',
                         '--config.data.max_test_examples=0'])
    results = _eval(str(workdir))
    assert results['num_test_images'] == 16 and results['data'] == f'npz:{path}'


def test_invariant_recipe_trains_evaluates_and_restores(tmp_path):
    """The issue-10 recipe end to end at the test sizes: eval.json probes the global code
    (z_i has its 128 entries), and the restored run decodes through ``combine``."""
    workdir = str(tmp_path / 'recipe')
    run_python(['launch.py', '--config', 'configs/rotated_mnist_invariant.py:all',
                '--workdir', workdir, '--config.data.max_train_examples=256',
                '--config.data.max_val_examples=64', '--config.data.max_test_examples=64',
                '--config.model.encoder_features=8,16', '--config.batch_size=32',
                '--config.num_epochs=2', '--config.eval.probe_steps=10',
                '--config.eval.num_figure_images=2'])
    results = _eval(workdir)
    assert results['linear_probe']['z_i']['transformed'] is not None
    from gla import run as run_lib
    run = run_lib.load_run(workdir)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 28, 28, 1)).astype(np.float32)
    z_v, u = run.split(run.encode(x))
    assert u.shape == (2, 128) and z_v.shape == (2, 7, 7, 16)
    np.testing.assert_allclose(run.decode(run.combine(run.act(0, z_v), u)),
                               run.transform(x, 0), atol=1e-6)
    # the report's swap grid: its diagonal is the plain reconstruction, its off-diagonal not
    from gla import analyze
    grid = analyze.swap_latents(run, x, x)
    assert grid.shape == (2, 2, 28, 28, 1)
    np.testing.assert_allclose(grid[[0, 1], [0, 1]], run.transform(x, 0), atol=1e-5)
    assert np.abs(grid[0, 1] - grid[1, 1]).max() > 1e-4
