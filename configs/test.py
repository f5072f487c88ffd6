"""A tiny Rotated MNIST run that finishes in seconds on a CPU (tests and smoke checks).

    python launch.py --config configs/test.py --workdir /tmp/gla_test

256 training digits, a narrow network, 2 epochs. Numbers mean nothing; it exercises every
code path of the real configuration: train, checkpoint, resume, evaluate, figures.
"""

from configs import rotated_mnist
from configs import tiny


def get_config():
    return tiny.shrink(rotated_mnist.get_config(), examples=(256, 64, 64), features=(8, 16),
                       batch_size=32, log_every_steps=4, eval_batch_size=64, figure_images=2)
