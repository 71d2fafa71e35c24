"""Parity checks of the text and time-series helpers (``scratchrnn.text``,
``scratchrnn.timeseries``): integers and vocabularies, so every comparison is exact.

``text-<standardize>-<split>-f64``: ``TextVectorization`` adapted on a corpus (lines of
Python standard-library source, whose code is full of ASCII punctuation, plus crafted
lines with non-ASCII letters, punctuation and whitespace) against
``keras.layers.TextVectorization`` for ``max_tokens`` in (None, 60) and
``output_sequence_length`` in (None, 16): the vocabulary (``cmp.problem`` on any
difference, ``errors["vocabulary"] = 0`` when equal) and the ids of a batch holding
unknown tokens and an empty string.  Further ``text-*`` checks: crafted count ties, a
given ``vocabulary``, the input ranks Keras accepts, a tiny ``max_tokens``.

``pad-<padding>-<truncating>-f64``: ``pad_sequences`` against ``keras.utils.pad_sequences``
for maxlen, value and dtype combinations; ``pad-*`` extras: empty sequences, vectors,
float data cast to integers.

``window-tfdata-*``: ``windows`` against the courses' ``tf.data`` window pipeline;
``window-keras-*``: ``timeseries_dataset`` against
``keras.utils.timeseries_dataset_from_array`` (batches concatenated).

``text-mode-<mode>-f64`` (``tf_idf``: ``-f32``, Keras's float32 weights): the other output
modes adapted on the corpus for ``ngrams`` in (None, 2, (1, 3)) and ``max_tokens`` /
``pad_to_max_tokens`` in (None/False, 40/False, 40/True, 2000/True): vocabulary, size and
the vectors of the probe batch; ``one_hot`` with and without ``split`` (Keras's ragged
result as ``to_tensor()``).  ``text-modes-*``: a given vocabulary with and without
``"[UNK]"`` and ``idf_weights``, Keras's own test cases, and the input ranks of each mode.

``text-utils-timeseries-*``: ``scratchrnn.utils.timeseries_dataset_from_array`` batch by batch
against Keras's dataset (unshuffled), and the same windows in each pass (shuffled);
``text-utils-to-categorical-f64``: ``to_categorical`` for ranks 0-3, trailing axes of 1 and
``num_classes`` None/0/given.

Integer results are compared as float64 arrays (the tolerance check passes at 0 error
only if they are equal, and each comparison also requires exact equality and Keras's
dtype).
"""

import inspect
import json.decoder
import string
import textwrap

import numpy as np

from scratchrnn import text, timeseries, utils

from .components import Check
from .harness import keras, tf

STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation", None)
SPLIT = ("whitespace", "character", None)

CRAFTED = [
    "Café ÀÉÎ naïve «quoted» — em-dash… ¿qué?",
    "tabs\tand\nnewlines\rand\x0bvertical\x0cfeed",
    "no-break\xa0space em\u2003space file\x1cseparator ideographic\u3000space",
    "UPPER lower MiXeD Σίσυφος straße İstanbul",
    "[UNK] is not a token, [unk] may be; '' neither",
    "",
    "   leading and trailing   ",
    "a a a b b b c c d d é é É É z",
]


def corpus():
    """A few hundred lines of standard-library source and docstrings, and :data:`CRAFTED`."""
    lines = []
    for module in (textwrap, string, json.decoder):
        lines += [line for line in inspect.getsource(module).splitlines() if line.strip()]
    return lines[:400] + CRAFTED


def probe_batch():
    """Strings to vectorize: seen lines, unseen words, an empty string, crafted lines."""
    return corpus()[::37] + ["zzqx unseen wordz", "", "   "] + CRAFTED[:4]


