"""The yaw-volume decoder (gla/yaw_renderer.py, config.model.code_decoder='yaw_volume').

The pose read off the code turns with ``Phi_g``; the code in its own frame does not move;
so decoding a turned code turns the object's feature volume about its vertical axis:
exactly at quarter turns, up to trilinear resampling at 15° steps. The config checks refuse
the decoder outside yaw groups and the Fourier action.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import planes_pose
from gla import config_checks
from gla import groups
from gla import losses
from gla import models
from gla import state
from gla import yaw_renderer
from gla.latent_actions import channel_rotation


def test_the_pose_angle_adds_the_turn_of_its_pair():
    z_v = jax.random.normal(jax.random.key(0), (16, 6))
    turn = jax.random.uniform(jax.random.key(1), (16,), minval=-3.0, maxval=3.0)
    turned = channel_rotation.rotate_channel_pairs(
        turn, z_v, channel_rotation.fourier_frequencies(6, 3).astype(jnp.float32))
    difference = yaw_renderer.pose_angle(turned) - yaw_renderer.pose_angle(z_v) - turn
    np.testing.assert_allclose(jnp.sin(difference), 0.0, atol=1e-5)
    np.testing.assert_allclose(jnp.cos(difference), 1.0, atol=1e-5)


def test_yaw_matrices_are_rotations_about_the_row_axis_that_compose():
    a, b = jnp.array([0.3, -2.0, 1.1]), jnp.array([1.7, 0.4, -0.9])
    r = yaw_renderer.yaw_matrices(a)
    np.testing.assert_allclose(jnp.einsum('bji,bjk->bik', r, r),
                               np.broadcast_to(np.eye(3), (3, 3, 3)), atol=1e-6)
    np.testing.assert_allclose(jnp.linalg.det(r), 1.0, atol=1e-6)
    np.testing.assert_allclose(r[:, 1], np.broadcast_to([0.0, 1.0, 0.0], (3, 3)), atol=1e-7)
    np.testing.assert_allclose(jnp.einsum('bij,bjk->bik', r, yaw_renderer.yaw_matrices(b)),
                               yaw_renderer.yaw_matrices(a + b), atol=1e-6)


@functools.lru_cache(maxsize=None)  # one model per size for the whole file: seconds each
def _model(image_size=32, yaw_pose='separate'):
    config = planes_pose.get_config()
    config.model.encoder_features = (8, 16, 32)
    config.model.code_dim = 32
    config.model.yaw_pose = yaw_pose
    assert not config_checks.config_problems(config)
    group = groups.group_from_config(config.group)
    model = models.build_model(config, group, 3, (image_size, image_size))
    x = jax.random.uniform(jax.random.key(2), (4, image_size, image_size, 3), minval=-1,
                           maxval=1)
    init = jax.jit(model.init, compiler_options=state.CPU_INIT_COMPILER_OPTIONS)  # cheap compile
    params = init(jax.random.key(3), x, group.identity(4))['params']
    return model, params, x


@functools.lru_cache(maxsize=None)
def _volume_fn(model):
    return jax.jit(lambda params, code: model.decoder.apply({'params': params['decoder']}, code,
                                                            volume_only=True))


@functools.lru_cache(maxsize=None)
def _forward_fn(model):
    return jax.jit(functools.partial(models.forward, model))


def _forward(model, params, x, g):
    return _forward_fn(model)(params, x, g)


def _turned_volume(model, params, code):
    return _volume_fn(model)(params, code)


def test_decoding_a_code_turned_by_a_quarter_turn_turns_the_volume_exactly():
    model, params, x = _model()
    parts = _forward(model, params, x, jnp.zeros(4, jnp.int32))
    v = {'params': params}
    code = parts.z_v + parts.z_i
    volume = _turned_volume(model, params, code)
    assert volume.shape == (4, 8, 8, 8, 16)  # twice the 4x4 latent grid per side
    for k, steps in ((1, 6), (2, 12), (3, 18)):  # yaw24: 6 steps of 15° are a quarter turn
        acted = model.apply(v, jnp.full(4, steps, jnp.int32), parts.z_v, method=model.act)
        turned = _turned_volume(model, params, acted + parts.z_i)
        scale = float(jnp.max(jnp.abs(volume)))
        np.testing.assert_allclose(turned, jnp.rot90(volume, k, axes=(1, 3)),
                                   atol=1e-5 * scale)
        assert float(jnp.max(jnp.abs(turned - volume))) > 0.1 * scale  # it does turn


def test_at_15_degree_steps_the_turned_code_is_the_same_volume_turned_further():
    model, params, x = _model()
    parts = _forward(model, params, x, jnp.zeros(4, jnp.int32))
    v = {'params': params}
    steps = jnp.array([1, 5, 13, 23], jnp.int32)
    acted = model.apply(v, steps, parts.z_v, method=model.act)
    turned = _turned_volume(model, params, acted + parts.z_i)
    # the same canonical volume turned by theta + g in one resampling (the decoder's own
    # path with the pose set by hand): equal to float rounding
    theta = yaw_renderer.pose_angle(parts.z_v) + steps * (2 * jnp.pi / 24)
    length = jnp.linalg.norm(parts.z_v[:, :2], axis=-1, keepdims=True)
    pose = jnp.stack([jnp.cos(theta), jnp.sin(theta)], -1) * length
    by_hand = _turned_volume(model, params, parts.z_i.at[:, :2].set(pose))
    np.testing.assert_allclose(turned, by_hand, atol=1e-4 * float(jnp.max(jnp.abs(turned))))


@pytest.mark.parametrize('override', [dict(group='c4'), dict(latent_action='learned_channels'),
                                      dict(latent='grid_unit_rms')])
def test_the_config_checks_refuse_the_volume_outside_yaw_and_fourier(override):
    config = planes_pose.get_config()
    if 'group' in override:
        config.group.name = override['group']
    if 'latent_action' in override:
        config.group.latent_action = override['latent_action']
    if 'latent' in override:
        config.model.latent = override['latent']
    problems = config_checks.config_problems(config)
    assert any("code_decoder='yaw_volume'" in p for p in problems), problems


def test_the_planes_pose_model_draws_rgb_views_of_the_configured_size():
    model, params, x = _model(image_size=64)
    parts = _forward(model, params, x, jnp.array([0, 3, 6, 23], jnp.int32))
    assert parts.prediction.shape == x.shape and parts.z_v.shape == (4, 32)
    assert bool(jnp.all(parts.z_v[:, 2:] == 0))  # z_v is the pose pair alone
    # RMS 1 over its two entries (up to unit_rms's eps against tiny codes at initialisation)
    np.testing.assert_allclose(jnp.sum(jnp.square(parts.z_v), -1), 2.0, rtol=0.05)
    assert bool(jnp.all(jnp.abs(parts.prediction) <= 1))


def test_the_pose_error_is_zero_at_the_heading_two_half_a_turn_off_and_free_of_scale():
    heading = jnp.array([0.0, 1.0, -2.5, 3.0])
    lengths = jnp.array([0.1, 1.0, 3.0, 40.0])
    at = jnp.stack([jnp.cos(heading), jnp.sin(heading), jnp.zeros(4)], -1) * lengths[:, None]
    np.testing.assert_allclose(losses.pose_error(at, heading), 0.0, atol=1e-6)
    np.testing.assert_allclose(losses.pose_error(-at, heading), 2.0, atol=1e-6)
    quarter = channel_rotation.rotate_channel_pairs(jnp.full(4, jnp.pi / 2), at[:, :2],
                                                    jnp.ones(1))
    np.testing.assert_allclose(losses.pose_error(quarter, heading), 1.0, atol=1e-6)


def test_the_pose_error_enters_the_training_loss_only_when_asked():
    model, params, x = _model()
    g = jnp.array([1, 5, 13, 23], jnp.int32)
    target, heading = x[::-1], jnp.array([0.0, 0.5, 2.0, -1.0])
    plain, terms = losses.pair_losses(model, params, x, target, g, 1.0, 1.0, heading=heading)
    posed, posed_terms = losses.pair_losses(model, params, x, target, g, 1.0, 1.0,
                                            heading=heading, lambda_pose=2.0)
    assert 'pose' not in terms and 0.0 <= float(posed_terms['pose']) <= 2.0
    np.testing.assert_allclose(posed, plain + 2.0 * posed_terms['pose'], rtol=1e-6)
    z_v = _forward(model, params, x, g).z_v
    np.testing.assert_allclose(posed_terms['pose'], jnp.mean(losses.pose_error(z_v, heading)),
                               rtol=1e-6)


def test_the_config_checks_refuse_pose_labels_without_views_in_heading_order():
    from configs import planes
    config = planes.get_config()
    config.loss.lambda_pose = 1.0
    assert any('lambda_pose=1.0 supervises' in p for p in config_checks.config_problems(config))
    config = planes_pose.get_config()
    assert not config_checks.config_problems(config)
    config.data.planes.canonical_views = False
    assert any('canonical_views=True' in p for p in config_checks.config_problems(config))
    config = planes_pose.get_config()
    config.loss.lambda_pose = -1.0
    assert any('lambda_pose=-1.0 must be' in p for p in config_checks.config_problems(config))


@pytest.mark.parametrize('source', ['separate', 'detached'])
def test_a_pose_network_of_its_own_writes_the_pose_alone(source):
    model, params, x = _model(yaw_pose=source)
    pose_params = [k for k in params['encoder'] if k.startswith('pose')]
    assert sorted(pose_params) == ['pose', 'pose_encoder', 'pose_hidden'], list(params['encoder'])
    z = model.apply({'params': params}, x, method=model.encode)
    moved = jax.tree.map(lambda p: p + 0.1, params['encoder']['pose_encoder'])
    other = dict(params, encoder=dict(params['encoder'], pose_encoder=moved))
    z_moved = model.apply({'params': other}, x, method=model.encode)
    np.testing.assert_array_equal(z_moved[:, 2:], z[:, 2:])
    assert float(jnp.max(jnp.abs(z_moved[:, :2] - z[:, :2]))) > 0

    def drawing_error(p):
        prediction = _forward(model, p, x, jnp.array([1, 5, 13, 23])).prediction
        return jnp.mean(jnp.square(prediction - x[::-1]))

    grads = jax.grad(drawing_error)(params)['encoder']['pose_encoder']
    norm = sum(float(jnp.sum(jnp.square(g))) for g in jax.tree.leaves(grads))
    assert (norm == 0.0) == (source == 'detached'), norm


class _PoseRun:
    """A stand-in run whose encoder writes a given pose: ``encode`` returns ``(cos, sin)`` of
    ``theta`` for the views it is given, in order."""

    def __init__(self, theta, decoder='yaw_volume', canonical=True):
        self.theta = np.asarray(theta).reshape(-1)
        self.config = planes_pose.get_config()
        self.config.model.code_decoder = decoder
        self.config.data.planes.canonical_views = canonical
        self.seen = 0

    def encode(self, x):
        theta = self.theta[self.seen:self.seen + len(x)]
        self.seen += len(x)
        return np.stack([np.cos(theta), np.sin(theta), np.ones_like(theta)], -1)


def test_the_pose_metrics_tell_a_winding_pose_from_a_constant_one_and_measure_its_error():
    from gla.settings.planes import evaluate as planes_evaluate
    views = np.zeros((5, 24, 4, 4, 3), np.float32)
    steps = 2 * np.pi * np.arange(24) / 24
    off = np.radians(np.array([[10.0], [-20.0], [5.0], [0.0], [30.0]]))  # per object
    winding = planes_evaluate.pose_metrics(_PoseRun(steps + off), views, batch_size=7)
    assert winding['winds_with_yaw'] > 0.999 and winding['constant_within_object'] < 0.01
    np.testing.assert_allclose(winding['heading_error_deg']['median'], 10.0, atol=1e-6)
    np.testing.assert_allclose(winding['heading_error_deg']['mean'], 13.0, atol=1e-6)
    constant = planes_evaluate.pose_metrics(_PoseRun(np.zeros((5, 24)) + off), views)
    assert constant['constant_within_object'] > 0.999 and constant['winds_with_yaw'] < 0.01
    against = planes_evaluate.pose_metrics(_PoseRun(-steps + off, canonical=False), views)
    assert against['winds_against_yaw'] > 0.999 and 'heading_error_deg' not in against
    assert planes_evaluate.pose_metrics(_PoseRun(steps, decoder='dense'), views) is None
