"""``scratchrnn.utils`` (Keras's ``keras.utils`` names), the initialiser classes,
TextVectorization's ``multi_hot`` / ``count`` / ``tf_idf`` / ``one_hot`` modes with
``ngrams`` and ``pad_to_max_tokens``, and the sampling note for the course.

Expected values are Keras 3.15's, from its own tests (``text_vectorization_test.py``,
``sequence_utils_test.py``, ``timeseries_dataset_utils_test.py``,
``numerical_utils_test.py``) or computed by hand; ``parity/checks_text.py`` compares the
same functions with Keras itself on larger inputs.
"""

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scratchrnn import initializers, sampling, text, utils
from scratchrnn.text import TextVectorization

DATA = ["the cat sat", "the dog sat on the mat", "a cat", ""]


def adapted(**kwargs):
    layer = TextVectorization(**kwargs)
    layer.adapt(DATA)
    return layer


# --- TextVectorization: Keras's own tests of the modes ---------------------------------------


def test_keras_multi_hot_count_tf_idf_pad_and_one_hot_tests():
    vocabulary = ["foo", "bar", "baz"]
    multi_hot = TextVectorization(output_mode="multi_hot", vocabulary=vocabulary)
    np.testing.assert_array_equal(multi_hot([["foo bar"], ["baz foo foo"]]),
                                  [[0, 1, 1, 0], [0, 1, 0, 1]])
    count = TextVectorization(output_mode="count", vocabulary=vocabulary)
    np.testing.assert_array_equal(count(["foo bar", "baz foo foo"]), [[0, 1, 1, 0], [0, 2, 0, 1]])
    tf_idf = TextVectorization(output_mode="tf_idf", vocabulary=vocabulary,
                               idf_weights=[0.3, 0.5, 0.2])
    out = tf_idf(["foo bar", "baz foo foo"])
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.0, 0.3, 0.5, 0.0], [0.0, 0.6, 0.0, 0.2]], rtol=1e-6)
    padded = TextVectorization(output_mode="multi_hot", vocabulary=["foo", "bar"],
                               max_tokens=8, pad_to_max_tokens=True)
    assert padded(["foo bar"]).shape == (1, 8)
    one_hot = TextVectorization(output_mode="one_hot", vocabulary=vocabulary)
    assert one_hot(["foo bar"]).shape == (1, 2, 4)


def test_keras_ngram_tests():
    bigrams = TextVectorization(ngrams=2)
    bigrams.adapt(["foo bar baz"])
    assert {"foo bar", "bar baz"} <= set(bigrams.get_vocabulary())
    tri = TextVectorization(ngrams=(1, 3))
    tri.adapt(["foo bar baz"])
    vocabulary = tri.get_vocabulary()
    assert "foo" in vocabulary and "foo bar baz" in vocabulary and "foo bar" not in vocabulary


def test_non_int_modes_reserve_only_unk():
    layer = adapted(output_mode="multi_hot")
    assert layer.get_vocabulary() == ["[UNK]", "the", "sat", "cat", "on", "mat", "dog", "a"]
    assert layer.vocabulary_size() == 8
    out = layer(["the cat sat on", "zzz", ""])
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, [[0, 1, 1, 1, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0, 0],
                                        [0] * 8])
    # max_tokens counts "[UNK]" only: 3 tokens kept, not 2.
    small = adapted(output_mode="count", max_tokens=4)
    assert small.get_vocabulary() == ["[UNK]", "the", "sat", "cat"]
    np.testing.assert_array_equal(small(["the the mat cat"]), [[1, 2, 0, 1]])


def test_ngrams_rank_with_tokens_and_keep_width_order():
    layer = adapted(ngrams=2)
    assert layer.get_vocabulary()[:8] == ["", "[UNK]", "the", "sat", "cat", "the mat",
                                          "the dog", "the cat"]
    # unigrams first, then bigrams, each in text order
    np.testing.assert_array_equal(layer(["the cat sat", "a"]), [[2, 4, 3, 7, 14], [16, 0, 0, 0, 0]])
    assert TextVectorization(ngrams=(3, 1))._with_ngrams(["a", "b", "c"]) == \
        ["a b c", "a", "b", "c"]
    assert TextVectorization(ngrams=(2, 2))._with_ngrams(["a", "b", "c"]) == \
        ["a b", "b c", "a b", "b c"]


