"""Latent actions that turn what lies inside a cell, not only the cells
(gla/latent_actions/grid.py): ``config.group.subcells`` (``SubcellGridAction``, the grid
read finer; the cell-pooled code over the sub-cells) and ``'grid_regular'``
(``RegularGridAction``, each cell's channels as ``|G|`` copies permuted by the regular
representation); and the mask tiled over the copies either moves (gla/mask.py)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gla import conv
from gla import groups
from gla import latent_actions
from gla import models
from gla import state as state_lib


def _normal(seed, shape):
    return jnp.asarray(np.random.default_rng(seed).standard_normal(shape), jnp.float32)


@pytest.mark.parametrize('name, spatial', [('cube', (6, 6, 6)), ('c4', (6, 6))])
def test_subcell_action_turns_the_finer_grid_and_the_paper_action_does_not(name, spatial):
    """A latent whose cells hold ``2^d`` sub-cells is the finer grid ``y`` read by
    ``space_to_depth``; turning it must give the turned ``y`` read the same way, for every
    element. The paper's action moves the cells and leaves their channels, so for every
    element but the identity it puts a sub-cell's content in the wrong corner."""
    group = groups.get_group(name)
    action = latent_actions.make_latent_action('grid', group, subcells=2)
    plain = latent_actions.make_latent_action('grid', group)
    fine = _normal(0, (1,) + tuple(2 * n for n in spatial) + (3,))
    z = conv.space_to_depth(fine, 2)  # (1, *spatial, 2^d * 3)
    elements = np.asarray(group.eval_elements())
    for g in elements:
        g = jnp.asarray([g])
        expected = conv.space_to_depth(group.act(g, fine), 2)
        acted = action.apply({}, g, z)
        np.testing.assert_array_equal(acted, expected)
        if int(g[0]) != 0:
            assert not np.allclose(plain.apply({}, g, z), expected)
    np.testing.assert_array_equal(action.apply({}, jnp.asarray([0]), z), z)  # Phi_e = id


def test_subcell_action_composes_like_the_cube_group():
    group = groups.get_group('cube')
    action = latent_actions.make_latent_action('grid', group, subcells=2)
    z = _normal(1, (1, 4, 4, 4, 16))
    for a, b in [(3, 7), (11, 20), (5, 23)]:
        ab = int(group.compose(jnp.asarray([a]), jnp.asarray([b]))[0])
        twice = action.apply({}, jnp.asarray([a]), action.apply({}, jnp.asarray([b]), z))
        np.testing.assert_array_equal(twice, action.apply({}, jnp.asarray([ab]), z))


def test_mask_is_the_same_for_every_subcell_so_turning_keeps_the_split():
    """With 8 sub-cells of 4 channels the learned mask has 4 logits, tiled over the 32
    channels in the ``(r, c')`` order of ``depth_to_space``; turning ``z_v`` then never moves
    a variant value onto an invariant channel."""
    from configs import brain3d
    config = brain3d.get_config('grid')
    config.group.subcells = 2
    group = groups.get_group('cube')
    model = models.build_model(config, group, image_channels=1)
    x = _normal(2, (2, 16, 16, 16, 1))
    variables = state_lib.init_variables(model, jax.random.key(0), x, group.identity(2))
    alpha = variables['params']['mask']['alpha']
    assert alpha.shape == (4,)
    mask = np.asarray(model.apply(variables, method=model.variant_mask))
    np.testing.assert_array_equal(mask, np.tile(np.asarray(alpha) > 0, 8).astype(np.float32))
    # give the mask both kinds of channel, then check the turn keeps zeros where M is 0
    variables = jax.tree_util.tree_map(lambda a: a, variables)
    variables['params']['mask']['alpha'] = jnp.asarray([1.0, -1.0, 1.0, -1.0])
    z = model.apply(variables, x, method=model.encode)
    z_v, _ = model.apply(variables, z, method=model.split)
    mask = np.asarray(model.apply(variables, method=model.variant_mask))
    for g in (1, 9, 17):
        acted = model.apply(variables, jnp.full((2,), g), z_v, method=model.act)
        assert np.abs(np.asarray(acted)[..., mask == 0]).max() == 0
        assert np.abs(np.asarray(acted)[..., mask == 1]).max() > 0


def test_cell_pooled_code_pools_the_subcells_and_stays_exactly_invariant():
    """The cell-pooled code of ``brain3d_invariant.py`` with sub-cells: its hidden layer sees
    one sub-cell's channels (4 of the 32), and turning ``z_v`` by any of the 24 elements
    leaves the code as it is (the plain cell pool would read the sub-cells' order)."""
    from configs import brain3d_invariant
    config = brain3d_invariant.get_config()
    config.group.subcells = 2
    config.model.invariant_code_dim = 8
    config.model.invariant_code_hidden = 16
    group = groups.get_group('cube')
    model = models.build_model(config, group, image_channels=1)
    x = _normal(3, (2, 16, 16, 16, 1))
    variables = state_lib.init_variables(model, jax.random.key(0), x, group.identity(2))
    assert variables['params']['invariant_code']['Hidden']['kernel'].shape == (4, 16)
    encode = jax.jit(functools.partial(model.apply, method=model.encode))
    z = encode(variables, x)
    z_v, u = model.apply(variables, z, method=model.split)
    assert np.abs(np.asarray(z_v)).max() > 0
    for g in range(1, 24):
        turned = model.apply(variables, jnp.full((2,), g), z, method=model.act)
        np.testing.assert_allclose(model.apply(variables, turned, method=model.split)[1], u,
                                   atol=1e-5)


