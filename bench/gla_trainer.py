"""gla's training step, driven the way ``gla.train`` drives it, for the benchmarks.

One object per (config, batch size): the train state and the step functions of
``gla.train_step.jit_step_functions`` (the very functions a run trains with: its pairs, loss
weights and group options), compiled ahead of time so the compile is timed apart from the
steps. Batches come from host numpy and are sharded over a ``('data',)`` mesh per dispatch,
exactly as in ``gla.train``.
"""

from __future__ import annotations

import functools
import time

import jax
import ml_collections
import numpy as np

from gla import groups
from gla import models
from gla import parallel
from gla import state as state_lib
from gla import train_step
from gla.groups import c4


class GlaTrainer:
    """``run(images)`` trains on ``(n * batch_size, 28, 28, 1)`` images, ``n`` a multiple of
    ``steps_per_dispatch``; ``predict(images, k)`` is ``D(z_i + Phi_k(z_v))``."""

    def __init__(self, config: ml_collections.ConfigDict, batch_size: int,
                 image_shape: tuple = (28, 28, 1)):
        self.config, self.batch_size = config, batch_size
        self.steps_per_dispatch = config.steps_per_dispatch
        self.image_shape = tuple(image_shape)
        self.group = groups.group_from_config(config.group)
        self.model = models.build_model(config, self.group, image_shape[-1],
                                        spatial_shape=self.image_shape[:-1])
        self.mesh = parallel.make_mesh()
        init_key, self.pair_key = jax.random.split(jax.random.key(config.seed))
        self.state = state_lib.compile_initial_state(functools.partial(
            state_lib.create_train_state, config, self.model, self.group, self.image_shape),
            init_key, parallel.replicated(self.mesh))
        steps = train_step.jit_step_functions(config, self.model, self.group)
        k = self.steps_per_dispatch
        example = np.zeros(((k,) if k > 1 else ()) + (batch_size,) + self.image_shape,
                           np.float32)
        start = time.perf_counter()
        self.step = (steps.single if k == 1 else steps.fused).lower(
            self.state, self._put(example), self.pair_key).compile()
        self.compile_seconds = time.perf_counter() - start
        # Single steps for a remainder shorter than K (an epoch end), as gla.train does.
        self.single_step = self.step if k == 1 else steps.single
        self._predict = jax.jit(lambda p, x, g: self.model.apply({'params': p}, x, g))

    def _put(self, images: np.ndarray) -> jax.Array:
        if self.steps_per_dispatch > 1:
            return parallel.shard_steps(self.mesh, images)
        return parallel.shard_batch(self.mesh, images)

    def run(self, images: np.ndarray) -> float:
        """Trains on ``images`` (consecutive batches of ``batch_size``, K per dispatch, the
        remainder one at a time); returns the last step's loss."""
        if len(images) % self.batch_size:
            raise ValueError(f'{len(images)} images do not split into batches of '
                             f'{self.batch_size}')
        per_call = self.steps_per_dispatch * self.batch_size
        metrics, start = None, 0
        while start < len(images):
            if self.steps_per_dispatch > 1 and start + per_call <= len(images):
                chunk = images[start:start + per_call].reshape(
                    (self.steps_per_dispatch, self.batch_size) + self.image_shape)
                self.state, metrics = self.step(
                    self.state, parallel.shard_steps(self.mesh, chunk), self.pair_key)
                start += per_call
            else:
                batch = images[start:start + self.batch_size]
                step = self.step if self.steps_per_dispatch == 1 else self.single_step
                self.state, metrics = step(
                    self.state, parallel.shard_batch(self.mesh, batch), self.pair_key)
                start += self.batch_size
        return float(np.ravel(np.asarray(metrics['loss']))[-1])

    def predict(self, images: np.ndarray, k: np.ndarray) -> np.ndarray:
        return np.asarray(self._predict(self.state.params, images, np.asarray(k, np.int32)))


def rotate(images: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Targets ``T_k x`` of ``(B, H, W, C)`` images under C4, as gla defines them."""
    return np.asarray(c4.rotate_quarter_turns(np.asarray(k, np.int32), images))
