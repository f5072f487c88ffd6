"""The workdir of a run: checks before anything is written, its lock, its ``config.json``
and the check that a relaunch describes the same run.

* :func:`check_workdir`: the workdir can hold a run (not a file; it, or the folder it will
  be created in with its parents, writable).
* :func:`lock_workdir` / :func:`unlock_workdir`: one run per workdir (``workdir/.lock``,
  ``fcntl.flock``: the kernel drops the lock when its holder dies, so a killed run never
  leaves a stale lock).
* :func:`write_config` / :func:`read_config`: ``workdir/config.json``, the config the run
  started with; configs written before a field existed read with the value that
  reproduces them (:data:`LEGACY_DEFAULTS`).
* :func:`check_resume_config`: a relaunch into a workdir with checkpoints must describe the
  same model and data as ``config.json``; otherwise it stops, naming the fields.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import tempfile
import time

import ml_collections
from absl import logging

from gla import errors

LOCK_NAME = '.lock'

# Fields that fix the shapes (or the meaning) of the parameters and of the data a
# checkpoint was trained on: a relaunch that changes any of them cannot resume.
STRUCTURAL_FIELDS = (
    'data.source', 'data.name', 'data.path', 'data.spatial_ndim', 'data.tfds_name',
    'group.name', 'group.latent_action',
    'model.encoder_features', 'model.kernel_size', 'model.stride',
    'mask.kind', 'mask.num_variant',
    'model.invariant_code_dim', 'model.invariant_code_hidden', 'model.latent', 'model.code_dim',
    'model.invariant_code_block', 'model.code_encoder', 'model.code_decoder',
    'model.invariant_code_cell_pool', 'group.max_frequency', 'model.yaw_pose',
    'model.encoder_context_dilations', 'model.decoder_context_dilations', 'group.volume_tilt',
    'model.latent_volume_dilations',
    'group.subcells',
)
# Fields a relaunch may change without comment (a longer run, another evaluation).
FREE_FIELDS = ('num_epochs',)
FREE_PREFIXES = ('eval.',)

# Fields added to the configs after runs were written: an older config.json lacks them and
# reads with these values, which are what those runs did (so their checkpoints restore).
LEGACY_DEFAULTS = {
    'data.resolution': 0,
    'model.strided_conv': 'xla',
    'model.init': 'flax',
    'model.latent': 'grid',
    'model.code_dim': 128,
    'model.code_encoder': 'dense',
    'model.code_decoder': 'dense',
    'model.yaw_pose': 'shared',
    'model.encoder_context_dilations': (),
    'model.decoder_context_dilations': (),
    'model.latent_volume_dilations': (),
    'group.volume_tilt': 0.0,
    'group.subcells': 1,
    'group.max_frequency': 4,
    'model.invariant_code_dim': 0,
    'model.invariant_code_hidden': 0,
    'model.invariant_code_stop_gradient': False,
    'model.invariant_code_orbit_pool': False,
    'model.invariant_code_cell_pool': False,
    'model.invariant_code_block': 1,
    'model.invariant_code_fills': 'invariant',
    'loss.lambda_var': 0.0,
    'loss.lambda_cov': 0.0,
    'loss.lambda_ssim': 0.0,
    'loss.lambda_pose': 0.0,
    'loss.inv_target_shift': 0,
    'pairs.random_input_element': False,
    'optimizer.schedule': 'constant',
    'steps_per_dispatch': 1,
    'micro_batch_size': 0,
    'blocks.enabled': False,
    'num_seeds': 1,
    'divergence_floor': 1e-6,
    'divergence_action': 'warn',
}


def check_workdir(workdir: str) -> None:
    """Raises :class:`WorkdirError` unless ``workdir`` can hold a run: it is a directory or
    can be created (with its missing parents, as :func:`gla.train_setup.prepare` then does), and
    the nearest existing folder on its path is writable. Creates nothing that stays
    (writability is probed with a temporary directory that is removed at once)."""
    path = os.path.abspath(workdir)
    if os.path.exists(path) and not os.path.isdir(path):
        raise errors.WorkdirError(f'--workdir {workdir} is a file, not a directory; choose '
                                  'another --workdir.')
    existing = path
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise errors.WorkdirError(f'{existing} is a file, so --workdir {workdir} cannot be '
                                  'created below it; move the file or choose another '
                                  '--workdir.')
    try:
        os.rmdir(tempfile.mkdtemp(prefix='.gla_write_probe_', dir=existing))
    except OSError as e:
        raise errors.WorkdirError(f'{existing} is not writable ({e.strerror}); the run needs '
                                  'to write checkpoints there. Choose a writable --workdir.'
                                  ) from e


def _flat(tree: dict, prefix: str = '') -> dict:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flat(value, f'{prefix}{key}.'))
        else:
            out[f'{prefix}{key}'] = value
    return out


def config_differences(saved: dict, config: ml_collections.ConfigDict) -> dict:
    """``{field: (saved value, new value)}`` of every field that differs (JSON-normalised,
    so tuples and lists compare equal)."""
    old = _flat(saved)
    new = _flat(json.loads(config.to_json_best_effort()))
    return {k: (old.get(k), new.get(k)) for k in sorted(set(old) | set(new))
            if old.get(k) != new.get(k)}


def has_checkpoints(workdir: str) -> bool:
    latest = os.path.join(workdir, 'checkpoints', 'latest')
    return os.path.isdir(latest) and any(d.isdigit() for d in os.listdir(latest))


def check_resume_config(workdir: str, config: ml_collections.ConfigDict) -> None:
    """Before a resume: stops with :class:`ConfigMismatchError` naming every structural
    field that differs from ``workdir/config.json`` (the checkpoints hold parameters of the
    saved shapes); logs a warning for other changed fields (the run will then not equal an
    uninterrupted one). Changes nothing on disk."""
    path = os.path.join(workdir, 'config.json')
    if not has_checkpoints(workdir):
        return
    if not os.path.isfile(path):
        # Seen when a run's directory was deleted while its process still saved a last
        # checkpoint: training would resume, then the evaluation fail for lack of config.
        raise errors.ConfigMismatchError(
            f'{workdir} holds checkpoints but no config.json, so they cannot be checked '
            'against this config nor evaluated. Move the checkpoints away or use a new '
            '--workdir. Nothing in the workdir was changed.')
    diff = config_differences(_read_json_config(path), config)
    structural = {k: v for k, v in diff.items() if k in STRUCTURAL_FIELDS}
    if structural:
        fields = '; '.join(f'{k}: {old!r} in config.json, {new!r} now'
                           for k, (old, new) in structural.items())
        raise errors.ConfigMismatchError(
            f'{workdir} holds checkpoints of another model or data set ({fields}). Relaunch '
            'with the saved values (see config.json), or use a new --workdir for the new '
            'config. Nothing in the workdir was changed.')
    other = [k for k in diff if k not in FREE_FIELDS and not k.startswith(FREE_PREFIXES)]
    if other:
        logging.warning('resuming %s with changed fields %s (config.json has the values the '
                        'run started with); the result will differ from an uninterrupted run',
                        workdir, ', '.join(f'{k}: {diff[k][0]!r} -> {diff[k][1]!r}'
                                           for k in other))


_HELD_LOCKS: dict = {}  # abspath of the workdir -> open lock file of this process


def lock_workdir(workdir: str) -> None:
    """Takes ``workdir/.lock`` for this process (re-entrant) or raises
    :class:`WorkdirBusyError` naming the holder. The lock lives until
    :func:`unlock_workdir` or the end of the process, whichever is first."""
    path = os.path.abspath(workdir)
    if path in _HELD_LOCKS:
        return
    lock_file = open(os.path.join(path, LOCK_NAME), 'a+')
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock_file.seek(0)
        holder = lock_file.read().strip() or 'holder unknown'
        lock_file.close()
        raise errors.WorkdirBusyError(
            f'{workdir} is in use by another run ({holder}); only one run may write to a '
            'workdir. Wait for that run to finish or stop it, or choose another --workdir.'
        ) from None
    lock_file.seek(0)
    lock_file.truncate()
    lock_file.write(f'pid {os.getpid()} on host {socket.gethostname()}, started '
                    f'{time.strftime("%Y-%m-%d %H:%M:%S %Z")}\n')
    lock_file.flush()
    _HELD_LOCKS[path] = lock_file


def unlock_workdir(workdir: str) -> None:
    lock_file = _HELD_LOCKS.pop(os.path.abspath(workdir), None)
    if lock_file is not None:
        fcntl.flock(lock_file, fcntl.LOCK_UN)
        lock_file.close()


def config_path(workdir: str) -> str:
    return os.path.join(workdir, 'config.json')


def write_config(workdir: str, config: ml_collections.ConfigDict) -> None:
    """Writes ``config.json`` atomically (a crash never leaves half a file)."""
    tmp = config_path(workdir) + '.tmp'
    with open(tmp, 'w') as f:
        f.write(config.to_json_best_effort(indent=2, sort_keys=True))
    os.replace(tmp, config_path(workdir))


def read_config(workdir: str) -> ml_collections.ConfigDict:
    path = config_path(workdir)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path} not found: {workdir!r} is not a gla run directory '
                                '(train one with launch.py --workdir DIR).')
    return ml_collections.ConfigDict(_read_json_config(path))


def _read_json_config(path: str) -> dict:
    """``config.json`` as a dict, with :data:`LEGACY_DEFAULTS` filled in where missing."""
    with open(path) as f:
        saved = json.load(f)
    for field, value in LEGACY_DEFAULTS.items():
        *sections, name = field.split('.')
        node = saved
        for section in sections:
            node = node.setdefault(section, {})
        node.setdefault(name, value)
    return saved


