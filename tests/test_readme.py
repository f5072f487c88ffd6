"""The README's promises that code can check: every config field documented, the launcher's
help lists its flags, the train command works as written on a fresh clone."""

import json
import os
import re
import shlex
import subprocess
import sys

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


def _readme_train_line() -> str:
    """The README's train command from ``python launch.py`` on (its first code line)."""
    with open(os.path.join(REPO, 'README.md')) as f:
        first_command = re.search(r'^    (python3 -m venv .*)$', f.read(), re.M).group(1)
    return first_command[first_command.index('python launch.py'):]


def test_the_readme_train_command_runs_on_a_fresh_clone_and_beats_its_baselines(tmp_path):
    """The README's train line exactly as written (one epoch appended), in a fresh clone of
    this repository: no runs/, no venv, no cached data. The venv and install are this test's
    own environment's."""
    clone = tmp_path / 'gla'
    subprocess.run(['git', 'clone', '-q', REPO, str(clone)], check=True, timeout=120)
    assert not (clone / 'runs').exists()
    args = shlex.split(_readme_train_line()) + ['--config.num_epochs=1']
    assert args[:2] == ['python', 'launch.py']
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    proc = subprocess.run([sys.executable] + args[1:], cwd=clone, env=env, timeout=900,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    workdir = args[args.index('--workdir') + 1]
    with open(clone / workdir / 'eval.json') as f:
        results = json.load(f)
    psnr = results['transformed_psnr_db_mean_over_test_images_and_group_elements']
    baselines = results['baselines']
    # One epoch of the real network already beats both predictors that learn nothing.
    assert psnr > baselines['copy_input_psnr_db'] + 5
    assert psnr > baselines['black_image_psnr_db'] + 5
    # The run ends with its answer: the summary names the numbers and the report command.
    assert f'transformed PSNR {psnr:.2f} dB' in proc.stdout
    assert f'python -m gla.analyze --workdir {workdir}' in proc.stdout
