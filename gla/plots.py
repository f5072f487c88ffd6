"""Figures (PNG, matplotlib's Agg backend): transform grids and training curves."""

from __future__ import annotations

import json
import os

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


def transform_grid(path: str, arrays: dict, element_names: list) -> None:
    """One column per (test image, group element), one row per entry of ``arrays``
    (``{row: (n_elements, n_images, H, W[, C])}``): input / target / prediction / |z| /
    |Phi_g z_v| / |z_i|. Latent norms are shown on a per-row common scale."""
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


SWAP_ROWS = {
    'x_a': 'A (z_i from)',
    'x_b': 'B (z_v from)',
    'swapped': 'D(z_i(A)+Phi_g z_v(B))',
    'reference': 'ideal: A block, T_g B digit',
}


def swap_grid(path: str, arrays: dict, element_names: list) -> None:
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
                img = _as_image(np.asarray(arrays[row][e, n]))
                if img.ndim == 3:
                    ax.imshow((img + 1) / 2)
                else:
                    ax.imshow(img, cmap='gray', vmin=-1.0, vmax=1.0)
                ax.set_xticks([])
                ax.set_yticks([])
                if r == 0:
                    ax.set_title(f'pair {n} g={element_names[e]}', fontsize=7)
                if e == 0 and n == 0:
                    ax.set_ylabel(SWAP_ROWS[row], fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
