"""The analysis report: ``python -m gla.analyze --workdir DIR`` on a tiny trained run, its
figures' known answers, and the page in a real headless browser (Debian's chromium)."""

import base64
import os
import re

import numpy as np
import pytest

import chromium_page
import trained_runs
from conftest import run_python

FIGURES = ('losses.png', 'mask.png', 'orbit.png', 'transforms.png', 'swap.png')


@pytest.fixture(scope='module')
def tiny_trained_run(tmp_path_factory):
    return trained_runs.tiny(tmp_path_factory)


@pytest.fixture(scope='module')
def report(tiny_trained_run):
    """Builds the report in a fresh process, exactly as a user would."""
    proc = run_python(['-m', 'gla.analyze', '--workdir', tiny_trained_run])
    path = os.path.join(tiny_trained_run, 'report', 'index.html')
    assert proc.stdout.strip() == path
    return path


def test_page_is_self_contained_and_inlines_every_png_beside_it(report):
    with open(report) as f:
        page = f.read()
    sources = re.findall(r'<img src="([^"]*)"', page)
    assert len(sources) == len(FIGURES)
    # Nothing is fetched: every image is a data URI and no script/style/link points out.
    assert all(s.startswith('data:image/png;base64,') for s in sources)
    assert not re.search(r'(src|href)="(https?:|//)', page)
    assert not re.search(r'<(link|script)[^>]*\bsrc=', page)
    folder = os.path.dirname(report)
    inlined = [base64.b64decode(s.split(',', 1)[1]) for s in sources]
    for name in FIGURES:
        with open(os.path.join(folder, name), 'rb') as f:
            data = f.read()
        assert data[:8] == b'\x89PNG\r\n\x1a\n'
        assert data in inlined, f'{name} is not the image shown on the page'


def test_page_shows_config_metrics_and_mask(report, tiny_trained_run):
    import json
    import gla
    with open(report) as f:
        page = f.read()
    with open(os.path.join(tiny_trained_run, 'eval.json')) as f:
        results = json.load(f)
    run = gla.load_run(tiny_trained_run)
    assert '<td>model.encoder_features</td><td>[8, 16]</td>' in page
    psnr = results['transformed_psnr_db_mean_over_test_images_and_group_elements']
    assert f'<td>{psnr:.4g}</td>' in page
    variant = [int(c) for c in np.flatnonzero(run.mask)]
    assert f'{len(variant)} of 16 latent channels are variant' in page
    assert str(variant) in page
    for c in range(16):  # every logit is listed with its channel
        assert f'<tr><td>{c}</td><td>{"variant" if run.mask[c] else "invariant"}</td>' \
               f'<td>{float(run.mask_logits[c]):.4g}</td>' in page


def test_page_leads_with_the_results_beside_baselines_and_ends_with_the_folded_config(
        report, tiny_trained_run):
    import json
    with open(report) as f:
        page = f.read()
    with open(os.path.join(tiny_trained_run, 'eval.json')) as f:
        results = json.load(f)
    titles = re.findall(r'<h2>([^<]*)</h2>', page)
    assert titles[:3] == ['Results (test split)', 'Orbit under the group',
                          'Swapping z_v and z_i'] and titles[-1] == 'Config'
    first = page[page.index('<h2>Results'):page.index('<h2>Orbit')]
    copy = results['baselines']['copy_input_psnr_db']
    assert f'copy the input: {copy:.4g}' in first and '<th>trivial baseline</th>' in first
    assert '<details><summary>The ' in page[page.index('<h2>Config'):]


def test_swap_grid_diagonal_is_the_reconstruction(tiny_trained_run):
    import gla
    from gla import analyze
    from gla.data import sources
    run = gla.load_run(tiny_trained_run)
    x = sources.load_dataset(run.config.data).test.images[:3]
    swapped = analyze.swap_latents(run, x, x[::-1])
    assert swapped.shape == (3, 3, 28, 28, 1)
    # A_i with B_j = A_i (x[::-1][2 - i]) keeps all of z: the plain reconstruction.
    reconstruction = np.asarray(run.decode(run.encode(x)))
    for i in range(3):
        np.testing.assert_allclose(swapped[i, 2 - i], reconstruction[i], atol=1e-5)
    # Off the diagonal the images differ (z_v and z_i both carry something).
    assert np.abs(swapped[0, 0] - swapped[0, 2]).max() > 1e-3


def test_pick_images_prefers_distinct_labels():
    from gla import analyze
    from gla.data import sources
    labels = np.array([3, 3, 1, 3, 1, 7], np.int32)
    images = np.arange(6, dtype=np.float32).reshape(6, 1, 1, 1)
    picked = analyze.pick_images(sources.Split(images, labels), 4)
    assert picked[:, 0, 0, 0].tolist() == [0, 1, 2, 5]  # labels 3, 3 (filler), 1, 7


def test_mid_slice_of_volumes_and_spread_of_elements():
    from gla import analyze, plots
    volume = np.arange(5 * 4 * 3 * 2).reshape(5, 4, 3, 2)
    np.testing.assert_array_equal(plots.mid_slice(volume, 3), volume[2])
    np.testing.assert_array_equal(plots.mid_slice(volume[..., 0], 3), volume[2, ..., 0])
    np.testing.assert_array_equal(plots.mid_slice(volume[0], 2), volume[0])
    assert plots.spread(4, 6).tolist() == [0, 1, 2, 3]
    assert plots.spread(24, 6).tolist() == [0, 4, 8, 12, 16, 20]


def test_missing_run_is_a_clear_error(tmp_path):
    proc = run_python(['-m', 'gla.analyze', '--workdir', str(tmp_path / 'nope')], check=False)
    assert proc.returncode == 2
    assert 'is not a gla run directory' in proc.stderr


CHROMIUM = chromium_page.find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason='chromium is not installed (Debian: apt-get install -y chromium); '
    'the page is not checked in a browser')


@needs_chromium
def test_checker_sees_broken_images_and_console_errors(tmp_path):
    """The browser check itself can fail: a page with a broken image and a script error."""
    from gla import report_page
    page = report_page.render_page('broken', '<img src="missing.png"><img src="data:image/png;'
                                   'base64,AAAA"><script>console.error("bad");</script>', [],
                                   str(tmp_path))
    path = tmp_path / 'broken.html'
    path.write_text(page)
    result = chromium_page.check_page(str(path), CHROMIUM)
    assert (result.images, result.broken) == (2, 2)
    assert any('bad' in m for m in result.console), result.console


@needs_chromium
def test_report_in_headless_chromium(report, tmp_path):
    result = chromium_page.check_page(report, CHROMIUM)
    assert result.images == len(FIGURES), 'the page did not load (no load-event mark)'
    assert result.broken == 0
    assert result.console == []
    shot = tmp_path / 'report.png'
    chromium_page.screenshot(report, str(shot), CHROMIUM)
    with open(shot, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