def test_tf_idf_weights_formula_and_oov_mean():
    layer = TextVectorization(output_mode="tf_idf")
    layer.adapt(["a a b", "b c", "a"])
    assert layer.get_vocabulary() == ["[UNK]", "a", "b", "c"]
    idf = np.log(1 + 3 / (1 + np.array([2.0, 2.0, 1.0])))   # log(1 + N / (1 + df))
    expected_weights = np.concatenate([[idf.astype(np.float32).astype(np.float64).mean()], idf])
    out = layer(["a a c q", ""])
    np.testing.assert_allclose(out, [[expected_weights[0], 2 * idf[0], 0, idf[2]], [0] * 4],
                               rtol=1e-6)
    # without split a flat batch is one sample; adapting counts each string a document
    flat = TextVectorization(output_mode="tf_idf", split=None)
    flat.adapt(["a a b", "b c", "a", "a", ""])
    np.testing.assert_allclose(flat(["a", "b c"]), [0, math.log(1 + 5 / 3), math.log(1 + 5 / 2), 0],
                               rtol=1e-6)


def test_pad_to_max_tokens_widths_and_zero_idf_tail():
    layer = adapted(output_mode="tf_idf", max_tokens=12, pad_to_max_tokens=True)
    out = layer(["the cat"])
    assert out.shape == (1, 12) and not out[0, 8:].any()
    assert adapted(output_mode="int", max_tokens=12, pad_to_max_tokens=True)(["a b"]).shape \
        == (1, 2)
    assert layer.compute_output_shape((None,)) == (None, 12)
    assert adapted(output_mode="one_hot", split=None).compute_output_shape((5, 1)) == (5, 4)


def test_input_ranks_of_the_modes():
    multi = adapted(output_mode="multi_hot", split=None)
    assert multi("the cat sat").shape == (4,)
    # vocabulary: [UNK], "the dog sat on the mat", "the cat sat", "a cat"
    np.testing.assert_array_equal(multi(["the cat sat", "a cat", "q"]), [1, 0, 1, 1])
    np.testing.assert_array_equal(multi([["a cat", "q"], ["", "a cat"]]),
                                  [[1, 0, 0, 1], [0, 0, 0, 1]])
    one_hot = adapted(output_mode="one_hot", split=None)
    assert one_hot("a cat").shape == (1, 4)
    np.testing.assert_array_equal(one_hot([["a cat"], [""]]), [[0, 0, 0, 1], [0, 0, 0, 0]])
    assert adapted(output_mode="count")("the cat").shape == (8,)


def test_mode_errors_are_named():
    with pytest.raises(ValueError, match="`output_sequence_length`"):
        TextVectorization(output_mode="count", output_sequence_length=3)
    with pytest.raises(ValueError, match="`pad_to_max_tokens"):
        TextVectorization(output_mode="multi_hot", pad_to_max_tokens=True)
    with pytest.raises(ValueError, match="`idf_weights`"):
        TextVectorization(output_mode="tf_idf", vocabulary=["a"])
    with pytest.raises(ValueError, match="`idf_weights`"):
        TextVectorization(output_mode="count", vocabulary=["a"], idf_weights=[1.0])
    with pytest.raises(ValueError, match="`idf_weights`"):
        TextVectorization(output_mode="tf_idf", vocabulary=["a", "b"], idf_weights=[1.0])
    for ngrams in (0, (0, 1), 1.0, [1, 2], ()):
        with pytest.raises(ValueError, match="`ngrams`"):
            TextVectorization(ngrams=ngrams)
    with pytest.raises(ValueError, match="`ngrams`.*`split`"):
        TextVectorization(ngrams=2, split=None)
    with pytest.raises(ValueError, match="`vocabulary`"):
        TextVectorization(output_mode="multi_hot", vocabulary=["", "[UNK]", "a"])
    with pytest.raises(ValueError, match="`sparse`"):
        TextVectorization(sparse=True)
    layer = TextVectorization(output_mode="multi_hot")
    layer.adapt(["a b"])
    with pytest.raises(RuntimeError, match="cannot change"):
        layer.adapt(["a b c"])          # Keras's rule without pad_to_max_tokens


def test_binary_alias_and_config_round_trip_of_tf_idf_with_ngrams():
    assert TextVectorization(output_mode="binary", vocabulary=["x"]).output_mode == "multi_hot"
    layer = adapted(output_mode="tf_idf", ngrams=(1, 2), max_tokens=10, pad_to_max_tokens=True)
    config = json.loads(json.dumps(layer.get_config()))
    clone = TextVectorization.from_config(config)
    batch = ["the cat sat on the mat", "dog"]
    np.testing.assert_array_equal(clone(batch), layer(batch))


