"""``scratchrnn.sampling``: the tempered softmax, the sampler's distribution (chi-square
tests of 20000 draws, with a negative control), top-k/top-p supports, the greedy limit,
seeded determinism, and text generation with stand-in models."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from scratchrnn import sampling
from scratchrnn.sampling import distribution, sample, softmax_with_temperature
from scratchrnn.text import CharVocabulary

from .cells import examples

LOGITS = np.array([1.0, 0.5, -0.3, 2.0, 0.0, -1.2])
DRAWS = 20000


def naive_softmax(z, t):
    e = np.exp(np.asarray(z, dtype=np.float64) / t)
    return e / e.sum(axis=-1, keepdims=True)


# --- the tempered softmax ---------------------------------------------------------------


@settings(max_examples=examples(50))
@given(z=st.lists(st.floats(-20, 20), min_size=1, max_size=8),
       t=st.floats(0.05, 20))
def test_softmax_with_temperature_is_the_formula(z, t):
    p = softmax_with_temperature(z, t)
    np.testing.assert_allclose(p, naive_softmax(z, t), rtol=1e-12, atol=1e-300)
    assert abs(p.sum() - 1) < 1e-12


def test_tiny_temperature_tends_to_greedy_without_overflow():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        p = softmax_with_temperature([1e3, 3.0, 2.999], 1e-8)
        np.testing.assert_array_equal(p, [1.0, 0.0, 0.0])
        tied = softmax_with_temperature([[2.0, 5.0, 5.0]], 1e-8)
    np.testing.assert_array_equal(tied, [[0.0, 0.5, 0.5]])
    np.testing.assert_allclose(softmax_with_temperature(LOGITS, 1e9), 1 / 6, rtol=1e-8)


def test_softmax_keeps_float32_and_batches():
    p = softmax_with_temperature(LOGITS.astype(np.float32).reshape(2, 3), 0.7)
    assert p.dtype == np.float32 and p.shape == (2, 3)
    np.testing.assert_allclose(p.sum(axis=-1), 1, rtol=1e-6)


@pytest.mark.parametrize("logits, temperature, argument", [
    (LOGITS, 0.0, "temperature"),
    (LOGITS, -1.0, "temperature"),
    (LOGITS, np.nan, "temperature"),
    (LOGITS, np.inf, "temperature"),
    ([1.0, np.nan], 1.0, "logits"),
    ([1.0, np.inf], 1.0, "logits"),
    ([], 1.0, "logits"),
    (np.zeros((2, 2, 2)), 1.0, "logits"),
])
def test_softmax_errors(logits, temperature, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        softmax_with_temperature(logits, temperature)


# --- the distribution of the draws --------------------------------------------------------


def counts_of(draws, n):
    return np.bincount(draws, minlength=n)


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_draws_follow_the_tempered_softmax(temperature):
    draws = sample(np.tile(LOGITS, (DRAWS, 1)), temperature, rng=1234)
    expected = naive_softmax(LOGITS, temperature) * DRAWS
    assert stats.chisquare(counts_of(draws, 6), expected).pvalue > 1e-3


def test_chi_square_rejects_the_wrong_temperature():
    draws = sample(np.tile(LOGITS, (DRAWS, 1)), 1.0, rng=1234)
    for wrong in (0.8, 1.25):
        expected = naive_softmax(LOGITS, wrong) * DRAWS
        assert stats.chisquare(counts_of(draws, 6), expected).pvalue < 1e-3


def test_one_row_at_a_time_draws_the_same_stream():
    rng_a, rng_b = np.random.default_rng(7), np.random.default_rng(7)
    batch = sample(np.tile(LOGITS, (50, 1)), 1.3, rng=rng_a)
    single = [sample(LOGITS, 1.3, rng=rng_b) for _ in range(50)]
    np.testing.assert_array_equal(batch, single)
    assert all(isinstance(s, int) for s in single) and batch.dtype == np.int64


def test_probabilities_reweighted_by_temperature():
    probs = np.array([0.5, 0.0, 0.3, 0.2])
    with np.errstate(divide="ignore"):
        from_logits = distribution(np.log(np.where(probs > 0, probs, 1e-300)), 0.6)
    np.testing.assert_allclose(distribution(probs, 0.6, from_probs=True), from_logits,
                               atol=1e-12)
    reweighted = probs ** (1 / 0.6) / (probs ** (1 / 0.6)).sum()
    np.testing.assert_allclose(distribution(probs, 0.6, from_probs=True), reweighted)
    draws = sample(np.tile(probs, (2000, 1)), 2.0, rng=0, from_probs=True)
    assert 1 not in draws


# --- top-k and top-p ------------------------------------------------------------------------


@settings(max_examples=examples(40))
@given(seed=st.integers(0, 2**31), k=st.integers(1, 8), temperature=st.floats(0.2, 5))
def test_top_k_support(seed, k, temperature):
    logits = np.random.default_rng(seed).normal(size=8)
    p = distribution(logits, temperature, top_k=k)
    kept = set(np.argsort(-logits, kind="stable")[:k])
    assert set(np.flatnonzero(p)) == kept
    np.testing.assert_allclose(p[list(kept)], naive_softmax(logits[list(kept)], temperature))
    draws = sample(np.tile(logits, (300, 1)), temperature, top_k=k, rng=seed)
    assert set(draws) <= kept


def test_top_k_ties_keep_the_lower_index_and_one_is_greedy():
    np.testing.assert_array_equal(np.flatnonzero(distribution([1.0, 3.0, 3.0, 0.0], top_k=1)),
                                  [1])
    draws = sample(np.tile(LOGITS, (100, 1)), 3.0, top_k=1, rng=0)
    np.testing.assert_array_equal(draws, 3)


@settings(max_examples=examples(40))
@given(seed=st.integers(0, 2**31), top_p=st.floats(0.01, 1.0), temperature=st.floats(0.3, 3))
def test_top_p_keeps_the_smallest_set_reaching_p(seed, top_p, temperature):
    logits = np.random.default_rng(seed).normal(size=7)
    full = naive_softmax(logits, temperature)
    order = np.argsort(-full, kind="stable")
    reach = np.cumsum(full[order])
    assume(np.all(np.abs(reach - top_p) > 1e-9))  # no rounding question at the cut
    size = int(np.argmax(reach >= top_p - 1e-12)) + 1 if reach[-1] >= top_p else 7
    p = distribution(logits, temperature, top_p=top_p)
    assert set(np.flatnonzero(p)) == set(order[:size])
    assert full[order[:size]].sum() >= top_p - 1e-12
    assert size == 1 or full[order[:size - 1]].sum() < top_p
    np.testing.assert_allclose(p.sum(), 1)


def test_top_p_one_changes_nothing_and_top_k_then_top_p():
    np.testing.assert_allclose(distribution(LOGITS, 0.9, top_p=1.0), distribution(LOGITS, 0.9))
    p = distribution(LOGITS, 1.0, top_k=3, top_p=0.7)
    top3 = naive_softmax(LOGITS[[3, 0, 1]], 1.0)  # renormalised over the top 3
    assert top3[0] < 0.7 <= top3[0] + top3[1]
    assert set(np.flatnonzero(p)) == {3, 0}


# --- greedy, seeds, errors ------------------------------------------------------------------


def test_greedy_and_zero_temperature_take_the_first_argmax():
    logits = [0.5, 2.0, 2.0, -1.0]
    assert sample(logits, temperature=0) == 1
    assert sample(logits, greedy=True, top_k=1, rng=3) == 1
    np.testing.assert_array_equal(sample([logits, [3.0, 0, 0, 3.0]], 0.0), [1, 0])
    assert sample([0.1, 0.6, 0.3], 0, from_probs=True) == 1


def test_seeded_determinism():
    a = sample(np.tile(LOGITS, (100, 1)), 1.0, top_p=0.9, rng=42)
    b = sample(np.tile(LOGITS, (100, 1)), 1.0, top_p=0.9, rng=np.random.default_rng(42))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, sample(np.tile(LOGITS, (100, 1)), 1.0, top_p=0.9, rng=43))


@pytest.mark.parametrize("kwargs, argument", [
    (dict(temperature=-0.1), "temperature"),
    (dict(temperature=np.nan), "temperature"),
    (dict(top_k=0), "top_k"),
    (dict(top_k=2.5), "top_k"),
    (dict(top_p=0.0), "top_p"),
    (dict(top_p=1.5), "top_p"),
    (dict(rng="seed"), "rng"),
    (dict(greedy=1), "greedy"),
    (dict(logits=[0.5, -0.1], from_probs=True), "logits"),
    (dict(logits=[0.0, 0.0], from_probs=True), "logits"),
    (dict(logits=[np.nan, 1.0]), "logits"),
    (dict(logits=["a", "b"]), "logits"),
])
def test_sample_errors(kwargs, argument):
    kwargs.setdefault("logits", LOGITS)
    with pytest.raises((ValueError, TypeError), match=f"`{argument}`"):
        sample(**kwargs)


# --- text generation ------------------------------------------------------------------------

VOCAB = CharVocabulary("abcd")
#: next-character probabilities given the last character: a->b, b->c, c->d, d->a mostly.
TABLE = np.full((4, 4), 0.02) + np.eye(4)[[1, 2, 3, 0]] * 0.92


class TableModel:
    """A stand-in model: the next-character distribution depends on the last input only.
    ``logits=True`` returns log-probabilities shifted by 3 (not a softmax output)."""

    def __init__(self, logits=False, sequences=False):
        self.logits, self.sequences = logits, sequences
        self.inputs = []
        self.layers = []

    def __call__(self, x, training=False):
        assert training is False
        self.inputs.append(np.array(x))
        last = x[:, -1] if x.ndim == 2 else np.argmax(x[:, -1], axis=-1)
        out = np.log(TABLE[last]) + 3 if self.logits else TABLE[last]
        return np.repeat(out[:, None], x.shape[1], axis=1) if self.sequences else out


class CounterLayer:
    """A stateful stand-in recurrent layer: remembers how many steps it has seen."""

    stateful = True

    def __init__(self):
        self.steps, self.resets = 0, 0

    def reset_states(self):
        self.steps, self.resets = 0, self.resets + 1


class StatefulModel(TableModel):
    def __init__(self):
        super().__init__()
        self.layers = [object(), CounterLayer()]

    def __call__(self, x, training=False):
        assert x.shape == (1, 1), "a stateful model is fed one character at a time"
        self.layers[1].steps += 1
        return super().__call__(x, training)


@pytest.mark.parametrize("model", [TableModel(), TableModel(logits=True),
                                   TableModel(sequences=True)])
def test_greedy_generation_follows_the_table(model):
    out = sampling.generate_text(model, "ab", 6, temperature=0, vocabulary=VOCAB)
    assert out == "abcdabcd"


def test_generation_draws_from_the_table_and_is_seeded():
    long = sampling.generate_text(TableModel(), "a", 3000, vocabulary=VOCAB, rng=5)
    pairs = list(zip(long[:-1], long[1:]))
    follows = sum(1 for a, b in pairs if VOCAB.index[b] == (VOCAB.index[a] + 1) % 4)
    assert abs(follows / len(pairs) - 0.94) < 0.02
    again = sampling.generate_text(TableModel(), "a", 3000, vocabulary=VOCAB, rng=5)
    assert again == long


def test_logits_are_told_from_probabilities():
    probs = sampling.generate_text(TableModel(), "a", 200, 1.0, VOCAB, rng=9)
    logits = sampling.generate_text(TableModel(logits=True), "a", 200, 1.0, VOCAB, rng=9)
    forced = sampling.generate_text(TableModel(logits=True), "a", 200, 1.0, VOCAB, rng=9,
                                    from_logits=True)
    assert probs == logits == forced


def test_window_slides_and_one_hot_inputs():
    model = TableModel()
    sampling.generate_text(model, "abcab", 4, vocabulary=VOCAB, window=3, rng=0)
    assert [x.shape for x in model.inputs] == [(1, 3)] * 4
    np.testing.assert_array_equal(model.inputs[0], [VOCAB.encode("cab")])
    one_hot = TableModel()
    out = sampling.generate_text(one_hot, "ab", 2, 0, VOCAB, one_hot=True)
    assert out == "abcd" and one_hot.inputs[0].shape == (1, 2, 4)
    assert one_hot.inputs[0].dtype == np.float32


def test_stateful_generation_feeds_one_character_after_a_reset():
    model = StatefulModel()
    model.layers[1].steps = 99  # left over from training: must be reset
    out = sampling.generate_text(model, "abc", 5, temperature=0, vocabulary=VOCAB,
                                 stateful=True)
    assert out == "abcdabcd"
    assert model.layers[1].resets == 1 and model.layers[1].steps == 3 - 1 + 5
    fed = "".join(VOCAB.decode(x[0]) for x in model.inputs)
    assert fed == "abc" + out[3:-1]


@pytest.mark.parametrize("kwargs, argument", [
    (dict(vocabulary=None), "vocabulary"),
    (dict(seed_text=""), "seed_text"),
    (dict(length=-1), "length"),
    (dict(window=0), "window"),
    (dict(stateful=True), "stateful"),
    (dict(seed_text="abz"), "seed_text"),
    (dict(from_logits="yes"), "from_logits"),
    (dict(temperature=-1.0), "temperature"),
    (dict(one_hot=1), "one_hot"),
])
def test_generation_errors(kwargs, argument):
    kwargs = {"seed_text": "ab", "length": 3, "vocabulary": VOCAB, **kwargs}
    with pytest.raises((ValueError, TypeError), match=f"`{argument}`"):
        sampling.generate_text(TableModel(), **kwargs)


def test_generation_checks_the_model_output():
    class Wrong:
        layers = []

        def __call__(self, x, training=False):
            return np.zeros((1, 5))

    with pytest.raises(ValueError, match="`model`"):
        sampling.generate_text(Wrong(), "ab", 1, vocabulary=VOCAB)
