"""Restoring a run for analysis (``gla.load_run``): the README's three-line snippet, restore
across device counts (1 <-> 2 forced CPU devices), the mask logits, clear errors; the
TensorBoard event files and the log lines of training."""

import json
import os
import re
import struct
import textwrap

import numpy as np
import pytest

import trained_runs
from conftest import REPO, run_python

# Restores WORKDIR in a fresh process with its own device count and saves the parameters and
# the predictions of a fixed batch, to compare with a restore under another device count.
RESTORE_AND_SAVE = textwrap.dedent('''
    import sys, jax, numpy as np, gla
    from gla.data import sources
    workdir, out = sys.argv[1], sys.argv[2]
    run = gla.load_run(workdir)
    leaves = jax.tree.leaves(run.params)
    assert all(len(a.sharding.device_set) == jax.device_count() for a in leaves)
    x = sources.load_dataset(run.config.data).test.images[:8]
    np.savez(out, devices=jax.device_count(), prediction=np.asarray(run.transform(x, 1)),
             **{f'p{i}': np.asarray(a) for i, a in enumerate(leaves)})
''')

# Trains one epoch of configs/test.py (no evaluation) in this process's device count, then
# restores and saves as above, in the same process.
TRAIN_THEN_RESTORE = textwrap.dedent('''
    import sys
    from configs import test
    from gla import train
    config = test.get_config()
    config.num_epochs = 1
    train.train(config, sys.argv[1])
''') + RESTORE_AND_SAVE

TWO_DEVICES = {'XLA_FLAGS': '--xla_force_host_platform_device_count=2'}


@pytest.fixture(scope='module')
def tiny_trained_run(tmp_path_factory):
    return trained_runs.tiny(tmp_path_factory)


def _restore_here(workdir):
    import jax
    import gla
    from gla.data import sources
    run = gla.load_run(workdir)
    x = sources.load_dataset(run.config.data).test.images[:8]
    return run, [np.asarray(a) for a in jax.tree.leaves(run.params)], \
        np.asarray(run.transform(x, 1))


def _compare(saved_path, params, prediction, devices):
    saved = np.load(saved_path)
    assert int(saved['devices']) == devices
    for i, a in enumerate(params):
        np.testing.assert_array_equal(saved[f'p{i}'], a)
    np.testing.assert_allclose(saved['prediction'], prediction, atol=1e-5)


def test_run_trained_on_one_device_restores_on_two(tiny_trained_run, tmp_path):
    import jax
    assert jax.device_count() == 1
    out = str(tmp_path / 'two.npz')
    run_python(['-c', RESTORE_AND_SAVE, tiny_trained_run, out], env_extra=TWO_DEVICES)
    _, params, prediction = _restore_here(tiny_trained_run)
    _compare(out, params, prediction, devices=2)


def test_run_trained_on_two_devices_restores_on_one(tmp_path):
    workdir, out = str(tmp_path / 'two_device_run'), str(tmp_path / 'two.npz')
    run_python(['-c', TRAIN_THEN_RESTORE, workdir, out], env_extra=TWO_DEVICES)
    _, params, prediction = _restore_here(workdir)
    _compare(out, params, prediction, devices=2)


def _readme_snippet():
    """The ``python`` block after the README's ``<!-- restore-snippet -->`` marker."""
    with open(os.path.join(REPO, 'README.md')) as f:
        readme = f.read()
    match = re.search(r'<!-- restore-snippet -->\s*```python\n(.*?)```', readme, re.S)
    assert match, 'README.md lost its restore snippet (marker <!-- restore-snippet -->)'
    return match.group(1)


