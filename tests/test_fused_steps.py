"""Several training steps per dispatch (config.steps_per_dispatch) train the same model."""

import json
import os

import jax
import numpy as np
import pytest

from gla import config_checks
from gla import metrics_log
from gla import train


def _train(config, workdir):
    train.train(config, str(workdir))
    from gla import run as run_lib
    latest = run_lib.load_run(str(workdir), 'latest')
    with open(os.path.join(str(workdir), 'metrics.jsonl')) as f:
        rows = [json.loads(line) for line in f]
    for row in rows:
        row.pop('images_per_sec', None)
    return jax.tree.map(np.asarray, latest.params), rows


def test_fused_steps_equal_single_steps(tiny_config, tmp_path):
    # 256 images / batch 32 = 8 steps per epoch, a log row every 4: chunks of 3 leave
    # single steps at each boundary, so both code paths and their seams are exercised.
    tiny_config.num_epochs = 1
    single_params, single_rows = _train(tiny_config, tmp_path / 'single')
    tiny_config.steps_per_dispatch = 3
    fused_params, fused_rows = _train(tiny_config, tmp_path / 'fused')
    for a, b in zip(jax.tree.leaves(single_params), jax.tree.leaves(fused_params)):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    assert [r['step'] for r in fused_rows] == [r['step'] for r in single_rows] == [4, 8, 8]
    for a, b in zip(single_rows, fused_rows):
        for term in ('loss', 'recon', 'inv', 'const'):
            assert b[term] == pytest.approx(a[term], rel=1e-5), (a['step'], term)


def test_unstack_rows_keeps_step_order():
    host = [{'loss': np.float32(1.0)}, {'loss': np.array([2.0, 3.0], np.float32)},
            {'loss': np.float32(4.0)}]
    assert [r['loss'] for r in metrics_log.unstack_rows(host)] == [1.0, 2.0, 3.0, 4.0]


def test_non_positive_steps_per_dispatch_is_refused(tiny_config):
    tiny_config.steps_per_dispatch = 0
    with pytest.raises(ValueError, match='steps_per_dispatch=0 must be > 0'):
        config_checks.validate_config(tiny_config)
