"""Stopping a run on request, and the test hook that kills it at a chosen moment.

* :class:`StopSignals`: SIGTERM / Ctrl-C set a flag; the train loop checkpoints the current
  step and raises :class:`StopRequested` (exit code ``128 + signal``).
* :func:`fault_point`: a test-only hook that SIGKILLs the process at a named point (e.g. in
  the middle of a checkpoint save) when ``GLA_TEST_KILL_AT`` asks for it.
"""

from __future__ import annotations

import os
import signal
from typing import Optional

from absl import logging

KILL_ENV = 'GLA_TEST_KILL_AT'  # '<point>@<step>', e.g. 'save@8'; only tests set it


class StopRequested(Exception):
    """SIGTERM / SIGINT stopped training after a checkpoint of the current step."""

    def __init__(self, step: int, signum: int, workdir: str):
        self.step, self.signum = step, signum
        self.exit_code = 128 + signum  # the shell's convention for "killed by signal"
        super().__init__(
            f'stopped by {signal.Signals(signum).name} at step {step}; a checkpoint of step '
            f'{step} is in {workdir}. Relaunch the same command to continue.')


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


def fault_point(name: str, step: int) -> None:
    """SIGKILLs this process if ``GLA_TEST_KILL_AT == f'{name}@{step}'`` (tests only: it
    makes "killed in the middle of a checkpoint save" happen at a known moment)."""
    if os.environ.get(KILL_ENV) == f'{name}@{step}':
        os.kill(os.getpid(), signal.SIGKILL)
