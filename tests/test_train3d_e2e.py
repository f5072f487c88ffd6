"""End to end in 3D on the tiny config (16^3 phantoms): train -> checkpoint -> evaluate ->
eval.json (with the volume metrics) and the 3D figures, for the cube group (all 24 elements)
and SO(3)."""

import json
import os
import types

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


def _upright_phantom_answers():
    """What the all-background guess and T_g x score on the test phantoms, from numpy alone:
    cube rotations permute the voxels of a volume and of its label map alike, so every
    element scores what the upright volume scores."""
    from configs import test3d
    from gla.data import phantom
    data = test3d.get_config().data
    volumes, maps = phantom.phantom_label_maps('test', 8, 16, data.phantom.seed)
    images = volumes * 2.0 - 1.0
    label = {name: i for i, name in enumerate(phantom.STRUCTURES)}
    head_psnr = np.mean([10 * np.log10(4 / np.mean((v[m != 0] + 1) ** 2))
                         for v, m in zip(images, maps)])
    tissue = (maps == label['brain']) | (maps == label['white_matter'])
    ventricles = np.mean([v[m == label['ventricles']].mean() - v[t].mean()
                          for v, m, t in zip(images, maps, tissue)])
    return head_psnr, ventricles


@pytest.mark.parametrize('group', ['cube', 'so3'])
def test_3d_run_reports_object_metrics_beside_the_all_background_guess(tmp_path_factory,
                                                                       group):
    workdir = trained_runs.tiny_3d(tmp_path_factory, group)
    with open(os.path.join(workdir, 'eval.json')) as f:
        volume = json.load(f)['volume_metrics']
    assert volume['kind'] == 'structures'  # phantoms: their label maps are known
    assert volume['num_pairs'] == 8 * (24 if group == 'cube' else 3)
    for key in ('head_psnr_db', 'head_mse', 'ventricles_contrast',
                'ventricles_contrast_abs_error', 'lesions_contrast',
                'lesions_contrast_abs_error'):
        assert np.isfinite(volume[key]['model']) and np.isfinite(volume[key]['all_background'])
    assert volume['ventricles_contrast']['all_background'] == 0.0
    assert volume['num_pairs_with_ventricles'] == volume['num_pairs']
    if group == 'cube':
        head_psnr, ventricles = _upright_phantom_answers()
        assert volume['head_psnr_db']['all_background'] == pytest.approx(head_psnr, abs=1e-3)
        assert volume['ventricles_contrast']['true'] == pytest.approx(ventricles, abs=1e-4)
        assert volume['ventricles_contrast_abs_error']['all_background'] == pytest.approx(
            abs(ventricles), abs=1e-4)  # every phantom's ventricles are darker than tissue
    # The report's section: the same numbers, each beside the guess.
    from gla import report_page
    from gla.settings.volumes import evaluate as volume_eval
    section, = volume_eval.report_sections(types.SimpleNamespace(workdir=workdir), None, '')
    assert section.title.startswith('Object metrics')
    assert 'PSNR inside the head (dB)' in section.body and 'all-background prediction' in \
        section.body
    assert report_page.fmt(volume['head_psnr_db']['all_background']) in section.body
