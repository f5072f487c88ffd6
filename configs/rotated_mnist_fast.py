"""Rotated MNIST under C4, the faithful training computed faster on CPU.

    python launch.py --config configs/rotated_mnist_fast.py --workdir runs/rotated_mnist_fast

Everything of configs/rotated_mnist.py (network, loss, Adam 1e-3, batch 64, 50 epochs, data
order, training pairs) is unchanged; two computations differ, both giving the same function
and gradients up to float rounding (tests/test_conv_hybrid.py, tests/test_fused_steps.py):
the decoder's transposed convolutions take forward, input and weight gradient each from the
faster of XLA's and the sub-pixel form ('hybrid'), and 10 consecutive steps run in one
compiled program. Measured speed against the published PyTorch method: docs/benchmarks.md.
"""

from configs import rotated_mnist


def get_config():
    config = rotated_mnist.get_config()
    config.model.conv_transpose = 'hybrid'  # same function, faster gradients on CPU
    config.steps_per_dispatch = 10  # chunks never cross an epoch end or a log step
    return config
