"""A trained run as a plain keras.Model: the engine's outputs, from Keras layers alone."""

import numpy as np
import pytest

from decaylab import export, models

SPECS = {
    "polynomial": (models.ModelSpec("polynomial", degree=3), (), 2),
    "mlp, batch norm": (
        models.ModelSpec("mlp", hidden=(6, 5), activation="tanh", normalization="batch"),
        (),
        3,
    ),
    "mlp, layer norm, scale-invariant": (
        models.ModelSpec("mlp", hidden=(7,), normalization="layer", affine=False, fixed_head=True),
        (),
        4,
    ),
    "cnn 1-d, batch norm": (
        models.ModelSpec("cnn", filters=(4, 3), kernel_size=3, hidden=(5,), normalization="batch"),
        (12, 2),
        3,
    ),
    "cnn 2-d": (models.ModelSpec("cnn", filters=(3,), kernel_size=3, hidden=()), (6, 6, 1), 2),
}


@pytest.mark.parametrize("name", SPECS)
def test_the_keras_model_computes_the_engines_outputs(name, tmp_path):
    import keras

    spec, input_shape, n_out = SPECS[name]
    rng = np.random.default_rng(0)
    n_features = int(np.prod(input_shape)) if input_shape else 2
    fan_in = n_features * (spec.degree if spec.kind == "polynomial" else 1)
    stacked = models.init_params(spec, input_shape or (fan_in,), n_out, seeds=[0, 1, 2])
    for layer in stacked:  # move every value off its initial constant, running statistics too
        for key, value in layer.items():
            layer[key] = value + rng.normal(scale=0.1, size=value.shape)
            if key == "moving_variance":
                layer[key] = np.abs(layer[key]) + 0.5
    x = rng.normal(size=(9, n_features))
    run = 2
    weights = [{k: v.astype(np.float32) for k, v in layer.items()} for layer in stacked]
    parameters, statistics = models.split_statistics(weights)
    inputs = models.features(spec, x, input_shape).astype(np.float32)
    engine = np.asarray(
        models.apply(
            spec,
            parameters,
            np.broadcast_to(inputs, (3, *inputs.shape)).copy(),
            statistics,
        )
    )[run]
    model = export.keras_model(spec, export.run_weights(stacked, run), input_shape)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(x.astype(np.float32), verbose=0), engine, atol=1e-5)
