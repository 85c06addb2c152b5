"""An exact float64 NumPy reference of training: one run at a time, plain loops, hand-written
gradients, each optimizer, schedule and regularization written from its formula (the
conventions of ``decaylab.engine``), sharing no code with the engine."""

from __future__ import annotations

import math

import numpy as np

SCHEDULES = {
    "constant": lambda t, steps, hp: hp["learning_rate"],
    "inverse_sqrt": lambda t, steps, hp: (
        hp["learning_rate"] / math.sqrt(1 + hp["decay_rate"] ** 2 * t)
    ),
    "exponential_per_epoch": lambda t, steps, hp: (
        hp["learning_rate"] * (1 - hp["decay_rate"]) ** (t // steps)
    ),
    "cosine": lambda t, steps, hp: (
        hp["learning_rate"]
        * (
            (1 - hp["alpha"])
            * 0.5
            * (1 + math.cos(math.pi * min(t, hp["decay_steps"]) / hp["decay_steps"]))
            + hp["alpha"]
        )
    ),
}


def glorot(seed, sizes):
    """Keras's glorot_uniform kernels from ``RandomState(seed)``, in layer order; zero biases."""
    rng = np.random.RandomState(seed)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        limit = math.sqrt(6 / (fan_in + fan_out))
        layers.append([rng.uniform(-limit, limit, (fan_in, fan_out)), np.zeros(fan_out)])
    return layers


def forward(layers, x):
    """tanh hidden layers, linear output; returns the activations of every layer."""
    activations = [x]
    for i, (w, b) in enumerate(layers):
        z = activations[-1] @ w + b
        activations.append(np.tanh(z) if i < len(layers) - 1 else z)
    return activations


def gradients(layers, x, y, hp, regularization):
    """Gradients of ``½·mean_rows mean_outputs (y − f)²`` plus the penalty, by backpropagation."""
    activations = forward(layers, x)
    delta = -(y - activations[-1]) / (len(x) * y.shape[1])
    grads = [None] * len(layers)
    for i in reversed(range(len(layers))):
        w = layers[i][0]
        grad_w = activations[i].T @ delta
        if regularization == "l2":
            grad_w = grad_w + hp["strength"] * w
        elif regularization == "l1":
            grad_w = grad_w + hp["strength"] * np.sign(w)
        grads[i] = [grad_w, delta.sum(axis=0)]
        if i:
            delta = (delta @ w.T) * (1 - activations[i] ** 2)
    return grads


class Optimizer:
    """Keras's update rules, one tensor at a time; ``state`` per (layer, kernel/bias)."""

    def __init__(self, name, hp, nesterov=False):
        self.name, self.hp, self.nesterov, self.state = name, hp, nesterov, {}

    def delta(self, key, g, lr, count):
        hp, s = self.hp, self.state
        if self.name == "sgd":
            return -lr * g
        if self.name == "momentum":
            m = hp["momentum"] * s.get(key, 0.0) - lr * g
            s[key] = m
            return hp["momentum"] * m - lr * g if self.nesterov else m
        if self.name == "adam":
            m, v = s.get(key, (0.0, 0.0))
            m = m + (g - m) * (1 - hp["beta_1"])
            v = v + (g * g - v) * (1 - hp["beta_2"])
            s[key] = (m, v)
            alpha = lr * math.sqrt(1 - hp["beta_2"] ** count) / (1 - hp["beta_1"] ** count)
            return -(m * alpha) / (np.sqrt(v) + hp["epsilon"])
        if self.name == "rmsprop":
            v, m = s.get(key, (0.0, 0.0))
            v = hp["rho"] * v + (1 - hp["rho"]) * g * g
            m = hp["momentum"] * m + lr * g / np.sqrt(v + hp["epsilon"])
            s[key] = (v, m)
            return -m
        if self.name == "adagrad":
            a = s.get(key, hp["initial_accumulator_value"]) + g * g
            s[key] = a
            return -lr * g / np.sqrt(a + hp["epsilon"])
        raise ValueError(self.name)


def train(x, y, sizes, optimizer, run, epochs, batch_size, shuffle, nesterov=False):
    """The final ``[[kernel, bias], …]`` of one run trained by mini-batch steps."""
    hp = run
    layers = glorot(int(hp["seed"]), sizes)
    opt = Optimizer(optimizer, hp, nesterov)
    rng = np.random.RandomState(int(hp["seed"]))
    n = len(x)
    steps = -(-n // batch_size)
    schedule = SCHEDULES[run["schedule"]]
    regularization = run["regularization"]
    for epoch in range(epochs):
        order = rng.permutation(n) if shuffle else np.arange(n)
        for s in range(steps):
            t = epoch * steps + s
            rows = order[s * batch_size : (s + 1) * batch_size]
            lr = schedule(t, steps, hp)
            grads = gradients(layers, x[rows], y[rows], hp, regularization)
            decay = {
                "decoupled_lr": lr * hp["strength"],
                "decoupled": lr / hp["learning_rate"] * hp["strength"],
            }
            rate = decay.get(regularization, 0.0)
            for i, (layer, grad) in enumerate(zip(layers, grads, strict=True)):
                for j, (p, g) in enumerate(zip(layer, grad, strict=True)):
                    update = opt.delta((i, j), g, lr, t + 1)
                    if j == 0:  # kernels decay, biases do not
                        update = update - rate * p
                    layer[j] = p + update
    return layers