def _exact(cmp, group, ours, theirs):
    """Compare integer (or float) arrays: same dtype, same shape, equal elements."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    if ours.dtype != theirs.dtype:
        cmp.problem(f"{group}: dtype {ours.dtype}, Keras {theirs.dtype}")
    if ours.shape == theirs.shape and not np.array_equal(ours, theirs):
        bad = np.argwhere(ours != theirs)[:3].tolist()
        cmp.problem(f"{group}: values differ at {bad}")
    cmp.add(group, ours.astype(np.float64), theirs.astype(np.float64))


def _same_vocabulary(cmp, label, ours, theirs):
    theirs = [str(t) for t in theirs]
    if ours != theirs:
        first = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b),
                     min(len(ours), len(theirs)))
        cmp.problem(f"{label}: vocabularies differ from index {first}: ours "
                    f"{ours[first:first + 5]}, Keras {theirs[first:first + 5]} "
                    f"(sizes {len(ours)}, {len(theirs)})")
    else:
        cmp.errors.setdefault("vocabulary", 0.0)


def _vectorizers(**kwargs):
    return text.TextVectorization(**kwargs), keras.layers.TextVectorization(**kwargs)


# --- TextVectorization ------------------------------------------------------------------------

def _text_options(standardize, split):
    def run(cmp):
        data, batch = corpus(), probe_batch()
        for max_tokens in (None, 60):
            for length in (None, 16):
                label = f"max_tokens={max_tokens},length={length}"
                ours, theirs = _vectorizers(max_tokens=max_tokens, standardize=standardize,
                                            split=split, output_sequence_length=length)
                ours.adapt(data)
                theirs.adapt(data)
                _same_vocabulary(cmp, label, ours.get_vocabulary(), theirs.get_vocabulary())
                if ours.vocabulary_size() != theirs.vocabulary_size():
                    cmp.problem(f"{label}: vocabulary_size {ours.vocabulary_size()}, "
                                f"Keras {theirs.vocabulary_size()}")
                inputs = batch if split is not None else [[s] for s in batch]
                _exact(cmp, f"ids[{label}]", ours(inputs), np.asarray(theirs(inputs)))
    return run


def _text_ties(cmp):
    """Equal counts ranked by UTF-8 bytes, descending, and non-ASCII letters."""
    data = ["b a c", "a b", "x y z", "é e É z Z", "ä ö ü a b", "ab ba aa bb", "İ ı i I"]
    for max_tokens in (None, 6):
        ours, theirs = _vectorizers(max_tokens=max_tokens)
        ours.adapt(data)
        theirs.adapt(data)
        _same_vocabulary(cmp, f"ties,max_tokens={max_tokens}", ours.get_vocabulary(),
                         theirs.get_vocabulary())
        _exact(cmp, f"ids[max_tokens={max_tokens}]", ours(data), np.asarray(theirs(data)))


def _text_given_vocabulary(cmp):
    batch = ["earth wind and fire", "FIRE, water!", "[UNK] unk", ""]
    for vocabulary in (["earth", "wind", "and", "fire"], ["", "[UNK]", "fire", "earth"],
                       ["[UNK]", "unk", "water"]):
        for length in (None, 3):
            ours, theirs = _vectorizers(vocabulary=vocabulary, output_sequence_length=length)
            label = f"vocabulary={vocabulary},length={length}"
            _same_vocabulary(cmp, label, ours.get_vocabulary(), theirs.get_vocabulary())
            _exact(cmp, f"ids[{label}]", ours(batch), np.asarray(theirs(batch)))
    ours, theirs = _vectorizers()
    ours.set_vocabulary(["b", "a"])
    theirs.set_vocabulary(["b", "a"])
    ours.adapt(["c c d"])
    theirs.adapt(["c c d"])  # set_vocabulary does not forbid a later adapt
    _same_vocabulary(cmp, "set_vocabulary then adapt", ours.get_vocabulary(),
                     theirs.get_vocabulary())


def _text_input_ranks(cmp):
    """A scalar string, a (B, 1) batch, all-empty strings; without split, (B,) and
    (B, 1) batches, with and without output_sequence_length."""
    data = ["a b c d e", "b c", "c"]
    for length in (None, 3):
        ours, theirs = _vectorizers(output_sequence_length=length)
        ours.adapt(data)
        theirs.adapt(data)
        for name, inputs in (("scalar", "a b zz"), ("column", [["a b"], ["c d e f"]]),
                             ("empty", ["", ""]), ("flat", data)):
            _exact(cmp, f"ids[{name},length={length}]", ours(inputs),
                   np.asarray(theirs(inputs)))
    for length in (None, 3):
        ours, theirs = _vectorizers(split=None, output_sequence_length=length)
        ours.adapt(["a b", "", "[UNK]", "a b", "c"])
        theirs.adapt(["a b", "", "[UNK]", "a b", "c"])
        _same_vocabulary(cmp, f"split=None,length={length}", ours.get_vocabulary(),
                         theirs.get_vocabulary())
        for name, inputs in (("flat", ["a b", "", "q", "[UNK]", "c"]),
                             ("column", [["a b"], [""], ["C"]])):
            _exact(cmp, f"ids[split=None,{name},length={length}]", ours(inputs),
                   np.asarray(theirs(inputs)))


def _text_small_max_tokens(cmp):
    data = ["a b c d b c c", "d d d d"]
    for max_tokens in (3, 4, 5, 6, 100):
        ours, theirs = _vectorizers(max_tokens=max_tokens)
        ours.adapt(data)
        theirs.adapt(data)
        _same_vocabulary(cmp, f"max_tokens={max_tokens}", ours.get_vocabulary(),
                         theirs.get_vocabulary())
        _exact(cmp, f"ids[max_tokens={max_tokens}]", ours(data + ["e a"]),
               np.asarray(theirs(data + ["e a"])))


# --- pad_sequences -----------------------------------------------------------------------------

SEQUENCES = [[1, 2, 3, 4, 5], [6], [], [7, 8, 9], [10, 11, 12, 13, 14, 15, 16], [-3, 0]]


def _pad_options(padding, truncating):
    def run(cmp):
        for maxlen in (None, 1, 3, 5, 10):
            for value in (0.0, -1, 0.5):
                for dtype in ("int32", "int64", "float32", "float64"):
                    kwargs = dict(maxlen=maxlen, dtype=dtype, padding=padding,
                                  truncating=truncating, value=value)
                    _exact(cmp, f"maxlen={maxlen},value={value},dtype={dtype}",
                           text.pad_sequences(SEQUENCES, **kwargs),
                           keras.utils.pad_sequences(SEQUENCES, **kwargs))
    return run


def _pad_extras(cmp):
    rng = np.random.default_rng(0)
    cases = {
        "all-empty": ([[], []], dict(maxlen=3)),
        "no-sequences": ([], dict(maxlen=4)),
        "vectors": ([rng.normal(size=(n, 2)) for n in (3, 0, 5)],
                    dict(maxlen=4, dtype="float64", padding="post")),
        "floats-to-int": ([[1.7, -1.7, 2.5], [0.4]], dict()),
        "numpy-rows": (list(np.arange(12).reshape(3, 4)), dict(maxlen=2, truncating="post")),
        "array-input": (np.arange(12).reshape(3, 4), dict(maxlen=6, value=9)),
    }
    for label, (sequences, kwargs) in cases.items():
        _exact(cmp, label, text.pad_sequences(sequences, **kwargs),
               keras.utils.pad_sequences(sequences, **kwargs))


# --- windows -----------------------------------------------------------------------------------

def _tf_windows(series, window_size, horizon, shift):
    """The courses' tf.data pipeline, stacked into arrays."""
    size = window_size + horizon
    ds = tf.data.Dataset.from_tensor_slices(series)
    ds = ds.window(size, shift=shift, drop_remainder=True)
    ds = ds.flat_map(lambda w: w.batch(size))
    ds = ds.map(lambda w: (w[:-horizon], w[-horizon:]))
    pairs = [(x.numpy(), y.numpy()) for x, y in ds]
    if not pairs:
        return (np.empty((0, window_size) + series.shape[1:], series.dtype),
                np.empty((0, horizon) + series.shape[1:], series.dtype))
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def _window_tfdata(features):
    def run(cmp):
        rng = np.random.default_rng(1)
        for n in (50, 9, 6):
            series = rng.normal(size=(n,) if features is None else (n, features))
            for window_size, horizon, shift in ((5, 1, 1), (4, 3, 2), (7, 2, 5), (3, 4, 3)):
                x, y = timeseries.windows(series, window_size, horizon, shift)
                tx, ty = _tf_windows(series, window_size, horizon, shift)
                label = f"n={n},w={window_size},h={horizon},s={shift}"
                _exact(cmp, f"x[{label}]", x, tx)
                _exact(cmp, f"y[{label}]", y, ty)
                if len(x) != timeseries.window_count(n, window_size, horizon, shift):
                    cmp.problem(f"{label}: window_count disagrees with the windows")
    return run


