"""Surviving faults and refusing bad input: what ``gla.train`` checks before it touches a
workdir, and what keeps a run whole when it is killed, stopped or relaunched.

* :func:`config_problems`: config values that cannot train (unknown names, out-of-range
  numbers), found before any data is read or anything compiled.
* :func:`check_workdir`: the workdir's parent must exist and the workdir be writable,
  checked before anything is created.
* :func:`check_resume_config`: a relaunch into a workdir with checkpoints must describe the
  same model and data as ``workdir/config.json``; otherwise it stops, naming the fields.
* :func:`lock_workdir`: one run per workdir (``workdir/.lock``, ``fcntl.flock``: the kernel
  drops the lock when its holder dies, so a killed run never leaves a stale lock).
* :class:`StopSignals`: SIGTERM / Ctrl-C set a flag; the train loop checkpoints the current
  step and raises :class:`StopRequested`.
* :func:`fault_point`: a test-only hook that SIGKILLs the process at a named point (e.g. in
  the middle of a checkpoint save) when ``GLA_TEST_KILL_AT`` asks for it.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import signal
import socket
import tempfile
import time
from typing import Optional

import ml_collections
from absl import logging

from gla import models
from gla import groups
from gla import state as state_lib
from gla.data import sources
from gla.groups import latent_actions

LOCK_NAME = '.lock'
KILL_ENV = 'GLA_TEST_KILL_AT'  # '<point>@<step>', e.g. 'save@8'; only tests set it

# Fields that fix the shapes (or the meaning) of the parameters and of the data a
# checkpoint was trained on: a relaunch that changes any of them cannot resume.
STRUCTURAL_FIELDS = (
    'data.source', 'data.name', 'data.path', 'data.spatial_ndim', 'data.tfds_name',
    'group.name', 'group.latent_action',
    'model.encoder_features', 'model.kernel_size', 'model.stride',
    'mask.kind', 'mask.num_variant',
    'model.invariant_code_dim', 'model.invariant_code_hidden',
)
# Fields a relaunch may change without comment (a longer run, another evaluation).
FREE_FIELDS = ('num_epochs',)
FREE_PREFIXES = ('eval.',)


class ConfigError(ValueError):
    """A config value that cannot train; the message names the field and the fix."""


class WorkdirError(ValueError):
    """The workdir cannot be used (missing parent, not writable, a file)."""


class WorkdirBusyError(RuntimeError):
    """Another live run holds the workdir; the message names it (pid, host, start time)."""


class ConfigMismatchError(ValueError):
    """A relaunch whose config cannot resume the checkpoints in the workdir."""


class StopRequested(Exception):
    """SIGTERM / SIGINT stopped training after a checkpoint of the current step."""

    def __init__(self, step: int, signum: int, workdir: str):
        self.step, self.signum = step, signum
        self.exit_code = 128 + signum  # the shell's convention for "killed by signal"
        super().__init__(
            f'stopped by {signal.Signals(signum).name} at step {step}; a checkpoint of step '
            f'{step} is in {workdir}. Relaunch the same command to continue.')


# ---------------------------------------------------------------------------- config values

def _choice(problems: list, field: str, value, choices) -> None:
    if value not in choices:
        problems.append(f'{field}={value!r} is unknown; use one of {sorted(choices)}')


def _positive(problems: list, field: str, value, integer: bool = False) -> None:
    if integer and (isinstance(value, bool) or not isinstance(value, int)):
        problems.append(f'{field}={value!r} must be a positive integer')
    elif not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        problems.append(f'{field}={value!r} must be a finite number > 0')


def config_problems(config: ml_collections.ConfigDict) -> list:
    """Every value of ``config`` that cannot train, as ``'field=value ...; fix'`` strings.

    Pure: reads nothing from disk and compiles nothing (data files are checked by the data
    source, grids by the group, both still before the workdir is touched).
    """
    problems = []
    data = config.data
    _choice(problems, 'config.data.source', data.source, sources.SOURCES)
    if data.source == 'bundled':
        _choice(problems, 'config.data.name', data.name, sources.BUNDLED)
    if data.source == 'npz' and not data.path:
        problems.append("config.data.source='npz' needs config.data.path=FILE.npz")
    if data.spatial_ndim not in (2, 3):
        problems.append(f'config.data.spatial_ndim={data.spatial_ndim!r} must be 2 (images) '
                        'or 3 (volumes)')
    for name in ('max_train_examples', 'max_val_examples', 'max_test_examples'):
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.append(f'config.data.{name}={value!r} must be an integer >= 0 '
                            '(0 keeps all)')
    _choice(problems, 'config.group.name', config.group.name, groups.available_groups())
    _choice(problems, 'config.group.latent_action', config.group.latent_action,
            latent_actions.LATENT_ACTIONS)
    if config.group.name in groups.available_groups() and data.spatial_ndim in (2, 3):
        group_ndim = groups.get_group(config.group.name).spatial_ndim
        if group_ndim != data.spatial_ndim:
            problems.append(
                f'config.group.name={config.group.name!r} acts on {group_ndim}D grids but '
                f'config.data.spatial_ndim={data.spatial_ndim}; pick a group for '
                f'{data.spatial_ndim}D data or {group_ndim}D data')
    _choice(problems, 'config.mask.kind', config.mask.kind, models.MASK_KINDS)
    _choice(problems, 'config.model.conv_transpose', config.model.conv_transpose,
            models.CONV_TRANSPOSE_KINDS)
    _choice(problems, 'config.model.strided_conv', config.model.get('strided_conv', 'xla'),
            models.STRIDED_CONV_KINDS)
    features = tuple(config.model.encoder_features)
    if not features or not all(isinstance(f, int) and f > 0 for f in features):
        problems.append(f'config.model.encoder_features={features!r} must be one or more '
                        'positive integers (conv widths)')
    _positive(problems, 'config.model.kernel_size', config.model.kernel_size, integer=True)
    _positive(problems, 'config.model.stride', config.model.stride, integer=True)
    _positive(problems, 'config.eval.batch_size', config.eval.batch_size, integer=True)
    if not (isinstance(config.mask.tau, (int, float)) and 0.0 < config.mask.tau < 1.0):
        problems.append(f'config.mask.tau={config.mask.tau!r} must lie in (0, 1) (the mask '
                        'threshold on sigmoid(alpha); the paper uses 0.5)')
    for field in ('loss.lambda_inv', 'loss.lambda_const', 'mask.init_std', 'loss.lambda_var',
                  'loss.lambda_cov'):
        section, name = field.split('.')
        value = config[section].get(name, 0.0)
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            problems.append(f'config.{field}={value!r} must be a finite number >= 0')
    _choice(problems, 'config.optimizer.schedule', config.optimizer.get('schedule', 'constant'),
            state_lib.LR_SCHEDULES)
    _choice(problems, 'config.model.invariant_code_fills',
            config.model.get('invariant_code_fills', 'invariant'), ('invariant', 'all'))
    for field in ('model.invariant_code_dim', 'model.invariant_code_hidden',
                  'loss.inv_target_shift'):
        section, name = field.split('.')
        value = config[section].get(name, 0)
        if not (isinstance(value, int) and value >= 0):
            problems.append(f'config.{field}={value!r} must be an integer >= 0 (0 = off)')
    if config.model.get('invariant_code_orbit_pool', False) and not config.model.get(
            'invariant_code_hidden', 0):
        problems.append('config.model.invariant_code_orbit_pool needs '
                        'config.model.invariant_code_hidden > 0 (the pooled hidden layer)')
    if config.get('pairs', {}).get('random_input_element', False) and \
            config.data.source == 'planes':
        problems.append('config.pairs.random_input_element needs a group that acts on pixels; '
                        'rendered planes pair views instead: leave it False')
    return problems


# ---------------------------------------------------------------------------- the workdir

def check_workdir(workdir: str) -> None:
    """Raises :class:`WorkdirError` unless ``workdir`` can hold a run; creates nothing that
    stays (writability is probed with a temporary directory that is removed at once)."""
    path = os.path.abspath(workdir)
    if os.path.exists(path) and not os.path.isdir(path):
        raise WorkdirError(f'--workdir {workdir} is a file, not a directory; choose another '
                           '--workdir.')
    parent = os.path.dirname(path)
    if not os.path.isdir(path) and not os.path.isdir(parent):
        raise WorkdirError(f'the parent of --workdir {workdir} ({parent}) does not exist; '
                           f'create it first (mkdir -p {parent}) or choose another --workdir.')
    target = path if os.path.isdir(path) else parent
    try:
        os.rmdir(tempfile.mkdtemp(prefix='.gla_write_probe_', dir=target))
    except OSError as e:
        raise WorkdirError(f'{target} is not writable ({e.strerror}); the run needs to write '
                           f'checkpoints there. Choose a writable --workdir.') from e


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
        raise ConfigMismatchError(
            f'{workdir} holds checkpoints but no config.json, so they cannot be checked '
            'against this config nor evaluated. Move the checkpoints away or use a new '
            '--workdir. Nothing in the workdir was changed.')
    with open(path) as f:
        saved = json.load(f)
    diff = config_differences(saved, config)
    structural = {k: v for k, v in diff.items() if k in STRUCTURAL_FIELDS}
    if structural:
        fields = '; '.join(f'{k}: {old!r} in config.json, {new!r} now'
                           for k, (old, new) in structural.items())
        raise ConfigMismatchError(
            f'{workdir} holds checkpoints of another model or data set ({fields}). Relaunch '
            'with the saved values (see config.json), or use a new --workdir for the new '
            'config. Nothing in the workdir was changed.')
    other = [k for k in diff if k not in FREE_FIELDS and not k.startswith(FREE_PREFIXES)]
    if other:
        logging.warning('resuming %s with changed fields %s (config.json has the values the '
                        'run started with); the result will differ from an uninterrupted run',
                        workdir, ', '.join(f'{k}: {diff[k][0]!r} -> {diff[k][1]!r}'
                                           for k in other))


# ---------------------------------------------------------------------------- the lock

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
        raise WorkdirBusyError(
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


# ---------------------------------------------------------------------------- signals

class StopSignals:
    """Turns SIGTERM and SIGINT (Ctrl-C) into a flag the train loop checks between steps.

    A second signal of either kind aborts at once (``KeyboardInterrupt``). Use as a context
    manager; the previous handlers come back on exit. Outside the main thread (where Python
    cannot install handlers) it does nothing.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self):
        self.signum: Optional[int] = None
        self._previous = {}

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def _handle(self, signum, frame):
        del frame
        if self.signum is not None:
            raise KeyboardInterrupt(f'second {signal.Signals(signum).name}: aborting')
        self.signum = signum
        logging.warning('%s received: stopping after the current step with a checkpoint '
                        '(send it again to abort without one)', signal.Signals(signum).name)

    def __enter__(self) -> 'StopSignals':
        try:
            for s in self.SIGNALS:
                self._previous[s] = signal.signal(s, self._handle)
        except ValueError:  # not the main thread
            pass
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous = {}


# ---------------------------------------------------------------------------- test faults

def fault_point(name: str, step: int) -> None:
    """SIGKILLs this process if ``GLA_TEST_KILL_AT == f'{name}@{step}'`` (tests only: it
    makes "killed in the middle of a checkpoint save" happen at a known moment)."""
    if os.environ.get(KILL_ENV) == f'{name}@{step}':
        os.kill(os.getpid(), signal.SIGKILL)
