"""The planes setting's view-synthesis metrics (whole-view and silhouette PSNR beside the
sky-only and copy-input predictors) and its views from a user's .npz instead of the renderer."""

import dataclasses
import json

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

import gla
from gla import config_checks
from gla import groups
from gla import models
from gla import run as run_lib
from gla.data import sources
from gla.settings.planes import data as planes_data
from gla.settings.planes import evaluate as planes_evaluate
from gla.settings.planes import render
from gla.settings.planes import synthesis
from gla.settings.planes import views_npz


def _config(tmp_path, **planes):
    """configs/test_planes.py cut to 4 / 2 / 3 objects of 8 views, 32x32, cached in tmp."""
    from configs import test_planes
    config = test_planes.get_config()
    p = config.data.planes
    p.num_train, p.num_val, p.num_test, p.cache_dir = 4, 2, 3, str(tmp_path / 'cache')
    config.data.max_train_examples = config.data.max_val_examples = 0
    config.data.max_test_examples = 0
    p.update(planes)
    return config


@pytest.fixture(scope='module')
def rendered():
    return render.render_planes(3, num_views=8, size=16, seed=3)


def _unit(a):
    return a.astype(np.float32) / 127.5 - 1.0


# --- the metrics, by hand -----------------------------------------------------------------

def test_silhouette_psnr_by_hand_ignores_the_sky_and_averages_channels():
    target = np.zeros((1, 2, 2, 3))
    prediction = np.zeros((1, 2, 2, 3))
    prediction[0, 0, 0] = [0.5, 0.5, 0.5]  # in the silhouette: squared error 0.25 x 3
    prediction[0, 1, 0, 0] = 2.0  # in the silhouette: 4 in one channel
    prediction[0, 0, 1] = 1.0  # outside (the sky): must not count
    silhouette = np.array([[[True, False], [True, False]]])
    mse = (3 * 0.25 + 4.0) / (2 * 3)  # two pixels, three channels
    np.testing.assert_allclose(synthesis.silhouette_psnr(prediction, target, silhouette),
                               [10 * np.log10(4 / mse)], rtol=1e-12)
    # The whole-view PSNR does count the sky pixel.
    whole = (3 * 0.25 + 4.0 + 3 * 1.0) / 12
    np.testing.assert_allclose(synthesis.psnr(prediction, target), [10 * np.log10(4 / whole)])


def test_silhouette_psnr_of_an_exact_plane_is_inf_and_of_no_plane_nan():
    target = np.linspace(-1, 1, 2 * 4 * 4 * 3).reshape(2, 4, 4, 3)
    prediction = target.copy()
    prediction[:, 0, 0] += 0.3  # wrong only outside the silhouette
    silhouette = np.zeros((2, 4, 4), bool)
    silhouette[0, 1:3, 1:3] = True  # object 1 has no plane pixel at all
    got = synthesis.silhouette_psnr(prediction, target, silhouette)
    assert got[0] == np.inf and np.isnan(got[1])
    assert synthesis.finite_mean(got) is None
    assert synthesis.finite_mean([np.inf, 10.0, np.nan, 20.0]) == 15.0


def test_sky_silhouettes_are_the_renderers_plane_mask(rendered):
    masks = synthesis.sky_silhouettes(_unit(rendered['images']), _unit(rendered['sky']))
    np.testing.assert_array_equal(masks, rendered['plane_mask'])
    assert masks.any() and not masks.all()


def test_sky_only_silhouette_psnr_equals_a_hand_computation_on_rendered_views(rendered):
    views, sky, masks = _unit(rendered['images']), _unit(rendered['sky']), rendered['plane_mask']
    target = views[:, 5]
    scores = synthesis.pair_scores(target, target, views[:, 1], sky, masks[:, 5])
    for n in range(3):
        inside = [(float(sky[n, i, j, c]) - float(target[n, i, j, c])) ** 2
                  for i in range(16) for j in range(16) if masks[n, 5, i, j] for c in range(3)]
        expected = 10 * np.log10(4 / (sum(inside) / len(inside)))
        np.testing.assert_allclose(scores['silhouette_psnr_db']['sky_only'][n], expected,
                                   rtol=1e-6)
    # The sky-only guess is exact outside the plane: its whole-view error is the same sum.
    np.testing.assert_allclose(scores['psnr_db']['sky_only'], 10 * np.log10(
        4 / (np.sum(np.square(sky - target), axis=(1, 2, 3)) / (16 * 16 * 3))), rtol=1e-6)
    assert np.all(scores['silhouette_psnr_db']['model'] == np.inf)  # the prediction is exact


# --- the evaluation pass, with stand-in models --------------------------------------------

