"""Transposed convolution computed as one stride-1 convolution on sub-pixel phases.

A transposed convolution with stride ``s``, kernel ``k`` and padding ``p`` where
``k - 2p == s`` (the published decoder: ``k=4, s=2, p=1``) maps a grid of size ``n`` to
``s*n``. Output position ``o = s*m + a`` (phase ``a`` in ``[0, s)``) only sees the inputs
``x[m + d]`` for a few offsets ``d``, so every phase is an ordinary stride-1 correlation of
the input. We stack all phases as extra output channels of **one** stride-1 convolution,
then interleave them (depth-to-space). The function and the parameters (a ``k^N x Cin x
Cout`` kernel, PyTorch/Flax ``ConvTranspose`` layout, no kernel flip) are the same as
``flax.linen.ConvTranspose(padding=k-1-p)``; only the computation differs.

When ``k == 2s`` (the published decoder) every phase uses exactly 2 taps per axis, and a
cheaper form applies (:func:`window_conv_transpose`): one stride-1 ``2^N`` convolution over
the ``(n + 1)^N`` windows of two neighbouring inputs gives all ``s^N`` phases of a window
with no zero taps, where the general form multiplies ``3^N`` offsets per phase of which
``2^N`` are taps (3.4x the multiply-adds in 3D, 2.25x in 2D).

Why: on CPU, XLA's weight gradient of a strided transposed convolution is several times
slower than a stride-1 convolution of the same size (see ``bench/``).
"""

from __future__ import annotations

import functools
import itertools
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

# lax dimension numbers of channels-last inputs and kernels, by spatial rank.
_CONV_DIMS = {1: ('NWC', 'WIO', 'NWC'), 2: ('NHWC', 'HWIO', 'NHWC'),
              3: ('NDHWC', 'DHWIO', 'NDHWC')}


