"""The linear probe on data with a known answer."""

import numpy as np
import pytest

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


def test_probes_padded_to_one_width_agree_and_share_one_compiled_fit():
    rng = np.random.default_rng(2)
    centers = rng.normal(0, 1, (4, 24))
    labels = rng.integers(0, 4, 800)
    x = centers[labels] + rng.normal(0, 1.5, (800, 24))  # overlapping classes: not all right
    tests = {'t': (x[400:], labels[400:])}
    own = [probe.linear_probe_accuracy(x[:400, :d], labels[:400],
                                       {'t': (x[400:, :d], labels[400:])}) for d in (24, 10)]
    probe.fit_softmax_regression.clear_cache()
    padded = [probe.linear_probe_accuracy(x[:400, :d], labels[:400],
                                          {'t': (x[400:, :d], labels[400:])}, width=24)
              for d in (24, 10)]
    assert probe.fit_softmax_regression._cache_size() == 1
    assert padded == own and 0.4 < own[1]['t'] < own[0]['t'] < 1.0, (own, padded)
    with pytest.raises(ValueError, match='width=10 is below the 24 features'):
        probe.linear_probe_accuracy(x[:400], labels[:400], tests, width=10)