@dataclasses.dataclass
class _StandIn:
    """A run whose "model" copies its input or paints the input's sky: its scores must equal
    that predictor's, pair for pair."""
    group: object
    config: ml_collections.ConfigDict
    paint: str
    skies: np.ndarray
    owner: dict  # the bytes of a view -> its object

    def transform(self, x, g):
        del g
        if self.paint == 'copy':
            return x
        return np.stack([self.skies[self.owner[v.tobytes()]] for v in x])


def _stand_in(paint, rendered, seed=7):
    config = ml_collections.ConfigDict({'eval': {'test_pairs_seed': seed}})
    owner = {v.tobytes(): n for n, views in enumerate(_unit(rendered['images'])) for v in views}
    return _StandIn(groups.get_group('yaw4'), config, paint, _unit(rendered['sky']), owner)


def _scene(rendered):
    return planes_data.Scene(_unit(rendered['sky']), rendered['plane_mask'], 'test')


@pytest.mark.parametrize('paint, predictor', [('copy', 'copy_input'), ('sky', 'sky_only')])
def test_a_model_that_copies_or_paints_the_sky_scores_as_that_baseline(rendered, paint,
                                                                       predictor):
    out = synthesis.view_synthesis(_stand_in(paint, rendered), _unit(rendered['images']),
                                   _scene(rendered), batch_size=2)
    assert list(out['per_group_element']) == ['0°', '90°', '180°', '270°']
    for block in list(out['per_group_element'].values()) + [out['turned']]:
        for metric in synthesis.METRICS:
            assert block[metric]['model'] == block[metric][predictor]
    assert out['per_group_element']['0°']['psnr_db']['copy_input'] is None  # exact copies
    assert out['num_pairs_per_element'] == 3 and out['silhouettes'] == 'test'


def test_turned_means_pair_view_k0_with_k0_plus_g_steps(rendered):
    out = synthesis.view_synthesis(_stand_in('copy', rendered), _unit(rendered['images']),
                                   _scene(rendered), batch_size=4)
    views, sky, masks = _unit(rendered['images']), _unit(rendered['sky']), rendered['plane_mask']
    starts = np.random.default_rng(7).integers(0, 8, size=(4, 3))  # (element, object)
    values = [synthesis.silhouette_psnr(sky[n:n + 1], views[n:n + 1, (k0 + 2 * g) % 8],
                                        masks[n:n + 1, (k0 + 2 * g) % 8])[0]
              for g in (1, 2, 3) for n, k0 in enumerate(starts[g])]
    np.testing.assert_allclose(out['turned']['silhouette_psnr_db']['sky_only'],
                               np.mean(values), rtol=1e-9)
    share = np.mean([masks[n, (k0 + 2 * g) % 8].mean() for g in range(4)
                     for n, k0 in enumerate(starts[g])])
    np.testing.assert_allclose(out['plane_pixel_share'], share, rtol=1e-9)


def test_unknown_sky_and_silhouettes_leave_those_numbers_out(rendered):
    out = synthesis.view_synthesis(_stand_in('copy', rendered), _unit(rendered['images']),
                                   planes_data.Scene(None, None, None), batch_size=3)
    assert out['turned']['silhouette_psnr_db'] == dict.fromkeys(synthesis.PREDICTORS)
    assert out['turned']['psnr_db']['sky_only'] is None
    assert out['turned']['psnr_db']['model'] is not None and out['plane_pixel_share'] is None


def test_the_real_model_path_writes_every_planes_entry(tmp_path):
    config = _config(tmp_path)
    dataset = sources.load_dataset(config.data)
    group = groups.group_from_config(config.group)
    model = models.build_model(config, group, 3)
    params = jax.jit(model.init)(jax.random.key(0), jnp.zeros((1, 32, 32, 3)),
                                 group.identity(1))['params']
    run = run_lib.Run(workdir=str(tmp_path), config=config, group=group, model=model,
                      params=params, step=0, progress={'image_shape': [32, 32, 3]})
    out = planes_evaluate.evaluate(run, dataset, batch_size=8)
    assert out['background_swap']['num_pairs'] == 3
    block = out['view_synthesis']
    assert block['silhouettes'].startswith('rendered')
    for metric in synthesis.METRICS:
        for predictor in synthesis.PREDICTORS:
            assert np.isfinite(block['turned'][metric][predictor])
    # The report page shows the numbers, from eval.json.
    section = synthesis.report_section(out, run.element_names)
    assert f'{block["turned"]["silhouette_psnr_db"]["sky_only"]:.4g}' in section.body
    (tmp_path / 'eval.json').write_text(json.dumps(out))
    assert synthesis.report_sections(run, dataset, '')[0].body == section.body


