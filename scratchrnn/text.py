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
OUTPUT_MODES = ("int", "multi_hot", "count", "tf_idf", "one_hot")
_MODE_ALIASES = {"binary": "multi_hot", "tf-idf": "tf_idf"}   # Keras's older names

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
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ValueError(f"`{argument}` must hold text or UTF-8 encoded bytes, got "
                             f"{value[:40]!r}, which is not valid UTF-8 ({err.reason} at "
                             f"byte {err.start}); decode it yourself first, e.g. "
                             f"value.decode('latin-1')") from None
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
    """Keras's ``TextVectorization``: strings to token ids, or to one vector per sample.

    Each string is standardized, split into tokens, optionally joined into ``ngrams``, and
    each token looked up in the vocabulary (learned by :meth:`adapt` or given).  Arguments
    are Keras's; ``standardize`` and ``split`` may be callables, which here receive one
    Python string (Keras hands them a tensor), ``split`` returning a list of tokens.
    ``vocabulary``: a list (tuple, 1-D array) of tokens, optionally starting with the
    reserved entries; a layer given one cannot be adapted (Keras's rule).  Files are not
    read: pass ``open(path).read().splitlines()``.

    ``output_mode="int"`` (``""`` is 0, ``"[UNK]"`` 1, tokens from 2): with ``split``, a
    batch ``(B,)`` (or ``(B, 1)``) gives an int64 ``(B, L)`` array, padded with 0 at the
    end to the longest sample, or padded/truncated at the end to
    ``output_sequence_length``.  Without ``split`` every string is one token and the
    output has the input's shape (``output_sequence_length`` then pads/truncates its
    last axis, as Keras does).

    The other modes have **no mask index**: ``"[UNK]"`` is index 0 and tokens start at 1,
    so ``max_tokens`` counts one reserved entry, not two, and ``get_vocabulary()``
    starts ``["[UNK]", ...]``.  Each gives vectors of ``depth = vocabulary_size()``
    entries, or ``max_tokens`` with ``pad_to_max_tokens=True`` (the tail stays 0)::

        multi_hot  1 where the sample holds the token (index 0: any unknown token)  int64
        count      how many times the sample holds it                               int64
        tf_idf     count * idf, idf = log(1 + num_documents / (1 + df))             float32
        one_hot    one vector per token                                             int64

    ``df`` is the number of adapted documents (strings) holding the token, computed in
    float64 and stored in float32; index 0's weight is the mean of the tokens' weights
    (with a given ``vocabulary`` without ``"[UNK]"`` first: the mean of the given
    ``idf_weights``).  The empty string (Keras's mask token) counts nowhere.  A *sample*
    is one string when splitting: ``(B,)`` or ``(B, 1)`` in, ``(B, depth)`` out, one
    string ``(depth,)``.  Without ``split`` a sample is the **last axis**, as in Keras:
    ``(B, k)`` strings give ``(B, depth)``, and a flat ``(B,)`` batch gives one vector
    ``(depth,)`` for all of it; ``one_hot`` instead encodes each string, ``(B,)`` or
    ``(B, 1)`` to ``(B, depth)``.  ``one_hot`` with ``split`` gives ``(B, L, depth)``,
    the dense form of Keras's ragged result (rows past a sample's end are 0).

    ``ngrams=n`` adds, after the tokens, every run of 2, ..., n consecutive tokens joined
    by one space; a tuple lists the widths, in the order given (``(1, 3)``: tokens and
    trigrams).  A sample shorter than a width gives none of that width.  N-grams are
    tokens like any other: counted, ranked and truncated by ``max_tokens`` together.

    Where Keras fails rather than answers, this layer answers: ``max_tokens`` equal to the
    reserved entries or data holding only ``""``/``"[UNK]"`` give the reserved entries
    alone (Keras cannot build an empty lookup table), and an adapted layer whose data had
    no token at all maps everything to ``"[UNK]"`` (Keras's table is left
    uninitialised).  Adapting on data without any token keeps the previous vocabulary, as
    Keras does.  Refused where Keras computes something meaningless: ``ngrams`` below 1 or
    with ``split=None`` (Keras would join neighbouring strings of the batch), and
    non-``int`` modes on more than one axis of samples.  As in Keras, a ``multi_hot``,
    ``count`` or ``tf_idf`` layer without ``pad_to_max_tokens`` keeps its first
    vocabulary size: a later vocabulary of another size is a ``RuntimeError``.
    """

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation",
                 split="whitespace", ngrams=None, output_mode="int",
                 output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", name=None):
        if isinstance(output_mode, str):
            output_mode = _MODE_ALIASES.get(output_mode, output_mode)
        if not isinstance(output_mode, str) or output_mode not in OUTPUT_MODES:
            raise ValueError(f"`output_mode` must be one of {OUTPUT_MODES}, "
                             f"got {output_mode!r}")
        reserved = 2 if output_mode == "int" else 1
        if max_tokens is not None:
            if isinstance(max_tokens, bool) or not isinstance(max_tokens, numbers.Integral):
                raise TypeError(f"`max_tokens` must be None or an integer > 1, "
                                f"got {max_tokens!r}")
            if max_tokens <= 1:
                raise ValueError(f"`max_tokens` must be None or an integer > 1 (it counts "
                                 f"the reserved entries), got {max_tokens}")
            max_tokens = int(max_tokens)
        if not isinstance(pad_to_max_tokens, (bool, np.bool_)):
            raise TypeError(f"`pad_to_max_tokens` must be True or False, "
                            f"got {pad_to_max_tokens!r}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError("`pad_to_max_tokens=True` needs `max_tokens` (the width of "
                             "the output), got max_tokens=None")
        if output_sequence_length is not None:
            if output_mode != "int":
                raise ValueError(f"`output_sequence_length` must be None when "
                                 f"`output_mode` is {output_mode!r} (only 'int' gives "
                                 f"sequences), got {output_sequence_length!r}")
            if (isinstance(output_sequence_length, bool)
                    or not isinstance(output_sequence_length, numbers.Integral)
                    or output_sequence_length < 0):
                raise ValueError(f"`output_sequence_length` must be None or a "
                                 f"non-negative integer, got {output_sequence_length!r}")
            output_sequence_length = int(output_sequence_length)
        self.standardize = _string_option(standardize, "standardize", STANDARDIZE)
        self.split = _string_option(split, "split", SPLIT)
        self.ngrams = ngrams
        self._widths = _ngram_widths(ngrams, self.split)
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"`idf_weights` must be None unless `output_mode` is "
                             f"'tf_idf', got output_mode={output_mode!r}")
        if output_mode == "tf_idf" and vocabulary is not None and idf_weights is None:
            raise ValueError("`idf_weights` must be given with `vocabulary` when "
                             "`output_mode` is 'tf_idf' (one weight per token)")
        for argument, value, default in (("sparse", sparse, False), ("ragged", ragged, False),
                                         ("encoding", encoding, "utf-8")):
            if value != default or type(value) is not type(default):
                raise ValueError(f"`{argument}` must be {default!r} (scratchrnn returns "
                                 f"dense NumPy arrays of UTF-8 text), got {value!r}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"`name` must be a string, got {name!r}")
        self.max_tokens = max_tokens
        self.output_mode = output_mode
        self.output_sequence_length = output_sequence_length
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.name = name or "text_vectorization"
        self._reserved = [MASK_TOKEN, OOV_TOKEN][2 - reserved:]
        self._tokens = None          # learned or given tokens, reserved entries excluded
        self._index = {}
        self._idf = None             # tf_idf: float32 weights, one per output column
        self._frozen_size = None     # the vocabulary size non-int modes are held to
        self._has_input_vocabulary = vocabulary is not None
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    def __repr__(self):
        return (f"TextVectorization(name={self.name!r}, output_mode={self.output_mode!r}, "
                f"vocabulary_size={self.vocabulary_size()})")

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

    def _with_ngrams(self, tokens):
        """``tokens`` followed by their n-grams, width by width in the order asked."""
        if self._widths is None:
            return tokens
        return [" ".join(tokens[i:i + n]) for n in self._widths
                for i in range(len(tokens) - n + 1)]

    def _prepare(self, data, argument):
        """``data`` as an object array of standardized strings, or, with ``split``, of
        token lists (n-grams included) with a trailing axis of size 1 squeezed (Keras's
        rule: one string per sample)."""
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
            out[i] = self._with_ngrams(self._split(text)) if self.split is not None else text
        return out

    def _documents(self, prepared):
        """The token lists that :meth:`adapt` counts as documents: one per string when
        splitting; without ``split``, the rows of the data seen as ``(N, k)`` (a flat
        batch of N strings is N one-token documents, as Keras's ``adapt`` sees it)."""
        if self.split is not None:
            return list(prepared.flat)
        rows = prepared.reshape(-1, prepared.shape[-1] if prepared.ndim > 1 else 1)
        return [list(row) for row in rows]

    # --- the vocabulary ---------------------------------------------------------------

    def adapt(self, data):
        """Learn the vocabulary from ``data`` (strings: a list, array or one string): the
        tokens by count, most frequent first, ties by UTF-8 bytes descending, at most
        ``max_tokens`` minus the reserved entries of them; ``tf_idf`` also learns each
        token's document frequency."""
        if self._has_input_vocabulary:
            raise ValueError(f"Cannot adapt {self.name!r}: it was given a fixed "
                             "`vocabulary` when constructed (Keras's rule)")
        documents = self._documents(self._prepare(data, "data"))
        counts = collections.Counter()
        for tokens in documents:
            counts.update(tokens)
        if not counts:  # Keras's finalize_state returns early: nothing changes
            if self._tokens is None:
                self._set_tokens([], np.zeros(0))
            return
        counts.pop(MASK_TOKEN, None)
        counts.pop(OOV_TOKEN, None)
        ranked = sorted(counts, key=lambda t: (counts[t], t.encode("utf-8")), reverse=True)
        if self.max_tokens is not None:
            ranked = ranked[:self.max_tokens - len(self._reserved)]
        idf = None
        if self.output_mode == "tf_idf":
            df = collections.Counter(t for tokens in documents for t in set(tokens))
            df = np.array([df[t] for t in ranked], dtype=np.float64)
            idf = np.log(1.0 + len(documents) / (1.0 + df)).astype(np.float32)
            oov = np.float32(idf.astype(np.float64).mean()) if idf.size else np.float32(0)
            idf = np.concatenate([[oov], idf])
        self._set_tokens(ranked, idf)

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Use ``vocabulary`` (tokens, optionally preceded by the reserved entries:
        ``""`` and ``"[UNK]"`` in ``int`` mode, ``"[UNK]"`` in the others) and, for
        ``tf_idf``, ``idf_weights``: one per entry of ``vocabulary`` (without
        ``"[UNK]"`` first, index 0 gets their mean)."""
        if isinstance(vocabulary, (str, bytes)):
            raise TypeError("`vocabulary` must be a list of strings (vocabulary files are "
                            "not read: pass open(path).read().splitlines()), "
                            f"got the string {vocabulary!r}")
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError("`idf_weights` must be given when `output_mode` is 'tf_idf'")
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ValueError(f"`idf_weights` must be None unless `output_mode` is "
                             f"'tf_idf', got output_mode={self.output_mode!r}")
        given = [_as_str(t, "vocabulary") for t in np.asarray(vocabulary, dtype=object).ravel()]
        if not given:
            raise ValueError("`vocabulary` must not be empty")
        reserved = self._reserved
        has_reserved = given[:len(reserved)] == reserved
        tokens = given[len(reserved):] if has_reserved else given
        repeated = sorted(t for t, c in collections.Counter(tokens).items() if c > 1)
        if repeated:
            raise ValueError(f"`vocabulary` must not repeat a token, repeated: {repeated}")
        if MASK_TOKEN in tokens:
            raise ValueError(f"`vocabulary` holds the mask token '' at index "
                             f"{given.index(MASK_TOKEN)}; it may only be the first of "
                             f"{reserved!r}" if self.output_mode == "int" else
                             f"`vocabulary` holds the empty string at index "
                             f"{given.index(MASK_TOKEN)}: it is never a token")
        if self.max_tokens is not None and len(tokens) + len(reserved) > self.max_tokens:
            raise ValueError(f"`vocabulary` has {len(tokens) + len(reserved)} entries with "
                             f"{reserved!r}, more than `max_tokens`={self.max_tokens}")
        idf = None
        if idf_weights is not None:
            weights = np.asarray(idf_weights, dtype=np.float64)
            if weights.ndim != 1 or len(weights) != len(given):
                raise ValueError(f"`idf_weights` must be 1-D with one weight per entry of "
                                 f"`vocabulary` ({len(given)}), got shape {weights.shape}")
            if not has_reserved:
                weights = np.concatenate([[weights.mean()], weights])
            idf = weights.astype(np.float32)
        self._set_tokens(tokens, idf)

    def _set_tokens(self, tokens, idf=None):
        size = len(self._reserved) + len(tokens)
        if self.output_mode != "int" and not self.pad_to_max_tokens:
            if self._frozen_size is not None and size != self._frozen_size:
                raise RuntimeError(
                    f"{self.name!r}: with output_mode={self.output_mode!r} and "
                    f"pad_to_max_tokens=False the vocabulary size (the output width) "
                    f"cannot change, as in Keras: it was {self._frozen_size}, the new "
                    f"vocabulary has {size}; pass pad_to_max_tokens=True or make a new layer")
            self._frozen_size = size
        self._tokens = list(tokens)
        self._index = {t: i + len(self._reserved) for i, t in enumerate(self._tokens)}
        if self.output_mode == "tf_idf":
            idf = np.zeros(size, np.float32) if idf is None else idf
            self._idf = np.pad(idf, (0, self._depth() - len(idf)))

    def get_vocabulary(self, include_special_tokens=True):
        """The vocabulary in index order (the reserved entries first, unless excluded)."""
        tokens = list(self._tokens or [])
        return self._reserved + tokens if include_special_tokens else tokens

    def vocabulary_size(self):
        """The number of indices, the reserved ones included."""
        return len(self._reserved) + len(self._tokens or [])

    def _depth(self):
        return self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()

    # --- strings to ids ---------------------------------------------------------------

    def _lookup(self, token):
        """The index of ``token``; the mask token ``""`` is 0 in ``int`` mode and -1 (no
        column) in the others."""
        if token == MASK_TOKEN:
            return 0 if self.output_mode == "int" else -1
        return self._index.get(token, len(self._reserved) - 1)

    def __call__(self, inputs):
        """Token ids (int64) of ``inputs`` (one string, or a batch ``(B,)`` / ``(B, 1)``),
        or their vectors in the other output modes (see the class docstring)."""
        if self._tokens is None:
            raise RuntimeError(f"{self.name!r} has no vocabulary yet: call adapt(data) or "
                               "set_vocabulary(tokens) first")
        prepared = self._prepare(inputs, "inputs")
        if self.output_mode != "int":
            return self._encode(prepared)
        length = self.output_sequence_length
        if self.split is None:
            ids = self._ids(prepared)
            return ids if length is None else self._fit_last_axis(ids, length)
        if length is None:
            length = max((len(t) for t in prepared.flat), default=0)
        ids = np.zeros(prepared.shape + (length,), dtype=np.int64)
        for i in np.ndindex(prepared.shape):
            row = [self._lookup(t) for t in prepared[i][:length]]
            ids[i][:len(row)] = row
        return ids

    def _ids(self, strings):
        """The ids of an object array of single tokens, same shape, int64."""
        if not strings.size:
            return np.zeros(strings.shape, np.int64)
        return np.vectorize(self._lookup, otypes=[np.int64])(strings)

    def _encode(self, prepared):
        """``multi_hot`` / ``count`` / ``tf_idf`` / ``one_hot`` vectors of ``prepared``."""
        depth = self._depth()
        if self.output_mode == "one_hot":
            if self.split is None:
                ids = self._ids(prepared.reshape(1) if prepared.ndim == 0 else prepared)
                if ids.ndim > 1 and ids.shape[-1] == 1:
                    ids = ids[..., 0]
                return _one_hot(ids, depth)
            length = max((len(t) for t in prepared.flat), default=0)
            ids = np.full(prepared.shape + (length,), -1, dtype=np.int64)
            for i in np.ndindex(prepared.shape):
                ids[i][:len(prepared[i])] = [self._lookup(t) for t in prepared[i]]
            return _one_hot(ids, depth)
        if self.split is None:      # the last axis holds a sample's tokens
            if prepared.ndim > 2:
                raise ValueError(f"`inputs` must have rank <= 2 without `split` in "
                                 f"output_mode={self.output_mode!r} (a sample is the last "
                                 f"axis), got shape {prepared.shape}")
            samples = prepared.reshape(-1) if prepared.ndim < 2 else prepared
            samples = [samples] if prepared.ndim < 2 else list(samples)
            shape = prepared.shape[:-1]
        else:
            if prepared.ndim > 1:
                raise ValueError(f"`inputs` must be one string, (batch,) or (batch, 1) in "
                                 f"output_mode={self.output_mode!r}, got "
                                 f"{prepared.shape + (1,)}")
            samples, shape = list(prepared.flat), prepared.shape
        counts = np.zeros((len(samples), depth), dtype=np.int64)
        for row, tokens in zip(counts, samples):
            ids = np.array([self._lookup(t) for t in tokens], dtype=np.int64)
            np.add.at(row, ids[ids >= 0], 1)
        counts = counts.reshape(shape + (depth,))
        if self.output_mode == "multi_hot":
            return np.minimum(counts, 1)
        if self.output_mode == "tf_idf":
            return counts.astype(np.float32) * self._idf
        return counts

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
        """Keras's static output shape for inputs of ``input_shape`` (None: unknown)."""
        input_shape = tuple(input_shape)
        if self.output_mode == "int":
            return (input_shape[0], self.output_sequence_length)
        depth = self._depth() if self._tokens is not None or self.pad_to_max_tokens else None
        if self.split is None:
            shape = input_shape + (1,) if len(input_shape) <= 1 else input_shape
        else:
            shape = input_shape + (None,)
        if self.output_mode == "one_hot":
            return (shape[:-1] if len(shape) > 1 and shape[-1] == 1 else shape) + (depth,)
        return shape[:-1] + (depth,)

    # --- configuration ----------------------------------------------------------------

    def get_config(self):
        """The constructor arguments.  ``vocabulary`` is the current one (learned tokens
        too, without the reserved entries), so that ``from_config`` rebuilds a layer that
        maps strings the same way (Keras keeps an adapted vocabulary in an asset file);
        in ``tf_idf`` mode it starts with ``"[UNK]"`` and ``idf_weights`` holds every
        entry's weight, so the rebuilt weights are the same float32 numbers."""
        vocabulary = idf_weights = None
        if self._tokens is not None:
            vocabulary = list(self._tokens)
            if self.output_mode == "tf_idf":
                vocabulary = self._reserved + vocabulary
                idf_weights = self._idf[:self.vocabulary_size()].tolist()
        return {"name": self.name, "max_tokens": self.max_tokens,
                "standardize": self.standardize, "split": self.split,
                "ngrams": self.ngrams, "output_mode": self.output_mode,
                "output_sequence_length": self.output_sequence_length,
                "pad_to_max_tokens": self.pad_to_max_tokens,
                "vocabulary": vocabulary, "idf_weights": idf_weights}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("ngrams"), list):    # JSON has no tuples
            config["ngrams"] = tuple(config["ngrams"])
        return cls(**config)


