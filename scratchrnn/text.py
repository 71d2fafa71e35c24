"""Text in, integers out: Keras's ``TextVectorization`` and ``pad_sequences``, a character
vocabulary for character models, and the IMDB reviews from Keras's cache.

Pure Python and NumPy: nothing here imports TensorFlow, except :func:`load_imdb`, which
hands an already downloaded file to ``keras.datasets.imdb``.

What Keras 3.15 does, and this module with it (each checked by running Keras, see
``parity/checks_text.py``):

- ``standardize="lower"`` lowercases **ASCII letters only** (``tf.strings.lower`` without
  an encoding): ``"ÀB"`` becomes ``"Àb"``.
- ``"strip_punctuation"`` removes the 32 ASCII punctuation characters of
  :data:`PUNCTUATION` (Keras's regex class, which is ``string.punctuation``); ``«``, ``—``
  and other non-ASCII punctuation stay.
- ``split="whitespace"`` splits on runs of the six ASCII whitespace characters
  ``" \\t\\n\\v\\f\\r"`` and drops empty pieces (``tf.strings.split``); unlike Python's
  ``str.split()``, ``"\\xa0"``, ``"\\u2003"`` or ``"\\x1c"`` are *not* separators.
  ``split="character"`` splits into Unicode code points.
- ``adapt`` ranks tokens by count, most frequent first, ties by the token's UTF-8 bytes in
  *descending* order (``np.lexsort((tokens, counts))[::-1]``): ``"b"`` before ``"a"``.
  Index 0 is the mask token ``""``, 1 the out-of-vocabulary token ``"[UNK]"``; those two
  strings are never learned, and ``max_tokens`` counts them.
"""

import collections
import numbers
import os
import re

import numpy as np

#: Keras's punctuation regex class ``[!"#$%&()\\*\\+,-\\./:;<=>?@\\[\\\\\\]^_`{|}~\\']``.
PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
MASK_TOKEN = ""
OOV_TOKEN = "[UNK]"
STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
SPLIT = ("whitespace", "character")

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_NO_PUNCTUATION = str.maketrans("", "", PUNCTUATION)
_ASCII_WHITESPACE = re.compile("[ \t\n\v\f\r]+")


def _string_option(value, argument, allowed):
    """``value`` if it is None, a callable or one of ``allowed``; otherwise a ValueError."""
    if value is None or callable(value) or (isinstance(value, str) and value in allowed):
        return value
    raise ValueError(f"`{argument}` must be None, a callable or one of {allowed}, "
                     f"got {value!r}")


def _as_str(value, argument):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, str):  # np.str_ included
        return str(value)
    raise TypeError(f"`{argument}` must hold strings, got {value!r} of type "
                    f"{type(value).__name__}")


def _string_array(data, argument):
    """``data`` (a string, or nested lists / an array of strings) as an object array of
    Python ``str``."""
    if isinstance(data, (str, bytes)):
        return np.array(_as_str(data, argument), dtype=object)
    arr = np.asarray(data, dtype=object)
    out = np.empty(arr.shape, dtype=object)
    for i in np.ndindex(arr.shape):
        out[i] = _as_str(arr[i], argument)
    return out