def test_the_table_has_the_baselines_beside_the_silhouette_psnr(tmp_path):
    turned = {'psnr_db': {'model': 20.0, 'sky_only': 18.0, 'copy_input': 15.0},
              'silhouette_psnr_db': {'model': 12.0, 'sky_only': 6.5, 'copy_input': 9.25}}
    (tmp_path / 'config.json').write_text(json.dumps(
        {'seed': 0, 'group': {'latent_action': 'volumetric'}}))
    (tmp_path / 'eval.json').write_text(json.dumps({'view_synthesis': {'turned': turned}}))
    posed = tmp_path / 'posed'
    posed.mkdir()
    (posed / 'config.json').write_text(json.dumps(
        {'seed': 1, 'group': {'latent_action': 'fourier'}}))
    (posed / 'eval.json').write_text(json.dumps(
        {'view_synthesis': {'turned': turned},
         'pose': {'winds_with_yaw': 0.9, 'heading_error_deg': {'median': 14.5, 'mean': 20.0}}}))
    header, _, row, posed_row = planes_evaluate.tabulate(
        [str(tmp_path), str(posed)]).splitlines()[:4]
    assert header.endswith('| silhouette PSNR, g ≠ 0 (dB) | sky-only silhouette PSNR | '
                           'copy-input silhouette PSNR | pose: heading error, median (°) |')
    assert row.endswith('| 18 | 15 | 12 | 6.5 | 9.25 | n/a |')
    assert posed_row.endswith('| 18 | 15 | 12 | 6.5 | 9.25 | 14.5 |')


# --- views from a file ----------------------------------------------------------------------

def _write_views(tmp_path, raw, **changes):
    """The rendered ``raw`` as a user's file: yaws (N, V) from a per-object start angle."""
    v = raw['images'].shape[1]
    starts = np.arange(len(raw['images']))[:, None] * 37.0 - 50.0
    arrays = dict(views=raw['images'], yaws=starts + 360.0 * np.arange(v) / v,
                  labels=raw['labels'], sky=raw['sky'])
    arrays.update(changes)
    path = str(tmp_path / 'views.npz')
    np.savez(path, **{k: a for k, a in arrays.items() if a is not None})
    return path


def test_views_from_a_file_give_the_rendered_splits_pairs_and_scene(tmp_path):
    config = _config(tmp_path)
    rendered = sources.load_dataset(config.data)
    p = config.data.planes
    raw = render.load_or_render(p.cache_dir, 9, p.num_views, p.image_size, p.seed)
    from_file = _config(tmp_path, path=_write_views(tmp_path, raw))
    dataset = sources.load_dataset(from_file.data)
    assert dataset.num_views == 8 and dataset.description.startswith('planes:')
    pair_fn = planes_data.pair_fn(config, groups.group_from_config(config.group))
    g = jnp.array([0, 1, 2, 3], jnp.int32)
    for name in ('train', 'val', 'test'):
        a, b = getattr(rendered, name), getattr(dataset, name)
        np.testing.assert_array_equal(a.images, b.images)
        np.testing.assert_array_equal(a.labels, b.labels)
        for got, want in zip(pair_fn(jax.random.key(4), b.images[:2], g[:2]),
                             pair_fn(jax.random.key(4), a.images[:2], g[:2])):
            np.testing.assert_array_equal(got, want)
    want = planes_data.test_scene(config, rendered.test.images)
    got = planes_data.test_scene(from_file, dataset.test.images)
    np.testing.assert_array_equal(got.skies, want.skies)
    np.testing.assert_array_equal(got.silhouettes, want.silhouettes)
    np.testing.assert_array_equal(got.silhouettes, raw['plane_mask'][6:])
    # Stored silhouettes win over the sky; yaws (V,) and no labels are fine too.
    marked = np.zeros_like(raw['plane_mask'])
    marked[:, :, 0, 0] = True
    path = _write_views(tmp_path, raw, silhouettes=marked, sky=None, labels=None,
                        yaws=np.arange(8) * 45.0)
    scene = planes_data.test_scene(_config(tmp_path, path=path), dataset.test.images)
    assert scene.skies is None and scene.origin == 'file: silhouettes'
    np.testing.assert_array_equal(scene.silhouettes, marked[6:])
    assert set(sources.load_dataset(_config(tmp_path, path=path).data).train.labels) == {0}


def _circular_degrees(a):
    return np.abs(np.mod(a + 180.0, 360.0) - 180.0)


