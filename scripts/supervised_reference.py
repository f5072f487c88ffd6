"""How well can the labels be read at all? A supervised classifier on a setting's volumes.

    PYTHONPATH=. python scripts/supervised_reference.py --config configs/adrenal3d.py \
        --seeds 0,1,2 [--epochs 30] [--features 8,32] [--config.data.phantom.num_train=4000]

The linear probe of eval.json reads a label from a code trained without labels; this script
gives the same labels to a network trained *with* them, as a ceiling for that probe: the
config's encoder (``Encoder(features)``, the same strided convolutions as the model's),
the mean and the maximum of its last layer over the latent's cells (invariant to the cube
group's permutations of the cells, like the cell-pooled code), one Dense to the classes;
cross-entropy, Adam 1e-3, the config's batch, every training volume under a random group
element each step (the probe's training features see elements too). The epoch with the best
validation accuracy is kept and scored on the test split upright and under every evaluation
element in turn, as eval.json scores the probe. The majority rate of the test split is
printed beside it. Used in docs/results.md (issue 16).
"""

import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
import flax.linen as nn

from absl import app
from absl import flags
from ml_collections import config_flags

from gla import groups
from gla import networks
from gla.data import sources


class PooledClassifier(nn.Module):
    """``(B, *spatial, C) -> (B, classes)``: the encoder, mean and max over cells, Dense."""
    features: tuple
    num_classes: int
    strided_conv: str

    @nn.compact
    def __call__(self, x):
        h = networks.Encoder(self.features, strided_conv=self.strided_conv)(x)
        cells = tuple(range(1, h.ndim - 1))
        return nn.Dense(self.num_classes)(jnp.concatenate([h.mean(cells), h.max(cells)], -1))


def train_and_score(config, features: tuple, epochs: int, seed: int) -> dict:
    dataset = sources.load_dataset(config.data)
    group = groups.get_group(config.group.name)
    train, val, test = dataset.train, dataset.val, dataset.test
    num_classes = int(max(train.labels.max(), test.labels.max())) + 1
    model = PooledClassifier(features, num_classes, config.model.strided_conv)
    key = jax.random.key(seed)
    params = model.init(key, jnp.asarray(train.images[:1]))['params']
    optimizer = optax.adam(1e-3)
    opt_state = optimizer.init(params)

    @jax.jit
    def step(params, opt_state, x, y, key):
        x = group.act(group.sample(key, x.shape[0]), x)

        def loss_fn(p):
            logits = model.apply({'params': p}, x)
            return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    @jax.jit
    def predict(params, x, g):
        return jnp.argmax(model.apply({'params': params}, group.act(g, x)), -1)

    def accuracy(params, split, element=None) -> float:
        right = 0
        for i in range(0, len(split), 50):
            x = jnp.asarray(split.images[i:i + 50])
            g = group.identity(len(x)) if element is None else jnp.full(
                (len(x),), element, jnp.int32)
            right += int((np.asarray(predict(params, x, g)) == split.labels[i:i + 50]).sum())
        return right / len(split)

    rng = np.random.default_rng(seed)
    batch = config.batch_size
    best = (-1.0, params, 0)
    for epoch in range(epochs):
        order = rng.permutation(len(train))
        for i in range(0, len(order) - batch + 1, batch):
            idx = order[i:i + batch]
            key, sub = jax.random.split(key)
            params, opt_state, _ = step(params, opt_state, jnp.asarray(train.images[idx]),
                                        jnp.asarray(train.labels[idx]), sub)
        val_acc = accuracy(params, val)
        if val_acc > best[0]:
            best = (val_acc, params, epoch + 1)
    val_acc, params, best_epoch = best
    elements = np.asarray(group.eval_elements())
    turned = np.mean([accuracy(params, test, int(e)) for e in elements])
    majority = np.bincount(test.labels).max() / len(test)
    return {'val': val_acc, 'epoch': best_epoch, 'upright': accuracy(params, test),
            'turned': float(turned), 'majority': float(majority)}


config_flags.DEFINE_config_file('config', None, 'PATH[:ARG], as launch.py reads it; '
                                '--config.FIELD=VALUE overrides a field.', lock_config=True)
flags.mark_flags_as_required(['config'])
flags.DEFINE_list('seeds', ['0', '1', '2'], 'Seeds, one classifier each.')
flags.DEFINE_integer('epochs', 30, 'Passes over the training split.')
flags.DEFINE_list('features', [], "Encoder widths, e.g. 8,32 (default: the config's).")
FLAGS = flags.FLAGS


def main(argv) -> None:
    del argv
    config = FLAGS.config
    features = tuple(int(f) for f in FLAGS.features) or tuple(config.model.encoder_features)
    results = []
    for seed in (int(s) for s in FLAGS.seeds):
        start = time.time()
        r = train_and_score(config, features, FLAGS.epochs, seed)
        results.append(r)
        print(f"seed {seed}: best epoch {r['epoch']} (val {r['val']:.3f}), test upright "
              f"{r['upright']:.3f}, turned {r['turned']:.3f}; majority {r['majority']:.3f}; "
              f'{time.time() - start:.0f} s', flush=True)
    for name in ('upright', 'turned'):
        values = np.array([r[name] for r in results])
        print(f'{name}: {100 * values.mean():.1f} +- {100 * values.std():.1f} % '
              f'(features {features}, {FLAGS.epochs} epochs, {len(results)} seeds)')


if __name__ == '__main__':
    app.run(main)
