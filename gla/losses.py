"""The joint objective of the paper, with stop-gradient targets from a second encoder pass.

    L_recon = mse(D(z_i(x) + Phi_g(z_v(x))), T_g x)
    L_inv   = mse(z_i(x),          sg(z_i(T_g x)))
    L_const = mse(Phi_g(z_v(x)),   sg(z_v(T_g x)))
    L       = L_recon + lambda_inv * L_inv + lambda_const * L_const

Each mean runs over every element of its tensor (the paper's convention; it shifts the
terms' weight with the share of channels in each part; kept, and documented in
docs/results.md).

Optional (``config.loss.lambda_var``, ``lambda_cov``; 0 in the paper's mode): the variance
and covariance terms of VICReg (Bardes et al., 2022) on the batch of invariant parts
``z_i(x)``, flattened to ``(B, d)``:

    L_var = mean_j relu(1 - sqrt(Var_batch z_i[:, j] + eps))
    L_cov = sum_{j != k} Cov_batch(z_i)[j, k]^2 / d

``L_inv`` alone is minimised by a constant ``z_i``; ``L_var`` keeps every feature spread over
the batch and ``L_cov`` decorrelates the features, so the invariant part must tell images
apart while it stays invariant. They are batch terms: the validation loss leaves them out.

Optional (``config.loss.lambda_ssim``; 0 in the paper's mode): one minus the structural
similarity of the prediction and its target (:func:`gla.metrics.ssim`, the evaluation's own
SSIM, 2D or 3D),

    L_ssim = 1 - ssim(D(z_i(x) + Phi_g(z_v(x))), T_g x)

It weights local contrast and structure (the edges of a thin shape) that the mean squared
error of a mostly empty volume barely sees. A training term: the validation loss leaves it
out too.

Optional (``config.loss.lambda_pose``; planes whose views are in heading order,
``config.data.planes.canonical_views``, and ``code_decoder='yaw_volume'``): the pose the
decoder turns its volume by, read off the first pair of ``z_v``, against the input view's
heading (a label: the renderer's or the file's yaw),

    L_pose = 1 - cos(theta(z_v(x)) - heading(x))

which breaks the symmetry that leaves ``L_const`` and the drawing content with one pose per
object (docs/results.md, issue 17). A training term as well.
"""

from __future__ import annotations

from typing import Any, Optional

import jax
import jax.numpy as jnp

from gla import metrics
from gla import models


def mse(a: jax.Array, b: jax.Array) -> jax.Array:
    """Mean squared error per example: ``(B, ...) -> (B,)``."""
    return jnp.mean(jnp.square(a - b), axis=tuple(range(1, a.ndim)))


def _pair_terms_and_z_i(model: models.GroupLatentAutoencoder, params: Any, x: jax.Array,
                        target: jax.Array, g, inv_target: Optional[jax.Array] = None,
                        structure: bool = False,
                        heading: Optional[jax.Array] = None) -> tuple:
    parts = models.forward(model, params, x, g)
    _, target_v, target_i = models.split_latent(model, params, target)
    if inv_target is not None:  # L_inv's target from another view of T_g x
        target_i = models.split_latent(model, params, inv_target)[2]
    target_v, target_i = jax.lax.stop_gradient((target_v, target_i))
    terms = {'recon': mse(parts.prediction, target), 'inv': mse(parts.z_i, target_i),
             'const': mse(parts.acted, target_v)}
    if structure:
        terms['ssim'] = 1.0 - metrics.ssim(parts.prediction, target)
    if heading is not None:
        terms['pose'] = pose_error(parts.z_v, heading)
    return terms, parts.z_i


def pose_error(z_v: jax.Array, heading: jax.Array) -> jax.Array:
    """``L_pose = 1 - cos(theta - heading)`` ``(B,)``: 0 when the pose ``theta``, the angle of
    the first pair of ``z_v`` ``(B, n)`` (``gla.yaw_renderer.pose_angle``), is the view's
    heading ``(B,)`` in radians; 2 when it is half a turn off. Scale-free in ``z_v``; written
    as a normalised dot product rather than through ``atan2``, whose gradient at 0 is NaN."""
    u = z_v[:, :2]
    length = jnp.sqrt(jnp.sum(jnp.square(u), axis=-1) + 1e-12)
    return 1.0 - (u[:, 0] * jnp.cos(heading) + u[:, 1] * jnp.sin(heading)) / length


