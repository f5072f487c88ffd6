"""How linearly readable is the head phantoms' lesion count, from the input and from a run?

    PYTHONPATH=. python scripts/lesion_count_probes.py [WORKDIR ...]

The lesion count (0..3) is the label of configs/brain3d*.py; issue 16 asks for a linear
probe on ``z_i`` at 60 % or more (chance 27 %). This prints the same probe
(:func:`gla.probe.linear_probe_accuracy`, eval.json's 100 L-BFGS steps and L2 1e-4) on
features of the 800 training phantoms, tested on the 200 test phantoms upright and turned
(test volume ``i`` by cube element ``i mod 24``):

* of the input itself: the voxels; their intensity histogram; the mean over voxels of
  ReLU'd random 3^3 filters (a bag of local features, invariant to the cube's rotations);
  and one hand-made feature, the number of bright voxels inside a few radii of the centre;
* of each run in WORKDIR (``configs/brain3d*.py`` runs): ``z_i`` as eval.json reads it, and
  the variant part ``z_v`` of the latent grid pooled over its cells (mean, max, both, the 4
  largest); for a cell-pooled code (``brain3d_invariant.py``) also the code's own hidden
  layer on each cell, pooled the same ways, before its Dense and layer norm; for the
  regular action (``grid_regular``, ``configs/brain3d.py``), ``z_v`` pooled over the cells
  and the copies.

Used in docs/results.md (issue 16, "A code pooled over the latent's cells").
"""

import sys

import jax
import jax.numpy as jnp
import numpy as np

from gla import evaluate
from gla import groups
from gla import latent_actions
from gla import parallel
from gla import probe
from gla import run as run_lib
from gla.data import phantom
from gla.data import sources

BATCH = 50


def report(name: str, features, train, tests) -> None:
    """One probe: ``features`` maps a volume array to ``(N, d)``."""
    accuracy = probe.linear_probe_accuracy(
        features(train[0]), train[1],
        {key: (features(volumes), labels) for key, (volumes, labels) in tests.items()})
    print(f'{name:62s} upright {accuracy["upright"]:.3f}  turned {accuracy["turned"]:.3f}',
          flush=True)


def random_local_features(volumes: np.ndarray, width: int = 128) -> np.ndarray:
    """Mean over voxels of ``ReLU(conv3x3x3(x) + b)`` with fixed random filters, ``(N, width)``."""
    kernel = jax.random.normal(jax.random.key(0), (3, 3, 3, 1, width)) / 3 ** 1.5
    bias = 0.5 * jax.random.normal(jax.random.key(1), (width,))

    @jax.jit
    def pooled(x):
        y = jax.lax.conv_general_dilated(x, kernel, (1, 1, 1), 'SAME',
                                         dimension_numbers=('NDHWC', 'DHWIO', 'NDHWC'))
        return jnp.mean(jax.nn.relu(y + bias), axis=(1, 2, 3))

    return np.concatenate([np.asarray(pooled(volumes[i:i + BATCH]))
                           for i in range(0, len(volumes), BATCH)])


def bright_voxels_inside(volumes: np.ndarray) -> np.ndarray:
    """Voxels brighter than 0.0 / 0.2 / 0.4 (in [-1, 1]) within 0.4..0.7 of the half-width
    of the centre, ``(N, 12)``: lesions are bright and inside the brain, the skull is bright
    and outside."""
    size = volumes.shape[1]
    centre = (size - 1) / 2
    grid = np.indices((size,) * 3) - centre
    radius = np.sqrt((grid ** 2).sum(0)) / (size / 2)
    x = volumes[..., 0]
    return np.stack([np.sum((x > t) & (radius < r), axis=(1, 2, 3))
                     for t in (0.0, 0.2, 0.4) for r in (0.4, 0.5, 0.6, 0.7)], 1).astype(np.float32)


def input_probes() -> None:
    cube = groups.get_group('cube')
    train_x, train_y = phantom.phantom_split('train', 800)
    test_x, test_y = phantom.phantom_split('test', 200)
    train_x, test_x = (2 * train_x - 1)[..., None], (2 * test_x - 1)[..., None]
    turned = np.asarray(cube.act(jnp.arange(len(test_x)) % 24, jnp.asarray(test_x)))
    train, tests = (train_x, train_y), {'upright': (test_x, test_y), 'turned': (turned, test_y)}
    print('the input (800 training phantoms; 200 test phantoms)')
    report('  voxels', lambda x: x, train, tests)
    report('  intensity histogram, 64 bins', lambda x: np.stack(
        [np.histogram(v, 64, (-1, 1))[0] for v in x]).astype(np.float32), train, tests)
    report('  mean over voxels of ReLU(random 3^3 filters), 128', random_local_features,
           train, tests)
    report('  hand-made: bright voxels inside radii of the centre', bright_voxels_inside,
           train, tests)


