"""Tiny trained runs shared by the analysis tests (trained once per pytest session)."""

from conftest import run_python

_WORKDIRS = {}


def tiny(tmp_path_factory) -> str:
    """A workdir trained and evaluated with ``configs/test.py`` on one CPU device. Tests must
    not change it, except by writing under ``report/``."""
    if 'tiny' not in _WORKDIRS:
        workdir = str(tmp_path_factory.mktemp('tiny_trained_run'))
        run_python(['launch.py', '--config', 'configs/test.py', '--workdir', workdir])
        _WORKDIRS['tiny'] = workdir
    return _WORKDIRS['tiny']


def tiny_3d(tmp_path_factory, group: str) -> str:
    """A workdir trained and evaluated with ``configs/test3d.py`` under ``group`` ('cube' or
    'so3'); shared like :func:`tiny`."""
    if group not in _WORKDIRS:
        workdir = str(tmp_path_factory.mktemp(f'tiny_3d_{group}'))
        run_python(['launch.py', '--config', 'configs/test3d.py', '--workdir', workdir,
                    f'--config.group.name={group}'])
        _WORKDIRS[group] = workdir
    return _WORKDIRS[group]
