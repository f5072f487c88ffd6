"""The README's promises that code can check: every config field documented, the launcher's
help lists its flags."""

import os
import re

from conftest import REPO, run_python


def _flat_keys(config, prefix=''):
    keys = []
    for name, value in config.items():
        if hasattr(value, 'items'):
            keys += _flat_keys(value, f'{prefix}{name}.')
        else:
            keys.append(prefix + name)
    return keys


def test_every_config_field_is_in_the_readme_table():
    from configs import rotated_mnist
    with open(os.path.join(REPO, 'README.md')) as f:
        readme = f.read()
    section = readme[readme.index('### Config fields'):]
    documented = set()
    for row in re.findall(r'^\| (`[^|]*)\|', section, re.M):
        for name in re.findall(r'`([a-z0-9_.{},]+)`', row):
            documented.add(name)
    missing = [k for k in _flat_keys(rotated_mnist.get_config()) if k not in documented]
    assert not missing, f'README "Config fields" lacks {missing}'


def test_launch_help_lists_the_flags():
    proc = run_python(['launch.py', '--help'], check=False)  # absl exits 1 after help
    for flag in ('--config:', '--workdir:'):
        assert flag in proc.stdout