class TextVectorization:
    """Keras's ``TextVectorization`` in ``output_mode="int"``: strings to (padded) token ids.

    Each string is standardized, split into tokens, and each token replaced by its index
    in the vocabulary (learned by :meth:`adapt` or given), unknown tokens by 1 and the
    empty token by 0.  With ``split``, a batch ``(B,)`` (or ``(B, 1)``) gives an int64
    ``(B, L)`` array, padded with 0 at the end to the longest sample, or padded/truncated
    at the end to ``output_sequence_length``.  Without ``split`` every string is one token
    and the output has the input's shape (``output_sequence_length`` then pads/truncates
    its last axis, as Keras does).

    Arguments are Keras's.  ``standardize`` and ``split`` may be callables; here they
    receive one Python string (Keras hands them a tensor), and ``split`` returns a list of
    tokens.  ``vocabulary``: a list (tuple, 1-D array) of tokens, optionally starting with
    ``["", "[UNK]"]``; a layer given one cannot be adapted (Keras's rule).  Files are not
    read: pass ``open(path).read().splitlines()``.

    Where Keras fails rather than answers, this layer answers: ``max_tokens=2`` or data
    holding only ``""``/``"[UNK]"`` give the two reserved entries alone (Keras cannot
    build an empty lookup table), and an adapted layer whose data had no token at all maps
    everything to 1 (Keras's table is left uninitialised).  Adapting on data without any
    token keeps the previous vocabulary, as Keras does.
    """

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation",
                 split="whitespace", output_mode="int", output_sequence_length=None,
                 vocabulary=None, name=None):
        if max_tokens is not None:
            if isinstance(max_tokens, bool) or not isinstance(max_tokens, numbers.Integral):
                raise TypeError(f"`max_tokens` must be None or an integer > 1, "
                                f"got {max_tokens!r}")
            if max_tokens <= 1:
                raise ValueError(f"`max_tokens` must be None or an integer > 1 (it counts "
                                 f"the two reserved entries), got {max_tokens}")
            max_tokens = int(max_tokens)
        if output_mode != "int":
            raise ValueError(f"`output_mode` must be 'int' (the only mode implemented; "
                             f"Keras also has 'multi_hot', 'count', 'tf_idf'), "
                             f"got {output_mode!r}")
        if output_sequence_length is not None:
            if (isinstance(output_sequence_length, bool)
                    or not isinstance(output_sequence_length, numbers.Integral)
                    or output_sequence_length < 0):
                raise ValueError(f"`output_sequence_length` must be None or a "
                                 f"non-negative integer, got {output_sequence_length!r}")
            output_sequence_length = int(output_sequence_length)
        if name is not None and not isinstance(name, str):
            raise TypeError(f"`name` must be a string, got {name!r}")
        self.max_tokens = max_tokens
        self.standardize = _string_option(standardize, "standardize", STANDARDIZE)
        self.split = _string_option(split, "split", SPLIT)
        self.output_mode = output_mode
        self.output_sequence_length = output_sequence_length
        self.name = name or "text_vectorization"
        self._tokens = None          # learned or given tokens, reserved entries excluded
        self._index = {}
        self._has_input_vocabulary = vocabulary is not None
        if vocabulary is not None:
            self.set_vocabulary(vocabulary)

    def __repr__(self):
        return f"TextVectorization(name={self.name!r}, vocabulary_size={self.vocabulary_size()})"

    # --- text to tokens ---------------------------------------------------------------

    def _standardize(self, text):
        if self.standardize in ("lower", "lower_and_strip_punctuation"):
            text = text.translate(_ASCII_LOWER)
        if self.standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            text = text.translate(_NO_PUNCTUATION)
        if callable(self.standardize):
            text = _as_str(self.standardize(text), "standardize(text)")
        return text

    def _split(self, text):
        if self.split == "whitespace":
            return [t for t in _ASCII_WHITESPACE.split(text) if t]
        if self.split == "character":
            return list(text)
        return [_as_str(t, "split(text)") for t in self.split(text)]

    def _prepare(self, data, argument):
        """``data`` as an object array of standardized strings; with ``split``, a trailing
        axis of size 1 is squeezed (Keras's rule: one string per sample)."""
        strings = _string_array(data, argument)
        if self.split is not None and strings.ndim > 1:
            if strings.shape[-1] != 1:
                raise ValueError(f"`{argument}` must have rank 1 or a last dimension of "
                                 f"1 when splitting strings into tokens, got shape "
                                 f"{strings.shape}")
            strings = strings[..., 0]
        out = np.empty(strings.shape, dtype=object)
        for i in np.ndindex(strings.shape):
            text = self._standardize(strings[i])
            out[i] = self._split(text) if self.split is not None else text
        return out

    # --- the vocabulary ---------------------------------------------------------------

    def adapt(self, data):
        """Learn the vocabulary from ``data`` (strings: a list, array or one string): the
        tokens by count, most frequent first, ties by UTF-8 bytes descending, at most
        ``max_tokens - 2`` of them."""
        if self._has_input_vocabulary:
            raise ValueError(f"Cannot adapt {self.name!r}: it was given a fixed "
                             "`vocabulary` when constructed (Keras's rule)")
        counts = collections.Counter()
        for sample in self._prepare(data, "data").flat:
            counts.update(sample if self.split is not None else [sample])
        if not counts:  # Keras's finalize_state returns early: nothing changes
            if self._tokens is None:
                self._set_tokens([])
            return
        counts.pop(MASK_TOKEN, None)
        counts.pop(OOV_TOKEN, None)
        ranked = sorted(counts, key=lambda t: (counts[t], t.encode("utf-8")), reverse=True)
        if self.max_tokens is not None:
            ranked = ranked[:self.max_tokens - 2]
        self._set_tokens(ranked)

    def set_vocabulary(self, vocabulary):
        """Use ``vocabulary`` (tokens, optionally preceded by ``""`` and ``"[UNK]"``)."""
        if isinstance(vocabulary, (str, bytes)):
            raise TypeError("`vocabulary` must be a list of strings (vocabulary files are "
                            "not read: pass open(path).read().splitlines()), "
                            f"got the string {vocabulary!r}")
        tokens = [_as_str(t, "vocabulary") for t in np.asarray(vocabulary, dtype=object).ravel()]
        if not tokens:
            raise ValueError("`vocabulary` must not be empty")
        if tokens[:2] == [MASK_TOKEN, OOV_TOKEN]:
            tokens = tokens[2:]
        repeated = sorted(t for t, c in collections.Counter(tokens).items() if c > 1)
        if repeated:
            raise ValueError(f"`vocabulary` must not repeat a token, repeated: {repeated}")
        if MASK_TOKEN in tokens:
            raise ValueError(f"`vocabulary` holds the mask token '' at index "
                             f"{tokens.index(MASK_TOKEN)}; it may only come first, "
                             "followed by '[UNK]'")
        if self.max_tokens is not None and len(tokens) + 2 > self.max_tokens:
            raise ValueError(f"`vocabulary` has {len(tokens) + 2} entries with '' and "
                             f"'[UNK]', more than `max_tokens`={self.max_tokens}")
        self._set_tokens(tokens)

    def _set_tokens(self, tokens):
        self._tokens = list(tokens)
        self._index = {t: i + 2 for i, t in enumerate(self._tokens)}

    def get_vocabulary(self, include_special_tokens=True):
        """The vocabulary in index order (``""`` and ``"[UNK]"`` first, unless excluded)."""
        tokens = list(self._tokens or [])
        return [MASK_TOKEN, OOV_TOKEN] + tokens if include_special_tokens else tokens

    def vocabulary_size(self):
        """The number of indices, the two reserved ones included."""
        return 2 + len(self._tokens or [])

    # --- strings to ids ---------------------------------------------------------------

    def _lookup(self, token):
        return 0 if token == MASK_TOKEN else self._index.get(token, 1)

    def __call__(self, inputs):
        """Token ids (int64) of ``inputs``: one string, or a batch ``(B,)`` / ``(B, 1)``."""
        if self._tokens is None:
            raise RuntimeError(f"{self.name!r} has no vocabulary yet: call adapt(data) or "
                               "set_vocabulary(tokens) first")
        prepared = self._prepare(inputs, "inputs")
        length = self.output_sequence_length
        if self.split is None:
            ids = np.vectorize(self._lookup, otypes=[np.int64])(prepared) \
                if prepared.size else np.zeros(prepared.shape, np.int64)
            return ids if length is None else self._fit_last_axis(ids, length)
        if length is None:
            length = max((len(t) for t in prepared.flat), default=0)
        ids = np.zeros(prepared.shape + (length,), dtype=np.int64)
        for i in np.ndindex(prepared.shape):
            row = [self._lookup(t) for t in prepared[i][:length]]
            ids[i][:len(row)] = row
        return ids

    @staticmethod
    def _fit_last_axis(ids, length):
        """Truncate or zero-pad the last axis of ``ids`` at its end to ``length``."""
        if ids.ndim == 0:
            raise ValueError("`inputs` must have at least one axis when "
                             "`output_sequence_length` is set and `split` is None")
        ids = ids[..., :length]
        padding = [(0, 0)] * (ids.ndim - 1) + [(0, length - ids.shape[-1])]
        return np.pad(ids, padding)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_sequence_length)

    # --- configuration ----------------------------------------------------------------

    def get_config(self):
        """The constructor arguments.  ``vocabulary`` is the current one (learned tokens
        too, without the reserved entries), so that ``from_config`` rebuilds a layer that
        maps strings the same way (Keras keeps an adapted vocabulary in an asset file)."""
        return {"name": self.name, "max_tokens": self.max_tokens,
                "standardize": self.standardize, "split": self.split,
                "output_mode": self.output_mode,
                "output_sequence_length": self.output_sequence_length,
                "vocabulary": None if self._tokens is None else list(self._tokens)}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


