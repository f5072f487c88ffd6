"""The drawing primitive ``plots.image_rows`` and the figures built on it: panels, labels,
titles and the colours that reach the PNG."""

import matplotlib.image as mpimg
import numpy as np
import pytest

from gla import plots


def _grid(fig) -> np.ndarray:
    """The figure's axes as ``(rows, columns)`` (they are created row by row)."""
    (rows, cols), = {ax.get_subplotspec().get_gridspec().get_geometry() for ax in fig.axes}
    return np.array(fig.axes, dtype=object).reshape(rows, cols)


def _centre_pixel(png: np.ndarray, ax) -> np.ndarray:
    """RGB of the PNG pixel at the centre of ``ax`` (its drawn, aspect-adjusted box)."""
    box = ax.get_position()
    height, width = png.shape[:2]
    x = int((box.x0 + box.x1) / 2 * width)
    y = int((1 - (box.y0 + box.y1) / 2) * height)
    return png[y, x, :3]


def test_a_row_of_2d_images_is_one_row_of_panels_under_the_column_titles(tmp_path):
    images = np.zeros((3, 8, 8, 1))
    fig = plots.image_rows(str(tmp_path / 'f.png'), [('top', images), ('bottom', images)],
                           ['a', 'b', 'c'], 2)
    axes = _grid(fig)
    assert axes.shape == (2, 3)
    assert [ax.get_ylabel() for ax in axes[:, 0]] == ['top', 'bottom']
    assert [ax.get_title() for ax in axes[0]] == ['a', 'b', 'c']
    assert all(ax.get_title() == '' for ax in axes[1])
    assert all(not ax.get_xticks().size and not ax.get_yticks().size for ax in fig.axes)


def test_a_volume_row_is_drawn_as_its_three_mid_slices(tmp_path):
    volumes = np.random.default_rng(0).uniform(-1, 1, (2, 4, 6, 8, 1))
    fig = plots.image_rows(str(tmp_path / 'v.png'), [('x', volumes)], ['g0', 'g1'], 3)
    axes = _grid(fig)
    assert axes.shape == (3, 2)
    assert [ax.get_ylabel() for ax in axes[:, 0]] == ['x\nd mid', 'h mid', 'w mid']
    for c in range(2):
        for s, expected in enumerate(plots.mid_slices(volumes[c, ..., 0])):
            np.testing.assert_array_equal(axes[s, c].images[0].get_array(), expected)
    assert axes[0, 0].images[0].get_array().shape == (6, 8)  # d: the (h, w) plane
    assert axes[2, 0].images[0].get_array().shape == (4, 6)  # w: the (d, h) plane


def test_a_white_grey_panel_and_a_black_one_reach_the_png_as_such(tmp_path):
    path = str(tmp_path / 'bw.png')
    images = np.stack([np.ones((8, 8, 1)), -np.ones((8, 8, 1))])
    fig = plots.image_rows(path, [('x', images)], ['white', 'black'], 2)
    png = mpimg.imread(path)
    assert png.shape[:2] == tuple(np.round(fig.get_size_inches()[::-1] * 100).astype(int))
    np.testing.assert_allclose(_centre_pixel(png, fig.axes[0]), [1, 1, 1], atol=0.01)
    np.testing.assert_allclose(_centre_pixel(png, fig.axes[1]), [0, 0, 0], atol=0.01)


def test_rgb_images_are_shown_as_x_plus_one_over_two_clipped(tmp_path, caplog):
    path = str(tmp_path / 'rgb.png')
    images = np.broadcast_to(np.array([1.0, -3.0, 0.0]), (1, 6, 6, 3))
    fig = plots.image_rows(path, [('rgb', images)], ['c'], 2)
    assert 'Clipping input data' not in caplog.text  # clipped before matplotlib has to
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(),
                               np.broadcast_to([1.0, 0.0, 0.5], (6, 6, 3)))
    np.testing.assert_allclose(_centre_pixel(mpimg.imread(path), fig.axes[0]),
                               [1.0, 0.0, 0.5], atol=0.01)


def test_latent_norms_share_one_viridis_scale_per_row_from_zero_to_the_row_max(tmp_path):
    norms = np.stack([np.full((4, 4), 1.0), np.full((4, 4), 2.0)])
    fig = plots.image_rows(str(tmp_path / 'z.png'),
                           [('|z|', norms), ('|z| x3', 3 * norms)], ['a', 'b'], 2)
    axes = _grid(fig)
    for r, top in enumerate((2.0, 6.0)):
        for ax in axes[r]:
            assert ax.images[0].get_cmap().name == 'viridis'
            assert ax.images[0].get_clim() == (0.0, top)
    grey = plots.image_rows(str(tmp_path / 'g.png'), [('x', norms[..., None])], ['a', 'b'], 2)
    assert grey.axes[0].images[0].get_cmap().name == 'gray'
    assert grey.axes[0].images[0].get_clim() == (-1.0, 1.0)


def test_long_column_titles_wrap_onto_short_lines(tmp_path):
    name = 'rotation by 120 degrees about (1, 1, 1)'
    fig = plots.image_rows(str(tmp_path / 't.png'), [('x', np.zeros((1, 4, 4, 1)))],
                           [name], 2)
    lines = fig.axes[0].get_title().split('\n')
    assert len(lines) > 1 and max(map(len, lines)) <= 14
    assert ' '.join(lines) == name


