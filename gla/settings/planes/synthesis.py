"""View synthesis on the plane: PSNR of the whole view and inside the plane's silhouette, for
the model and for two predictors that learn nothing, scored on the same pairs.

Images are ``(B, H, W, C)`` in [-1, 1] (data range 2), silhouettes ``(B, H, W)`` bool (True
on the plane's pixels of the target view). Per pair, ``psnr = 10 log10(4 / MSE)`` with the
MSE over every pixel and channel, and ``silhouette_psnr`` the same with the MSE over the
silhouette's pixels (and all channels) only. The sky fills most of a view and stays put, so
the whole-view PSNR rewards painting the sky; inside the silhouette only the plane counts.
A pair whose prediction equals the target exactly there scores ``+inf`` (copying the input
at 0°), one whose target has no plane pixel ``NaN``; means (per element, over the turned
views) are over the finite values, ``None`` when there are none, as for the core's
copy-input baseline.

Predictors: ``model`` (``D(z_i + Phi_g z_v)`` of the input view), ``sky_only`` (the object's
sky without a plane: it knows the background exactly and nothing of the plane), and
``copy_input`` (the input view itself). Pairs: for each test object and group element one
start view ``k0`` drawn with ``numpy.random.default_rng(config.eval.test_pairs_seed)``, the
target view ``k0 + g * V / order``; the core's ``per_group_element`` draws its own start
views, so its PSNR and ``psnr_db.model`` here differ by that draw. ``turned`` pools every
element but the identity (15°..345° for yaw24).

Perceptual error (LPIPS): not computed. LPIPS is a distance between the activations of a
pretrained AlexNet / VGG, weighted by linear layers fitted to human judgements; without
those weights (no downloads; none ship with this library, which does not depend on torch)
there is no LPIPS, and a stand-in with random or self-trained features would carry its name
without its calibration, so no reader could compare it with published numbers. SSIM, the
structural metric those papers report beside PSNR, is in ``eval.json``
(``transformed_ssim_mean``, per element).
"""

from __future__ import annotations

import html
from typing import Optional

import numpy as np

from gla import report_page as page
from gla.settings import base as setting_base

PREDICTORS = ('model', 'sky_only', 'copy_input')
METRICS = ('psnr_db', 'silhouette_psnr_db')
SKY_TOLERANCE = 1.0 / 255.0  # half a uint8 step in [-1, 1] units


def sky_silhouettes(views: np.ndarray, skies: np.ndarray,
                    tolerance: float = SKY_TOLERANCE) -> np.ndarray:
    """The pixels of ``views`` ``(N, V, H, W, C)`` that differ from the object's sky
    ``skies`` ``(N, H, W, C)`` (both in [-1, 1]) by more than ``tolerance`` in any channel:
    ``(N, V, H, W)`` bool. For uint8 renders over a stored sky, exactly the pixels where the
    renderer drew the plane (``render.render_planes``'s ``plane_mask``)."""
    return np.any(np.abs(views - skies[:, None]) > tolerance, axis=-1)


def psnr(prediction: np.ndarray, target: np.ndarray, data_range: float = 2.0) -> np.ndarray:
    """``10 log10(range^2 / MSE)`` per example ``(B,)`` of ``(B, H, W, C)`` images; ``+inf``
    for an exact prediction."""
    mse = np.mean(np.square(prediction - target), axis=(1, 2, 3), dtype=np.float64)
    with np.errstate(divide='ignore'):
        return 10.0 * np.log10(data_range ** 2 / mse)


def silhouette_psnr(prediction: np.ndarray, target: np.ndarray, silhouette: np.ndarray,
                    data_range: float = 2.0) -> np.ndarray:
    """PSNR inside the silhouette, per example ``(B,)``: ``10 log10(range^2 / MSE)`` with the
    MSE over the pixels where ``silhouette`` ``(B, H, W)`` is True and over all channels of
    ``prediction`` and ``target`` ``(B, H, W, C)``. ``+inf`` where the prediction is exact
    there, ``NaN`` where the silhouette is empty."""
    squared = np.sum(np.square(prediction - target), axis=-1, dtype=np.float64)  # (B, H, W)
    count = np.sum(silhouette, axis=(1, 2)) * target.shape[-1]
    error = np.sum(np.where(silhouette, squared, 0.0), axis=(1, 2))
    with np.errstate(divide='ignore', invalid='ignore'):
        mse = np.where(count > 0, error / np.maximum(count, 1), np.nan)
        return 10.0 * np.log10(data_range ** 2 / mse)


def pair_scores(prediction: np.ndarray, target: np.ndarray, x: np.ndarray,
                sky: Optional[np.ndarray], silhouette: Optional[np.ndarray]) -> dict:
    """``{metric: {predictor: (B,)}}`` for one batch of pairs ``(x, target)`` and the model's
    ``prediction`` (all ``(B, H, W, C)``); ``sky`` ``(B, H, W, C)`` and ``silhouette`` (of the
    target, ``(B, H, W)``) may be ``None``, which leaves out what needs them."""
    guesses = {'model': prediction, 'copy_input': x}
    if sky is not None:
        guesses['sky_only'] = sky
    scores = {'psnr_db': {k: psnr(v, target) for k, v in guesses.items()}}
    if silhouette is not None:
        scores['silhouette_psnr_db'] = {k: silhouette_psnr(v, target, silhouette)
                                        for k, v in guesses.items()}
    return scores


