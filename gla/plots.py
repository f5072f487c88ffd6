"""Figures (PNG, matplotlib's Agg backend): transform grids and training curves.

2D images are drawn as they are; 3D volumes ``(D, H, W[, C])`` as their three orthogonal
mid-slices (``d``: the ``(h, w)`` plane at ``D // 2``, ``h``: the ``(d, w)`` plane, ``w``:
the ``(d, h)`` plane).
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


def _as_image(a: np.ndarray) -> np.ndarray:
    """``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)``; images in [-1, 1] -> [0, 1] for display."""
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    return a


def mid_slices(volume: np.ndarray) -> list:
    """The three orthogonal mid-slices of ``(D, H, W[, C])``: ``[(h, w), (d, w), (d, h)]``."""
    volume = np.asarray(volume)
    return [np.take(volume, volume.shape[a] // 2, axis=a) for a in range(3)]


SLICE_NAMES = ('d', 'h', 'w')


def is_volume_grid(arrays: dict) -> bool:
    """Whether ``{row: (n_elements, n_images, *spatial, C)}`` holds 3D volumes."""
    return np.ndim(arrays['input']) == 6


def transform_grid(path: str, arrays: dict, element_names: list) -> None:
    """One column per (test image, group element), one row per entry of ``arrays``
    (``{row: (n_elements, n_images, H, W[, C])}``): input / target / prediction / |z| /
    |Phi_g z_v| / |z_i|. Latent norms are shown on a per-row common scale. Volumes
    (``(n_elements, n_images, D, H, W, C)``) go to :func:`transform_grid_3d`."""
    if is_volume_grid(arrays):
        transform_grid_3d(path, arrays, element_names)
        return
    rows = [r for r in ROW_TITLES if r in arrays]
    num_elements, num_images = arrays[rows[0]].shape[:2]
    cols = num_elements * num_images
    fig, axes = plt.subplots(len(rows), cols, figsize=(1.1 * cols, 1.2 * len(rows)),
                             squeeze=False)
    for r, row in enumerate(rows):
        data = arrays[row]
        is_image = row in ('input', 'target', 'prediction')
        vmin, vmax = (-1.0, 1.0) if is_image else (0.0, float(np.max(data)) or 1.0)
        for n in range(num_images):
            for e in range(num_elements):
                ax = axes[r, n * num_elements + e]
                img = _as_image(np.asarray(data[e, n]))
                if img.ndim == 3:
                    ax.imshow((img + 1) / 2 if is_image else img / vmax)
                else:
                    ax.imshow(img, cmap='gray' if is_image else 'viridis', vmin=vmin,
                              vmax=vmax)
                ax.set_xticks([])
                ax.set_yticks([])
                if r == 0:
                    ax.set_title(f'#{n} g={element_names[e]}', fontsize=7)
                if n == 0 and e == 0:
                    ax.set_ylabel(ROW_TITLES[row], fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _show_slice(ax, img: np.ndarray, is_image: bool, vmax: float) -> None:
    img = _as_image(img)
    if is_image:
        ax.imshow(img, cmap='gray', vmin=-1.0, vmax=1.0)
    else:
        ax.imshow(img, cmap='viridis', vmin=0.0, vmax=vmax)
    ax.set_xticks([])
    ax.set_yticks([])


def _spread(count: int, keep: int) -> list:
    """``keep`` indices spread evenly over ``range(count)`` (all of them if fewer)."""
    return sorted({int(round(i)) for i in np.linspace(0, count - 1, min(keep, count))})


VOLUME_COLUMNS = ('input', 'target', 'prediction', 'z_v', 'z_i')


def transform_grid_3d(path: str, arrays: dict, element_names: list,
                      max_elements: int = 4) -> None:
    """Volumes: one row per (test volume, group element) for up to ``max_elements``
    elements spread over the evaluation elements; columns are the three mid-slices of
    input / target / prediction / |Phi_g z_v| / |z_i| (``arrays`` as for
    :func:`transform_grid`, latent norms ``(n_elements, n_images, d, h, w)``)."""
    columns = [c for c in VOLUME_COLUMNS if c in arrays]
    num_elements, num_images = arrays['input'].shape[:2]
    shown = _spread(num_elements, max_elements)
    vmax = {c: float(np.max(arrays[c])) or 1.0 for c in columns}
    nrows, ncols = num_images * len(shown), 3 * len(columns)
    fig, axes = plt.subplots(nrows, ncols, figsize=(0.95 * ncols, 1.05 * nrows + 0.3),
                             squeeze=False)
    for n in range(num_images):
        for j, e in enumerate(shown):
            r = n * len(shown) + j
            for c, name in enumerate(columns):
                for s, img in enumerate(mid_slices(arrays[name][e, n])):
                    ax = axes[r, 3 * c + s]
                    _show_slice(ax, img, name in ('input', 'target', 'prediction'),
                                vmax[name])
                    if r == 0:
                        ax.set_title(f'{ROW_TITLES[name]}\n{SLICE_NAMES[s]} mid', fontsize=6)
            label = element_names[e].replace(' about ', '\nabout ')  # two short lines
            axes[r, 0].set_ylabel(f'#{n} {label}', fontsize=5)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def orbit_3d(path: str, arrays: dict, element_names: list, image: int = 0,
             max_elements: int = 8) -> None:
    """The orbit of one test volume: for up to ``max_elements`` group elements (columns),
    the mid-slices of the true ``T_g x`` and of the prediction ``D(z_i + Phi_g z_v)``."""
    num_elements = arrays['input'].shape[0]
    shown = _spread(num_elements, max_elements)
    fig, axes = plt.subplots(6, len(shown), figsize=(1.15 * len(shown), 6.6), squeeze=False)
    for j, e in enumerate(shown):
        for k, name in enumerate(('target', 'prediction')):
            for s, img in enumerate(mid_slices(arrays[name][e, image])):
                ax = axes[3 * k + s, j]
                _show_slice(ax, img, True, 1.0)
                if j == 0:
                    ax.set_ylabel(f'{ROW_TITLES[name]}\n{SLICE_NAMES[s]} mid', fontsize=7)
        axes[0, j].set_title(element_names[e].replace(' about ', '\nabout '), fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def read_metrics(path: str) -> list:
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


def mid_slice(a: np.ndarray, spatial_ndim: int) -> np.ndarray:
    """``(*spatial, ...)`` -> the middle 2D slice ``(H, W, ...)``: index ``n // 2`` of each
    spatial axis before the last two (a 3D volume ``(D, H, W, C)`` -> ``(H, W, C)`` at
    depth ``D // 2``). The report's figures use it so they draw 2D and 3D runs alike."""
    a = np.asarray(a)
    for _ in range(spatial_ndim - 2):
        a = a[a.shape[0] // 2]
    return a


def _display(a: np.ndarray, spatial_ndim: int) -> np.ndarray:
    """An image ``(*spatial, C)`` -> what ``imshow`` takes: its middle 2D slice, ``(H, W)``
    for one channel (or any count but three: channel 0), ``(H, W, 3)`` for RGB."""
    a = mid_slice(a, spatial_ndim)
    return a if a.shape[-1] == 3 else a[..., 0]


def _show(ax, img: np.ndarray) -> None:
    """An image in [-1, 1] (from :func:`_display`), grey or RGB, without ticks."""
    if img.ndim == 3:
        ax.imshow(np.clip((img + 1) / 2, 0, 1))
    else:
        ax.imshow(img, cmap='gray', vmin=-1.0, vmax=1.0)
    ax.set_xticks([])
    ax.set_yticks([])


def orbit_figure(path: str, targets: np.ndarray, predictions: np.ndarray,
                 element_names: list, spatial_ndim: int = 2) -> None:
    """The orbit of a few images under the group: for each image ``n`` two rows, the true
    ``T_g x_n`` and the prediction ``D(z_i + Phi_g z_v)``, one column per element ``g``.
    ``targets``, ``predictions``: ``(n_elements, n_images, *spatial, C)``."""
    num_elements, num_images = targets.shape[:2]
    fig, axes = plt.subplots(2 * num_images, num_elements,
                             figsize=(1.2 * num_elements + 0.9, 1.2 * 2 * num_images),
                             squeeze=False)
    for n in range(num_images):
        for k, (rows, label) in enumerate(((targets, 'true'), (predictions, 'predicted'))):
            for e in range(num_elements):
                ax = axes[2 * n + k, e]
                _show(ax, _display(rows[e, n], spatial_ndim))
                if n == 0 and k == 0:  # long names (3D axes) wrap onto lines
                    ax.set_title('\n'.join(textwrap.wrap(f'g = {element_names[e]}', 14)),
                                 fontsize=7)
                if e == 0:
                    ax.set_ylabel(f'#{n} {label}', fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def image_rows(path: str, rows: list, column_names: list, title: str = '') -> None:
    """Rows of images ``[(row title, (n, H, W[, C])), ...]``, one column per name (orbits)."""
    cols = len(column_names)
    fig, axes = plt.subplots(len(rows), cols, figsize=(0.9 * cols, 1.0 * len(rows) + 0.4),
                             squeeze=False)
    for r, (name, images) in enumerate(rows):
        for c in range(cols):
            _show(axes[r, c], _display(images[c], 2))
            if r == 0:
                axes[r, c].set_title(column_names[c], fontsize=6)
        axes[r, 0].set_ylabel(name, fontsize=6)
    if title:
        fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def swap_grid(path: str, images_a: np.ndarray, images_b: np.ndarray, swapped: np.ndarray,
              spatial_ndim: int = 2) -> None:
    """``swapped[i, j] = D(z_i(A_i) + z_v(B_j))``: row ``i`` keeps the invariant part of image
    ``A_i`` (left column), column ``j`` takes the variant part of image ``B_j`` (top row).
    ``images_a``: ``(n, *spatial, C)``, ``images_b``: ``(m, *spatial, C)``, ``swapped``:
    ``(n, m, *spatial, C)``."""
    n, m = len(images_a), len(images_b)
    fig, axes = plt.subplots(n + 1, m + 1, figsize=(1.2 * (m + 1), 1.2 * (n + 1)),
                             squeeze=False)
    axes[0, 0].axis('off')
    axes[0, 0].text(0.5, 0.5, 'z_i from A (rows)\nz_v from B (cols)', ha='center',
                    va='center', fontsize=6, transform=axes[0, 0].transAxes)
    for j in range(m):
        _show(axes[0, j + 1], _display(images_b[j], spatial_ndim))
        axes[0, j + 1].set_title(f'B{j}', fontsize=8)
    for i in range(n):
        _show(axes[i + 1, 0], _display(images_a[i], spatial_ndim))
        axes[i + 1, 0].set_ylabel(f'A{i}', fontsize=8)
        for j in range(m):
            _show(axes[i + 1, j + 1], _display(swapped[i, j], spatial_ndim))
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


SWAP_ROWS = {
    'x_a': 'A (z_i from)',
    'x_b': 'B (z_v from)',
    'swapped': 'D(z_i(A)+Phi_g z_v(B))',
    'reference': 'ideal: A block, T_g B digit',
}


def swap_test_grid(path: str, arrays: dict, element_names: list) -> None:
    """The swap test (``gla/swap.py``): one column per (pair, element), rows A / B / swapped
    decoding / the ideal result (``{row: (n_elements, n_pairs, H, W[, C])}``)."""
    rows = [r for r in SWAP_ROWS if r in arrays]
    num_elements, num_pairs = arrays[rows[0]].shape[:2]
    cols = num_elements * num_pairs
    fig, axes = plt.subplots(len(rows), cols, figsize=(1.1 * cols, 1.25 * len(rows)),
                             squeeze=False)
    for r, row in enumerate(rows):
        for e in range(num_elements):
            for n in range(num_pairs):
                ax = axes[r, e * num_pairs + n]
                _show(ax, _display(arrays[row][e, n], 2))
                if r == 0:
                    ax.set_title(f'pair {n} g={element_names[e]}', fontsize=7)
                if e == 0 and n == 0:
                    ax.set_ylabel(SWAP_ROWS[row], fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
