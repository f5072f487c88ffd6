"""Data parallelism over a ``('data',)`` mesh of every device of every process.

Parameters are replicated; batches are split along their leading axis. Each process feeds
its own slice of the global batch (``jax.make_array_from_process_local_data``), so the same
code runs on one CPU, several forced CPU devices, a GPU, a TPU slice or several hosts.
"""

from __future__ import annotations

from typing import Any, Iterator

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

DATA_AXIS = 'data'


def make_mesh() -> jax.sharding.Mesh:
    # Auto axes: XLA propagates the batch sharding through the step (classic GSPMD).
    return jax.make_mesh((jax.device_count(),), (DATA_AXIS,),
                         axis_types=(jax.sharding.AxisType.Auto,))


def replicated(mesh: jax.sharding.Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def batch_sharded(mesh: jax.sharding.Mesh) -> NamedSharding:
    return NamedSharding(mesh, P(DATA_AXIS))


def check_divisible(batch_size: int, what: str = 'config.batch_size') -> None:
    n = jax.device_count()
    if batch_size % n:
        raise ValueError(f'{what}={batch_size} does not divide over {n} devices; use a '
                         f'multiple of {n}.')


def shard_batch(mesh: jax.sharding.Mesh, global_batch: Any) -> Any:
    """Global-batch numpy arrays (leading axis ``B``) -> ``jax.Array`` split on ``'data'``.

    Each process contributes its contiguous slice ``[i*B/P, (i+1)*B/P)`` of the global batch.
    """
    sharding = batch_sharded(mesh)
    count, index = jax.process_count(), jax.process_index()

    def put(x):
        x = np.asarray(x)
        local = len(x) // count
        return jax.make_array_from_process_local_data(
            sharding, x[index * local:(index + 1) * local], x.shape)

    return jax.tree.map(put, global_batch)


def shard_steps(mesh: jax.sharding.Mesh, steps: np.ndarray, batch_axis: int = 1) -> jax.Array:
    """``(K, B, ...)`` numpy (K global batches; more leading axes with ``batch_axis``) ->
    ``jax.Array`` split on ``'data'`` along ``B``; each process contributes its slice of
    every batch, as :func:`shard_batch`."""
    sharding = NamedSharding(mesh, P(*(None,) * batch_axis, DATA_AXIS))
    count, index = jax.process_count(), jax.process_index()
    local = steps.shape[batch_axis] // count
    part = np.take(steps, np.arange(index * local, (index + 1) * local), axis=batch_axis)
    return jax.make_array_from_process_local_data(sharding, part, steps.shape)


def padded_batches(num_examples: int, batch_size: int) -> Iterator[tuple]:
    """Yields ``(indices, valid)`` covering ``range(num_examples)`` in batches of exactly
    ``batch_size`` (a multiple of the device count): the last batch repeats index 0 as
    padding, and ``valid`` (bool ``(batch_size,)``) marks the real examples."""
    for start in range(0, num_examples, batch_size):
        idx = np.arange(start, start + batch_size)
        valid = idx < num_examples
        yield np.where(valid, idx, 0), valid


def to_host(x: Any) -> Any:
    """Fetches (gathered across processes) arrays to numpy on every process."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils
        return multihost_utils.process_allgather(x, tiled=True)
    return jax.tree.map(np.asarray, x)
