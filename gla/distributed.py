"""Joining JAX's distributed runtime (``jax.distributed``) when a run spans several processes.

A TPU pod slice or a multi-node GPU job runs one ``launch.py`` process per host; all of them
must call ``jax.distributed.initialize`` before anything touches a device. Afterwards
``jax.devices()`` lists the devices of every process, the ``('data',)`` mesh of
``gla.parallel`` spans them all, each process feeds its own slice of every global batch, and
orbax writes one checkpoint cooperatively. Nothing else in gla changes.

How the processes find each other (``mode``):

* ``'auto'`` (default): explicit ``coordinator_address`` / ``num_processes`` / ``process_id``
  if given; otherwise initialise only when a cluster launcher announces several processes in
  the environment (SLURM ``srun`` with more than one task, Open MPI ``mpirun``) and let JAX
  read the rest from it. A plain ``python launch.py`` stays a single process.
* ``'on'``: always initialise; what the flags leave unset JAX detects (Cloud TPU metadata,
  SLURM, Open MPI). This is the mode for a Cloud TPU pod slice.
* ``'off'``: never initialise.

Between processes on CPU JAX uses gloo collectives (``jax_cpu_collectives_implementation``,
the default of current JAX; set here when a JAX leaves it unset). A coordinator on a loopback
address (``127.0.0.1:PORT``, ``localhost:PORT``) also binds only to loopback, so local
multi-process runs open no port to the network.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Mapping, Optional

import jax
from absl import logging

MODES = ('auto', 'on', 'off')

# Environment variables in which cluster launchers announce the number of processes.
_PROCESS_COUNT_VARS = (
    ('SLURM_STEP_NUM_TASKS', 'SLURM'),  # inside an srun step
    ('SLURM_NTASKS', 'SLURM'),  # sbatch --ntasks, inherited by srun
    ('OMPI_COMM_WORLD_SIZE', 'Open MPI'),
)


def announced_process_count(environ: Mapping[str, str] = os.environ):
    """``(count, launcher)`` that a cluster launcher set in ``environ``, or ``(None, None)``.

    SLURM's variables only count inside a job step (``SLURM_PROCID`` set), i.e. under
    ``srun``, not in the batch script itself.
    """
    for var, launcher in _PROCESS_COUNT_VARS:
        if var in environ and (launcher != 'SLURM' or 'SLURM_PROCID' in environ):
            try:
                return int(environ[var].split('(')[0]), launcher
            except ValueError:
                continue
    return None, None


def split_address(address: str) -> tuple:
    """``'HOST:PORT'`` (``'[::1]:PORT'`` for IPv6) -> ``(host, port)``; a clear error
    otherwise."""
    host, sep, port = address.rpartition(':')
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f'--coordinator_address={address!r} must be HOST:PORT, e.g. '
                         '127.0.0.1:12345 (the host of process 0 and a free port on it).')
    return host.strip('[]'), int(port)


def is_loopback(host: str) -> bool:
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def should_initialize(mode: str, coordinator_address: Optional[str],
                      num_processes: Optional[int], process_id: Optional[int],
                      environ: Mapping[str, str] = os.environ) -> bool:
    """Whether this process joins a distributed run; raises on contradictory settings."""
    if mode not in MODES:
        raise ValueError(f'--multihost={mode!r}: use one of {MODES}.')
    given = {'--coordinator_address': coordinator_address, '--num_processes': num_processes,
             '--process_id': process_id}
    explicit = [name for name, value in given.items() if value is not None]
    if mode == 'off':
        if explicit:
            raise ValueError(f'--multihost=off contradicts {", ".join(explicit)}; drop '
                             'those flags or use --multihost=auto.')
        return False
    if mode == 'on':
        return True
    if explicit:
        if len(explicit) != len(given):
            missing = [name for name in given if name not in explicit]
            raise ValueError(
                f'{", ".join(explicit)} given without {", ".join(missing)}: a multi-process '
                'run needs all three on every process (process ids 0..num_processes-1), or '
                '--multihost=on to let JAX detect the missing ones on Cloud TPU / SLURM.')
        return True
    count, _ = announced_process_count(environ)
    return count is not None and count > 1


def initialize(mode: str = 'auto', coordinator_address: Optional[str] = None,
               num_processes: Optional[int] = None, process_id: Optional[int] = None,
               initialization_timeout_s: int = 300,
               environ: Mapping[str, str] = os.environ) -> bool:
    """Calls ``jax.distributed.initialize`` when ``should_initialize`` says so (see the module
    docstring); must run before anything touches a device. Returns whether it did."""
    if not should_initialize(mode, coordinator_address, num_processes, process_id, environ):
        return False
    if jax.distributed.is_initialized():
        return True
    kwargs = dict(coordinator_address=coordinator_address, num_processes=num_processes,
                  process_id=process_id, initialization_timeout=initialization_timeout_s)
    if coordinator_address is not None:
        host, _ = split_address(coordinator_address)
        if is_loopback(host):
            # JAX's default binds the coordinator to every interface ('[::]:PORT').
            kwargs['coordinator_bind_address'] = coordinator_address
    if jax.config.jax_cpu_collectives_implementation is None:
        # Without a CPU collectives implementation, CPU processes cannot all-reduce.
        jax.config.update('jax_cpu_collectives_implementation', 'gloo')
    count, launcher = announced_process_count(environ)
    logging.info('joining jax.distributed: coordinator %s, process %s of %s%s',
                 coordinator_address or '(detected)', process_id, num_processes,
                 f' ({launcher} announces {count} processes)' if launcher else '')
    try:
        jax.distributed.initialize(**kwargs)
    except ValueError as e:
        if coordinator_address is not None:
            raise
        raise ValueError(
            f'jax.distributed found no cluster to join ({e}). Outside Cloud TPU, SLURM and '
            'Open MPI give every process --coordinator_address=HOST0:PORT --num_processes=N '
            '--process_id=I; for a single process use --multihost=auto (the default) or off.'
        ) from e
    return True


def is_main_process() -> bool:
    """Process 0 writes the files of a run (logs, metrics, config, eval.json, figures)."""
    return jax.process_index() == 0

