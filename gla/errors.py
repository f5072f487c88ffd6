"""The errors gla raises for input a user can fix: one base class, :class:`UserError`.

Each message names what is wrong and what to change; ``launch.py`` prints it on one line
without a traceback and exits 1. Everything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input (config, data, workdir, checkpoints) with a message that says the fix."""


class ConfigError(UserError, ValueError):
    """A config value that cannot train; the message names the field and the fix."""


class DataError(UserError, ValueError):
    """Bad or missing data; the message names the file, the problem and the fix."""


class WorkdirError(UserError, ValueError):
    """The workdir cannot be used (a file in the way, not writable)."""


class WorkdirBusyError(UserError, RuntimeError):
    """Another live run holds the workdir; the message names it (pid, host, start time)."""


class ConfigMismatchError(UserError, ValueError):
    """A relaunch whose config cannot resume the checkpoints in the workdir."""


class CheckpointError(UserError, RuntimeError):
    """No intact checkpoint to restore (every candidate is damaged); nothing was moved."""


class NonFiniteError(UserError, FloatingPointError):
    """A loss term or the gradient became NaN/Inf; the message names the step and term."""