def xla_valid_conv(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """:func:`valid_conv` by XLA's own convolution, on every rank and backend."""
    ndim = x.ndim - 2
    return jax.lax.conv_general_dilated(x, kernel, (1,) * ndim, 'VALID',
                                        dimension_numbers=_CONV_DIMS[ndim])


def valid_conv(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """Stride-1 ``'VALID'`` correlation ``(B, n_1..n_N, Cin)`` with ``(K,)*N + (Cin, Cout)``
    -> ``(B, n_1-K+1.., Cout)``: the one convolution the space-to-depth and window forms
    compute.

    In 3D on CPU as one matrix product of the ``K^N`` shifted views stacked on the channel
    axis (im2col): XLA:CPU's own 3D convolution with these shapes (``K = 2``, 8-64 channels)
    is 2-3x slower forward + backward (``bench/conv3d.py``). In 1D and 2D XLA's convolution
    is as fast or faster, so it is kept there; on other backends (GPU, TPU) too: the stacked
    views cost memory (a 64^3 step at batch 32: 1.47 GB of temporaries against 0.38 GB) that
    cuDNN does not need.
    """
    ndim = x.ndim - 2
    if ndim != 3 or jax.default_backend() != 'cpu':
        return xla_valid_conv(x, kernel)
    k = kernel.shape[0]
    out = tuple(n - k + 1 for n in x.shape[1:-1])
    views = [x[(slice(None),) + tuple(slice(o, o + m) for o, m in zip(offset, out))]
             for offset in itertools.product(range(k), repeat=ndim)]
    return jnp.einsum('...i,io->...o', jnp.concatenate(views, axis=-1),
                      kernel.reshape(-1, kernel.shape[-1]))


def _phase_taps(kernel_size: int, stride: int, padding: int):
    """Per-axis tap table of the phase decomposition.

    Returns ``(offsets, table)``: ``offsets`` is the range of input offsets ``d`` used by
    any phase, and ``table[a][j]`` is the kernel tap that phase ``a`` applies to offset
    ``offsets[j]`` (or -1 where it applies none).
    """
    if kernel_size - 2 * padding != stride:
        raise ValueError(
            f'sub-pixel transposed conv needs kernel - 2*padding == stride, got kernel='
            f'{kernel_size}, stride={stride}, padding={padding}; use conv_transpose="xla".')
    full_pad = kernel_size - 1 - padding
    taps = {}  # (phase, offset) -> tap
    for a in range(stride):
        for t in range(kernel_size):
            if (a + t - full_pad) % stride == 0:
                taps[(a, (a + t - full_pad) // stride)] = t
    offsets = sorted({d for (_, d) in taps})
    offsets = list(range(offsets[0], offsets[-1] + 1))
    table = [[taps.get((a, d), -1) for d in offsets] for a in range(stride)]
    return offsets, table


def phase_kernel(kernel: jax.Array, stride: int, padding: int) -> jax.Array:
    """Rearranges a ``(k,)*N + (Cin, Cout)`` transposed-conv kernel into the stride-1 kernel
    ``(K,)*N + (Cin, stride**N * Cout)`` whose output channels are ordered
    ``(phase_1, ..., phase_N, Cout)``."""
    ndim = kernel.ndim - 2
    k = kernel.shape[0]
    offsets, table = _phase_taps(k, stride, padding)
    width = len(offsets)
    cin, cout = kernel.shape[-2:]
    # Flattened tap index into kernel for each (phase..., offset...) or a zero slot.
    flat = kernel.reshape((k ** ndim, cin, cout))
    flat = jnp.concatenate([flat, jnp.zeros((1, cin, cout), kernel.dtype)], axis=0)
    zero_slot = k ** ndim
    index = np.full((stride,) * ndim + (width,) * ndim, zero_slot, dtype=np.int32)
    for phases in itertools.product(range(stride), repeat=ndim):
        for offs in itertools.product(range(width), repeat=ndim):
            taps = [table[a][j] for a, j in zip(phases, offs)]
            if min(taps) >= 0:
                index[phases + offs] = int(np.ravel_multi_index(taps, (k,) * ndim))
    gathered = flat[index]  # (s,)*N + (K,)*N + (Cin, Cout)
    perm = tuple(range(ndim, 2 * ndim)) + (2 * ndim,) + tuple(range(ndim)) + (2 * ndim + 1,)
    gathered = jnp.transpose(gathered, perm)  # (K,)*N, Cin, (s,)*N, Cout
    return gathered.reshape((width,) * ndim + (cin, stride ** ndim * cout))


def depth_to_space(y: jax.Array, stride: int, ndim: int) -> jax.Array:
    """``(B, n_1..n_N, s^N * C)`` with channels ``(phase_1..phase_N, C)`` -> ``(B, s*n_1.., C)``."""
    batch, spatial, c = y.shape[0], y.shape[1:1 + ndim], y.shape[-1] // stride ** ndim
    y = y.reshape((batch,) + spatial + (stride,) * ndim + (c,))
    perm = [0]
    for i in range(ndim):
        perm += [1 + i, 1 + ndim + i]
    perm.append(1 + 2 * ndim)
    y = jnp.transpose(y, perm)
    return y.reshape((batch,) + tuple(n * stride for n in spatial) + (c,))


def subpixel_conv_transpose(x: jax.Array, kernel: jax.Array, stride: int,
                            padding: int) -> jax.Array:
    """Transposed convolution of ``x`` ``(B, n_1..n_N, Cin)`` -> ``(B, s*n_1.., Cout)``.

    Equal (to float rounding) to ``lax.conv_transpose(x, kernel, (s,)*N,
    [(k-1-p, k-1-p)]*N)``, i.e. ``flax.linen.ConvTranspose`` with that padding, and to
    PyTorch's ``ConvTranspose{N}d(stride=s, padding=p)`` up to its kernel flip. Computed by
    :func:`window_conv_transpose` when ``k == 2s``, else by one convolution with the
    phase kernel of :func:`phase_kernel`.
    """
    if kernel.shape[0] == 2 * stride:
        return window_conv_transpose(x, kernel, stride, padding)
    ndim = x.ndim - 2
    offsets, _ = _phase_taps(kernel.shape[0], stride, padding)
    pad = [(0, 0)] + [(-offsets[0], offsets[-1])] * ndim + [(0, 0)]
    dims = _CONV_DIMS[ndim]
    y = jax.lax.conv_general_dilated(
        jnp.pad(x, pad), phase_kernel(kernel, stride, padding), (1,) * ndim, 'VALID',
        dimension_numbers=dims)
    return depth_to_space(y, stride, ndim)


def window_conv_transpose(x: jax.Array, kernel: jax.Array, stride: int,
                          padding: int) -> jax.Array:
    """The transposed convolution of :func:`subpixel_conv_transpose` for ``k == 2s`` and
    ``k - 2p == s``, as one stride-1 ``2^N`` convolution: the dual of
    :func:`space_to_depth_conv`, with no zero taps.

    Per axis, in PyTorch's convention (tap ``t'`` of the flipped kernel), output ``o``
    receives ``x[i]`` through ``t' = o + p - s*i``, so exactly the inputs ``w - 1`` and
    ``w`` of window ``w = (o + p) // s`` at phase ``r = (o + p) % s``, by the taps
    ``r + s`` and ``r``. The windows ``w = 0..n`` of the input padded by one zero each side
    give ``s(n + 1)`` outputs, of which ``o = s*w + r - p`` in ``[0, s*n)`` are kept.
    """
    ndim = x.ndim - 2
    k = kernel.shape[0]
    if k != 2 * stride or k - 2 * padding != stride:
        raise ValueError(
            f'window transposed conv needs kernel == 2 * stride and kernel - 2*padding == '
            f'stride, got kernel={k}, stride={stride}, padding={padding}.')
    cin, cout = kernel.shape[-2:]
    torch_taps = jnp.flip(kernel, axis=tuple(range(ndim)))  # t' = k - 1 - t
    # t' = s * u + r with u = 1 - q (q: first or second input of the window) per axis.
    split = torch_taps.reshape(sum(((2, stride) for _ in range(ndim)), ()) + (cin, cout))
    split = jnp.flip(split, axis=tuple(2 * i for i in range(ndim)))  # u -> q
    perm = [2 * i for i in range(ndim)] + [2 * ndim] + [2 * i + 1 for i in range(ndim)] + \
        [2 * ndim + 1]
    folded = jnp.transpose(split, perm).reshape((2,) * ndim + (cin, stride ** ndim * cout))
    y = valid_conv(jnp.pad(x, [(0, 0)] + [(1, 1)] * ndim + [(0, 0)]), folded)
    y = depth_to_space(y, stride, ndim)  # (B, s(n+1).., Cout)
    keep = tuple(slice(padding, padding + stride * n) for n in x.shape[1:-1])
    return y[(slice(None),) + keep + (slice(None),)]


def _kernel_and_bias(module: nn.Module, x: jax.Array) -> tuple:
    """The ``kernel`` ``(*kernel_size, C_in, features)`` and ``bias`` parameters of a
    convolution module, cast to ``x``'s dtype; the kernel and strides must be equal on all
    axes (the only case these forms compute)."""
    if len(set(module.kernel_size)) != 1 or len(set(module.strides)) != 1:
        raise ValueError(f'{type(module).__name__} needs equal kernel sizes and strides on '
                         f'all axes, got {module.kernel_size}, {module.strides}')
    kernel = module.param('kernel', module.kernel_init,
                          tuple(module.kernel_size) + (x.shape[-1], module.features))
    bias = module.param('bias', module.bias_init, (module.features,))
    return kernel.astype(x.dtype), bias.astype(x.dtype)


class SubpixelConvTranspose(nn.Module):
    """Drop-in for ``nn.ConvTranspose(features, (k,)*N, (s,)*N, padding=k-1-p)``.

    Same parameter names and shapes (``kernel``: ``(k,)*N + (Cin, Cout)``, ``bias``:
    ``(Cout,)``), so checkpoints are interchangeable with the XLA path.
    """
    features: int
    kernel_size: Sequence[int]
    strides: Sequence[int]
    padding: int  # PyTorch-style padding p of the transposed conv
    kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
    bias_init: nn.initializers.Initializer = nn.initializers.zeros_init()
    method: str = 'subpixel'  # 'subpixel' | 'hybrid' (see hybrid_conv_transpose)

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        ndim = x.ndim - 2
        kernel, bias = _kernel_and_bias(self, x)
        fn = {'subpixel': subpixel_conv_transpose, 'hybrid': hybrid_conv_transpose}[self.method]
        y = fn(x, kernel, self.strides[0], self.padding)
        return y + bias.astype(x.dtype).reshape((1,) * (ndim + 1) + (-1,))


def space_to_depth(x: jax.Array, block: int) -> jax.Array:
    """``(B, n_1..n_N, C)`` -> ``(B, n_1/s.., s^N * C)``, channels ordered ``(r_1..r_N, C)``
    with ``r_i`` the position inside a block (the inverse of :func:`depth_to_space`)."""
    ndim = x.ndim - 2
    batch, spatial, c = x.shape[0], x.shape[1:1 + ndim], x.shape[-1]
    shape = [batch]
    for n in spatial:
        shape += [n // block, block]
    x = x.reshape(shape + [c])
    perm = [0] + [1 + 2 * i for i in range(ndim)] + [2 + 2 * i for i in range(ndim)] + \
        [1 + 2 * ndim]
    x = jnp.transpose(x, perm)
    return x.reshape((batch,) + tuple(n // block for n in spatial) + (block ** ndim * c,))


def space_to_depth_conv(x: jax.Array, kernel: jax.Array, stride: int,
                        padding: int) -> jax.Array:
    """Strided convolution ``(B, n.., Cin) -> (B, n/s.., Cout)`` as a stride-1 convolution
    of the space-to-depth input: the dual of :func:`subpixel_conv_transpose`.

    Equal (to float rounding) to ``lax.conv_general_dilated(x, kernel, (s,)*N,
    [(p, p)]*N)`` (``flax.linen.Conv`` with that padding) when the kernel size is ``2 * s``
    and ``k - 2p == s``: then output ``o`` reads the input blocks ``o`` and ``o + 1`` of
    the padded input, i.e. a ``2^N`` stride-1 kernel on ``s^N * Cin`` channels that is a
    reshape of the ``k^N`` kernel (same multiply-adds). Why: on CPU, XLA's gradient of a
    strided 3D convolution is many times slower than that of a stride-1 one (``bench/``).
    """
    ndim = x.ndim - 2
    k = kernel.shape[0]
    if k != 2 * stride or k - 2 * padding != stride:
        raise ValueError(
            f'space-to-depth conv needs kernel == 2 * stride and kernel - 2*padding == '
            f'stride, got kernel={k}, stride={stride}, padding={padding}; use '
            "strided_conv='xla'.")
    if any(n % stride for n in x.shape[1:-1]):
        raise ValueError(f'space-to-depth conv needs spatial sizes divisible by the stride '
                         f'{stride}, got {x.shape[1:-1]}')
    cin, cout = kernel.shape[-2:]
    x = jnp.pad(x, [(0, 0)] + [(padding, padding)] * ndim + [(0, 0)])
    x = space_to_depth(x, stride)
    # kernel tap t = stride * q + r  ->  (q_1..q_N, r_1..r_N, Cin, Cout)
    split = kernel.reshape(sum(((2, stride) for _ in range(ndim)), ()) + (cin, cout))
    perm = [2 * i for i in range(ndim)] + [2 * i + 1 for i in range(ndim)] + \
        [2 * ndim, 2 * ndim + 1]
    folded = jnp.transpose(split, perm).reshape((2,) * ndim + (stride ** ndim * cin, cout))
    return valid_conv(x, folded)


class SpaceToDepthConv(nn.Module):
    """Drop-in for ``nn.Conv(features, (k,)*N, (s,)*N, padding=[(p, p)]*N)`` with
    ``k == 2s`` (the published encoder: ``k=4, s=2, p=1``). Same parameter names and shapes
    (``kernel``: ``(k,)*N + (Cin, Cout)``, ``bias``: ``(Cout,)``), so checkpoints are
    interchangeable with ``nn.Conv``."""
    features: int
    kernel_size: Sequence[int]
    strides: Sequence[int]
    padding: int
    kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
    bias_init: nn.initializers.Initializer = nn.initializers.zeros_init()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        ndim = x.ndim - 2
        kernel, bias = _kernel_and_bias(self, x)
        y = space_to_depth_conv(x, kernel, self.strides[0], self.padding)
        return y + bias.reshape((1,) * (ndim + 1) + (-1,))


def xla_conv_transpose(x: jax.Array, kernel: jax.Array, stride: int,
                       padding: int) -> jax.Array:
    """XLA's own transposed convolution (``flax.linen.ConvTranspose``'s computation) of
    ``x`` ``(B, n_1..n_N, Cin)`` with a ``(k,)*N + (Cin, Cout)`` kernel -> ``(B, s*n.., Cout)``."""
    ndim = x.ndim - 2
    full = kernel.shape[0] - 1 - padding
    dims = _CONV_DIMS[ndim]
    return jax.lax.conv_transpose(x, kernel, (stride,) * ndim, [(full, full)] * ndim,
                                  dimension_numbers=dims)


# Below this many output channels XLA's own weight gradient is the faster one on CPU (the
# published decoder's last layer, Cout=1), above it the sub-pixel one (Cout=32) by several
# times: `python -m bench.transposed_conv_parts 256` measures both.
HYBRID_SUBPIXEL_MIN_FEATURES = 8


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def hybrid_conv_transpose(x: jax.Array, kernel: jax.Array, stride: int,
                          padding: int) -> jax.Array:
    """The same transposed convolution, each part computed the way that is fastest on CPU:
    the forward pass and the input gradient by XLA's transposed convolution, the weight
    gradient by the sub-pixel decomposition (by XLA's when ``Cout`` is below
    :data:`HYBRID_SUBPIXEL_MIN_FEATURES`). Equal to :func:`subpixel_conv_transpose` to float
    rounding, gradients included; first derivatives only (a ``custom_vjp``)."""
    return xla_conv_transpose(x, kernel, stride, padding)


def _hybrid_fwd(x, kernel, stride, padding):
    return xla_conv_transpose(x, kernel, stride, padding), (x, kernel)


def _hybrid_bwd(stride, padding, residuals, dy):
    x, kernel = residuals
    _, input_vjp = jax.vjp(lambda x_: xla_conv_transpose(x_, kernel, stride, padding), x)
    weight_fn = (subpixel_conv_transpose if kernel.shape[-1] >= HYBRID_SUBPIXEL_MIN_FEATURES
                 else xla_conv_transpose)
    _, kernel_vjp = jax.vjp(lambda k_: weight_fn(x, k_, stride, padding), kernel)
    return input_vjp(dy)[0], kernel_vjp(dy)[0]


hybrid_conv_transpose.defvjp(_hybrid_fwd, _hybrid_bwd)
