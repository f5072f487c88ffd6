"""Rotated MNIST under C4, the faithful configuration run faster: 20 steps per dispatch.

    python launch.py --config configs/rotated_mnist_fast.py --workdir runs/rotated_mnist_fast

Everything of configs/rotated_mnist.py (network, loss, Adam 1e-3, batch 64, 50 epochs, data
order and training pairs) is unchanged; only 20 consecutive training steps are compiled into
one program, which saves Python dispatch and lets XLA overlap the steps. Training equals
the default configuration's up to float rounding (see tests/test_fused_steps.py and
docs/benchmarks.md for the measured speed).
"""

from configs import rotated_mnist


def get_config():
    config = rotated_mnist.get_config()
    config.steps_per_dispatch = 20  # chunks never cross an epoch end or a log step
    return config
