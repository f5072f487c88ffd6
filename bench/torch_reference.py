"""The published method for Rotated MNIST, re-expressed in PyTorch (benchmark baselines only).

Two trainers of the same function, both used as ``trainer.step(images) -> loss``:

* :class:`ReferenceTrainer`, the published script's way: the 66,753-parameter network
  (``Conv(1->32,4,s2) -> LReLU(0.2) -> Conv(32->64,4,s2) -> LReLU(0.2)``, a mirrored decoder
  of transposed convolutions with tanh out, ALD logits ``alpha`` with a straight-through mask),
  quarter turns drawn per sample and applied to the images and to ``z_v`` **one sample at a
  time** (a Python loop of ``torch.rot90``), the targets from a second encoder pass under
  ``torch.no_grad()``, Adam 1e-3.
* :class:`VectorisedTrainer`, the strongest plain-PyTorch peer: the same network, loss and
  optimiser, but the rotations batched (all four ``rot90`` of the whole batch, then one
  ``torch.where`` per turn), no per-sample loop.

The published code itself is not bundled; this file follows the paper's description of it
(issue 6). Images are ``(B, 1, 28, 28)`` float32 in ``[-1, 1]`` (PyTorch's NCHW); quarter
turns are counter-clockwise over the two spatial axes, as ``gla.groups.c4`` (``torch.rot90(x, k,
dims=(-2, -1))`` equals ``jnp.rot90(x, k, axes=(1, 2))`` on NHWC). Only ``bench/`` imports this
module; the library and its tests never import torch.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class PublishedAutoencoder(nn.Module):
    """Encoder, decoder and ALD logits of the published Rotated MNIST network (66,753 params)."""

    def __init__(self, tau: float = 0.5, init_std: float = 0.1):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 32, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(32, 64, 4, 2, 1), nn.LeakyReLU(0.2))
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(32, 1, 4, 2, 1), nn.Tanh())
        self.alpha = nn.Parameter(torch.randn(64) * init_std)
        self.tau = tau

    def mask(self) -> torch.Tensor:
        """Straight-through ALD mask ``(1, 64, 1, 1)``: forward 0/1, gradient of sigmoid."""
        p = torch.sigmoid(self.alpha)
        hard = (p > self.tau).float()
        return (hard + (p - p.detach())).view(1, -1, 1, 1)

    def split(self, z: torch.Tensor):
        m = self.mask()
        return m * z, (1 - m) * z


def rotate_per_sample(x: torch.Tensor, k: np.ndarray) -> torch.Tensor:
    """The published way: ``torch.rot90`` of every sample in a Python loop, then stack."""
    return torch.stack([torch.rot90(x[i], int(k[i]), dims=(-2, -1)) for i in range(len(k))])


def rotate_batched(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """All four quarter turns of the whole batch, one selected per sample (no loop over B)."""
    k = k.view(-1, 1, 1, 1)
    out = x
    for r in range(1, 4):
        out = torch.where(k == r, torch.rot90(x, r, dims=(-2, -1)), out)
    return out


def param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


class _Trainer:
    """Shared loss and Adam step; subclasses choose how rotations are applied."""

    def __init__(self, seed: int = 0, lr: float = 1e-3):
        torch.manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.model = PublishedAutoencoder()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=lr)

    def _losses(self, x, x_t, rotate, k):
        model = self.model
        z_v, z_i = model.split(model.encoder(x))
        acted = rotate(z_v, k)
        pred = model.decoder(z_i + acted)
        with torch.no_grad():  # targets of L_inv and L_const: the second pass, no gradient
            t_v, t_i = model.split(model.encoder(x_t))
        recon = torch.mean((pred - x_t) ** 2)
        inv = torch.mean((z_i - t_i) ** 2)
        const = torch.mean((acted - t_v) ** 2)
        return recon + inv + const

    def step(self, images: torch.Tensor) -> float:
        raise NotImplementedError

    @torch.no_grad()
    def predict(self, images: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """``D(z_i + rot_k(z_v))`` for ``(B, 1, H, W)`` images and turns ``k`` ``(B,)``."""
        z_v, z_i = self.model.split(self.model.encoder(images))
        return self.model.decoder(z_i + rotate_batched(z_v, k))


class ReferenceTrainer(_Trainer):
    """The published script's step: per-sample rotation loops on images and latents."""

    def step(self, images: torch.Tensor) -> float:
        k = self.rng.integers(0, 4, len(images))
        x_t = rotate_per_sample(images, k)
        loss = self._losses(images, x_t, rotate_per_sample, k)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss.item()


class VectorisedTrainer(_Trainer):
    """Batched rotations: the strongest plain-PyTorch version of the same step."""

    def step(self, images: torch.Tensor) -> float:
        k = torch.from_numpy(self.rng.integers(0, 4, len(images)))
        x_t = rotate_batched(images, k)
        loss = self._losses(images, x_t, rotate_batched, k)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss.item()
