"""Is the PSNR race lost on initialisation? The PyTorch reference started from gla's weights.

    python -m bench.init_effect

Copies gla's initial parameters (Flax defaults: LeCun-normal kernels, zero biases; seed 0)
into the PyTorch reference network, trains it with the published schedule (batch 64, Adam
1e-3) on gla's data order and prints the test transformed PSNR after every epoch until it
passes 26.7 dB. Compare with docs/benchmarks.md, where the reference from PyTorch's default
initialisation and gla race to the same target.
"""

from __future__ import annotations

import jax
import numpy as np
import torch

from bench import benchmark
from bench import torch_reference
from configs import rotated_mnist
from gla import groups
from gla import models
from gla import state as state_lib
from gla import train_setup


def main(max_epochs: int = 25) -> None:
    torch.set_num_threads(1)
    dataset = benchmark._load_data()
    config = rotated_mnist.get_config()
    group = groups.get_group(config.group.name)
    model = models.build_model(config, group, 1)
    init_key, _ = jax.random.split(jax.random.key(config.seed))  # as gla.train
    params = state_lib.create_train_state(config, model, group, (28, 28, 1), init_key).params
    trainer = torch_reference.ReferenceTrainer()
    benchmark.copy_gla_params(trainer.model, params)
    trainer.opt = torch.optim.Adam(trainer.model.parameters(), lr=config.optimizer.learning_rate)
    images = dataset.train.images
    steps = len(images) // 64

    def predict(x, k):
        out = trainer.predict(benchmark._nchw(x), torch.from_numpy(k.astype(np.int64)))
        return out.numpy().transpose(0, 2, 3, 1)

    for epoch in range(max_epochs):
        order = train_setup.epoch_order(config.seed, epoch, len(images))[:steps * 64]
        runner_input = benchmark._nchw(images[order])
        for s in range(steps):
            trainer.step(runner_input[s * 64:(s + 1) * 64])
        psnr = benchmark._psnr_db(predict, dataset.test.images)
        print(f'reference from gla\'s initial weights: epoch {epoch + 1}  test PSNR '
              f'{psnr:.2f} dB', flush=True)
        if psnr >= benchmark.TARGET_PSNR_DB:
            break


if __name__ == '__main__':
    main()
