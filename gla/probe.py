"""Linear probe: multinomial logistic regression on standardised features, in JAX/optax.

Features are standardised with the training mean and standard deviation, then a linear
softmax classifier with an L2 penalty is fitted full-batch with L-BFGS.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax


@functools.partial(jax.jit, static_argnames=('num_classes', 'steps'))
def fit_softmax_regression(features: jax.Array, labels: jax.Array, num_classes: int,
                           steps: int, l2: float):
    """Fits ``W (d, K), b (K,)`` minimising mean cross-entropy + ``l2 * ||W||^2``.

    ``features``: ``(N, d)`` (already standardised); ``labels``: ``(N,)`` ints.
    """
    params = {'w': jnp.zeros((features.shape[1], num_classes)), 'b': jnp.zeros(num_classes)}

    def loss_fn(p):
        logits = features @ p['w'] + p['b']
        ce = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
        return ce + l2 * jnp.sum(jnp.square(p['w']))

    solver = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(loss_fn)

    def step(carry, _):
        p, state = carry
        value, grad = value_and_grad(p, state=state)
        updates, state = solver.update(grad, state, p, value=value, grad=grad,
                                       value_fn=loss_fn)
        return (optax.apply_updates(p, updates), state), value

    (params, _), _ = jax.lax.scan(step, (params, solver.init(params)), None, length=steps)
    return params


def linear_probe_accuracy(train_features: np.ndarray, train_labels: np.ndarray,
                          test_sets: dict, steps: int = 100, l2: float = 1e-4,
                          width: int = 0) -> dict:
    """Trains on ``train_features (N, ...)`` and returns the accuracy on each
    ``test_sets[name] = (features, labels)``. Features are flattened per example.

    ``width`` (0: the features' own): the fit runs on the features padded with zero
    columns to this many, so that probes of several widths share one compiled fit. A zero
    column stays 0 once standardised, its weight gets no gradient but the penalty's and stays
    0: the same classifier, to float rounding."""
    train = np.asarray(train_features, np.float32).reshape(len(train_features), -1)
    if train.shape[1] == 0:
        return {name: None for name in test_sets}
    if width and width < train.shape[1]:
        raise ValueError(f'width={width} is below the {train.shape[1]} features; pass 0 or '
                         'a width of at least the widest probe')
    train = np.pad(train, ((0, 0), (0, max(width - train.shape[1], 0))))
    mean, std = train.mean(0), train.std(0) + 1e-6
    num_classes = int(max(train_labels.max(), *(l.max() for _, l in test_sets.values()))) + 1
    params = fit_softmax_regression(jnp.asarray((train - mean) / std),
                                    jnp.asarray(train_labels), num_classes, steps, l2)
    accuracies = {}
    for name, (features, labels) in test_sets.items():
        x = np.asarray(features, np.float32).reshape(len(features), -1)
        x = (np.pad(x, ((0, 0), (0, train.shape[1] - x.shape[1]))) - mean) / std
        predicted = np.asarray(jnp.argmax(x @ params['w'] + params['b'], axis=-1))
        accuracies[name] = float(np.mean(predicted == np.asarray(labels)))
    return accuracies
