"""Does the linear probe's L2 penalty explain a probe result? Sweeps it on a trained run.

    PYTHONPATH=. python scripts/probe_l2_sweep.py WORKDIR [WORKDIR ...]

For each run: the ``z_i`` features of eval.json's probe (the training split under the probe's
seeded elements; the test split upright and under every evaluation element), then for each
penalty in ``L2S`` the 5-fold cross-validated accuracy on the training split and the test
accuracies (:func:`gla.probe.linear_probe_accuracy`, 100 L-BFGS steps as in eval.json, whose
penalty is ``config.eval.probe_l2``, 1e-4 by default). Used in docs/results.md (issue 16).
"""

import sys

import jax
import numpy as np

from gla import evaluate
from gla import parallel
from gla import probe
from gla import run as run_lib
from gla.data import sources

L2S = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)
FOLDS = 5


def z_i_features(run) -> tuple:
    """``(train_features, train_labels, {'upright': ..., 'transformed': ...})`` of z_i, as
    eval.json's probe sees them (:func:`gla.evaluate.probe_features`)."""
    dataset = sources.load_dataset(run.config.data)
    elements = jax.tree.map(np.asarray, run.group.eval_elements())
    train, upright, moved, moved_labels = evaluate.probe_features(
        run, dataset, elements, run.mask > 0.5, parallel.make_mesh(),
        run.config.eval.batch_size)
    return train['z_i'], dataset.train.labels, {
        'upright': (upright['z_i'], dataset.test.labels),
        'transformed': (moved['z_i'], moved_labels)}


def main(workdirs: list) -> None:
    for workdir in workdirs:
        train, labels, test_sets = z_i_features(run_lib.load_run(workdir))
        train = np.asarray(train, np.float32).reshape(len(train), -1)
        labels = np.asarray(labels)
        folds = np.array_split(np.random.default_rng(0).permutation(len(train)), FOLDS)
        print(f'{workdir}: z_i {train.shape[1]} features, {len(train)} training examples')
        for l2 in L2S:
            held_out = []
            for k, fold in enumerate(folds):
                rest = np.concatenate([f for j, f in enumerate(folds) if j != k])
                held_out.append(probe.linear_probe_accuracy(
                    train[rest], labels[rest], {'fold': (train[fold], labels[fold])},
                    l2=l2)['fold'])
            test = probe.linear_probe_accuracy(train, labels, test_sets, l2=l2)
            print(f'  l2 {l2:g}: {FOLDS}-fold {np.mean(held_out):.3f}, test upright '
                  f"{test['upright']:.3f}, turned {test['transformed']:.3f}")


if __name__ == '__main__':
    main(sys.argv[1:])