def finite_mean(values) -> Optional[float]:
    """Mean of the finite entries of ``values`` (``None`` when there are none)."""
    values = np.asarray(values, np.float64).ravel()
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else None


def _means(scores: list) -> dict:
    """``{metric: {predictor: mean}}`` pooled over the batches of :func:`pair_scores`."""
    return {metric: {p: finite_mean(np.concatenate([s[metric][p] for s in scores]))
                     if p in scores[0].get(metric, {}) else None for p in PREDICTORS}
            for metric in METRICS}


def summarise(per_element: dict, identity: str) -> dict:
    """``per_element`` ``{name: [pair_scores, ...]}`` (in the group's order) -> the
    ``eval.json`` block: per element and ``turned`` (every element but ``identity``)."""
    turned = [s for name, batch in per_element.items() if name != identity for s in batch]
    return {'per_group_element': {name: _means(batch) for name, batch in per_element.items()},
            'turned': _means(turned) if turned else None}


def _predict(run, x: np.ndarray, g: int, batch_size: int) -> np.ndarray:
    """``run.transform`` of ``x`` ``(n, H, W, C)`` under one element ``g``, in batches padded
    to ``batch_size`` (one compile)."""
    out = []
    for start in range(0, len(x), batch_size):
        part = x[start:start + batch_size]
        padded = np.concatenate([part, np.repeat(part[-1:], batch_size - len(part), axis=0)])
        out.append(np.asarray(run.transform(padded, np.int32(g)))[:len(part)])
    return np.concatenate(out)


def view_synthesis(run, test_images: np.ndarray, scene, batch_size: int) -> dict:
    """The ``view_synthesis`` block of ``eval.json`` (module docstring) for the test objects
    ``test_images`` ``(n, V, H, W, C)`` and their ``scene`` (``data.Scene``)."""
    n, v = test_images.shape[:2]
    elements = np.asarray(run.group.eval_elements()).astype(int)
    names = run.group.describe(elements)
    stride = v // len(elements)
    starts = np.random.default_rng(run.config.eval.test_pairs_seed).integers(
        0, v, size=(len(elements), n))
    rows = np.arange(n)
    per_element, share = {}, []
    for g, name, k0 in zip(elements, names, starts):
        k1 = (k0 + stride * g) % v
        x, target = test_images[rows, k0], test_images[rows, k1]
        silhouette = None if scene.silhouettes is None else scene.silhouettes[rows, k1]
        if silhouette is not None:
            share.append(silhouette.mean())
        per_element[name] = [pair_scores(_predict(run, x, g, batch_size), target, x,
                                         scene.skies, silhouette)]
    result = summarise(per_element, names[0])
    result.update(num_pairs_per_element=n, silhouettes=scene.origin,
                  plane_pixel_share=float(np.mean(share)) if share else None)
    return result


def _row(label: str, means: Optional[dict]) -> list:
    means = means or {}
    return [label] + [means.get(m, {}).get(p) for m in METRICS for p in PREDICTORS]


def report_section(results: Optional[dict], element_names: list) -> page.Section:
    """The page's table of ``results['view_synthesis']``: model beside both predictors."""
    block = (results or {}).get('view_synthesis')
    title = 'View synthesis: the whole view and the plane alone'
    if not block:
        return page.Section(title, '<p class="note">No view-synthesis numbers in eval.json: '
                            'evaluate the run again (launch it with the same --workdir).</p>')
    header = ['g'] + [f'{m.replace("_db", "")} {p} (dB)' for m in METRICS for p in PREDICTORS]
    per = block['per_group_element']
    rows = [_row(name, per.get(name)) for name in element_names if name in per]
    rows.append(_row('turned (all g but the identity)', block.get('turned')))
    origin = html.escape(str(block.get('silhouettes')))
    body = (f'<p>PSNR of the prediction D(z_i + Phi_g z_v) against T_g x over the whole view '
            'and inside the plane\'s silhouette (the plane\'s pixels in the target view; '
            f'silhouettes: {origin}), beside the object\'s sky alone and '
            f'the input view copied, on the same {block.get("num_pairs_per_element")} pairs '
            'per element. None: not defined (an exact copy at 0°, or no sky / silhouettes '
            'known).</p>' + page.table(rows, header))
    return page.Section(title, body)


def report_sections(run, dataset, out_dir: str) -> list:
    """The setting's sections of ``gla.analyze``'s page, from the run's ``eval.json``."""
    del dataset, out_dir
    return [report_section(setting_base.read_eval_json(run.workdir), run.element_names)]
