"""Figures (PNG, matplotlib's Agg backend): orbits, transform and swap grids, training curves.

Every image figure is built on one primitive, :func:`image_rows`: labelled rows of panels
under titled columns. 2D images are drawn as they are; a row of 3D volumes ``(D, H, W[, C])``
becomes three rows, their orthogonal mid-slices (``d``: the ``(h, w)`` plane at ``D // 2``,
``h``: the ``(d, w)`` plane, ``w``: the ``(d, h)`` plane). Images in [-1, 1] are grey
(``C == 1``) or RGB (``C == 3``); latent norms (no channel axis) use 'viridis' on a per-row
scale from 0 to the row's maximum.
"""

from __future__ import annotations

import json
import os
import textwrap

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import numpy as np  # noqa: E402

ROW_TITLES = {
    'input': 'input x',
    'target': 'target T_g x',
    'prediction': 'prediction',
    'z': '|z(x)|',
    'z_v': '|Phi_g z_v|',
    'z_i': '|z_i(x)|',
}
SLICE_NAMES = ('d', 'h', 'w')
MAX_VOLUME_ELEMENTS = 4  # transform grids of volumes show this many elements at most
TITLE_WIDTH = 14  # column titles wrap onto lines of this many characters

SWAP_ROWS = {
    'x_a': 'A (z_i from)',
    'x_b': 'B (z_v from)',
    'swapped': 'D(z_i(A)+Phi_g z_v(B))',
    'reference': 'ideal: A block, T_g B digit',
}


