"""gla: learning group actions on disentangled latent image representations (JAX/Flax)."""

import setuptools

setuptools.setup(
    name='gla',
    version='0.1.0',
    description='Learning group actions on disentangled latent image representations '
                '(JAX/Flax re-implementation of arXiv 2512.04015 and beyond).',
    packages=setuptools.find_packages(include=['gla', 'gla.*']),
    package_data={'gla.data': ['assets/*.npz']},
    python_requires='>=3.10',
    install_requires=[
        'jax>=0.7',
        'flax>=0.10',
        'optax>=0.2.4',
        'orbax-checkpoint>=0.11',
        'tensorflow-datasets>=4.9',
        'importlib_resources',  # tensorflow-datasets imports it without declaring it
        'numpy>=1.26',
        'ml-collections>=1.0',
        'absl-py>=2.0',
        'matplotlib>=3.8',
    ],
    extras_require={
        # pytest-xdist: two test files at once (pytest.ini); tensorboardX: the event-file test
        'test': ['pytest>=8', 'pytest-xdist>=3', 'tensorboardX>=2.6'],
        'tensorboard': ['tensorboardX>=2.6'],  # TensorBoard event files while training
        'bench': ['torch==2.13.0'],
        # TensorFlow for tensorflow-datasets: preparing mnist-like datasets (tfds writes
        # their images with it) and reading TFRecord data; ArrayRecord data reads without it.
        # The CPU build where there is one: TensorFlow is only a reader here, off the GPUs.
        'tfds': ['tensorflow-cpu; sys_platform == "linux" and platform_machine == "x86_64"',
                 'tensorflow; sys_platform != "linux" or platform_machine != "x86_64"'],
    },
)