# --- padding ------------------------------------------------------------------------------

def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0):
    """``keras.utils.pad_sequences``: a ``(len(sequences), maxlen) + sample_shape`` array.

    Each sequence is cut to its last (``truncating="pre"``) or first (``"post"``)
    ``maxlen`` items and written at the end (``padding="pre"``) or the start (``"post"``)
    of its row; the rest of the row is ``value``.  ``maxlen=None``: the longest length.
    Items and ``value`` are cast to ``dtype`` by NumPy (``value=0.5`` with ints gives 0;
    floats are truncated toward zero).  Sequences may hold vectors: ``sample_shape`` is
    taken from the first non-empty one and the others must agree.  Strings need
    ``dtype=object`` (or a string dtype): a string ``value`` with another dtype is refused.

    Stricter than Keras where Keras is silent or accidental: ``padding``/``truncating``
    are checked even when every sequence is empty, and ``maxlen=0`` gives an ``(n, 0)``
    array (Keras's ``s[-0:]`` keeps the whole sequence and then fails to fit it).
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"`sequences` must be a list of sequences, got "
                         f"{type(sequences).__name__}")
    for argument, option in (("padding", padding), ("truncating", truncating)):
        if option not in ("pre", "post"):
            raise ValueError(f"`{argument}` must be 'pre' or 'post', got {option!r}")
    lengths, sample_shape = [], None
    for i, s in enumerate(sequences):
        if isinstance(s, (str, bytes)) or not hasattr(s, "__len__"):
            raise ValueError(f"`sequences` must be a list of sequences; item {i} is "
                             f"{s!r}")
        lengths.append(len(s))
        if sample_shape is None and len(s):
            sample_shape = np.asarray(s).shape[1:]
    if maxlen is None:
        if not lengths:
            raise ValueError("`maxlen` must be given when `sequences` is empty "
                             "(there is no longest sequence)")
        maxlen = max(lengths)
    elif isinstance(maxlen, bool) or not isinstance(maxlen, numbers.Integral) or maxlen < 0:
        raise ValueError(f"`maxlen` must be None or a non-negative integer, got {maxlen!r}")
    is_string_dtype = dtype is object or np.dtype(dtype).kind in "OSU"
    if isinstance(value, str) and not is_string_dtype:
        raise ValueError(f"`value` {value!r} is a string but `dtype` is {dtype!r}: use "
                         "dtype=object for strings")
    out = np.full((len(sequences), int(maxlen)) + (sample_shape or ()), value, dtype=dtype)
    for i, s in enumerate(sequences):
        kept = s[max(len(s) - maxlen, 0):] if truncating == "pre" else s[:maxlen]
        if not len(kept):
            continue
        kept = np.asarray(kept, dtype=dtype)
        if kept.shape[1:] != sample_shape:
            raise ValueError(f"`sequences`[{i}] has items of shape {kept.shape[1:]}, "
                             f"the first non-empty sequence {sample_shape}")
        if padding == "pre":
            out[i, maxlen - len(kept):] = kept
        else:
            out[i, :len(kept)] = kept
    return out


# --- characters ---------------------------------------------------------------------------

class CharVocabulary:
    """The sorted distinct characters of a text, for character models: index ``i`` is
    ``chars[i]``.  ``encode`` refuses characters it does not know (a model has no input
    for them) instead of mapping them somewhere silently."""

    def __init__(self, text):
        text = _as_str(text, "text") if not isinstance(text, (list, tuple)) else "".join(
            _as_str(t, "text") for t in text)
        if not text:
            raise ValueError("`text` must hold at least one character")
        self.chars = tuple(sorted(set(text)))
        self.index = {c: i for i, c in enumerate(self.chars)}

    @property
    def size(self):
        return len(self.chars)

    def __len__(self):
        return len(self.chars)

    def __repr__(self):
        return f"CharVocabulary(size={self.size})"

    def encode(self, text):
        """The indices of ``text``'s characters, an int64 array of ``len(text)``."""
        text = _as_str(text, "text")
        unknown = sorted(set(text) - self.index.keys())
        if unknown:
            raise ValueError(f"`text` holds characters outside the vocabulary: "
                             f"{unknown[:10]!r}{' ...' if len(unknown) > 10 else ''}")
        return np.fromiter((self.index[c] for c in text), dtype=np.int64, count=len(text))

    def decode(self, ids):
        """The string of the indices ``ids`` (a 1-D sequence of integers)."""
        ids = np.asarray(ids)
        if ids.ndim != 1 or (ids.size and ids.dtype.kind not in "iu"):
            raise ValueError(f"`ids` must be a 1-D sequence of integers, got shape "
                             f"{ids.shape} and dtype {ids.dtype}")
        bad = ids[(ids < 0) | (ids >= self.size)]
        if bad.size:
            raise ValueError(f"`ids` must lie in [0, {self.size}), got {bad[:10].tolist()}")
        return "".join(self.chars[i] for i in ids.tolist())