# --- utils -------------------------------------------------------------------------------------


def test_pad_sequences_is_the_text_one():
    assert utils.pad_sequences is text.pad_sequences
    # sequence_utils_test.test_pad_sequences
    a = [[1], [1, 2], [1, 2, 3]]
    np.testing.assert_array_equal(utils.pad_sequences(a, maxlen=3, padding="pre"),
                                  [[0, 0, 1], [0, 1, 2], [1, 2, 3]])
    np.testing.assert_array_equal(utils.pad_sequences(a, maxlen=2, truncating="post"),
                                  [[0, 1], [1, 2], [1, 2]])


def test_to_categorical_keras_tests():
    # numerical_utils_test: shapes with and without a trailing axis of 1
    for shape, expected in [((1,), (1, 5)), ((3,), (3, 5)), ((4, 3), (4, 3, 5)),
                            ((5, 4, 3), (5, 4, 3, 5)), ((3, 1), (3, 5)), ((3, 2, 1), (3, 2, 5))]:
        labels = np.random.default_rng(0).integers(0, 5, shape)
        one_hot = utils.to_categorical(labels, 5)
        assert one_hot.shape == expected and one_hot.dtype == np.float64
        np.testing.assert_array_equal(np.argmax(one_hot, -1).reshape(labels.shape), labels)
    np.testing.assert_array_equal(utils.to_categorical([0, 1, 2, 3], 4), np.eye(4))
    assert utils.to_categorical(2, 4).tolist() == [0, 0, 1, 0]
    assert utils.to_categorical([[1], [2]], 0).shape == (2, 3)   # 0 means "infer", as in Keras
    for bad, num_classes in (([3], 3), ([-1], 3), ([1.5], 3), (["a"], 3), ([], None)):
        with pytest.raises((ValueError, TypeError), match="`x`|`num_classes`"):
            utils.to_categorical(bad, num_classes)


def test_timeseries_dataset_keras_tests():
    # timeseries_dataset_utils_test.test_basics
    data = np.arange(100)
    targets = data * 2
    ds = utils.timeseries_dataset_from_array(data, targets, sequence_length=9, batch_size=5)
    batches = list(ds)
    assert len(batches) == len(ds) == 19
    for i, (x, y) in enumerate(batches[:-1]):
        assert x.shape == (5, 9)
        for j in range(5):
            np.testing.assert_array_equal(x[j], np.arange(i * 5 + j, i * 5 + j + 9))
            assert y[j] == 2 * (i * 5 + j)
    assert batches[-1][0].shape == (2, 9)
    # test_sampling_rate / test_sequence_stride / start_index / end_index
    ds = utils.timeseries_dataset_from_array(data, targets, sequence_length=9, batch_size=5,
                                             sampling_rate=2, sequence_stride=3)
    x, y = next(iter(ds))
    np.testing.assert_array_equal(x[1], np.arange(3, 21, 2))
    assert y[1] == 6
    ds = utils.timeseries_dataset_from_array(data, None, sequence_length=9, batch_size=5,
                                             start_index=10, end_index=90)
    windows = np.concatenate(list(ds))
    assert windows[0, 0] == 10 and windows[-1, -1] == 89 and len(windows) == 72
    single = list(utils.timeseries_dataset_from_array(data, None, sequence_length=3,
                                                      batch_size=None))
    assert len(single) == 98 and single[0].shape == (3,)
    # re-iterable, and each pass of a shuffled dataset holds every window once
    shuffled = utils.timeseries_dataset_from_array(data, targets, sequence_length=9,
                                                   batch_size=5, shuffle=True, seed=123)
    first = np.concatenate([x[:, 0] for x, _ in shuffled])
    second = np.concatenate([x[:, 0] for x, _ in shuffled])
    assert sorted(first) == sorted(second) == list(range(92))
    assert not np.array_equal(first, np.arange(92))
    for kwargs in (dict(batch_size=0), dict(seed=-1, shuffle=True), dict(shuffle="yes")):
        with pytest.raises((ValueError, TypeError), match=f"`{next(iter(kwargs))}`"):
            utils.timeseries_dataset_from_array(data, None, sequence_length=3, **kwargs)


@given(n=st.integers(12, 40), length=st.integers(1, 6), stride=st.integers(1, 4),
       rate=st.integers(1, 3), batch=st.integers(1, 9))
