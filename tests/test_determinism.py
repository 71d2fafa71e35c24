"""Seeds decide everything random: initial weights, dropout masks, the shuffling of
``fit`` and sampling draws.  The same seed gives the same draws, on both backends
(the recurrent layers' ``backend="numba"`` included); another seed gives other draws.
"""

import numpy as np
import pytest

import scratchrnn as sr
from scratchrnn import layers, sampling, text

BACKENDS = ("numpy", "numba")
RECURRENT = (layers.SimpleRNN, layers.LSTM, layers.GRU)


def differ(a, b):
    """Whether two lists of arrays differ anywhere."""
    return any(x.shape != y.shape or not np.array_equal(x, y) for x, y in zip(a, b))


def same(a, b):
    return len(a) == len(b) and not differ(a, b)


# --- initial weights ---------------------------------------------------------------------

#: Each weighted layer from a seed, and inputs that build it.
WEIGHTED = {
    "SimpleRNN": (lambda s, b: layers.SimpleRNN(3, seed=s, backend=b), (2, 4, 3)),
    "LSTM": (lambda s, b: layers.LSTM(3, seed=s, backend=b), (2, 4, 3)),
    "GRU": (lambda s, b: layers.GRU(3, seed=s, backend=b), (2, 4, 3)),
    "Bidirectional": (lambda s, b: layers.Bidirectional(layers.LSTM(3, seed=s, backend=b)),
                      (2, 4, 3)),
    "Dense": (lambda s, b: layers.Dense(3, seed=s), (2, 5)),
    "TimeDistributed": (lambda s, b: layers.TimeDistributed(layers.Dense(3, seed=s)),
                        (2, 4, 5)),
    "Conv1D": (lambda s, b: layers.Conv1D(3, 2, seed=s), (2, 4, 5)),
    "Embedding": (lambda s, b: layers.Embedding(7, 3, seed=s), None),
}


def initial_weights(name, seed, backend):
    make, shape = WEIGHTED[name]
    layer = make(seed, backend)
    if shape is not None:
        layer(np.ones(shape))
    return layer.get_weights()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(WEIGHTED))
def test_initial_weights_follow_the_seed(name, backend):
    first = initial_weights(name, 7, backend)
    assert same(first, initial_weights(name, 7, backend))
    assert differ(first, initial_weights(name, 8, backend))


def test_bahdanau_attention_weights_follow_the_seed():
    def weights(seed):
        layer = layers.BahdanauAttention(4, seed=seed)
        layer(np.ones((2, 3)), np.ones((2, 5, 6)))
        return layer.get_weights()
    assert same(weights(3), weights(3))
    assert differ(weights(3), weights(4))


def test_the_backend_does_not_change_the_initial_weights():
    for cls in RECURRENT:
        assert same(*[initial_weights(cls.__name__, 5, b) for b in BACKENDS])


# --- dropout masks -------------------------------------------------------------------------

def recurrent_masks(cls, seed, backend, calls=2):
    """The dropout masks and outputs of ``calls`` training calls of a fresh layer."""
    layer = cls(4, dropout=0.4, recurrent_dropout=0.3, seed=seed, backend=backend)
    x = np.random.default_rng(0).normal(size=(3, 5, 2))
    drawn = []
    for _ in range(calls):
        y = layer(x, training=True)
        drawn += [layer.dropout_mask, layer.recurrent_dropout_mask, y]
    return drawn


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("cls", RECURRENT, ids=lambda c: c.__name__)
def test_recurrent_dropout_masks_follow_the_seed(cls, backend):
    first = recurrent_masks(cls, 11, backend)
    assert same(first, recurrent_masks(cls, 11, backend))
    assert differ(first[:2], recurrent_masks(cls, 12, backend)[:2])
    assert differ(first[:2], first[3:5])          # each call draws new masks


@pytest.mark.parametrize("cls", RECURRENT, ids=lambda c: c.__name__)
def test_dropout_masks_are_the_same_on_both_backends(cls):
    numpy_draws, numba_draws = (recurrent_masks(cls, 2, b) for b in BACKENDS)
    masks = [i for i in range(len(numpy_draws)) if i % 3 != 2]
    assert same([numpy_draws[i] for i in masks], [numba_draws[i] for i in masks])
    for i in range(2, len(numpy_draws), 3):       # and the outputs agree to rounding
        np.testing.assert_allclose(numpy_draws[i], numba_draws[i], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", [
    lambda s: layers.Dropout(0.5, seed=s),
    lambda s: layers.Dropout(0.5, noise_shape=(None, 1, None), seed=s),
], ids=["Dropout", "Dropout-noise-shape"])
def test_dropout_layer_masks_follow_the_seed(make):
    x = np.ones((4, 3, 5))

    def masks(seed):
        layer = make(seed)
        return [(layer(x, training=True), layer.dropout_mask)[1] for _ in range(2)]
    assert same(masks(1), masks(1))
    assert differ(masks(1), masks(2))


