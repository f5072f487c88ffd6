"""Restore a trained run for analysis: its config, parameters and bound pure functions.

    import gla
    run = gla.load_run('runs/rotated_mnist')          # best-by-validation step
    x_rot = run.transform(digits, g=np.array([1]))    # D(z_i + Phi_g z_v): a quarter turn

Works on any device count: parameters are restored replicated onto the current devices.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Optional

import jax
import ml_collections
import numpy as np

from gla import checkpointing
from gla import models
from gla import parallel
from gla import state as state_lib
from gla import groups


@dataclasses.dataclass(frozen=True)
class Run:
    """A restored run. Arrays in and out are ``(B, *spatial, C)``; ``g`` is a batch of group
    elements in the convention of ``run.group`` (C4: quarter turns CCW, int ``(B,)``)."""
    workdir: str
    config: ml_collections.ConfigDict
    group: groups.Group
    model: models.GroupLatentAutoencoder
    params: Any
    step: int
    progress: dict

    @functools.cached_property
    def _fns(self) -> dict:
        model, variables = self.model, {'params': self.params}

        def apply(method):
            return jax.jit(lambda *a: model.apply(variables, *a, method=method))

        return {
            'encode': apply(model.encode),
            'split': apply(model.split),
            'act': apply(model.act),
            'decode': apply(model.decode),
            'transform': apply(model.__call__),
            'mask': apply(model.variant_mask),
        }

    @property
    def mask(self) -> np.ndarray:
        """The variant mask ``(c,)``: 1 = variant channel, 0 = invariant."""
        return np.asarray(self._fns['mask']())

    def encode(self, x):
        """Images ``(B, *spatial, C)`` in [-1, 1] -> latents ``z`` ``(B, *h, c)``."""
        return self._fns['encode'](x)

    def split(self, z):
        """``z -> (z_v, z_i)``, the variant and invariant parts (same shape as ``z``)."""
        return self._fns['split'](z)

    def act(self, g, z_v):
        """``Phi_g(z_v)``."""
        return self._fns['act'](g, z_v)

    def decode(self, z):
        """Latents ``(B, *h, c)`` -> images ``(B, *spatial, C)``."""
        return self._fns['decode'](z)

    def transform(self, x, g):
        """``D(z_i(x) + Phi_g(z_v(x)))``: the predicted ``T_g x``."""
        return self._fns['transform'](x, g)


def load_run(workdir: str, which: str = checkpointing.BEST, step: Optional[int] = None) -> Run:
    """Restores the run in ``workdir``: ``which`` is ``'best'`` (by validation loss) or
    ``'latest'``; ``step`` picks a specific kept step."""
    config = checkpointing.read_config(workdir)
    ckpts = checkpointing.RunCheckpoints(workdir, create=False)
    step = ckpts.latest_step(which) if step is None else step
    if step is None:
        raise FileNotFoundError(f'no {which!r} checkpoint in {workdir}/checkpoints')
    progress = ckpts.restore_progress(which, step)
    group = groups.group_from_config(config.group)
    image_shape = tuple(progress['image_shape'])
    model = models.build_model(config, group, image_shape[-1])
    mesh = parallel.make_mesh()
    abstract = jax.eval_shape(functools.partial(state_lib.create_train_state, config, model,
                                                group, image_shape), jax.random.key(0))
    sharding = parallel.replicated(mesh)
    abstract = jax.tree.map(
        lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sharding), abstract)
    state, progress = ckpts.restore(which, abstract, step)
    ckpts.close()
    return Run(workdir=workdir, config=config, group=group, model=model,
               params=state.params, step=int(step), progress=progress)