def pair_loss_terms(model: models.GroupLatentAutoencoder, params: Any, x: jax.Array,
                    target: jax.Array, g) -> dict:
    """Per-example loss terms ``{'recon', 'inv', 'const'}`` (each ``(B,)``) for a batch of
    pairs ``(x, g, T_g x)``, ``x`` and ``target`` of shape ``(B, *spatial, C)``.

    The targets of ``inv`` and ``const`` come from a second encoder pass on ``T_g x`` under
    ``stop_gradient``: no gradient reaches the encoder through them.
    """
    return _pair_terms_and_z_i(model, params, x, target, g)[0]


def variance_covariance(features: jax.Array, eps: float = 1e-4) -> tuple:
    """``(L_var, L_cov)`` of the module docstring for a batch ``(B, ...)`` (flattened to
    ``(B, d)``); both scalars, 0 for features with unit variance and no correlation."""
    f = features.reshape(features.shape[0], -1)
    f = f - jnp.mean(f, axis=0)
    dof = max(f.shape[0] - 1, 1)  # sample (co)variances
    var = jnp.sum(jnp.square(f), axis=0) / dof
    l_var = jnp.mean(jax.nn.relu(1.0 - jnp.sqrt(var + eps)))
    cov = f.T @ f / dof
    l_cov = (jnp.sum(jnp.square(cov)) - jnp.sum(jnp.square(var))) / f.shape[1]
    return l_var, l_cov


def total_loss(terms: dict, lambda_inv: float, lambda_const: float) -> jax.Array:
    """``recon + lambda_inv * inv + lambda_const * const`` (elementwise on the terms)."""
    return terms['recon'] + lambda_inv * terms['inv'] + lambda_const * terms['const']


def pair_losses(model: models.GroupLatentAutoencoder, params: Any, x: jax.Array,
                target: jax.Array, g, lambda_inv: float, lambda_const: float,
                lambda_var: float = 0.0, lambda_cov: float = 0.0,
                inv_target: Optional[jax.Array] = None, lambda_ssim: float = 0.0,
                heading: Optional[jax.Array] = None, lambda_pose: float = 0.0):
    """Batch-mean objective: ``(total, {'loss', 'recon', 'inv', 'const'})``, plus ``'var'``
    and ``'cov'`` when ``lambda_var`` or ``lambda_cov`` is not 0, and ``'ssim'`` (``L_ssim``)
    when ``lambda_ssim`` is not 0, and ``'pose'`` (``L_pose``, :func:`pose_error`) when
    ``lambda_pose`` is not 0, against ``heading`` ``(B,)``, the inputs' headings in radians.
    ``inv_target`` (shape of
    ``target``): the image whose ``z_i`` is ``L_inv``'s target instead of ``T_g x``'s, e.g.
    ``T_g x`` slightly shifted (:func:`gla.pairs.random_shift`)."""
    per_example, z_i = _pair_terms_and_z_i(model, params, x, target, g, inv_target,
                                           structure=bool(lambda_ssim),
                                           heading=heading if lambda_pose else None)
    terms = {k: jnp.mean(v) for k, v in per_example.items()}
    terms['loss'] = total_loss(terms, lambda_inv, lambda_const)
    if lambda_ssim:
        terms['loss'] = terms['loss'] + lambda_ssim * terms['ssim']
    if lambda_pose:
        terms['loss'] = terms['loss'] + lambda_pose * terms['pose']
    if lambda_var or lambda_cov:
        terms['var'], terms['cov'] = variance_covariance(z_i)
        terms['loss'] = terms['loss'] + lambda_var * terms['var'] + lambda_cov * terms['cov']
    return terms['loss'], terms