def run_probes(workdir: str) -> None:
    run = run_lib.load_run(workdir)
    dataset = sources.load_dataset(run.config.data)
    elements = jax.tree.map(np.asarray, run.group.eval_elements())
    mask = run.mask > 0.5
    train, upright, moved, moved_labels = evaluate.probe_features(
        run, dataset, elements, mask, parallel.make_mesh(), run.config.eval.batch_size)
    labels = {'train': dataset.train.labels, 'upright': dataset.test.labels,
              'turned': moved_labels}
    features = {'train': train, 'upright': upright, 'turned': moved}
    print(f'{workdir}: {int(mask.sum())} variant channels, z_i {train["z_i"].shape[1:]}')

    def probe_on(name, fn):
        accuracy = probe.linear_probe_accuracy(
            fn(features['train']), labels['train'],
            {key: (fn(features[key]), labels[key]) for key in ('upright', 'turned')})
        if accuracy['upright'] is None:  # no such features (every channel variant: no z_i)
            print(f'  {name:60s} (empty)', flush=True)
            return
        print(f'  {name:60s} upright {accuracy["upright"]:.3f}  turned '
              f'{accuracy["turned"]:.3f}', flush=True)

    def cells(f):  # z_v flattened (cells, channels) -> (N, cells, variant channels)
        return f['z_v'].reshape(len(f['z_v']), -1, int(mask.sum()))

    probe_on('z_i (as eval.json)', lambda f: f['z_i'])
    probe_on('z_v flattened', lambda f: f['z_v'])
    probe_on('z_v, mean over cells', lambda f: cells(f).mean(1))
    probe_on('z_v, max over cells', lambda f: cells(f).max(1))
    probe_on('z_v, mean and max over cells', lambda f: mean_and_max(cells(f)))
    probe_on('z_v, the 4 largest over cells', lambda f: top(cells(f), 4))
    if run.config.group.latent_action == 'grid_regular':
        # each cell's channels are |G| copies (copy-major) that the action permutes: only
        # pooling over the cells *and* the copies is invariant
        copies = latent_actions.channel_copies('grid_regular', run.group.name, 1,
                                               run.config.data.spatial_ndim)

        def elements_of(f):  # (N, cells * copies, channels of one copy)
            c = cells(f)
            return c.reshape(len(c), -1, c.shape[-1] // copies)

        probe_on('z_v, mean and max over cells and copies', lambda f: mean_and_max(elements_of(f)))
        probe_on('z_v, the 4 largest over cells and copies', lambda f: top(elements_of(f), 4))
    code = run.params.get('invariant_code', {})
    if 'Hidden' in code and run.config.model.invariant_code_cell_pool:
        # the cell-pooled code's own hidden layer on each cell, before its Dense and norm
        w1 = np.asarray(code['Hidden']['kernel'])[mask]
        b1 = np.asarray(code['Hidden']['bias'])

        def hidden(f):
            h = cells(f) @ w1 + b1
            return np.where(h > 0, h, run.config.model.negative_slope * h)

        probe_on("the code's hidden layer, mean and max over cells",
                 lambda f: mean_and_max(hidden(f)))
        probe_on("the code's hidden layer, the 4 largest over cells",
                 lambda f: top(hidden(f), 4))


def mean_and_max(features: np.ndarray) -> np.ndarray:
    """The mean and the maximum of each feature over the cells, ``(N, cells, F) -> (N, 2F)``."""
    return np.concatenate([features.mean(1), features.max(1)], 1)


def top(features: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` largest of each feature over the cells, ``(N, cells, F) -> (N, k * F)``:
    sorted values do not depend on the order of the cells, so they are invariant wherever
    a cell-permuting rotation moves ``z_v``, and unlike the maximum they say whether a
    local thing is there twice."""
    return -np.sort(-features, axis=1)[:, :k].reshape(len(features), -1)


def main(workdirs: list) -> None:
    input_probes()
    for workdir in workdirs:
        run_probes(workdir)


if __name__ == '__main__':
    main(sys.argv[1:])