def test_readme_three_line_snippet_rotates_a_users_digit(tiny_trained_run, tmp_path):
    import jax.numpy as jnp
    import gla
    from gla.data import sources
    snippet = _readme_snippet()
    lines = [line for line in snippet.splitlines() if line.strip()]
    assert len(lines) == 3, snippet
    run = gla.load_run(tiny_trained_run)
    digit = sources.load_dataset(run.config.data).test.images[0, ..., 0]
    np.save(tmp_path / 'my_digit.npy', np.round((digit + 1) * 127.5).astype(np.uint8))
    os.makedirs(tmp_path / 'runs')
    os.symlink(tiny_trained_run, tmp_path / 'runs' / 'rotated_mnist')
    cwd = os.getcwd()
    os.chdir(tmp_path)  # the snippet's relative paths, as a user's working directory
    try:
        namespace = {}
        exec(compile(snippet, 'README.md', 'exec'), namespace)
    finally:
        os.chdir(cwd)
    frames = np.asarray(namespace['frames'])
    assert frames.shape == (4, 1, 28, 28, 1)
    # Known answer from the modules, not through Run: frame k is D(z_i + rot90^k z_v).
    model, variables = run.model, {'params': run.params}
    x = np.load(tmp_path / 'my_digit.npy')[None, ..., None] / 127.5 - 1
    z_v, z_i = model.apply(variables, model.apply(variables, x, method=model.encode),
                           method=model.split)
    for k in range(4):
        expected = model.apply(variables, z_i + jnp.rot90(z_v, k, axes=(1, 2)),
                               method=model.decode)
        np.testing.assert_allclose(frames[k], expected, atol=1e-5)


def test_mask_logits_and_probabilities_match_the_mask(tiny_trained_run):
    import gla
    run = gla.load_run(tiny_trained_run)
    alpha = np.asarray(run.params['mask']['alpha'])
    np.testing.assert_array_equal(run.mask_logits, alpha)
    np.testing.assert_allclose(run.mask_probabilities, 1 / (1 + np.exp(-alpha)), rtol=1e-6)
    np.testing.assert_array_equal(run.mask, (run.mask_probabilities > 0.5).astype(np.float32))
    assert run.element_names == ['0°', '90°', '180°', '270°']
    assert run.image_shape == (28, 28, 1)


def test_restore_errors_name_the_fix(tiny_trained_run, tmp_path):
    import gla
    run = gla.load_run(tiny_trained_run)
    with pytest.raises(ValueError, match=r'add the batch axis, x\[None\]'):
        run.transform(np.zeros((28, 28, 1), np.float32), 1)
    with pytest.raises(ValueError, match=r'Add the channel axis'):
        run.transform(np.zeros((2, 28, 28), np.float32), 1)
    with pytest.raises(ValueError, match=r'x / 127.5 - 1'):
        run.encode(np.zeros((2, 28, 28, 1), np.uint8))
    with pytest.raises(ValueError, match="'best' .* or 'latest'"):
        gla.load_run(tiny_trained_run, 'last')
    with pytest.raises(FileNotFoundError, match=r'kept steps: \[16\]'):
        gla.load_run(tiny_trained_run, step=3)
    with pytest.raises(FileNotFoundError, match='not a gla run directory'):
        gla.load_run(str(tmp_path))


def _event_scalars(folder):
    """``{tag: {step: value}}`` from TensorBoard event files (TFRecord framing of Event
    protos: u64 length, u32 crc, payload, u32 crc), purge records applied."""
    from tensorboardX.proto import event_pb2
    scalars = {}
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), 'rb') as f:
            data = f.read()
        pos = 0
        while pos < len(data):
            (length,) = struct.unpack('<Q', data[pos:pos + 8])
            event = event_pb2.Event.FromString(data[pos + 12:pos + 12 + length])
            pos += 12 + length + 4
            if event.HasField('session_log') and event.session_log.status == 1:  # START
                for values in scalars.values():  # purge: drop steps >= this one
                    for step in [s for s in values if s >= event.step]:
                        del values[step]
            for value in event.summary.value:
                scalars.setdefault(value.tag, {})[event.step] = value.simple_value
    return scalars


def test_tensorboard_events_match_metrics_jsonl(tiny_trained_run):
    pytest.importorskip('tensorboardX', reason='tensorboardX not installed: no event files')
    scalars = _event_scalars(os.path.join(tiny_trained_run, 'tensorboard'))
    with open(os.path.join(tiny_trained_run, 'metrics.jsonl')) as f:
        rows = [json.loads(line) for line in f]
    for row in rows:
        for term in ('loss', 'recon', 'inv', 'const'):
            assert scalars[f'{row["split"]}/{term}'][row['step']] == \
                pytest.approx(row[term], rel=1e-6)
    assert sorted(scalars['train/variant_share']) == [4, 8, 12, 16]
    assert sorted(scalars['val/loss']) == [8, 16]

