"""3D figures: mid-slices pick the right planes; the volume grid and orbit figures draw."""

import numpy as np

from gla import plots


def test_mid_slices_are_the_three_orthogonal_centre_planes():
    volume = np.arange(4 * 6 * 8).reshape(4, 6, 8)
    d, h, w = plots.mid_slices(volume)
    np.testing.assert_array_equal(d, volume[2])
    np.testing.assert_array_equal(h, volume[:, 3])
    np.testing.assert_array_equal(w, volume[:, :, 4])
    assert plots.spread(24, 4).tolist() == [0, 6, 12, 18]
    assert plots.spread(3, 8).tolist() == [0, 1, 2]


def _volume_arrays(num_elements=5, num_images=2):
    rng = np.random.default_rng(0)
    arrays = {k: rng.uniform(-1, 1, (num_elements, num_images, 8, 8, 8, 1)) for k in
              ('input', 'target', 'prediction')}
    arrays.update({k: rng.uniform(0, 2, (num_elements, num_images, 4, 4, 4))
                   for k in ('z', 'z_v', 'z_i')})
    return arrays


def test_the_volume_transform_grid_shows_four_spread_elements_as_mid_slices(tmp_path):
    arrays = _volume_arrays()
    assert plots.is_volume_grid(arrays)
    assert not plots.is_volume_grid({'input': np.zeros((4, 2, 28, 28, 1))})
    fig = plots.transform_grid(str(tmp_path / 't.png'), arrays, [f'g{i}' for i in range(5)])
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == [f'#{n} g=g{e}' for n in range(2) for e in (0, 1, 2, 4)]
    labels = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]
    # input, target, prediction, |Phi_g z_v|, |z_i| (not |z|), three mid-slices each
    assert len(fig.axes) == 5 * 3 * 8 and len(labels) == 15
    assert labels[0] == 'input x\nd mid' and labels[9] == '|Phi_g z_v|\nd mid'
    assert (tmp_path / 't.png').exists()


def test_the_orbit_of_a_volume_is_the_mid_slices_of_truth_and_prediction(tmp_path):
    arrays = _volume_arrays()
    names = [f'rotation {i} about the axis (1, 1, 1)' for i in range(5)]
    fig = plots.orbit_figure(str(tmp_path / 'o.png'), arrays['target'][:, :1],
                             arrays['prediction'][:, :1], names, 3)
    assert len(fig.axes) == 6 * 5
    labels = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]
    assert labels == ['#0 true T_g x\nd mid', 'h mid', 'w mid',
                      '#0 predicted\nd mid', 'h mid', 'w mid']
    assert all(len(line) <= 14 for ax in fig.axes for line in ax.get_title().split('\n'))
    np.testing.assert_array_equal(fig.axes[3 * 5 + 2].images[0].get_array(),
                                  arrays['prediction'][2, 0, 4, ..., 0])
    assert (tmp_path / 'o.png').exists()