def _keras_dataset(data, targets, batch_size=7, **kwargs):
    ds = keras.utils.timeseries_dataset_from_array(data, targets, batch_size=batch_size,
                                                   **kwargs)
    batches = list(ds)
    if targets is None:
        return np.concatenate([b.numpy() for b in batches]) if batches else None
    if not batches:
        return None, None
    return (np.concatenate([b[0].numpy() for b in batches]),
            np.concatenate([b[1].numpy() for b in batches]))


def _window_keras(features):
    def run(cmp):
        rng = np.random.default_rng(2)
        n = 60
        data = rng.normal(size=(n,) if features is None else (n, features))
        options = [
            dict(sequence_length=5),
            dict(sequence_length=4, sequence_stride=3, sampling_rate=2),
            dict(sequence_length=6, sequence_stride=2, start_index=5, end_index=40),
            dict(sequence_length=3, sampling_rate=4, start_index=10),
            dict(sequence_length=10, end_index=30, sequence_stride=7),
        ]
        for kwargs in options:
            label = ",".join(f"{k}={v}" for k, v in kwargs.items())
            # Next-step targets, as Keras's docstring builds them.
            length = kwargs["sequence_length"]
            for name, (inputs, targets) in (("targets", (data[:-length], data[length:])),
                                            ("short-targets", (data, data[: n // 2])),
                                            ("no-targets", (data, None))):
                if name == "short-targets" and "start_index" in kwargs:
                    continue  # Keras then gathers past the end of the targets and fails
                ours = timeseries.timeseries_dataset(inputs, targets, **kwargs)
                theirs = _keras_dataset(inputs, targets, **kwargs)
                if targets is None:
                    _exact(cmp, f"x[{name},{label}]", ours, theirs)
                else:
                    _exact(cmp, f"x[{name},{label}]", ours[0], theirs[0])
                    _exact(cmp, f"y[{name},{label}]", ours[1], theirs[1])
    return run


# --- TextVectorization's other output modes ------------------------------------------------

MODE_SIZES = ((None, False), (40, False), (40, True), (2000, True))
NGRAMS = (None, 2, (1, 3))


def _keras_dense(value):
    """Keras's result as a NumPy array (a ragged one_hot result padded with zero rows)."""
    if hasattr(value, "to_tensor"):
        value = value.to_tensor()
    return np.asarray(value)


def _same(cmp, group, ours, theirs):
    """Exact for integer outputs; float32 ``tf_idf`` weights within the check's tolerance."""
    ours, theirs = np.asarray(ours), _keras_dense(theirs)
    if ours.dtype != theirs.dtype:
        cmp.problem(f"{group}: dtype {ours.dtype}, Keras {theirs.dtype}")
    if ours.shape == theirs.shape and theirs.dtype.kind != "f" \
            and not np.array_equal(ours, theirs):
        cmp.problem(f"{group}: values differ at {np.argwhere(ours != theirs)[:3].tolist()}")
    cmp.add(group, ours.astype(cmp.dtype), theirs.astype(cmp.dtype))


def _text_mode(mode, split="whitespace"):
    def run(cmp):
        data, batch = corpus(), probe_batch()
        for ngrams in (NGRAMS if split is not None else (None,)):
            for max_tokens, pad in MODE_SIZES:
                label = f"ngrams={ngrams},max_tokens={max_tokens},pad={pad}"
                ours, theirs = _vectorizers(output_mode=mode, ngrams=ngrams, split=split,
                                            max_tokens=max_tokens, pad_to_max_tokens=pad)
                ours.adapt(data)
                theirs.adapt(data)
                _same_vocabulary(cmp, label, ours.get_vocabulary(), theirs.get_vocabulary())
                if ours.vocabulary_size() != theirs.vocabulary_size():
                    cmp.problem(f"{label}: vocabulary_size {ours.vocabulary_size()}, "
                                f"Keras {theirs.vocabulary_size()}")
                _same(cmp, f"out[{label}]", ours(batch), theirs(batch))
    return run


def _text_modes_vocabulary(cmp):
    """Given vocabularies and idf weights, and Keras's own tests of these modes."""
    cases = [
        (dict(output_mode="multi_hot", vocabulary=["foo", "bar", "baz"]),
         [["foo bar"], ["baz foo foo"]]),
        (dict(output_mode="count", vocabulary=["foo", "bar", "baz"]),
         ["foo bar", "baz foo foo"]),
        (dict(output_mode="tf_idf", vocabulary=["foo", "bar", "baz"],
              idf_weights=[0.3, 0.5, 0.2]), ["foo bar", "baz foo foo qux"]),
        (dict(output_mode="tf_idf", vocabulary=["[UNK]", "foo", "bar", "baz"],
              idf_weights=[0.7, 0.3, 0.5, 0.2], max_tokens=6, pad_to_max_tokens=True),
         ["foo qq", "bar bar baz", ""]),
        (dict(output_mode="multi_hot", vocabulary=["foo", "bar"], max_tokens=8,
              pad_to_max_tokens=True), ["foo bar", "qq"]),
        (dict(output_mode="multi_hot", vocabulary=["a", "[UNK]", "b"]), ["[UNK] b", "c"]),
        (dict(output_mode="one_hot", vocabulary=["foo", "bar", "baz"]),
         ["foo bar", "baz qq foo"]),
        (dict(output_mode="count", vocabulary=["foo", "bar baz", "baz"], ngrams=2),
         ["foo bar baz", "baz"]),
        (dict(output_mode="binary", vocabulary=["x"]), ["x y", "y"]),
    ]
    for kwargs, inputs in cases:
        label = ",".join(f"{k}={v}" for k, v in kwargs.items())
        ours, theirs = _vectorizers(**kwargs)
        _same_vocabulary(cmp, label, ours.get_vocabulary(), theirs.get_vocabulary())
        _same(cmp, f"out[{label}]", ours(inputs), theirs(inputs))


def _text_modes_inputs(cmp):
    """Scalars, flat batches, columns and (B, k) blocks, with and without split."""
    data = ["a b c", "b c", "c", "a a", "", "d"]
    for mode in ("multi_hot", "count", "tf_idf", "one_hot"):
        for split in ("whitespace", None):
            ours, theirs = _vectorizers(output_mode=mode, split=split)
            ours.adapt(data)
            theirs.adapt(data)
            _same_vocabulary(cmp, f"{mode},split={split}", ours.get_vocabulary(),
                             theirs.get_vocabulary())
            inputs = {"scalar": "a c zz", "flat": ["a b", "c", "zz", ""],
                      "column": [["a b"], ["c d"]]}
            if split is None:
                inputs["block"] = [["a", "b", "zz"], ["c", "", "c"]]
            for name, value in inputs.items():
                _same(cmp, f"out[{mode},split={split},{name}]", ours(value), theirs(value))


# --- keras.utils --------------------------------------------------------------------------

def _utils_timeseries(shuffle):
    def run(cmp):
        rng = np.random.default_rng(3)
        data = rng.normal(size=(50, 2))
        options = [dict(sequence_length=5, batch_size=7),
                   dict(sequence_length=4, sequence_stride=3, sampling_rate=2, batch_size=4),
                   dict(sequence_length=6, start_index=5, end_index=40, batch_size=None),
                   dict(sequence_length=3, batch_size=128)]
        for kwargs in options:
            label = ",".join(f"{k}={v}" for k, v in kwargs.items())
            length = kwargs["sequence_length"]
            for name, (inputs, targets) in (("targets", (data[:-length], data[length:, 0])),
                                            ("no-targets", (data, None))):
                ours = utils.timeseries_dataset_from_array(inputs, targets, shuffle=shuffle,
                                                           seed=7, **kwargs)
                theirs = keras.utils.timeseries_dataset_from_array(
                    inputs, targets, shuffle=shuffle, seed=7, **kwargs)
                ours_batches = list(ours)
                theirs_batches = [tf.nest.map_structure(np.asarray, b) for b in theirs]
                if len(ours_batches) != len(theirs_batches) or len(ours) != len(theirs):
                    cmp.problem(f"{name},{label}: {len(ours_batches)} batches "
                                f"(len {len(ours)}), Keras {len(theirs_batches)} "
                                f"(len {len(theirs)})")
                    continue
                if targets is None:
                    ours_batches = [(b,) for b in ours_batches]
                    theirs_batches = [(b,) for b in theirs_batches]
                if not shuffle:
                    for k, (a, b) in enumerate(zip(ours_batches, theirs_batches)):
                        for part, (u, v) in enumerate(zip(a, b)):
                            _exact(cmp, f"batch{k}[{part}][{name},{label}]", u, v)
                    continue
                # Shuffled: the same windows (with their targets) in each pass, any order.
                batched, with_targets = kwargs["batch_size"] is not None, targets is not None
                keras_rows = _window_rows(theirs_batches, batched)
                for attempt, batches in enumerate((ours_batches, list(ours))):
                    batches = batches if with_targets or attempt == 0 else [(b,) for b in batches]
                    _exact(cmp, f"pass{attempt}[{name},{label}]",
                           _window_rows(batches, batched), keras_rows)
    return run


def _window_rows(batches, batched):
    """Every window of ``batches`` (tuples of arrays) as one row of its values, sorted."""
    rows = []
    for parts in batches:
        parts = [np.asarray(p) if batched else np.asarray(p)[None] for p in parts]
        rows.append(np.concatenate([p.reshape(len(p), -1) for p in parts], axis=1))
    table = np.concatenate(rows)
    return table[np.lexsort(table.T[::-1])]


def _utils_to_categorical(cmp):
    cases = [([0, 1, 2, 3], 4), ([[1], [2]], None), ([[1], [2]], 0), (2, 4), ([1], None),
             ([[0, 1], [1, 1]], None), (np.array([[[1]]]), 3), (np.arange(6).reshape(2, 3), 8),
             (np.array([1.0, 2.0]), None), (np.array([3, 0], dtype=np.uint8), 5), ([], 3)]
    for x, num_classes in cases:
        _exact(cmp, f"x={np.asarray(x).tolist()},num_classes={num_classes}",
               utils.to_categorical(x, num_classes), keras.utils.to_categorical(x, num_classes))


# --- the list ----------------------------------------------------------------------------------

def _name(value):
    return {None: "none", "lower_and_strip_punctuation": "lower-strip",
            "strip_punctuation": "strip"}.get(value, value)


CHECKS = (
    [Check(f"text-{_name(s)}-{_name(p)}-f64", "text", "float64", _text_options(s, p),
           f"standardize={s} split={p}") for s in STANDARDIZE for p in SPLIT]
    + [Check("text-ties-f64", "text", "float64", _text_ties, "count ties"),
       Check("text-vocabulary-f64", "text", "float64", _text_given_vocabulary, "vocabulary="),
       Check("text-input-ranks-f64", "text", "float64", _text_input_ranks, "input ranks"),
       Check("text-max-tokens-f64", "text", "float64", _text_small_max_tokens, "max_tokens")]
    + [Check(f"pad-{p}-{t}-f64", "text", "float64", _pad_options(p, t),
             f"padding={p} truncating={t}") for p in ("pre", "post") for t in ("pre", "post")]
    + [Check("pad-extras-f64", "text", "float64", _pad_extras, "edge cases")]
    + [Check(f"window-tfdata-{'1d' if f is None else 'multi'}-f64", "text", "float64",
             _window_tfdata(f), "tf.data window pipeline") for f in (None, 3)]
    + [Check(f"window-keras-{'1d' if f is None else 'multi'}-f64", "text", "float64",
             _window_keras(f), "timeseries_dataset_from_array") for f in (None, 3)]
    + [Check(f"text-mode-{m}-{'f32' if m == 'tf_idf' else 'f64'}", "text",
             "float32" if m == "tf_idf" else "float64", _text_mode(m), f"output_mode={m}")
       for m in ("multi_hot", "count", "tf_idf", "one_hot")]
    + [Check("text-mode-one_hot-unsplit-f64", "text", "float64", _text_mode("one_hot", None),
             "output_mode=one_hot split=None"),
       Check("text-modes-vocabulary-f32", "text", "float32", _text_modes_vocabulary,
             "vocabulary= idf_weights="),
       Check("text-modes-inputs-f32", "text", "float32", _text_modes_inputs, "input ranks"),
       Check("text-utils-to-categorical-f64", "text", "float64", _utils_to_categorical,
             "to_categorical")]
    + [Check(f"text-utils-timeseries-{'shuffled' if s else 'ordered'}-f64", "text", "float64",
             _utils_timeseries(s), f"shuffle={s}") for s in (False, True)]
)