def test_timeseries_batches_concatenate_to_the_unbatched_windows(n, length, stride, rate,
                                                                 batch):
    data = np.arange(n * 2.0).reshape(n, 2)
    kwargs = dict(sequence_length=length, sequence_stride=stride, sampling_rate=rate)
    from scratchrnn.timeseries import timeseries_dataset
    x, y = timeseries_dataset(data, data[:, 0], **kwargs)
    batches = list(utils.timeseries_dataset_from_array(data, data[:, 0], batch_size=batch,
                                                       **kwargs))
    if len(x):
        np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), x)
        np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)
    assert all(len(b[0]) == batch for b in batches[:-1])


def test_set_random_seed_seeds_python_and_numpy():
    import random
    utils.set_random_seed(5)
    a = (random.random(), np.random.rand())
    utils.set_random_seed(5)
    assert (random.random(), np.random.rand()) == a
    with pytest.raises(ValueError, match="`seed`"):
        utils.set_random_seed(1.5)


# --- initializers ------------------------------------------------------------------------------


def test_constant_scalar_array_and_mismatch():
    matrix = np.arange(6.0).reshape(3, 2)
    init = initializers.Constant(matrix)
    np.testing.assert_array_equal(init((3, 2)), matrix)
    matrix[0, 0] = 99                       # the initialiser keeps its own copy
    assert init((3, 2))[0, 0] == 0
    np.testing.assert_array_equal(initializers.Constant(2.5)((2,), None), [2.5, 2.5])
    with pytest.raises(ValueError, match=r"Constant: `value` of shape \(3, 2\).*\(4, 2\)"):
        init((4, 2))
    with pytest.raises(TypeError, match="`value`"):
        initializers.Constant("abc")


def test_classes_serialize_and_resolve():
    for init in (initializers.Constant([[1, 2]]), initializers.GlorotUniform(seed=3),
                 initializers.Orthogonal(gain=2.0), initializers.RandomUniform(-1, 1),
                 initializers.Zeros(), initializers.TruncatedNormal(stddev=0.1, seed=1)):
        config = json.loads(json.dumps(initializers.serialize(init)))
        assert initializers.get(config, "kernel_initializer") == init
    assert initializers.serialize("zeros") == "zeros"
    assert initializers.serialize(initializers.glorot_uniform) == "glorot_uniform"
    keras_dict = {"module": "keras.initializers", "class_name": "RandomNormal",
                  "config": {"seed": None, "mean": 0.0, "stddev": 0.05}, "registered_name": None}
    assert initializers.get(keras_dict, "k") == initializers.RandomNormal()
    assert isinstance(initializers.get("GlorotUniform", "k"), initializers.GlorotUniform)
    with pytest.raises(ValueError, match="`kernel_initializer`"):
        initializers.get({"class_name": "Nope"}, "kernel_initializer")


def test_seeded_classes_repeat_and_follow_the_distribution():
    init = initializers.GlorotUniform(seed=7)
    np.testing.assert_array_equal(init((4, 3)), init((4, 3), np.random.default_rng(1)))
    q = initializers.Orthogonal(gain=2.0, seed=0)((5, 5))
    np.testing.assert_allclose(q @ q.T, 4 * np.eye(5), atol=1e-12)
    limit = math.sqrt(6 / 7)
    assert np.abs(init((4, 3))).max() <= limit
    values = initializers.RandomUniform(2.0, 3.0, seed=1)((1000,))
    assert 2.0 <= values.min() and values.max() < 3.0


def test_embedding_takes_constant_matrix():
    from scratchrnn import layers
    matrix = np.arange(12.0).reshape(4, 3)
    embedding = layers.Embedding(4, 3, embeddings_initializer=initializers.Constant(matrix))
    np.testing.assert_array_equal(embedding(np.array([[1, 3]]))[0], matrix[[1, 3]])


# --- sampling ----------------------------------------------------------------------------------


def test_course_sampling_note_numbers():
    q, t = [0.9, 0.05, 0.05], 0.8
    reweighted = sampling.distribution(q, t, from_probs=True)
    course = sampling.distribution(q, t)          # probabilities read as logits
    np.testing.assert_allclose(reweighted[0], 1 / (1 + 2 * (1 / 18) ** 1.25), rtol=1e-12)
    np.testing.assert_allclose(course[0], 1 / (1 + 2 * math.exp(-1.0625)), rtol=1e-12)
    assert f"{reweighted[0]:.6f}" in sampling.__doc__ and f"{course[0]:.6f}" in sampling.__doc__
