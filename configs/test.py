"""A tiny Rotated MNIST run that finishes in seconds on a CPU (tests and smoke checks).

    python launch.py --config configs/test.py --workdir /tmp/gla_test

256 training digits, a narrow network, 2 epochs. Numbers mean nothing; it exercises every
code path of the real configuration: train, checkpoint, resume, evaluate, figures.
"""

from configs import rotated_mnist


def get_config():
    config = rotated_mnist.get_config()
    config.data.max_train_examples = 256
    config.data.max_val_examples = 64
    config.data.max_test_examples = 64
    config.model.encoder_features = (8, 16)
    config.batch_size = 32
    config.num_epochs = 2
    config.log_every_steps = 4
    config.eval.batch_size = 64
    config.eval.probe_steps = 10
    config.eval.num_figure_images = 2
    return config
