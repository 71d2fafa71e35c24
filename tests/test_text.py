"""``scratchrnn.text``: TextVectorization's standardize/split/vocabulary rules (the Keras
facts are cross-checked in ``parity/checks_text.py``), pad_sequences against a list-based
reference, the character vocabulary, and load_imdb's offline refusal."""

import string

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchrnn import text
from scratchrnn.text import TextVectorization, pad_sequences

from .cells import examples

# --- standardize and split ----------------------------------------------------------------


def vocabulary_of(data, **kwargs):
    layer = TextVectorization(**kwargs)
    layer.adapt(data)
    return layer.get_vocabulary()


def test_punctuation_is_pythons_ascii_set():
    assert set(text.PUNCTUATION) == set(string.punctuation)
    assert len(text.PUNCTUATION) == 32


def test_lowercasing_and_stripping_touch_ascii_only():
    layer = TextVectorization(split=None, vocabulary=["x"])
    assert layer._standardize("ÀBc, «Dé»—É!") == "Àbc «dé»—É"
    assert TextVectorization(standardize="lower")._standardize("A.B") == "a.b"
    assert TextVectorization(standardize="strip_punctuation")._standardize("A.B") == "AB"
    assert TextVectorization(standardize=None)._standardize("A.B") == "A.B"


def test_whitespace_split_uses_the_six_ascii_separators_only():
    layer = TextVectorization()
    assert layer._split(" a\tb\nc\vd\fe\rf  ") == list("abcdef")
    for other in ("\xa0", "\u2003", "\x1c", "\u3000"):
        assert layer._split(f"a{other}b") == [f"a{other}b"]
    assert TextVectorization(split="character")._split("né e") == ["n", "é", " ", "e"]


def test_callables_see_one_string():
    layer = TextVectorization(standardize=str.upper, split=lambda s: s.split("-"))
    layer.adapt(["a-b-a"])
    assert layer.get_vocabulary() == ["", "[UNK]", "A", "B"]
    np.testing.assert_array_equal(layer(["b-a-c"]), [[3, 2, 1]])


# --- the vocabulary ---------------------------------------------------------------------


def test_vocabulary_by_count_then_utf8_bytes_descending():
    vocab = vocabulary_of(["b a c", "a b", "x y z", "é e É"])
    assert vocab == ["", "[UNK]", "b", "a", "é", "É", "z", "y", "x", "e", "c"]


def test_max_tokens_counts_the_reserved_entries():
    data = ["a a a b b c"]
    assert vocabulary_of(data, max_tokens=4) == ["", "[UNK]", "a", "b"]
    assert vocabulary_of(data, max_tokens=2) == ["", "[UNK]"]
    assert vocabulary_of(data, max_tokens=100) == ["", "[UNK]", "a", "b", "c"]


def test_reserved_strings_are_never_learned():
    vocab = vocabulary_of(["", "[UNK]", "[UNK]", "a"], standardize=None, split=None)
    assert vocab == ["", "[UNK]", "a"]


def test_adapt_without_tokens_keeps_the_vocabulary():
    layer = TextVectorization()
    layer.adapt([" ", ""])
    assert layer.get_vocabulary() == ["", "[UNK]"]
    np.testing.assert_array_equal(layer(["a b"]), [[1, 1]])
    layer.adapt(["q"])
    layer.adapt(["..."])  # stripped to nothing
    assert layer.get_vocabulary() == ["", "[UNK]", "q"]


def test_given_vocabulary_with_or_without_reserved_entries():
    plain = TextVectorization(vocabulary=["earth", "wind"])
    full = TextVectorization(vocabulary=["", "[UNK]", "earth", "wind"])
    for layer in (plain, full):
        assert layer.get_vocabulary() == ["", "[UNK]", "earth", "wind"]
        assert layer.get_vocabulary(include_special_tokens=False) == ["earth", "wind"]
        assert layer.vocabulary_size() == 4
        np.testing.assert_array_equal(layer(["Wind, earth & fire"]), [[3, 2, 1]])
    layer = TextVectorization(standardize=None, vocabulary=np.array(["[UNK]", "x"]))
    np.testing.assert_array_equal(layer(["[UNK] x y"]), [[2, 3, 1]])


