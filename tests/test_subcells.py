"""``config.group.subcells``: the grid action on the latent grid read finer, so that what lies
inside a cell turns with it (gla/latent_actions/grid.py ``SubcellGridAction``), the mask
tiled over the sub-cells (gla/mask.py), and the cell-pooled code over the sub-cells."""

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
    config = brain3d.get_config()
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
