"""Restore a trained run for analysis: its config, parameters and bound pure functions.

    import gla
    run = gla.load_run('runs/rotated_mnist')          # best-by-validation step
    x_rot = run.transform(digits, 1)                  # D(z_i + Phi_g z_v): a quarter turn
    frames = run.orbit(digits)                        # every evaluation element of the group

Works on any device count: parameters are restored replicated onto the current devices,
whatever the device count of the run that wrote them.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Any, Optional

import jax
import ml_collections
import numpy as np

from gla import checkpointing
from gla import groups
from gla import models
from gla import parallel
from gla import state as state_lib
from gla import workdir as workdir_lib


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

        def apply(method):  # the parameters as an argument: XLA would fold constants
            return functools.partial(jax.jit(functools.partial(model.apply, method=method)),
                                     variables)

        return {
            'encode': apply(model.encode),
            'split': apply(model.split),
            'act': apply(model.act),
            'combine': apply(model.combine),
            'decode': apply(model.decode),
            'transform': apply(model.__call__),
            'forward': apply(model.forward),
            'swap': apply(model.swap),
            'mask': apply(model.variant_mask),
        }

    @property
    def image_shape(self) -> tuple:
        """``(*spatial, C)`` of the images the run was trained on, e.g. ``(28, 28, 1)``."""
        return tuple(int(d) for d in self.progress['image_shape'])

    @property
    def mask(self) -> np.ndarray:
        """The variant mask ``(c,)``: 1 = variant channel, 0 = invariant."""
        return np.asarray(self._fns['mask']())

    @property
    def mask_logits(self) -> Optional[np.ndarray]:
        """The ALD logits ``alpha`` ``(c,)`` of a learned mask (channel ``k`` is variant iff
        ``sigmoid(alpha[k]) > tau``); ``None`` for a fixed mask (``config.mask.kind`` other
        than ``'learned'``)."""
        alpha = self.params.get('mask', {}).get('alpha')
        return None if alpha is None else np.asarray(alpha)

    @property
    def mask_probabilities(self) -> Optional[np.ndarray]:
        """``sigmoid(alpha)`` ``(c,)`` of a learned mask, ``None`` for a fixed mask."""
        alpha = self.mask_logits
        return None if alpha is None else 1.0 / (1.0 + np.exp(-alpha.astype(np.float64)))

    @property
    def eval_elements(self):
        """The group elements the run is evaluated under (all four for C4), batched."""
        return jax.tree.map(np.asarray, self.group.eval_elements())

    @property
    def element_names(self) -> list:
        """Labels of :attr:`eval_elements` (C4: ``['0°', '90°', '180°', '270°']``)."""
        return self.group.describe(self.eval_elements)

    def _check_images(self, x, what: str = 'x'):
        """Shape and dtype check with a message that says how to fix the input; reads only
        shapes and dtypes, never values, so it works on tracers (jit, grad, vmap)."""
        if not hasattr(x, 'shape'):
            x = np.asarray(x)
        shape = tuple(x.shape)
        expected = self.image_shape
        if shape[1:] != expected:
            hint = ''
            if shape == expected:
                hint = ' This is one image: add the batch axis, x[None].'
            elif shape[1:] == expected[:-1] and expected[-1] == 1:
                hint = ' Add the channel axis: x[..., None].'
            raise ValueError(f'{what} has shape {shape}; this run takes images of shape (B, '
                             f'{", ".join(map(str, expected))}) scaled to [-1, 1].{hint}')
        dtype = x.dtype
        if not jax.numpy.issubdtype(dtype, jax.numpy.floating):
            raise ValueError(f'{what} has dtype {dtype}; pass float images in [-1, 1] (uint8 '
                             'pixels: x / 127.5 - 1).')
        return x

    def _batch_elements(self, g, batch_size: int):
        """One element (``1`` for a quarter turn, a ``(3, 3)`` matrix for SO(3)) applies to
        every image of the batch; a batch of elements passes as it is. Traceable."""
        one = self.group.identity(1)

        def batch(a, like):
            a = jax.numpy.asarray(a)
            if a.ndim == like.ndim - 1:  # a single element
                return jax.numpy.broadcast_to(a.astype(like.dtype), (batch_size,) + a.shape)
            return a

        return jax.tree.map(batch, g, one)

    def encode(self, x):
        """Images ``(B, *spatial, C)`` in [-1, 1] -> latents ``z`` ``(B, *h, c)``."""
        return self._fns['encode'](self._check_images(x))

    def split(self, z):
        """``z -> (z_v, z_i)``, the variant and invariant parts (same shape as ``z``; with
        ``config.model.invariant_code_dim > 0``, ``z_i`` is the global code ``(B, dim)``)."""
        return self._fns['split'](z)

    def combine(self, acted, z_i):
        """The decoder's input ``(B, *h, c)`` from ``Phi_g(z_v)`` and ``z_i``: their sum, or
        with a global code, ``acted + (1 - M) * CodeToGrid(z_i)``."""
        return self._fns['combine'](acted, z_i)

    def act(self, g, z_v):
        """``Phi_g(z_v)`` for ``z_v`` ``(B, *h, c)`` and ``g`` a batch of elements (or one
        element for the whole batch)."""
        return self._fns['act'](self._batch_elements(g, z_v.shape[0]), z_v)

    def decode(self, z):
        """Latents ``(B, *h, c)`` -> images ``(B, *spatial, C)``."""
        return self._fns['decode'](z)

    def transform(self, x, g):
        """``D(combine(Phi_g(z_v(x)), z_i(x)))``: the predicted ``T_g x`` for images ``x``
        ``(B, *spatial, C)`` in [-1, 1]; ``g`` a batch of elements or one for all."""
        x = self._check_images(x)
        return self._fns['transform'](x, self._batch_elements(g, x.shape[0]))

    def forward(self, x, g) -> models.Parts:
        """Every part of the forward path (``z``, ``z_v``, ``z_i``, ``acted``,
        ``invariant_map``, ``prediction``) for images ``x`` and elements ``g`` (or one for
        all): the computation behind the loss, evaluation and figures."""
        x = self._check_images(x)
        return self._fns['forward'](x, self._batch_elements(g, x.shape[0]))

    def swap(self, x_a, x_b, g):
        """``D(combine(Phi_g z_v(x_b), z_i(x_a)))``: A's invariant part with B's variant part
        acted on by ``g`` (the identity for a plain swap); ``x_a``, ``x_b`` ``(B, *spatial,
        C)``."""
        x_a, x_b = self._check_images(x_a, 'x_a'), self._check_images(x_b, 'x_b')
        return self._fns['swap'](x_a, x_b, self._batch_elements(g, x_a.shape[0]))

    def orbit(self, x) -> jax.Array:
        """The predicted orbit of ``x`` ``(B, *spatial, C)``: ``(E, B, *spatial, C)``, one row
        per element of :attr:`eval_elements` (C4: 0°, 90°, 180°, 270° CCW)."""
        x = self._check_images(x)
        elements = self.group.eval_elements()  # not the numpy property: traceable
        return jax.numpy.stack([
            self.transform(x, jax.tree.map(lambda a: a[e], elements))
            for e in range(groups.base.num_elements(elements))])


def kept_steps(workdir: str, which: str = checkpointing.BEST) -> list:
    """The steps kept in ``workdir/checkpoints/<which>/`` (finished saves only), ascending."""
    folder = os.path.join(workdir, 'checkpoints', which)
    return sorted(int(d) for d in os.listdir(folder) if d.isdigit()) \
        if os.path.isdir(folder) else []


def load_run(workdir: str, which: str = checkpointing.BEST, step: Optional[int] = None) -> Run:
    """Restores the run in ``workdir``: ``which`` is ``'best'`` (by validation loss) or
    ``'latest'``; ``step`` picks a specific kept step.

    The parameters land replicated on the current devices, so a run trained on 8 devices
    restores on a laptop's one CPU and vice versa.
    """
    if which not in (checkpointing.BEST, checkpointing.LATEST):
        raise ValueError(f"which={which!r}: pass 'best' (lowest validation loss) or 'latest'")
    config = workdir_lib.read_config(workdir)
    ckpts = checkpointing.RunCheckpoints(workdir, create=False)
    step = ckpts.latest_step(which) if step is None else step
    if step is None:
        raise FileNotFoundError(f'no {which!r} checkpoint in {workdir}/checkpoints: the run '
                                'has not finished its first epoch yet.')
    kept = kept_steps(workdir, which)
    if step not in kept:
        raise FileNotFoundError(f'step {step} is not kept among the {which!r} checkpoints of '
                                f'{workdir}; kept steps: {kept}')
    progress = ckpts.restore_progress(which, step)
    group = groups.group_from_config(config.group)
    image_shape = tuple(progress['image_shape'])
    model = models.build_model(config, group, image_shape[-1], image_shape[:-1])
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
