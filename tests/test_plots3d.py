"""3D figures: mid-slices pick the right planes; the volume grid and orbit figures draw."""

import os

import numpy as np

from gla import plots


def test_mid_slices_are_the_three_orthogonal_centre_planes():
    volume = np.arange(4 * 6 * 8).reshape(4, 6, 8)
    d, h, w = plots.mid_slices(volume)
    np.testing.assert_array_equal(d, volume[2])
    np.testing.assert_array_equal(h, volume[:, 3])
    np.testing.assert_array_equal(w, volume[:, :, 4])
    assert plots._spread(24, 4) == [0, 8, 15, 23] and plots._spread(3, 8) == [0, 1, 2]


def test_volume_figures(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {k: rng.uniform(-1, 1, (5, 2, 8, 8, 8, 1)) for k in
              ('input', 'target', 'prediction')}
    arrays.update({k: rng.uniform(0, 2, (5, 2, 4, 4, 4)) for k in ('z', 'z_v', 'z_i')})
    names = [f'g{i}' for i in range(5)]
    assert plots.is_volume_grid(arrays)
    plots.transform_grid(str(tmp_path / 't.png'), arrays, names)
    plots.orbit_3d(str(tmp_path / 'o.png'), arrays, names)
    assert os.path.getsize(tmp_path / 't.png') > 10_000
    assert os.path.getsize(tmp_path / 'o.png') > 10_000
    assert not plots.is_volume_grid({'input': np.zeros((4, 2, 28, 28, 1))})
