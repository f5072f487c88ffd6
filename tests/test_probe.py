"""The linear probe on data with a known answer."""

import numpy as np

from gla import probe


def test_probe_separates_linearly_separable_classes():
    rng = np.random.default_rng(0)
    centers = rng.normal(0, 5, (3, 10))
    labels = rng.integers(0, 3, 600)
    x = centers[labels] + rng.normal(0, 0.5, (600, 10))
    acc = probe.linear_probe_accuracy(x[:400], labels[:400],
                                      {'test': (x[400:], labels[400:])}, steps=50)
    assert acc['test'] == 1.0


def test_probe_is_at_chance_on_noise():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1000, 20))
    labels = rng.integers(0, 4, 1000)
    acc = probe.linear_probe_accuracy(x[:500], labels[:500], {'t': (x[500:], labels[500:])})
    assert 0.15 < acc['t'] < 0.37


def test_probe_with_no_features_reports_none():
    x = np.zeros((10, 3, 0))
    labels = np.arange(10) % 2
    assert probe.linear_probe_accuracy(x, labels, {'t': (x, labels)}) == {'t': None}