def test_set_vocabulary_then_adapt_replaces_it():
    layer = TextVectorization()
    layer.set_vocabulary(["a", "b"])
    layer.adapt(["c c d"])
    assert layer.get_vocabulary() == ["", "[UNK]", "c", "d"]


# --- calls ------------------------------------------------------------------------------


@pytest.fixture
def adapted():
    layer = TextVectorization()
    layer.adapt(["foo bar", "bar baz", "baz bada boom"])
    return layer


def test_call_pads_to_the_longest_with_zeros(adapted):
    ids = adapted(["foo qux bar", "qux baz", ""])
    assert ids.dtype == np.int64
    np.testing.assert_array_equal(ids, [[4, 1, 3], [1, 2, 0], [0, 0, 0]])
    np.testing.assert_array_equal(adapted([["foo bar"], ["baz"]]), [[4, 3], [2, 0]])
    np.testing.assert_array_equal(adapted("bar foo"), [3, 4])
    assert adapted(["", ""]).shape == (2, 0)


def test_output_sequence_length_pads_and_truncates_at_the_end():
    layer = TextVectorization(output_sequence_length=4)
    layer.adapt(["foo bar", "bar baz", "baz bada boom"])
    np.testing.assert_array_equal(layer(["foo qux bar", "bar bar bar bar bar baz"]),
                                  [[4, 1, 3, 0], [3, 3, 3, 3]])
    assert layer.compute_output_shape((None,)) == (None, 4)


def test_without_split_each_string_is_one_token():
    layer = TextVectorization(split=None, standardize=None)
    layer.adapt(["a b", "a b", "c"])
    np.testing.assert_array_equal(layer(["a b", "", "zz"]), [2, 0, 1])
    np.testing.assert_array_equal(layer([["c"], ["a b"]]), [[3], [2]])
    padded = TextVectorization(split=None, standardize=None, output_sequence_length=3,
                               vocabulary=["a b", "c"])
    np.testing.assert_array_equal(padded([["c"], ["a b"]]), [[3, 0, 0], [2, 0, 0]])


def test_config_round_trip_keeps_the_mapping(adapted):
    config = adapted.get_config()
    assert config["vocabulary"] == ["baz", "bar", "foo", "boom", "bada"]
    clone = TextVectorization.from_config(config)
    batch = ["foo qux bar", "boom"]
    np.testing.assert_array_equal(clone(batch), adapted(batch))
    assert TextVectorization().get_config()["vocabulary"] is None


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, argument", [
    (dict(max_tokens=1), "max_tokens"),
    (dict(max_tokens=2.5), "max_tokens"),
    (dict(standardize="upper"), "standardize"),
    (dict(split="comma"), "split"),
    (dict(output_mode="bag"), "output_mode"),
    (dict(output_sequence_length=-1), "output_sequence_length"),
    (dict(vocabulary=["a", "a"]), "vocabulary"),
    (dict(vocabulary=["a", ""]), "vocabulary"),
    (dict(vocabulary=[]), "vocabulary"),
    (dict(vocabulary="vocab.txt"), "vocabulary"),
    (dict(vocabulary=["a", "b", "c"], max_tokens=4), "vocabulary"),
    (dict(vocabulary=[1, 2]), "vocabulary"),
])
def test_bad_arguments_are_named(kwargs, argument):
    with pytest.raises((ValueError, TypeError), match=f"`{argument}`"):
        TextVectorization(**kwargs)


def test_call_errors(adapted):
    with pytest.raises(RuntimeError, match="adapt"):
        TextVectorization()(["a"])
    with pytest.raises(ValueError, match="`inputs`.*last dimension of 1"):
        adapted([["a", "b"]])
    with pytest.raises(TypeError, match="`inputs`"):
        adapted([1, 2])
    with pytest.raises(ValueError, match="Cannot adapt"):
        TextVectorization(vocabulary=["a"]).adapt(["b"])


# --- pad_sequences ------------------------------------------------------------------------


def reference_pad(sequences, maxlen, padding, truncating, value):
    """Row by row with lists."""
    if maxlen is None:
        maxlen = max(len(s) for s in sequences)
    rows = []
    for s in sequences:
        s = list(s)
        kept = (s[len(s) - maxlen:] if len(s) > maxlen else s) if truncating == "pre" \
            else s[:maxlen]
        fill = [value] * (maxlen - len(kept))
        rows.append(fill + kept if padding == "pre" else kept + fill)
    return rows


