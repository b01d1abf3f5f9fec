#!/usr/bin/env python3
"""A torchcrepe-tiny-sized CNN as a Keras .h5, and 8 probe frames, for timing the data audit.

Layout of CREPE 'tiny' (Kim et al. 2018; torchcrepe's `tiny` capacity): a 1024-sample frame,
six convolutions (filters 128, 16, 16, 16, 32, 64; kernels 512, 64, 64, 64, 64, 64; the first with
stride 4), each followed by ReLU, BatchNorm and max pooling by 2, then a dense layer to 360 pitch
bins — 487 k parameters, ~2 MB of float32 weights. Random seeded weights (the timing does not depend
on them); written with Keras 3 (jax backend) to OUT (default /tmp/crepe_tiny).

Usage: python3 bench/make_crepe_tiny.py [OUT]
"""
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
import numpy as np  # noqa: E402
import keras  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/crepe_tiny"
os.makedirs(out, exist_ok=True)
L = keras.layers
rng = np.random.default_rng(0)
x = L.Input((1024, 1), name="frame")
h = x
for i, (f, k, s) in enumerate(zip([128, 16, 16, 16, 32, 64], [512, 64, 64, 64, 64, 64], [4, 1, 1, 1, 1, 1])):
    h = L.Conv1D(f, k, strides=s, padding="same", activation="relu", name=f"conv{i + 1}")(h)
    h = L.BatchNormalization(name=f"bn{i + 1}")(h)
    h = L.MaxPooling1D(2, name=f"pool{i + 1}")(h)
h = L.Flatten(name="flatten")(h)
y = L.Dense(360, name="classifier")(h)
model = keras.Model(x, y, name="crepe_tiny")
for layer in model.layers:
    ws = layer.get_weights()
    if ws:
        if layer.__class__.__name__ == "BatchNormalization":
            layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(w.dtype) for w in ws])
        else:
            layer.set_weights([(rng.normal(0, 1, w.shape) / np.sqrt(np.prod(w.shape[:-1]))).astype(w.dtype) for w in ws])
model.save(os.path.join(out, "crepe_tiny.h5"))
np.save(os.path.join(out, "probe8.npy"), rng.normal(0, 1, (8, 1024, 1)))
np.save(os.path.join(out, "labels8.npy"), rng.integers(0, 360, 8))
print(out, model.count_params(), "parameters")
