"""The layout's promises: one forward path and one swap, settings chosen in one place, old
module names and old config.json files handled, rooms of a readable size."""

import ast
import json
import os
import pathlib

import jax
import numpy as np
import pytest

from conftest import REPO
from gla import autoencoder
from gla import groups
from gla import models
from gla import settings
from gla import state as state_lib
from gla import workdir as workdir_lib


def _tiny_model(config):
    group = groups.group_from_config(config.group)
    model = models.build_model(config, group, 1)
    x = jax.random.uniform(jax.random.key(0), (3, 28, 28, 1), minval=-1, maxval=1)
    params = state_lib.init_variables(model, jax.random.key(1), x, group.identity(3))['params']
    return model, params, x


@pytest.mark.parametrize('code_dim', [0, 16])
def test_forward_is_the_chain_of_the_separate_steps(tiny_config, code_dim):
    tiny_config.model.invariant_code_dim = code_dim
    tiny_config.model.invariant_code_hidden = 32 if code_dim else 0
    tiny_config.model.invariant_code_orbit_pool = bool(code_dim)
    model, params, x = _tiny_model(tiny_config)
    g = np.array([0, 1, 3], np.int32)
    parts = models.forward(model, params, x, g)
    v = {'params': params}
    z = model.apply(v, x, method=model.encode)
    z_v, z_i = model.apply(v, z, method=model.split)
    acted = model.apply(v, g, z_v, method=model.act)
    prediction = model.apply(v, model.apply(v, acted, z_i, method=model.combine),
                             method=model.decode)
    for got, want in ((parts.z, z), (parts.z_v, z_v), (parts.z_i, z_i), (parts.acted, acted),
                      (parts.prediction, prediction)):
        np.testing.assert_array_equal(got, want)
    assert parts.z_i.shape == ((3, 16) if code_dim else z.shape)
    np.testing.assert_array_equal(parts.prediction, model.apply(v, x, g))


def test_the_swap_takes_z_i_of_a_and_the_acted_z_v_of_b(tiny_config):
    model, params, x = _tiny_model(tiny_config)
    v = {'params': params}
    x_a, x_b = x, x[::-1]
    g = np.array([1, 2, 3], np.int32)
    swapped = model.apply(v, x_a, x_b, g, method=model.swap)
    _, z_i_a = model.apply(v, model.apply(v, x_a, method=model.encode), method=model.split)
    z_v_b, _ = model.apply(v, model.apply(v, x_b, method=model.encode), method=model.split)
    acted = np.stack([np.rot90(np.asarray(z_v_b)[i], int(k), axes=(0, 1))
                      for i, k in enumerate(g)])  # C4: Phi_g = rot90 of the latent grid
    expected = model.apply(v, acted + np.asarray(z_i_a), method=model.decode)
    np.testing.assert_allclose(swapped, expected, atol=1e-6)
    # at the identity with A = B the swap is the plain reconstruction
    identity = np.zeros(3, np.int32)
    np.testing.assert_array_equal(model.apply(v, x, x, identity, method=model.swap),
                                  model.apply(v, x, identity))


def test_each_config_gets_its_setting(tiny_config):
    from configs import blocked_mnist, planes
    assert settings.for_config(tiny_config).name == 'plain'
    assert settings.for_config(blocked_mnist.get_config()).name == 'blocked'
    assert settings.for_config(planes.get_config()).name == 'planes'


def test_a_setting_adds_its_own_config_checks():
    from configs import blocked_mnist, planes
    from gla import config_checks
    blocked = blocked_mnist.get_config()
    blocked.blocks.intensity = 3.0
    assert any('config.blocks.intensity=3.0 must lie in [-1, 1]' in p
               for p in config_checks.config_problems(blocked))
    rendered = planes.get_config()
    rendered.pairs.random_input_element = True
    assert any('rendered planes pair views' in p
               for p in config_checks.config_problems(rendered))


@pytest.mark.parametrize('old, new', [('gla.reliability', 'gla.workdir'),
                                      ('gla.planes_eval', 'gla.settings.planes.evaluate'),
                                      ('gla.groups.latent_actions', 'gla.latent_actions')])
def test_an_old_module_name_fails_naming_the_new_one(old, new):
    import importlib
    import gla  # noqa: F401  (installs the finder)
    with pytest.raises(ModuleNotFoundError, match=new.replace('.', r'\.')):
        importlib.import_module(old)


def test_a_config_json_written_before_new_fields_reads_with_their_old_values(tmp_path):
    from configs import rotated_mnist
    saved = json.loads(rotated_mnist.get_config().to_json_best_effort())
    del saved['blocks'], saved['data']['resolution'], saved['model']['strided_conv']
    (tmp_path / 'config.json').write_text(json.dumps(saved))
    config = workdir_lib.read_config(str(tmp_path))
    assert config.blocks.enabled is False and config.data.resolution == 0
    assert config.model.strided_conv == 'xla'
    assert workdir_lib.config_differences(workdir_lib._read_json_config(
        str(tmp_path / 'config.json')), rotated_mnist.get_config()) == {}


def test_no_function_in_gla_over_60_lines_and_no_module_over_350():
    long = []
    for path in sorted(pathlib.Path(REPO, 'gla').rglob('*.py')):
        text = path.read_text()
        if len(text.splitlines()) > 350:
            long.append(f'{path.name}: {len(text.splitlines())} lines')
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                size = node.end_lineno - node.lineno + 1
                if size > 60:
                    long.append(f'{path.name}:{node.name} {size} lines')
    assert not long, long


def test_the_paper_model_and_the_code_variant_share_one_interface():
    from gla import invariant_code
    assert issubclass(invariant_code.InvariantCodeAutoencoder,
                      autoencoder.GroupLatentAutoencoder)
    overridden = {name for name in vars(invariant_code.InvariantCodeAutoencoder)
                  if callable(getattr(invariant_code.InvariantCodeAutoencoder, name))
                  and not name.startswith('_')}
    assert overridden == {'invariant', 'invariant_map', 'probe_features'}
    assert os.path.isdir(os.path.join(REPO, 'gla', 'latent_actions'))