def test_attention_dropout_masks_follow_the_seed():
    q, v = np.ones((2, 3, 4)), np.ones((2, 5, 4))

    def masks(seed):
        layer = layers.AdditiveAttention(dropout=0.5, seed=seed)
        return [(layer([q, v], training=True), layer.dropout_mask)[1] for _ in range(2)]
    assert same(masks(1), masks(1))
    assert differ(masks(1), masks(2))


# --- fit: shuffling and whole training runs ---------------------------------------------------

class Recorder(layers.Layer):
    """The identity, keeping every batch it sees (to read ``fit``'s sample order)."""

    supports_masking = True

    def __init__(self):
        super().__init__(dtype="float64")
        self.seen = []

    def call(self, x, mask=None, training=False):
        self.seen.append(x[:, 0, 0].copy())
        self._tape = x.shape
        return x

    def backward(self, d_out):
        self._gradients = []
        return d_out


def fit_order(seed, shuffle=True):
    """The sample ids in the order ``fit`` fed them, over 2 epochs."""
    recorder = Recorder()
    model = sr.Sequential([sr.Input((2, 1), dtype="float64"), recorder,
                           layers.SimpleRNN(2, seed=0, dtype="float64")], seed=seed)
    model.compile("sgd", "mse")
    recorder.seen = []        # making the graph called it on trial inputs, as Keras traces it
    x = np.arange(12, dtype=np.float64).reshape(12, 1, 1).repeat(2, axis=1)
    model.fit(x, np.zeros((12, 2)), batch_size=4, epochs=2, shuffle=shuffle, verbose=0)
    return np.concatenate(recorder.seen).astype(int)


def test_fit_shuffles_by_the_model_seed():
    order = fit_order(seed=3)
    np.testing.assert_array_equal(order, fit_order(seed=3))
    assert not np.array_equal(order, fit_order(seed=4))
    assert not np.array_equal(order[:12], order[12:])     # a new permutation each epoch
    assert sorted(order[:12]) == list(range(12))
    np.testing.assert_array_equal(fit_order(seed=3, shuffle=False), np.tile(np.arange(12), 2))


def trained_weights(backend, model_seed=0):
    """Weights after 2 epochs of a model with dropout everywhere, all seeds fixed."""
    kw = dict(seed=1, backend=backend)
    model = sr.Sequential([
        sr.Input((6, 3)),
        layers.LSTM(5, return_sequences=True, dropout=0.2, recurrent_dropout=0.2, **kw),
        layers.GRU(4, return_sequences=True, dropout=0.1, **kw),
        layers.SimpleRNN(3, recurrent_dropout=0.1, **kw),
        layers.Dropout(0.3, seed=2),
        layers.Dense(2, seed=3),
    ], seed=model_seed)
    model.compile("adam", "mse")
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(20, 6, 3)), rng.normal(size=(20, 2))
    history = model.fit(x, y, batch_size=6, epochs=2, verbose=0, validation_split=0.2)
    return model.get_weights(), history.history


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_seeded_model_trains_to_identical_weights(backend):
    weights, history = trained_weights(backend)
    again, history_again = trained_weights(backend)
    assert same(weights, again)                            # bit for bit
    assert history == history_again
    assert differ(weights, trained_weights(backend, model_seed=1)[0])


# --- sampling ----------------------------------------------------------------------------------

def test_sample_draws_follow_the_seed():
    logits = np.random.default_rng(0).normal(size=(50, 6))
    first = sampling.sample(logits, rng=5)
    np.testing.assert_array_equal(first, sampling.sample(logits, rng=5))
    assert not np.array_equal(first, sampling.sample(logits, rng=6))
    generator = np.random.default_rng(5)                   # a Generator is used and advanced
    np.testing.assert_array_equal(sampling.sample(logits, rng=generator), first)
    assert not np.array_equal(sampling.sample(logits, rng=generator), first)


@pytest.mark.parametrize("options", [{}, {"top_k": 3}, {"top_p": 0.8, "temperature": 1.5}])
def test_filtered_sample_draws_follow_the_seed(options):
    probs = np.random.default_rng(1).dirichlet(np.ones(8), size=40)
    draw = [sampling.sample(probs, rng=2, from_probs=True, **options) for _ in range(2)]
    np.testing.assert_array_equal(*draw)
    assert not np.array_equal(draw[0], sampling.sample(probs, rng=3, from_probs=True,
                                                       **options))


@pytest.mark.parametrize("backend", BACKENDS)
def test_generated_text_follows_the_seed(backend):
    vocabulary = text.char_vocabulary("the quick brown fox jumps over the lazy dog")
    model = sr.Sequential([
        sr.Input((None,), dtype="int64"), layers.Embedding(vocabulary.size, 4, seed=0),
        layers.LSTM(8, seed=0, backend=backend),
        layers.Dense(vocabulary.size, activation="softmax", seed=0)])

    def generate(seed):
        return sampling.generate_text(model, "the ", 30, temperature=1.5,
                                      vocabulary=vocabulary, rng=seed)
    assert generate(4) == generate(4)
    assert generate(4) != generate(5)