def mid_slices(volume: np.ndarray) -> list:
    """The three orthogonal mid-slices of ``(D, H, W[, C])``: ``[(h, w), (d, w), (d, h)]``."""
    volume = np.asarray(volume)
    return [np.take(volume, volume.shape[a] // 2, axis=a) for a in range(3)]


def mid_slice(a: np.ndarray, spatial_ndim: int) -> np.ndarray:
    """``(*spatial, ...)`` -> the middle 2D slice ``(H, W, ...)``: index ``n // 2`` of each
    spatial axis before the last two (a 3D volume ``(D, H, W, C)`` -> ``(H, W, C)`` at
    depth ``D // 2``). The report's figures use it so they draw 2D and 3D runs alike."""
    a = np.asarray(a)
    for _ in range(spatial_ndim - 2):
        a = a[a.shape[0] // 2]
    return a


def is_volume_grid(arrays: dict) -> bool:
    """Whether ``{row: (n_elements, n_images, *spatial, C)}`` holds 3D volumes."""
    return np.ndim(arrays['input']) == 6


def spread(num: int, most: int) -> np.ndarray:
    """At most ``most`` indices of ``range(num)``, evenly spread, always including 0 (which
    group elements a figure shows: 12 of the cube group's 24 rotations, say)."""
    if num <= most:
        return np.arange(num)
    return np.unique(np.round(np.linspace(0, num, most, endpoint=False)).astype(int))


def _panel_rows(rows: list, spatial_ndim: int) -> list:
    """The rows of :func:`image_rows` -> drawn rows ``[(label, [2D panel, ...], vmax)]``;
    ``vmax`` is None for images, the row's maximum for latent norms. A volume row becomes
    its three mid-slice rows (sharing the row's scale)."""
    drawn = []
    for label, images in rows:
        images = np.asarray(images)
        latent = images.ndim == spatial_ndim + 1  # no channel axis
        vmax = (float(np.max(images)) or 1.0) if latent else None
        if spatial_ndim == 3:
            slices = [mid_slices(volume) for volume in images]
            for s, name in enumerate(SLICE_NAMES):
                head = f'{label}\n' if s == 0 else ''
                drawn.append((f'{head}{name} mid', [v[s] for v in slices], vmax))
        else:
            drawn.append((label, list(images), vmax))
    return drawn


def _draw(ax, panel: np.ndarray, vmax) -> None:
    """One panel without ticks: a latent norm ``(h, w)`` on ``[0, vmax]`` ('viridis'), or an
    image ``(H, W, C)`` in [-1, 1]: RGB for ``C == 3``, else channel 0 in grey."""
    if vmax is not None:
        ax.imshow(panel, cmap='viridis', vmin=0.0, vmax=vmax)
    elif panel.shape[-1] == 3:
        ax.imshow(np.clip((panel + 1) / 2, 0, 1))
    else:
        ax.imshow(panel[..., 0], cmap='gray', vmin=-1.0, vmax=1.0)
    ax.set_xticks([])
    ax.set_yticks([])


def _figure(rows: list, column_titles: list, spatial_ndim: int, title: str = ''):
    """The laid-out (not saved) Figure of :func:`image_rows`."""
    drawn = _panel_rows(rows, spatial_ndim)
    titles = ['\n'.join(textwrap.wrap(t, TITLE_WIDTH)) for t in column_titles]
    for label, panels, _ in drawn:
        if len(panels) != len(titles):
            raise ValueError(f'row {label!r} has {len(panels)} images for '
                             f'{len(titles)} columns')
    title_lines = max([t.count('\n') + 1 for t in titles] + [1])
    ncols, nrows = len(titles), len(drawn)
    fig, axes = plt.subplots(nrows, ncols, squeeze=False, figsize=(
        0.9 + 1.0 * ncols, 0.2 + 1.0 * nrows + 0.12 * title_lines + (0.3 if title else 0)))
    for r, (label, panels, vmax) in enumerate(drawn):
        for ax, panel in zip(axes[r], panels):
            _draw(ax, np.asarray(panel), vmax)
        axes[r, 0].set_ylabel(label, fontsize=7)
    for ax, column_title in zip(axes[0], titles):
        ax.set_title(column_title, fontsize=7)
    if title:
        fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    return fig


def _save(fig, path: str):
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return fig


def image_rows(path: str, rows: list, column_titles: list, spatial_ndim: int,
               title: str = ''):
    """Draw labelled rows of panels under titled columns and save them to ``path``.

    ``rows``: ``[(row_label, images), ...]`` with ``images`` ``(n_columns, *spatial, C)``
    (in [-1, 1]; ``C == 1`` grey, ``C == 3`` RGB) or latent norms ``(n_columns, *spatial)``
    (per-row scale ``[0, max]``); ``spatial`` has ``spatial_ndim`` axes (2 or 3; a row of
    volumes is drawn as three rows of mid-slices). ``column_titles``: ``n_columns`` strings,
    wrapped at 14 characters. Returns the (closed) matplotlib Figure."""
    return _save(_figure(rows, column_titles, spatial_ndim, title), path)


def orbit_figure(path: str, targets: np.ndarray, predictions: np.ndarray,
                 element_names: list, spatial_ndim: int = 2, title: str = ''):
    """The orbit of a few images under the group: for each image ``n`` two rows, the true
    ``T_g x_n`` and the prediction ``D(z_i + Phi_g z_v)``, one column per element ``g``.
    ``targets``, ``predictions``: ``(n_elements, n_images, *spatial, C)``; volumes
    (``spatial_ndim == 3``) as mid-slices. Returns the (closed) Figure."""
    rows = []
    for n in range(np.shape(targets)[1]):
        rows += [(f'#{n} true T_g x', targets[:, n]), (f'#{n} predicted', predictions[:, n])]
    return image_rows(path, rows, [f'g = {name}' for name in element_names], spatial_ndim,
                      title)


def transform_grid(path: str, arrays: dict, element_names: list):
    """One column per (test image, group element), one row per entry of ``arrays``: input /
    target / prediction / |z| / |Phi_g z_v| / |z_i|. ``arrays``: ``{row: (n_elements,
    n_images, *spatial, C)}`` for 'input', 'target', 'prediction' and ``(n_elements,
    n_images, *latent_spatial)`` for the latent norms 'z', 'z_v', 'z_i'. Volumes (``input``
    of ndim 6) show at most 4 elements spread over all, as mid-slices, without |z|.
    Returns the (closed) Figure."""
    volume = is_volume_grid(arrays)
    names = [r for r in ROW_TITLES if r in arrays and not (volume and r == 'z')]
    num_elements, num_images = np.shape(arrays['input'])[:2]
    shown = spread(num_elements, MAX_VOLUME_ELEMENTS) if volume else range(num_elements)
    columns = [(n, e) for n in range(num_images) for e in shown]
    rows = [(ROW_TITLES[r], [arrays[r][e, n] for n, e in columns]) for r in names]
    return image_rows(path, rows, [f'#{n} g={element_names[e]}' for n, e in columns],
                      np.ndim(arrays['input']) - 3)


def swap_test_grid(path: str, arrays: dict, element_names: list):
    """The swap test (``gla/swap.py``): one column per (element, pair), rows A / B / swapped
    decoding / the ideal result; ``arrays``: ``{row: (n_elements, n_pairs, H, W, C)}`` for
    rows 'x_a', 'x_b', 'swapped', 'reference'. Returns the (closed) Figure."""
    names = [r for r in SWAP_ROWS if r in arrays]
    num_elements, num_pairs = np.shape(arrays[names[0]])[:2]
    columns = [(e, n) for e in range(num_elements) for n in range(num_pairs)]
    rows = [(SWAP_ROWS[r], [arrays[r][e, n] for e, n in columns]) for r in names]
    return image_rows(path, rows, [f'pair {n} g={element_names[e]}' for e, n in columns],
                      np.ndim(arrays[names[0]]) - 3)


def swap_grid(path: str, images_a: np.ndarray, images_b: np.ndarray, swapped: np.ndarray,
              spatial_ndim: int = 2):
    """``swapped[i, j] = D(z_i(A_i) + Phi_g z_v(B_j))``: row ``i`` keeps the invariant part
    of image ``A_i`` (left column), column ``j`` takes the variant part of image ``B_j`` (top
    row). ``images_a``: ``(n, *spatial, C)``, ``images_b``: ``(m, *spatial, C)``,
    ``swapped``: ``(n, m, *spatial, C)``; volumes as their middle slice (:func:`mid_slice`).
    Returns the (closed) Figure."""
    def middle(images):
        return [mid_slice(a, spatial_ndim) for a in images]

    a, b = middle(images_a), middle(images_b)
    rows = [('', [np.zeros_like(a[0])] + b)]  # the top-left cell is a legend, not an image
    rows += [(f'A{i}', [a[i]] + middle(swapped[i])) for i in range(len(a))]
    fig = _figure(rows, [''] + [f'B{j}' for j in range(len(b))], 2)
    corner = fig.axes[0]
    corner.clear()
    corner.axis('off')
    corner.text(0.5, 0.5, 'z_i from A (rows)\nz_v from B (cols)', ha='center', va='center',
                fontsize=6, transform=corner.transAxes)
    return _save(fig, path)


def read_metrics(path: str) -> list:
    """The rows of a ``metrics.jsonl`` (one JSON object a line); ``[]`` if it is missing."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def loss_curves(path: str, rows: list) -> None:
    """Training and validation loss terms (log scale) and the variant share over steps."""
    fig, (ax_loss, ax_share) = plt.subplots(1, 2, figsize=(11, 3.8))
    for split, style in (('train', '-'), ('val', '--')):
        split_rows = [r for r in rows if r.get('split') == split]
        if not split_rows:
            continue
        steps = [r['step'] for r in split_rows]
        for term in ('loss', 'recon', 'inv', 'const'):
            values = [max(r[term], 1e-12) for r in split_rows]
            ax_loss.plot(steps, values, style, label=f'{split} {term}')
    ax_loss.set_yscale('log')
    ax_loss.set_xlabel('step')
    ax_loss.set_title('loss terms')
    ax_loss.legend(fontsize=7, ncol=2)
    train_rows = [r for r in rows if r.get('split') == 'train' and 'variant_share' in r]
    ax_share.plot([r['step'] for r in train_rows], [r['variant_share'] for r in train_rows])
    ax_share.set_ylim(-0.02, 1.02)
    ax_share.set_xlabel('step')
    ax_share.set_title('share of variant channels')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def mask_figure(path: str, mask: np.ndarray, logits=None, tau: float = 0.5) -> None:
    """The ALD mask: one bar per latent channel, its logit ``alpha`` (or, for a fixed mask,
    its 0/1 value), variant channels in orange, invariant in blue; the dashed line is the
    threshold ``logit(tau)`` (``sigmoid(alpha) > tau`` <=> ``alpha > logit(tau)``)."""
    mask = np.asarray(mask) > 0.5
    values = np.asarray(logits if logits is not None else mask.astype(float))
    channels = np.arange(len(mask))
    fig, ax = plt.subplots(figsize=(min(2 + 0.16 * len(mask), 14), 3.2))
    ax.bar(channels, values, color=np.where(mask, '#e6812f', '#3b75af'), width=0.8)
    if logits is not None:
        ax.axhline(float(np.log(tau / (1 - tau))), color='k', ls='--', lw=0.8)
        ax.set_ylabel('logit alpha')
    else:
        ax.set_ylabel('mask (fixed)')
    ax.set_xlabel('latent channel')
    ax.set_xlim(-0.7, len(mask) - 0.3)
    ax.set_title(f'variant channels (orange): {int(mask.sum())} of {len(mask)}', fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
