"""The train state of a run and how it is built from a config (also for restoring)."""

from __future__ import annotations

import jax
import ml_collections
import optax
from flax.training import train_state

from gla import models
from gla.groups import base


def make_optimizer(config: ml_collections.ConfigDict) -> optax.GradientTransformation:
    """Adam with a constant step size ``config.optimizer.learning_rate`` (as the paper)."""
    return optax.adam(config.optimizer.learning_rate)


def create_train_state(config: ml_collections.ConfigDict, model: models.GroupLatentAutoencoder,
                       group: base.Group, image_shape: tuple,
                       rng: jax.Array) -> train_state.TrainState:
    """Initialises parameters for images of ``image_shape`` (``(*spatial, C)``) and Adam.

    Checks on the way that the group can act on the image grid and on the latent grid.
    """
    group.check_grid(tuple(image_shape[:-1]))
    x = jax.numpy.zeros((1,) + tuple(image_shape), jax.numpy.float32)
    latent = jax.eval_shape(lambda: model.init_with_output(rng, x, method=model.encode)[0])
    group.check_grid(tuple(latent.shape[1:-1]))
    output = jax.eval_shape(lambda: model.init_with_output(rng, x, group.identity(1))[0])
    if output.shape != x.shape:
        raise ValueError(
            f'images of shape {tuple(image_shape)} decode to {tuple(output.shape[1:])}: each '
            f'spatial size must be divisible by stride**depth = {config.model.stride}**'
            f'{len(config.model.encoder_features)}. Resize the images or change '
            'config.model.encoder_features / stride.')
    params = model.init(rng, x, group.identity(1))['params']
    return train_state.TrainState.create(apply_fn=model.apply, params=params,
                                         tx=make_optimizer(config))
