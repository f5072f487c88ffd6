"""The frame decoder (gla/frame_decoder.py, config.model.code_decoder='frame').

The frame read off a tensor code is a rotation that turns with the code; the decoder draws
the same canonical volume for a code and its turned copy, so decoding commutes with the
cube's rotations exactly; the config checks refuse it without a tensor-moment code.
"""

import jax
import jax.numpy as jnp
import numpy as np

from configs import adrenal3d_so3
from gla import config_checks
from gla import frame_decoder
from gla import groups
from gla import models
from gla import state as state_lib
from gla.groups import cube
from gla.groups import so3
from gla.latent_actions import tensor_rotation


def test_the_frame_is_a_rotation_that_turns_with_the_code():
    z = jax.random.normal(jax.random.key(0), (6, 3 * 12 + 5))
    r = so3.sample_rotations(jax.random.key(1), 6)
    frame = frame_decoder.tensor_frame(z, 2)
    np.testing.assert_allclose(jnp.einsum('bji,bjk->bik', frame, frame),
                               np.broadcast_to(np.eye(3), (6, 3, 3)), atol=1e-5)
    np.testing.assert_allclose(jnp.linalg.det(frame), 1.0, atol=1e-5)
    turned = frame_decoder.tensor_frame(tensor_rotation.rotate_tensors(r, z, 2), 2)
    np.testing.assert_allclose(turned, jnp.einsum('bij,bjk->bik', r, frame), atol=1e-5)
    np.testing.assert_allclose(frame[:, :, 0], z[:, :3] / jnp.linalg.norm(
        z[:, :3], axis=-1, keepdims=True), atol=1e-5)  # e_1 along the first vector


def _frame_model():
    config = adrenal3d_so3.get_config()
    config.model.code_encoder = 'isotropic_moments'
    config.model.code_decoder = 'frame'
    assert not config_checks.config_problems(config)
    return config, models.build_model(config, groups.group_from_config(config.group), 1,
                                      (32, 32, 32))


def test_decoding_a_turned_code_is_the_turned_volume():
    config, model = _frame_model()
    x = jax.random.uniform(jax.random.key(2), (24, 32, 32, 32, 1), minval=-1, maxval=1)
    m = jnp.asarray(cube.MATRICES)
    params = state_lib.init_variables(model, jax.random.key(3), x[:1], m[:1])['params']
    assert 'canonical' in params['decoder']
    forward = jax.jit(lambda p, v, g: models.forward(model, p, v, g).prediction)
    upright = forward(params, x, jnp.broadcast_to(jnp.eye(3), m.shape))
    turned = forward(params, x, m)
    scale = float(jnp.max(jnp.abs(upright - upright.mean())))
    np.testing.assert_allclose(turned, so3.rotate(m, upright), atol=1e-4 * scale)
    assert float(jnp.max(jnp.abs(turned[1:] - upright[1:]))) > 0.1 * scale  # it does turn


def test_the_config_checks_refuse_the_frame_without_moments():
    config = adrenal3d_so3.get_config()
    config.model.code_encoder = 'dense'
    config.model.code_decoder = 'frame'
    problems = config_checks.config_problems(config)
    assert any("code_decoder='frame'" in p and 'tensor-moment' in p for p in problems), problems
    config.model.code_decoder = 'mlp'
    assert any('config.model.code_decoder' in p for p in config_checks.config_problems(config))