def test_subcells_of_one_are_the_papers_action_and_mask():
    from configs import adrenal3d
    config = adrenal3d.get_config()
    assert config.group.subcells == 1
    model = models.build_model(config, groups.get_group('cube'), image_channels=1)
    assert type(model.latent_action).__name__ == 'GridLatentAction'
    assert model.mask.repeats == 1 and model.mask.num_channels == 32


@pytest.mark.parametrize('name, spatial, width', [('cube', (4, 4, 4), 48), ('c4', (4, 4), 8)])
def test_regular_action_is_a_group_action_that_keeps_the_norm(name, spatial, width):
    group = groups.get_group(name)
    action = latent_actions.make_latent_action('grid_regular', group)
    order = len(latent_actions.FINITE_MATRICES[name])
    for row in action.permutations:
        assert sorted(row) == list(range(order))
    z = _normal(4, (1,) + spatial + (width,))
    np.testing.assert_array_equal(action.apply({}, jnp.asarray([0]), z), z)
    for a, b in [(1, 2), (3, 3), (order - 1, 1)]:
        ab = group.compose(jnp.asarray([a]), jnp.asarray([b]))
        twice = action.apply({}, jnp.asarray([a]), action.apply({}, jnp.asarray([b]), z))
        np.testing.assert_array_equal(twice, action.apply({}, ab, z))
        np.testing.assert_allclose(np.linalg.norm(action.apply({}, jnp.asarray([a]), z)),
                                   np.linalg.norm(z), rtol=1e-6)
    if name == 'c4':  # k quarter turns shift the 4 copies cyclically: z'[h] = z[h - k]
        assert action.permutations[1] == (3, 0, 1, 2)


def _lifting_draw(z, kernel):
    """Each cell of a C4 latent ``(B, n, n, 4 c')`` drawn as a 3x3 patch: the sum over the
    4 copies ``h`` of ``rot90^h(kernel . z[h])``, ``kernel`` ``(c', 3, 3)``: one kernel per
    copy, each the turned version of the first (a group convolution's lifting)."""
    b, n = z.shape[0], z.shape[1]
    copies = z.reshape(b, n, n, 4, -1)
    patches = sum(jnp.rot90(jnp.einsum('bijc,cuv->bijuv', copies[..., h, :], kernel), h,
                            axes=(3, 4)) for h in range(4))
    return patches.transpose(0, 1, 3, 2, 4).reshape(b, 3 * n, 3 * n)


def test_regular_copies_let_a_decoder_draw_a_turned_off_centre_pattern_exactly():
    """Why ``'grid_regular'``: a decoder that draws each cell from its copies with one turned
    kernel per copy commutes with the action exactly, ``D(Phi_g z) = T_g D(z)``, and still
    draws a pattern with no symmetry (a dot in a cell's corner). With the paper's action a
    per-cell drawing that commutes for every ``z`` must be the same under a quarter turn."""
    group = groups.get_group('c4')
    action = latent_actions.make_latent_action('grid_regular', group)
    kernel = jnp.zeros((1, 3, 3)).at[0, 0, 0].set(1.0)  # a dot in the patch's corner
    z = jnp.zeros((1, 2, 2, 4)).at[0, 0, 1, 0].set(1.0)  # copy h=0 of one cell on
    drawn = _lifting_draw(z, kernel)
    assert float(drawn.sum()) == 1.0 and float(drawn[0, 0, 3]) == 1.0  # the corner dot
    for k in range(4):
        g = jnp.asarray([k])
        turned_drawing = jnp.rot90(drawn, k, axes=(1, 2))
        np.testing.assert_array_equal(_lifting_draw(action.apply({}, g, z), kernel),
                                      turned_drawing)
    # the paper's action: the same per-cell drawing does not commute (the dot stays in the
    # cell's same corner instead of turning with it)
    plain = latent_actions.make_latent_action('grid', group)
    g = jnp.asarray([1])
    assert not np.array_equal(_lifting_draw(plain.apply({}, g, z), kernel),
                              jnp.rot90(drawn, 1, axes=(1, 2)))


def test_regular_mask_has_one_entry_per_channel_of_a_copy():
    from configs import brain3d
    config = brain3d.get_config('grid')
    config.group.latent_action = 'grid_regular'
    config.model.encoder_features = (8, 48)
    group = groups.get_group('cube')
    model = models.build_model(config, group, image_channels=1)
    x = _normal(5, (1, 16, 16, 16, 1))
    variables = state_lib.init_variables(model, jax.random.key(0), x, group.identity(1))
    assert variables['params']['mask']['alpha'].shape == (2,)
    mask = np.asarray(model.apply(variables, method=model.variant_mask))
    assert mask.shape == (48,)
    np.testing.assert_array_equal(mask, np.tile(mask[:2], 24))


def test_brain3d_default_turns_cell_content_and_grid_is_the_earlier_model():
    """``configs/brain3d.py`` is the regular action with every channel variant (the model
    that draws the ventricles and lesions); ``:grid`` is the earlier default that
    ``brain3d_invariant.py`` and ``test3d.py`` build on, and a wrong name is refused."""
    from configs import brain3d
    from gla import config_checks
    regular, grid = brain3d.get_config(), brain3d.get_config('grid')
    assert (regular.group.latent_action, regular.mask.kind,
            tuple(regular.model.encoder_features)) == ('grid_regular', 'all_variant', (24, 48))
    assert (grid.group.latent_action, grid.mask.kind,
            tuple(grid.model.encoder_features)) == ('grid', 'learned', (8, 32))
    config_checks.validate_config(regular)
    regular.mask.kind = 'learned'  # the learned mask is one override away
    config_checks.validate_config(regular)
    with pytest.raises(ValueError, match="'regular', 'grid'"):
        brain3d.get_config('regualr')