def test_views_in_heading_order_put_view_k_within_half_a_step_of_k_steps(tmp_path):
    """config.data.planes.canonical_views (the labels of loss.lambda_pose): rendered or read
    from a file, each object's views are rolled so that view k faces 45k degrees (8 views)."""
    config = _config(tmp_path)
    p = config.data.planes
    raw = render.load_or_render(p.cache_dir, 9, p.num_views, p.image_size, p.seed)
    path = _write_views(tmp_path, raw)
    yaws = np.load(path)['yaws']  # (9, 8): view j of object n at yaws[n, j]
    marked = np.zeros_like(raw['plane_mask'])
    marked[np.arange(9), np.arange(9) % 8, 0, 0] = True  # one marked view per object
    with_masks = _write_views(tmp_path, raw, silhouettes=marked)
    rendered_yaws = (planes_data.rendered_headings(p.seed, 9)[:, None]
                     + 360.0 * np.arange(8) / 8)
    for source, headings in (({}, rendered_yaws), (dict(path=with_masks), yaws)):
        canonical = _config(tmp_path, canonical_views=True, **source)
        dataset = sources.load_dataset(canonical.data)
        assert dataset.description.endswith('views in heading order')
        images = np.concatenate([dataset.train.images, dataset.val.images, dataset.test.images])
        for n in range(9):
            for k in range(8):
                matches = [j for j in range(8)
                           if np.array_equal(images[n, k], _unit(raw['images'][n, j]))]
                assert len(matches) == 1 and _circular_degrees(
                    headings[n, matches[0]] - 45.0 * k) <= 22.5, (source, n, k, matches)
    scene = planes_data.test_scene(canonical, dataset.test.images)
    shifts = planes_data.heading_shifts(yaws[6:, 0], 8)
    for i, shift in enumerate(shifts):  # the stored silhouettes rolled with their views
        np.testing.assert_array_equal(scene.silhouettes[i], np.roll(marked[6 + i], shift, 0))
    # The pairs say which view each input is: its index, the heading in steps of 45 degrees.
    pair_fn = planes_data.pair_fn(canonical, groups.group_from_config(canonical.group))
    x, target, views = pair_fn(jax.random.key(1), dataset.train.images,
                               jnp.array([0, 1, 2, 3], jnp.int32), input_views=True)
    np.testing.assert_array_equal(x, dataset.train.images[np.arange(4), views])
    np.testing.assert_array_equal(
        target, dataset.train.images[np.arange(4), (np.asarray(views) + 2 * np.arange(4)) % 8])


def _bad_files(raw):
    views = raw['images']
    nan_views = _unit(views)
    nan_views[0, 1, 2, 3, 0] = np.nan
    shuffled = np.arange(8) * 45.0
    shuffled[[2, 3]] = shuffled[[3, 2]]
    return {
        'rank 4': (dict(views=views[..., 0]), 'channel axis'),
        'yaws for other views': (dict(yaws=np.arange(6) * 60.0), r'expected \(8,\) or \(9, 8\)'),
        'yaws off the group steps': (dict(yaws=shuffled), 'steps of 45°'),
        'non-finite views': (dict(views=nan_views), 'NaN or infinite'),
        'views out of range': (dict(views=_unit(views) * 3), r'float views span \[-2.88'),
        'sky on another scale': (dict(sky=_unit(raw['sky'])), 'same scale'),
        'silhouettes of another size': (dict(silhouettes=raw['plane_mask'][:, :, :4]),
                                        r'silhouettes has shape'),
        'float labels': (dict(labels=raw['labels'] + 0.5), 'labels must be integers'),
        'no yaws': (dict(yaws=None), r"lacks \['yaws'\]"),
    }


@pytest.mark.parametrize('case', ['rank 4', 'yaws for other views', 'yaws off the group steps',
                                  'non-finite views', 'views out of range',
                                  'sky on another scale', 'silhouettes of another size',
                                  'float labels', 'no yaws'])
def test_a_bad_views_file_is_a_user_error_naming_the_problem(tmp_path, case):
    raw = render.render_planes(9, num_views=8, size=32, seed=0)
    changes, message = _bad_files(raw)[case]
    config = _config(tmp_path, path=_write_views(tmp_path, raw, **changes))
    with pytest.raises(views_npz.ViewsFileError, match=message) as info:
        sources.load_dataset(config.data)
    assert isinstance(info.value, gla.UserError)


def test_too_few_objects_other_view_counts_and_missing_files_are_user_errors(tmp_path):
    raw = render.render_planes(5, num_views=8, size=32, seed=0)
    path = _write_views(tmp_path, raw)
    with pytest.raises(gla.UserError, match='holds 5 objects .* ask for 9'):
        sources.load_dataset(_config(tmp_path, path=path).data)
    with pytest.raises(gla.UserError, match='num_views=4'):
        sources.load_dataset(_config(tmp_path, path=path, num_views=4).data)
    with pytest.raises(gla.UserError, match='no such file'):
        sources.load_dataset(_config(tmp_path, path=str(tmp_path / 'none.npz')).data)


def test_views_that_do_not_divide_into_the_group_steps_are_a_config_error(tmp_path):
    config = _config(tmp_path, num_views=6)
    assert any('num_views=6 must be a multiple of the order 4 of yaw4' in p
               for p in config_checks.config_problems(config))
