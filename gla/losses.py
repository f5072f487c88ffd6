"""The joint objective of DESIGN.md, with stop-gradient targets from a second encoder pass.

    L_recon = mse(D(z_i(x) + Phi_g(z_v(x))), T_g x)
    L_inv   = mse(z_i(x),          sg(z_i(T_g x)))
    L_const = mse(Phi_g(z_v(x)),   sg(z_v(T_g x)))
    L       = L_recon + lambda_inv * L_inv + lambda_const * L_const

Each mean runs over every element of its tensor (the paper's convention; it shifts the
terms' weight with the share of channels in each part, which DESIGN.md asks us to keep and
document).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from gla import models


def mse(a: jax.Array, b: jax.Array) -> jax.Array:
    """Mean squared error per example: ``(B, ...) -> (B,)``."""
    return jnp.mean(jnp.square(a - b), axis=tuple(range(1, a.ndim)))


def pair_loss_terms(model: models.GroupLatentAutoencoder, params: Any, x: jax.Array,
                    target: jax.Array, g) -> dict:
    """Per-example loss terms ``{'recon', 'inv', 'const'}`` (each ``(B,)``) for a batch of
    pairs ``(x, g, T_g x)``, ``x`` and ``target`` of shape ``(B, *spatial, C)``.

    The targets of ``inv`` and ``const`` come from a second encoder pass on ``T_g x`` under
    ``stop_gradient``: no gradient reaches the encoder through them.
    """
    variables = {'params': params}
    z_v, z_i = model.apply(variables, model.apply(variables, x, method=model.encode),
                           method=model.split)
    acted = model.apply(variables, g, z_v, method=model.act)
    prediction = model.apply(variables, z_i + acted, method=model.decode)

    target_v, target_i = model.apply(
        variables, model.apply(variables, target, method=model.encode), method=model.split)
    target_v, target_i = jax.lax.stop_gradient((target_v, target_i))
    return {'recon': mse(prediction, target), 'inv': mse(z_i, target_i),
            'const': mse(acted, target_v)}


def total_loss(terms: dict, lambda_inv: float, lambda_const: float) -> jax.Array:
    """``recon + lambda_inv * inv + lambda_const * const`` (elementwise on the terms)."""
    return terms['recon'] + lambda_inv * terms['inv'] + lambda_const * terms['const']


def pair_losses(model: models.GroupLatentAutoencoder, params: Any, x: jax.Array,
                target: jax.Array, g, lambda_inv: float, lambda_const: float):
    """Batch-mean objective: ``(total, {'loss', 'recon', 'inv', 'const'})``."""
    terms = {k: jnp.mean(v) for k, v in pair_loss_terms(model, params, x, target, g).items()}
    terms['loss'] = total_loss(terms, lambda_inv, lambda_const)
    return terms['loss'], terms
