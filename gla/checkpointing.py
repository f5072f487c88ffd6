"""Orbax checkpoints of a run: the latest step (to resume) and the best by validation loss.

Layout of a workdir::

    workdir/config.json                 the config the run was started with
    workdir/checkpoints/latest/<step>/  {state, progress}, the two newest kept
    workdir/checkpoints/best/<step>/    {state, progress}, the best validation loss

``state`` is the flax ``TrainState`` (step, params, opt_state); ``progress`` is JSON (best
validation loss and step so far, divergence warnings), so a resumed run continues exactly.
"""

from __future__ import annotations

import json
import os
from typing import Any, Optional

import jax
import ml_collections
import orbax.checkpoint as ocp

LATEST, BEST = 'latest', 'best'


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
    with open(path) as f:
        return ml_collections.ConfigDict(json.load(f))


class RunCheckpoints:
    """The two checkpoint managers of a run (``latest`` and ``best``)."""

    def __init__(self, workdir: str, create: bool = True):
        root = os.path.join(os.path.abspath(workdir), 'checkpoints')
        self._managers = {
            LATEST: ocp.CheckpointManager(
                os.path.join(root, LATEST),
                options=ocp.CheckpointManagerOptions(max_to_keep=2, create=create)),
            BEST: ocp.CheckpointManager(
                os.path.join(root, BEST),
                options=ocp.CheckpointManagerOptions(max_to_keep=1, create=create)),
        }

    def latest_step(self, which: str = LATEST) -> Optional[int]:
        return self._managers[which].latest_step()

    def save(self, which: str, step: int, state: Any, progress: dict) -> None:
        self._managers[which].save(step, args=ocp.args.Composite(
            state=ocp.args.StandardSave(state), progress=ocp.args.JsonSave(progress)))

    def restore(self, which: str, abstract_state: Any, step: Optional[int] = None):
        """Restores ``(state, progress)`` of ``step`` (default: the newest) onto the
        shardings of ``abstract_state`` (a pytree of ``jax.ShapeDtypeStruct``)."""
        manager = self._managers[which]
        step = manager.latest_step() if step is None else step
        if step is None:
            raise FileNotFoundError(f'no {which!r} checkpoint in {manager.directory}')
        restored = manager.restore(step, args=ocp.args.Composite(
            state=ocp.args.StandardRestore(abstract_state), progress=ocp.args.JsonRestore()))
        return restored['state'], restored['progress']

    def restore_progress(self, which: str, step: int) -> dict:
        """Only the JSON ``progress`` of a step (it holds the image shape a run needs to
        rebuild its state skeleton)."""
        restored = self._managers[which].restore(
            step, args=ocp.args.Composite(progress=ocp.args.JsonRestore()))
        return restored['progress']

    def wait_until_finished(self) -> None:
        for manager in self._managers.values():
            manager.wait_until_finished()

    def close(self) -> None:
        for manager in self._managers.values():
            manager.close()


def abstract_like(tree: Any) -> Any:
    """Shape/dtype/sharding skeleton of ``tree``: the restore target orbax needs."""
    return jax.tree.map(ocp.utils.to_shape_dtype_struct, tree)