def char_vocabulary(text):
    """:class:`CharVocabulary` of ``text``."""
    return CharVocabulary(text)


# --- IMDB -----------------------------------------------------------------------------------

def _keras_cache_file(path):
    """Where Keras's ``get_file`` keeps ``datasets/<path>``: under ``$KERAS_HOME``, else
    ``~/.keras``; under ``/tmp/.keras`` when that folder (or ``~``) is not writable."""
    home = os.environ.get("KERAS_HOME")
    if home is None:
        user = os.path.expanduser("~")
        home = os.path.join(user if os.access(user, os.W_OK) else "/tmp", ".keras")
    base = os.path.expanduser(home)
    if os.path.isdir(base) and not os.access(base, os.W_OK):
        base = os.path.join("/tmp", ".keras")
    return os.path.join(base, "datasets", path)


def load_imdb(num_words=None, maxlen=None, skip_top=0, start_char=1, oov_char=2,
              index_from=3, seed=113, path="imdb.npz"):
    """``keras.datasets.imdb.load_data``'s ``(x_train, y_train), (x_test, y_test)``, from
    Keras's cache only: this never downloads.

    ``x_*`` are object arrays of lists of word ids; ``maxlen`` (Keras's meaning) *drops*
    longer reviews; pad with :func:`pad_sequences`.  TensorFlow/Keras are imported here,
    only once the file is known to be there.
    """
    cached = _keras_cache_file(path)
    if not os.path.isfile(cached):
        raise FileNotFoundError(
            f"The IMDB file is not in Keras's cache (looked for {cached}); this "
            "machine is offline and nothing is downloaded at run time. On a machine with "
            "network access run `python -c \"import keras; keras.datasets.imdb.load_data()\"` "
            f"and copy ~/.keras/datasets/{path} to {cached}")
    from ._tensorflow import import_tensorflow

    _, keras = import_tensorflow()
    return keras.datasets.imdb.load_data(
        path=path, num_words=num_words, skip_top=skip_top, maxlen=maxlen, seed=seed,
        start_char=start_char, oov_char=oov_char, index_from=index_from)
