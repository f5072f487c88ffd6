"""End to end in 3D on the tiny config (16^3 phantoms): train -> checkpoint -> evaluate ->
eval.json and the 3D figures, for the cube group (all 24 elements) and SO(3)."""

import json
import os

import numpy as np
import pytest

import trained_runs


@pytest.mark.parametrize('group', ['cube', 'so3'])
def test_3d_run_writes_eval_json_and_figures(tmp_path_factory, group):
    workdir = trained_runs.tiny_3d(tmp_path_factory, group)
    with open(os.path.join(workdir, 'eval.json')) as f:
        results = json.load(f)
    elements = results['group_elements']
    assert results['group'] == group
    assert len(elements) == (24 if group == 'cube' else 3) and elements[0] == 'id'
    assert set(results['per_group_element']) == set(elements)
    per = [v['psnr_db'] for v in results['per_group_element'].values()]
    assert results['transformed_psnr_db_mean_over_test_images_and_group_elements'] == \
        pytest.approx(np.mean(per), rel=1e-5)
    for part in ('z', 'z_v', 'z_i'):
        for split in ('upright', 'transformed'):
            acc = results['linear_probe'][part][split]
            assert acc is None or 0.0 <= acc <= 1.0
    assert results['num_test_images'] == 8 and results['data'] == 'phantom@16'
    for name in ('transforms.png', 'orbit.png', 'losses.png'):
        assert os.path.getsize(os.path.join(workdir, 'figures', name)) > 10_000