def test_a_row_with_the_wrong_number_of_images_is_an_error(tmp_path):
    with pytest.raises(ValueError, match='2 images for 3 columns'):
        plots.image_rows(str(tmp_path / 'e.png'), [('x', np.zeros((2, 4, 4, 1)))],
                         ['a', 'b', 'c'], 2)


def test_the_orbit_has_a_true_and_a_predicted_row_per_image(tmp_path):
    targets = np.ones((4, 2, 8, 8, 1))
    predictions = -np.ones((4, 2, 8, 8, 1))
    path = str(tmp_path / 'o.png')
    fig = plots.orbit_figure(path, targets, predictions, ['e', 'r', 'r2', 'r3'],
                             title='orbit')
    axes = _grid(fig)
    assert axes.shape == (4, 4)
    assert [ax.get_ylabel() for ax in axes[:, 0]] == [
        '#0 true T_g x', '#0 predicted', '#1 true T_g x', '#1 predicted']
    assert [ax.get_title() for ax in axes[0]] == ['g = e', 'g = r', 'g = r2', 'g = r3']
    assert fig._suptitle.get_text() == 'orbit'
    png = mpimg.imread(path)
    np.testing.assert_allclose(_centre_pixel(png, axes[0, 2]), [1, 1, 1], atol=0.01)
    np.testing.assert_allclose(_centre_pixel(png, axes[1, 2]), [0, 0, 0], atol=0.01)


def test_the_planes_orbit_of_one_view_is_two_rows(tmp_path):
    truth, predicted = np.zeros((6, 8, 8, 3)), np.zeros((6, 8, 8, 3))
    fig = plots.orbit_figure(str(tmp_path / 'p.png'), truth[:, None], predicted[:, None],
                             [f'yaw {60 * i}' for i in range(6)], 2, title='one plane')
    assert _grid(fig).shape == (2, 6)


def test_the_2d_transform_grid_has_a_column_per_image_and_element(tmp_path):
    rng = np.random.default_rng(1)
    arrays = {k: rng.uniform(-1, 1, (3, 2, 8, 8, 1)) for k in ('input', 'target', 'prediction')}
    arrays.update({k: rng.uniform(0, 2, (3, 2, 4, 4)) for k in ('z', 'z_v', 'z_i')})
    fig = plots.transform_grid(str(tmp_path / 't.png'), arrays, ['a', 'b', 'c'])
    axes = _grid(fig)
    assert axes.shape == (6, 6)
    assert [ax.get_ylabel() for ax in axes[:, 0]] == list(plots.ROW_TITLES.values())
    assert [ax.get_title() for ax in axes[0]] == [
        '#0 g=a', '#0 g=b', '#0 g=c', '#1 g=a', '#1 g=b', '#1 g=c']
    np.testing.assert_array_equal(axes[2, 4].images[0].get_array(),
                                  arrays['prediction'][1, 1, ..., 0])
    np.testing.assert_array_equal(axes[4, 3].images[0].get_array(), arrays['z_v'][0, 1])


def test_the_swap_grid_puts_a_down_the_side_b_along_the_top_and_swaps_inside(tmp_path):
    rng = np.random.default_rng(2)
    a, b = rng.uniform(-1, 1, (2, 4, 6, 6, 1)), rng.uniform(-1, 1, (3, 4, 6, 6, 1))
    swapped = rng.uniform(-1, 1, (2, 3, 4, 6, 6, 1))
    fig = plots.swap_grid(str(tmp_path / 's.png'), a, b, swapped, spatial_ndim=3)
    axes = _grid(fig)
    assert axes.shape == (3, 4)
    assert not axes[0, 0].images and not axes[0, 0].axison  # the legend cell
    assert [ax.get_title() for ax in axes[0, 1:]] == ['B0', 'B1', 'B2']
    assert [ax.get_ylabel() for ax in axes[1:, 0]] == ['A0', 'A1']

    def shown(ax):
        return ax.images[0].get_array()

    np.testing.assert_array_equal(shown(axes[0, 2]), b[1, 2, ..., 0])  # depth D // 2
    np.testing.assert_array_equal(shown(axes[2, 0]), a[1, 2, ..., 0])
    np.testing.assert_array_equal(shown(axes[2, 3]), swapped[1, 2, 2, ..., 0])


def test_the_swap_test_grid_has_its_four_rows_and_a_column_per_element_and_pair(tmp_path):
    arrays = {k: np.zeros((2, 3, 8, 8, 1)) for k in ('x_a', 'x_b', 'swapped', 'reference')}
    arrays['swapped'][1, 0] = 1.0
    fig = plots.swap_test_grid(str(tmp_path / 'w.png'), arrays, ['e', 'r'])
    axes = _grid(fig)
    assert axes.shape == (4, 6)
    assert [ax.get_ylabel() for ax in axes[:, 0]] == list(plots.SWAP_ROWS.values())
    assert axes[0, 3].get_title() == 'pair 0 g=r'
    assert np.all(axes[2, 3].images[0].get_array() == 1.0)
    assert np.all(axes[2, 2].images[0].get_array() == 0.0)
