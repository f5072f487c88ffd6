"""Opens a page in Debian's headless chromium and reports what a person would see break.

Used by the report tests. No DevTools client: the page marks ``<body data-images=N
data-broken=K>`` on load (``gla.analyze`` writes that script), ``--dump-dom`` returns the DOM
after load, and ``--enable-logging=stderr`` prints every console message as ``CONSOLE``.
"""

import dataclasses
import os
import re
import shutil
import subprocess
import tempfile
from typing import Optional

FLAGS = ('--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--hide-scrollbars')
CONSOLE = re.compile(r':CONSOLE[:(]\d*\)?\]\s*(.*)')
BODY = re.compile(r'<body[^>]*\bdata-images="(\d+)"[^>]*\bdata-broken="(\d+)"')


def find_chromium() -> Optional[str]:
    for name in ('chromium', 'chromium-browser', 'google-chrome'):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclasses.dataclass
class PageCheck:
    images: Optional[int]  # None when the page never marked itself (did not load)
    broken: Optional[int]
    console: list  # console messages (errors, uncaught exceptions, logs)


def _chromium(binary: str, args: list, timeout: int) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix='gla_chromium_') as profile:
        return subprocess.run([binary, *FLAGS, f'--user-data-dir={profile}', *args],
                              capture_output=True, text=True, timeout=timeout)


def check_page(path: str, binary: str, timeout: int = 120) -> PageCheck:
    """Loads ``path`` (a local file) and returns its image counts and console messages."""
    url = 'file://' + os.path.abspath(path)
    proc = _chromium(binary, ['--enable-logging=stderr', '--v=0', '--dump-dom', url],
                     timeout)
    match = BODY.search(proc.stdout)
    return PageCheck(images=int(match.group(1)) if match else None,
                     broken=int(match.group(2)) if match else None,
                     console=[m.group(1) for m in map(CONSOLE.search,
                                                       proc.stderr.splitlines()) if m])


def screenshot(path: str, out_png: str, binary: str, size: str = '1200,5000',
               timeout: int = 120) -> None:
    """Saves a screenshot of the page at ``path`` to ``out_png``."""
    _chromium(binary, [f'--screenshot={os.path.abspath(out_png)}', f'--window-size={size}',
                       'file://' + os.path.abspath(path)], timeout)
