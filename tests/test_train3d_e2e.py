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
    for part in ('z', 'z_v', 'z_i'):
        for split in ('upright', 'transformed'):
            assert 0.0 <= results['linear_probe'][part][split] <= 1.0
    if group == 'cube':
        # Known answer: a cube rotation keeps every voxel, so the all-black baseline is the
        # PSNR of -1 against the upright test volumes, computed here with numpy alone.
        from configs import test3d
        from gla.data import sources
        test = sources.load_dataset(test3d.get_config().data).test
        black = np.mean(10 * np.log10(4 / np.mean((test.images + 1) ** 2, axis=(1, 2, 3, 4))))
        assert results['baselines']['black_image_psnr_db'] == pytest.approx(black, abs=1e-3)
        # ... and the 24 elements really differ: no two give the same PSNR to 6 digits
        per = [round(v['psnr_db'], 6) for v in results['per_group_element'].values()]
        assert len(set(per)) > 12
    assert results['num_test_images'] == 8 and results['data'] == 'phantom@16'
    for name in ('transforms.png', 'orbit.png', 'losses.png'):
        assert os.path.getsize(os.path.join(workdir, 'figures', name)) > 10_000
