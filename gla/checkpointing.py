"""Orbax checkpoints of a run: the latest step (to resume) and the best by validation loss.

Layout of a workdir::

    workdir/config.json                 the config the run was started with
    workdir/checkpoints/latest/<step>/  {state, progress}, the two newest kept
    workdir/checkpoints/best/<step>/    {state, progress}, the best validation loss

``state`` is the flax ``TrainState`` (step, params, opt_state); ``progress`` is JSON (best
validation loss and step so far, divergence warnings), so a resumed run continues exactly.

Integrity: orbax does not notice every damaged file (a truncated array chunk raises, but a
deleted chunk or flipped bytes can restore silently). So once orbax has finalised a step,
every file in it is listed with its size and CRC32 in ``<step>/gla_checksums.json``
(written by a background thread, atomically). :meth:`RunCheckpoints.restore_intact` checks
that list, then restores; a damaged newest step is moved to ``checkpoints/damaged/`` and
the newest intact one is used, with a warning that says so.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import zlib
from typing import Any, Optional

import jax
import orbax.checkpoint as ocp
from absl import logging

from gla import errors
from gla import stopping

LATEST, BEST = 'latest', 'best'
CHECKSUMS = 'gla_checksums.json'
DAMAGED = 'damaged'


def _crc32(path: str) -> int:
    crc = 0
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            crc = zlib.crc32(chunk, crc)
    return crc


def _step_files(step_dir: str) -> dict:
    """``{relative path: [size, crc32]}`` of every file in a step directory."""
    files = {}
    for root, _, names in os.walk(step_dir):
        for name in names:
            full = os.path.join(root, name)
            rel = os.path.relpath(full, step_dir)
            if not rel.startswith(CHECKSUMS):
                files[rel] = [os.path.getsize(full), _crc32(full)]
    return files


def seal_step(step_dir: str) -> None:
    """Writes ``gla_checksums.json`` into a finalised step directory (atomically)."""
    files = _step_files(step_dir)  # before the .tmp below exists
    tmp = os.path.join(step_dir, CHECKSUMS + '.tmp')
    with open(tmp, 'w') as f:
        json.dump(files, f)
    os.replace(tmp, os.path.join(step_dir, CHECKSUMS))


def damage_of(step_dir: str) -> Optional[str]:
    """What is wrong with a sealed step directory (a missing, truncated or changed file),
    or ``None`` if every listed file is as it was written (or it was never sealed)."""
    path = os.path.join(step_dir, CHECKSUMS)
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            expected = json.load(f)
    except (OSError, ValueError) as e:
        return f'its {CHECKSUMS} is unreadable ({e})'
    for rel, (size, crc) in sorted(expected.items()):
        full = os.path.join(step_dir, rel)
        if not os.path.isfile(full):
            return f'{rel} is missing'
        if os.path.getsize(full) != size:
            return f'{rel} has {os.path.getsize(full)} bytes, {size} were written'
        if _crc32(full) != crc:
            return f'{rel} has changed since it was written (checksum differs)'
    return None


class RunCheckpoints:
    """The two checkpoint managers of a run (``latest`` and ``best``)."""

    def __init__(self, workdir: str, create: bool = True):
        root = os.path.join(os.path.abspath(workdir), 'checkpoints')

        def options(which, max_to_keep):
            # Across processes orbax syncs through named barriers keyed by step: the two
            # managers save the same step, so their barrier names need distinct prefixes.
            return ocp.CheckpointManagerOptions(
                max_to_keep=max_to_keep, create=create,
                multiprocessing_options=ocp.options.MultiprocessingOptions(
                    barrier_sync_key_prefix=which))

        self._managers = {
            LATEST: ocp.CheckpointManager(os.path.join(root, LATEST),
                                          options=options(LATEST, 2)),
            BEST: ocp.CheckpointManager(os.path.join(root, BEST), options=options(BEST, 1)),
        }

        self._root = root
        self._sealer: Optional[threading.Thread] = None

    def latest_step(self, which: str = LATEST) -> Optional[int]:
        return self._managers[which].latest_step()

    def step_dir(self, which: str, step: int) -> str:
        return os.path.join(self._root, which, str(step))

    def _seal_when_finished(self, which: str, step: int) -> None:
        self._managers[which].wait_until_finished()
        if os.path.isdir(self.step_dir(which, step)):  # not already rotated out
            seal_step(self.step_dir(which, step))

    def _join_sealer(self) -> None:
        if self._sealer is not None:
            self._sealer.join()
            self._sealer = None

    def save(self, which: str, step: int, state: Any, progress: dict) -> None:
        """Starts an asynchronous save of ``step`` (skipped if that step exists: a replayed
        step is bit-identical); a background thread seals it once orbax has finalised it."""
        self._join_sealer()
        saved = self._managers[which].save(step, args=ocp.args.Composite(
            state=ocp.args.StandardSave(state), progress=ocp.args.JsonSave(progress)))
        stopping.fault_point(f'save_{which}', step)
        if saved and jax.process_index() == 0:
            self._sealer = threading.Thread(target=self._seal_when_finished,
                                            args=(which, step), daemon=True)
            self._sealer.start()

    def restore_intact(self, which: str, abstract_state: Any):
        """``(state, progress)`` of the newest intact step, for resuming.

        Steps newer than it that are damaged (checksums differ, or orbax cannot read them)
        are moved to ``checkpoints/damaged/<which>-<step>`` with a warning, so the run
        continues from the intact step and saves those steps again. If no step is intact,
        nothing is moved and :class:`CheckpointError` names the directory. A sealed step
        whose files are intact but do not restore is a config mismatch, raised as such.
        """
        self._join_sealer()
        manager = self._managers[which]
        directory = os.path.join(self._root, which)
        damaged = []
        for step in sorted(manager.all_steps(), reverse=True):
            step_dir = self.step_dir(which, step)
            reason = damage_of(step_dir)
            if reason is None:
                try:
                    restored = self._restore(which, abstract_state, step)
                except Exception as e:  # orbax/tensorstore raise many kinds
                    if os.path.isfile(os.path.join(step_dir, CHECKSUMS)):
                        raise errors.ConfigMismatchError(
                            f'checkpoint {step_dir} is intact but does not fit this config '
                            f'({type(e).__name__}: {str(e)[:300]}). Relaunch with the config '
                            'in config.json, or use a new --workdir.') from e
                    reason = f'orbax cannot read it ({type(e).__name__}: {str(e)[:200]})'
            if reason is None:
                for bad_step, bad_reason in damaged:
                    if jax.process_index() == 0:
                        self._quarantine(which, bad_step)
                    logging.warning('checkpoint step %d in %s is damaged (%s): moved to %s; '
                                    'falling back to step %d, the newest intact one',
                                    bad_step, directory, bad_reason,
                                    os.path.join(self._root, DAMAGED), step)
                if damaged:
                    manager.reload()
                return restored
            damaged.append((step, reason))
        raise errors.CheckpointError(
            f'no intact checkpoint in {directory}: '
            + '; '.join(f'step {s}: {r}' for s, r in damaged)
            + '. Nothing was moved. Restore the files, or delete the damaged step '
            'directories to start that part of the run again.')

    def check_best(self) -> None:
        """Before resuming: a damaged best step is replaced by the intact ``latest`` copy of
        the same step (both are saved from the same state and progress); without one,
        :class:`CheckpointError` names the directory rather than lose the best model."""
        step = self.latest_step(BEST)
        if step is None or jax.process_index() != 0:
            return
        reason = damage_of(self.step_dir(BEST, step))
        if reason is None:
            return
        source = self.step_dir(LATEST, step)
        if not os.path.isdir(source) or damage_of(source) is not None:
            raise errors.CheckpointError(
                f'the best checkpoint {self.step_dir(BEST, step)} is damaged ({reason}) and '
                f'no intact copy of step {step} is left in {os.path.join(self._root, LATEST)}. '
                'Restore the files, or delete that directory (the run then keeps the best of '
                'the epochs that follow).')
        self._quarantine(BEST, step)
        shutil.copytree(source, self.step_dir(BEST, step))
        self._managers[BEST].reload()
        logging.warning('the best checkpoint step %d was damaged (%s): moved to %s and '
                        'replaced by the intact copy in %s', step, reason,
                        os.path.join(self._root, DAMAGED), source)

    def _quarantine(self, which: str, step: int) -> None:
        target = os.path.join(self._root, DAMAGED, f'{which}-{step}')
        n = 1
        while os.path.exists(target):
            target = os.path.join(self._root, DAMAGED, f'{which}-{step}.{n}')
            n += 1
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.move(self.step_dir(which, step), target)

    def restore(self, which: str, abstract_state: Any, step: Optional[int] = None):
        """Restores ``(state, progress)`` of ``step`` (default: the newest) onto the
        shardings of ``abstract_state`` (a pytree of ``jax.ShapeDtypeStruct``)."""
        manager = self._managers[which]
        step = manager.latest_step() if step is None else step
        if step is None:
            raise FileNotFoundError(f'no {which!r} checkpoint in {manager.directory}')
        reason = damage_of(self.step_dir(which, step))
        if reason is not None:
            raise errors.CheckpointError(f'checkpoint {self.step_dir(which, step)} is damaged: '
                                  f'{reason}.')
        return self._restore(which, abstract_state, step)

    def _restore(self, which: str, abstract_state: Any, step: int):
        restored = self._managers[which].restore(step, args=ocp.args.Composite(
            state=ocp.args.StandardRestore(abstract_state), progress=ocp.args.JsonRestore()))
        return restored['state'], restored['progress']

    def restore_progress(self, which: str, step: int) -> dict:
        """Only the JSON ``progress`` of a step (it holds the image shape a run needs to
        rebuild its state skeleton)."""
        restored = self._managers[which].restore(
            step, args=ocp.args.Composite(progress=ocp.args.JsonRestore()))
        return restored['progress']

    def discard_from(self, which: str, step: int) -> None:
        """Deletes the ``which`` steps at or after ``step`` (a rolled-back run trains those
        steps again, differently)."""
        self.wait_until_finished()
        manager = self._managers[which]
        for kept in manager.all_steps():
            if kept >= step:
                manager.delete(kept)
        manager.reload()

    def wait_until_finished(self) -> None:
        for manager in self._managers.values():
            manager.wait_until_finished()
        self._join_sealer()

    def close(self) -> None:
        self._join_sealer()
        for manager in self._managers.values():
            manager.close()


def abstract_like(tree: Any) -> Any:
    """Shape/dtype/sharding skeleton of ``tree``: the restore target orbax needs."""
    return jax.tree.map(ocp.utils.to_shape_dtype_struct, tree)