def _ngram_widths(ngrams, split):
    """Keras's ``ngrams`` as a tuple of widths, or None."""
    if ngrams is None:
        return None
    if isinstance(ngrams, numbers.Integral) and not isinstance(ngrams, bool):
        widths = tuple(range(1, int(ngrams) + 1))
    elif isinstance(ngrams, tuple) and ngrams and all(
            isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in ngrams):
        widths = tuple(int(n) for n in ngrams)
    else:
        raise ValueError(f"`ngrams` must be None, an integer or a non-empty tuple of "
                         f"integers, got {ngrams!r}")
    if not widths or min(widths) < 1:
        raise ValueError(f"`ngrams` must ask for widths >= 1, got {ngrams!r}")
    if split is None:
        raise ValueError(f"`ngrams`={ngrams!r} needs `split`: without it each string is one "
                         "token, and Keras would join neighbouring strings of the batch")
    return widths


def _one_hot(ids, depth):
    """int64 one-hot vectors of ``ids`` on a new last axis; ids outside [0, depth) (the
    mask, -1) give a row of zeros."""
    return (ids[..., None] == np.arange(depth)).astype(np.int64)


# --- padding ------------------------------------------------------------------------------

def _cast_exactly(values, dtype, argument):
    """``values`` as an array of ``dtype``, refusing numbers that ``dtype`` cannot hold
    (NumPy would wrap ``2**40`` to 0 in int32, turn NaN into -2**31, or 1e300 into inf
    in float32).  Floats going to an integer dtype are truncated toward zero (Keras's
    cast), so only their integer part must fit.  Other dtypes (strings, objects, bool)
    are cast as NumPy casts them."""
    target = np.dtype(dtype)
    if target.kind not in "iuf":
        return np.asarray(values, dtype=target)
    arr = np.asarray(values)
    if arr.dtype.kind not in "iufbO":
        return np.asarray(values, dtype=target)     # NumPy's own error for strings
    if target.kind in "iu":
        info = np.iinfo(target)
        if arr.dtype.kind == "O":                   # Python ints beyond int64
            bad = [v for v in arr.flat if not info.min <= v < info.max + 1]
        else:
            with np.errstate(invalid="ignore"):
                if arr.dtype.kind == "f":
                    t = np.trunc(arr)
                    ok = (t >= float(info.min)) & (t < float(info.max) + 1)
                else:
                    ok = (arr >= info.min) & (arr <= info.max)
            bad = arr[~ok].tolist()
        if bad:
            raise ValueError(f"{argument} holds {bad[0]!r}, which dtype {target.name} cannot "
                             f"hold (its range is [{info.min}, {info.max}]): pass a wider "
                             f"`dtype`, e.g. dtype='int64' or 'float64'")
        return arr.astype(target)
    try:
        wide = arr.astype(np.float64)
    except OverflowError:                           # a Python int beyond float64
        wide = None
    with np.errstate(over="ignore"):
        out = None if wide is None else (wide.astype(target) if arr.dtype.kind == "O"
                                         else arr.astype(target))
    if out is None or np.any(np.isfinite(wide) & ~np.isfinite(out)):
        raise ValueError(f"{argument} holds a number beyond dtype {target.name}'s largest, "
                         f"{float(np.finfo(target).max):.7g}: it would become inf; pass a "
                         f"wider `dtype`, e.g. 'float64'")
    return out


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0):
    """``keras.utils.pad_sequences``: a ``(len(sequences), maxlen) + sample_shape`` array.

    Each sequence is cut to its last (``truncating="pre"``) or first (``"post"``)
    ``maxlen`` items and written at the end (``padding="pre"``) or the start (``"post"``)
    of its row; the rest of the row is ``value``.  ``maxlen=None``: the longest length.
    Items and ``value`` are cast to ``dtype`` (``value=0.5`` with ints gives 0; floats
    are truncated toward zero), but a number that ``dtype`` cannot hold is refused with a
    ValueError (NumPy would wrap ``2**40`` to 0 in int32 and Keras lets it; NaN to an
    integer dtype, 1e300 to float32 likewise).  Sequences may hold vectors: ``sample_shape`` is
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
    value = _cast_exactly(value, dtype, "`value`")
    out = np.full((len(sequences), int(maxlen)) + (sample_shape or ()), value, dtype=dtype)
    for i, s in enumerate(sequences):
        kept = s[max(len(s) - maxlen, 0):] if truncating == "pre" else s[:maxlen]
        if not len(kept):
            continue
        kept = _cast_exactly(kept, dtype, f"`sequences`[{i}]")
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
