"""Rotated MNIST under C4 (quarter turns), faithful to the paper's published code.

    python launch.py --config configs/rotated_mnist.py --workdir runs/rotated_mnist

Trains the 66,753-parameter network (Conv 1->32->64, 7x7x64 latent, mirrored decoder, tanh)
from the published code's initialisation (PyTorch's defaults) with the ALD mask, Adam 1e-3,
batch 64, 50 epochs on the bundled 6,000 training digits, keeps the best-by-validation
checkpoint and evaluates it on the 1,000 test digits under all four rotations. Computed the
fast way on CPU (hybrid transposed convolutions, each batch's gradient in micro-batches of
16: the same training to float rounding). It reaches a test transformed PSNR of 29.55 +-
0.34 dB over seeds 0-2 (docs/results.md; Flax's initialisation, one override away with
--config.model.init=flax, gave 29.12 +- 0.17 dB) in 3 to 8 minutes on a 2-core CPU,
depending on the machine (docs/benchmarks.md).
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.seed = 0  # init, training pairs and data order all derive from it
    config.num_seeds = 1  # >1 trains seeds seed..seed+N-1 in one program (WORKDIR/seed<s>/)

    config.data = ml_collections.ConfigDict()
    config.data.source = 'bundled'  # 'bundled' | 'npz' | 'tfds' | 'phantom' | 'planes'
    config.data.name = 'mnist'  # bundled set: 8,000 real MNIST digits
    config.data.path = ''  # .npz file for source='npz' (images/labels or MedMNIST layout)
    config.data.spatial_ndim = 2  # 2 for images, 3 for volumes
    config.data.val_fraction = 0.125  # of a single-split file: 1,000 of the 8,000 digits
    config.data.test_fraction = 0.125  # likewise 1,000 test digits; 6,000 remain to train
    config.data.split_seed = 0  # seed of the stratified split
    config.data.max_train_examples = 0  # >0 keeps only the first N (stratified) examples
    config.data.max_val_examples = 0  # likewise for validation
    config.data.max_test_examples = 0  # likewise for test
    config.data.tfds_name = 'mnist'  # tensorflow-datasets name for source='tfds'
    config.data.tfds_data_dir = ''  # where prepared tfds data lives ('' = tfds default)
    config.data.tfds_download = False  # allow tfds to download (needs internet)
    config.data.resolution = 0  # >0 resizes every spatial axis to this size at load (0 = keep)

    config.group = ml_collections.ConfigDict()
    config.group.name = 'c4'  # the group acting on images: see gla.groups
    config.group.latent_action = 'grid'  # Phi_g: 'grid' acts on z_v as on images (rot90)
    config.group.max_frequency = 4  # 'fourier': channel pairs turn at frequencies 1..this
    # 'volumetric': the turn's axis leans this many radians towards the viewer (a camera
    # above the horizon; gla/latent_actions/volumetric.py); 0 = the image's vertical axis
    config.group.volume_tilt = 0.0
    # 'grid' actions: the latent grid read this many times finer, each cell's channels its
    # subcells^d sub-cells, so the group turns what lies inside a cell too (1 = the paper)
    config.group.subcells = 1

    config.model = ml_collections.ConfigDict()
    config.model.encoder_features = (32, 64)  # conv widths; the last is the latent width
    config.model.kernel_size = 4  # every conv and transposed conv
    config.model.stride = 2  # downsampling per encoder layer (28 -> 14 -> 7)
    config.model.negative_slope = 0.2  # LeakyReLU slope
    config.model.conv_transpose = 'hybrid'  # 'hybrid' (fastest 2D training on CPU) | 'subpixel' | 'xla': same fn
    config.model.strided_conv = 'xla'  # 'xla' | 'space_to_depth' (fast on CPU in 3D): same fn
    config.model.init = 'pytorch'  # where the published PyTorch code starts | 'flax' (LeCun, 0)
    # residual dilated 3x3 convs, one per dilation, before the encoder's last strided conv
    # and before the decoder's last upsampling (gla/networks.py DilatedContext); () = none
    config.model.encoder_context_dilations = ()
    config.model.decoder_context_dilations = ()
    # residual 3x3x3 convs, one per dilation, on the latent read as a feature volume (rows,
    # columns, depth = width, features): at the encoder's end and the decoder's start
    # (gla/networks.py LatentVolumeBlocks; 2D latents whose width divides their channels)
    config.model.latent_volume_dilations = ()
    # the encoder's grid (the paper) | 'grid_unit_rms': each part rescaled to RMS 1 | 'code':
    # a global vector, parts at RMS 1 (gla/latent_code.py)
    config.model.latent = 'grid'
    config.model.code_dim = 128  # entries of that code (latent='code')
    # how the code is read: 'dense' (a Dense layer on the grid) | 'tensor_moments' (3D
    # 'tensors': z_v = trace-free moments of the grid, turned with the volume) |
    # 'isotropic_moments' (the same moments of the input's own rotation-invariant
    # features: equivariant by construction; gla/tensor_moments.py)
    config.model.code_encoder = 'dense'
    # how the code is drawn: 'dense' (a Dense layer to the grid) | 'frame' (3D moments:
    # in a frame read off z_v, then turned into it; equivariant; gla/frame_decoder.py)
    config.model.code_decoder = 'dense'
    # code_decoder='yaw_volume' (gla/yaw_renderer.py): the pose from the code's encoder
    # ('shared'), from a network of its own ('separate'), or that and trained by L_const
    # alone ('detached')
    config.model.yaw_pose = 'shared'
    # >0: z_i is a global code LayerNorm(Dense(flatten z)) of this size, not the invariant
    # channels (gla/invariant_code.py; configs/rotated_mnist_invariant.py). 0 = the paper.
    config.model.invariant_code_dim = 0
    config.model.invariant_code_hidden = 0  # >0: a hidden layer of this width in that code
    config.model.invariant_code_stop_gradient = False  # True: no gradient from the code to E
    config.model.invariant_code_orbit_pool = False  # True: max-pool its hidden layer over Phi_k z_v
    config.model.invariant_code_cell_pool = False  # True: its hidden layer per cell of z_v, mean + max
    config.model.invariant_code_block = 1  # >1: latent averaged over blocks of this side first
    config.model.invariant_code_fills = 'invariant'  # the code feeds the decoder's 'invariant' | 'all' channels

    config.mask = ml_collections.ConfigDict()
    config.mask.kind = 'learned'  # 'learned' (ALD) | 'all_variant' | 'manual' | 'none' (plain AE)
    config.mask.tau = 0.5  # threshold on sigmoid(alpha)
    config.mask.init_std = 0.1  # alpha ~ N(0, init_std^2)
    config.mask.num_variant = 0  # for kind='manual': first k channels variant (0 = half)

    config.loss = ml_collections.ConfigDict()
    config.loss.lambda_inv = 1.0  # weight of L_inv
    config.loss.lambda_const = 1.0  # weight of L_const
    config.loss.lambda_var = 0.0  # VICReg variance term on the batch of z_i (0 = the paper)
    config.loss.lambda_cov = 0.0  # VICReg covariance term on the batch of z_i (0 = the paper)
    config.loss.lambda_ssim = 0.0  # weight of 1 - SSIM(prediction, T_g x) (0 = the paper)
    # weight of the pose's error against each training view's heading (yaw_volume decoder,
    # planes with canonical_views; 0 = no labels, the paper)
    config.loss.lambda_pose = 0.0
    config.loss.inv_target_shift = 0  # >0: L_inv's target is T_g x shifted by <= this many px

    config.blocks = ml_collections.ConfigDict()
    config.blocks.enabled = False  # True: the blocked setting (configs/blocked_mnist.py)

    config.pairs = ml_collections.ConfigDict()
    config.pairs.random_input_element = False  # train on (T_h x, T_g T_h x), random h

    config.optimizer = ml_collections.ConfigDict()
    config.optimizer.learning_rate = 1e-3  # Adam step size (constant, as the paper)
    config.optimizer.schedule = 'constant'  # 'constant' (the paper) | 'cosine' (decay to 0)

    config.batch_size = 64  # global batch, split over all devices
    config.num_epochs = 50  # passes over the training split
    config.steps_per_dispatch = 1  # steps fused into one call (same results to rounding)
    # On a CPU backend the gradient of each batch is taken this many images at a time: the
    # same results to rounding, 1.5x faster at batch 64 on 2 cores (docs/benchmarks.md);
    # 0 or >= batch_size: the whole batch at once (always so on accelerators)
    config.micro_batch_size = 16
    config.log_every_steps = 200  # a progress line and a metrics.jsonl row
    config.divergence_factor = 100.0  # a loss term above this x its best (or the floor) diverges
    config.divergence_floor = 1e-4  # best values below this count as this (tiny terms may wobble)
    config.divergence_action = 'rollback'  # 'warn' | 'stop' | 'rollback' (to the best, steps / 2)

    config.eval = ml_collections.ConfigDict()
    config.eval.batch_size = 500  # images per evaluation batch
    config.eval.val_pairs_seed = 1234  # the fixed group elements of the validation pairs
    config.eval.test_pairs_seed = 2468  # per-pair randomness of test pairs (if a setting has any)
    config.eval.probe_seed = 4321  # rotations of the probe's training images
    config.eval.probe_steps = 100  # L-BFGS iterations of the linear probe
    config.eval.probe_l2 = 1e-4  # L2 penalty of the linear probe (standardised features)
    config.eval.num_figure_images = 4  # test images shown in the figures
    return config
