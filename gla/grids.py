"""Block means of grids, for numpy and JAX arrays alike (only ``.reshape`` and ``.mean``).

Used where data are resized at load (``gla.data.sources.resize_spatial``: 64^3 -> 32^3) and
where the invariant code averages the latent before its orbit layer
(``gla.invariant_code``, ``config.model.invariant_code_block``).
"""

from __future__ import annotations

from typing import Sequence, Union


def block_mean(x, blocks: Union[int, Sequence[int]], lead: int = 1):
    """``x`` ``(*lead, n_1..n_d, C)`` averaged over non-overlapping blocks of ``b_i`` cells
    along spatial axis ``i`` (``blocks``: one int for every axis, or one per axis):
    ``(*lead, n_1 / b_1 .. n_d / b_d, C)``. Each ``b_i`` must divide ``n_i``."""
    spatial = x.shape[lead:-1]
    if isinstance(blocks, int):
        blocks = (blocks,) * len(spatial)
    if any(n % b for n, b in zip(spatial, blocks)):
        raise ValueError(f'blocks {tuple(blocks)} must divide the grid {tuple(spatial)}')
    shape = tuple(x.shape[:lead])
    for n, b in zip(spatial, blocks):
        shape += (n // b, b)
    x = x.reshape(shape + x.shape[-1:])
    return x.mean(axis=tuple(lead + 2 * a + 1 for a in range(len(spatial))))
