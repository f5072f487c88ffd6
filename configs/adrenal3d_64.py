"""AdrenalMNIST3D at its stored 64^3 under the 24 rotations of the cube, sized for an accelerator.

    python launch.py --config configs/adrenal3d_64.py --workdir runs/adrenal3d_64

The bundled AdrenalMNIST3D volumes at the 64^3 they are stored at (MedMNIST splits 1188 / 98
/ 298), the cube group, Adam 1e-3, the ALD mask, evaluation as configs/adrenal3d.py.

Network: one stride-2 stage more than adrenal3d (3D convs 1 -> 8 -> 16 -> 32, 64^3 -> 32^3 ->
16^3 -> 8^3, mirrored sub-pixel transposed convs, tanh), 83,057 parameters. Why a third stage
rather than adrenal3d's two on 64^3 (a 16^3 x 32 latent): the latent stays adrenal3d's 8^3 x
32, so a latent cell covers the same eighth of each axis of the organ, the group acts on the
same 8^3 grid (cube rotations exact; SO(3) resamples the same grid), the 32 mask channels and
the invariant recipe's dense code on the flattened latent (16,384 inputs, 8x fewer than at
16^3) carry over unchanged, and runs compare with adrenal3d's. The price: a 16x bottleneck
(262,144 voxels -> 16,384 latent numbers) where adrenal3d has 2x, for binary shapes that
fill 1.7 % of the training voxels. Convolutions in the fast CPU forms (space-to-depth,
sub-pixel windows: the same function and parameters as XLA's strided and transposed
convolutions).

Batch 32, 40 epochs (37 steps an epoch, 1,480 steps): on an accelerator the step is cheap
(below), so the batch is sized for the device and the epochs for the number of updates.
Not yet trained: at 32^3, batch 32 sat at the all-background MSE for 7 to 10 epochs (259-370
steps; configs/adrenal3d.py, docs/results.md) and batch 8 left it; if this run stays there,
``--config.batch_size=8`` is the first thing to try.

Sizes of one training step, measured with

    python -m bench.size3d --config configs/adrenal3d_64.py --batch 2

(JAX 0.10.2, XLA:CPU on a 2-core x86-64 machine, nothing else running, 1-minute load
average 1.6-1.7), after the window form of the transposed convolutions and the im2col 3D
convolutions (gla/conv.py, docs/results.md "3D volumes that learn"):

* FLOPs per step at batch 32: 32.8 GFLOP by XLA (``cost_analysis()`` of the compiled step,
  elementwise work and Adam included), 32.0 GFLOP in the step's jaxpr, equal to the count by
  hand from the layer shapes as the conv forms compute them (29.0 GFLOP useful, 0.906 GFLOP a
  volume; the window form's extra ring of windows adds the rest). Per volume each forward
  layer is 33.6 / 67.1 / 33.6 MFLOP (encoder; the decoder mirrors it). Before the window form
  the sub-pixel form's zero taps made it 58.2 GFLOP by XLA.
* CPU step at batch 2: median 0.113 s after a warm-up (compile 4.5 s; 2.05 GFLOP, about 18
  GFLOP/s). Creating the initial state takes 10 s more (compiling the random
  initialisation, whatever the volume size).
* Memory on CPU (XLA:CPU ``memory_analysis()``, arguments + unaliased outputs +
  temporaries): one step 95 MB at batch 2 and 1.51 GB at batch 32 (temporaries 1.47 GB: the
  im2col copies, eight shifted views of each convolution's input); the program a run executes
  (``steps_per_dispatch`` = 10 steps, ten batches of 32 as arguments) 6.6 GB (337 MB
  arguments, 6.3 GB temporaries). The benchmark's peak resident memory 1.56 GB. A run also
  holds the data as float32 on the host: 1,584 volumes of 1.05 MB, 1.66 GB. On a GPU the
  3D convolutions stay XLA's (``gla.conv.valid_conv``): no im2col copies; before them the
  same step held 0.41 GB (batch 32) and the run's program 1.68 GB.

Projected, not measured, for one H100 SXM at batch 32 (about 32 GFLOP, and 2.85 GB of
memory traffic by XLA:CPU's count before the im2col form, a step). Float32 convolutions run
on TF32 tensor cores at JAX's default precision on Hopper; assuming 10 % of the dense TF32
peak of 495 TFLOP/s (convolutions of 1 to 32 channels use tensor cores poorly) gives 0.65
ms, and 50 % of the 3.35 TB/s memory bandwidth 1.7 ms; with the launch overheads of many
small kernels, about 2-4 ms a step, 8,000-16,000 volumes/s (with
``jax.default_matmul_precision('highest')``, 30 % of the 67 TFLOP/s FP32 peak: 1.6 ms). The
1,480 steps then take seconds; compiling, loading the data and evaluating set the wall time.
Device memory: 2-3 GB for the run's program (XLA:CPU's 1.68 GB, with room for the GPU's own
fusion and cuDNN workspaces), a few percent of 80 GB; JAX preallocates 75 % of it anyway.
On a GPU ``--config.model.conv_transpose=xla`` (cuDNN's transposed convolution, same
function) is the other choice; not measured either.
"""

import ml_collections

from configs import adrenal3d


def get_config() -> ml_collections.ConfigDict:
    config = adrenal3d.get_config()
    config.data.resolution = 64  # the stored 64^3, not resized (resize_spatial keeps it)

    # One more stride-2 stage than adrenal3d (64 -> 32 -> 16 -> 8): the same 8^3 x 32 latent.
    config.model.encoder_features = (8, 16, 32)  # 64^3 -> 32^3 x 8 -> 16^3 x 16 -> 8^3 x 32
    config.model.strided_conv = 'space_to_depth'  # same function as 'xla', faster on CPU
    config.model.conv_transpose = 'subpixel'  # same function as 'xla', faster on CPU

    config.batch_size = 32  # volumes per step (37 steps an epoch)
    config.num_epochs = 40  # 1,480 steps
    return config