@settings(max_examples=examples(60))
@given(sequences=st.lists(st.lists(st.integers(-50, 50), max_size=8), min_size=1, max_size=6),
       maxlen=st.one_of(st.none(), st.integers(0, 10)),
       padding=st.sampled_from(["pre", "post"]),
       truncating=st.sampled_from(["pre", "post"]),
       value=st.integers(-3, 3))
def test_pad_sequences_lengths_and_positions(sequences, maxlen, padding, truncating, value):
    out = pad_sequences(sequences, maxlen=maxlen, padding=padding, truncating=truncating,
                        value=value)
    width = max(len(s) for s in sequences) if maxlen is None else maxlen
    assert out.shape == (len(sequences), width) and out.dtype == np.int32
    np.testing.assert_array_equal(
        out.reshape(len(sequences), width),
        np.array(reference_pad(sequences, maxlen, padding, truncating, value),
                 dtype=np.int32).reshape(len(sequences), width))


def test_pad_sequences_casts_like_numpy():
    np.testing.assert_array_equal(pad_sequences([[1.7, -1.7]], maxlen=3, value=0.5),
                                  [[0, 1, -1]])
    floats = pad_sequences([[1.5]], maxlen=2, dtype="float64", value=np.nan)
    assert floats.dtype == np.float64 and np.isnan(floats[0, 0]) and floats[0, 1] == 1.5


def test_pad_sequences_vectors_empties_and_strings():
    out = pad_sequences([np.ones((2, 3)), [], np.zeros((1, 3))], padding="post")
    assert out.shape == (3, 2, 3)
    np.testing.assert_array_equal(out[1], 0)
    assert pad_sequences([[], []], maxlen=2).shape == (2, 2)
    assert pad_sequences([], maxlen=3).shape == (0, 3)
    words = pad_sequences([["a", "b"], ["c"]], dtype=object, value="<pad>")
    assert words.tolist() == [["a", "b"], ["<pad>", "c"]]


@pytest.mark.parametrize("call, argument", [
    (lambda: pad_sequences(5), "sequences"),
    (lambda: pad_sequences([[1], 2]), "sequences"),
    (lambda: pad_sequences([]), "maxlen"),
    (lambda: pad_sequences([[1]], maxlen=-1), "maxlen"),
    (lambda: pad_sequences([[1]], padding="middle"), "padding"),
    (lambda: pad_sequences([[1]], truncating="both"), "truncating"),
    (lambda: pad_sequences([["a"]], value="x"), "value"),
    (lambda: pad_sequences([np.ones((1, 2)), np.ones((1, 3))], dtype="float32"), "sequences"),
])
def test_pad_sequences_errors(call, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        call()


# --- characters ---------------------------------------------------------------------------


@settings(max_examples=examples(40))
@given(st.text(min_size=1, max_size=40))
def test_char_vocabulary_round_trip(sample):
    vocab = text.char_vocabulary(sample)
    assert list(vocab.chars) == sorted(set(sample)) and len(vocab) == vocab.size
    ids = vocab.encode(sample)
    assert ids.dtype == np.int64 and ids.shape == (len(sample),)
    assert vocab.decode(ids) == sample


def test_char_vocabulary_errors():
    vocab = text.CharVocabulary("hello")
    np.testing.assert_array_equal(vocab.encode("hole"), [1, 3, 2, 0])
    with pytest.raises(ValueError, match="`text`.*'x'"):
        vocab.encode("hex")
    with pytest.raises(ValueError, match="`ids`"):
        vocab.decode([0, 4])
    with pytest.raises(ValueError, match="`ids`"):
        vocab.decode([[0]])
    with pytest.raises(ValueError, match="`text`"):
        text.CharVocabulary("")
    assert vocab.decode([]) == ""


# --- IMDB -----------------------------------------------------------------------------------


def test_load_imdb_refuses_to_download(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def no_tensorflow():
        raise AssertionError("TensorFlow must not be imported when the file is missing")

    monkeypatch.setattr("scratchrnn._tensorflow.import_tensorflow", no_tensorflow)
    with pytest.raises(FileNotFoundError, match=r"datasets/imdb\.npz.*offline"):
        text.load_imdb(num_words=100)
