"""Drawing the next token from a model's output: temperature, top-k, top-p (nucleus), and
character-by-character text generation as in the Keras text-generation recipes.

With scores (logits) ``z`` and temperature ``T > 0`` the distribution is::

    p_i = exp(z_i / T) / sum_j exp(z_j / T)
        = exp((z_i - max z) / T) / sum_j exp((z_j - max z) / T)

The second form is the one computed: its exponents are <= 0, so nothing overflows even
for ``T = 1e-8``, and the largest term is exactly 1, so the sum never underflows.  As
``T -> 0`` it tends to the one-hot of the argmax (split evenly between tied maxima);
``T -> inf`` to uniform.  Probabilities ``q`` (a softmax output) are the scores
``z = log q`` (zero probabilities become ``-inf``: never drawn), so that
``p_i = q_i^(1/T) / sum_j q_j^(1/T)``, the reweighting of Keras's character-LSTM example.

**A note for readers of the course.**  Its ``sample_with_temperature(predictions, T)``
divides the model's *softmax output* by ``T`` and hands it to ``tf.random.categorical``,
which reads its input as logits.  It therefore samples ``softmax(q / T)``, not
``q^(1/T)`` renormalised, and flattens even a confident prediction.  For
``q = [0.9, 0.05, 0.05]`` and ``T = 0.8``::

    q^(1/T) / sum      = 1 / (1 + 2 (1/18)^1.25) -> [0.948817, 0.025591, 0.025591]
    softmax(q / T)     = 1 / (1 + 2 e^-1.0625)   -> [0.591303, 0.204349, 0.204349]

so the course draws the likely character 59% of the time instead of 95% (at any ``T``
the course's weights stay within a factor ``e^(1/T)`` of each other).
:func:`generate_text` (``from_logits=None`` detects a softmax output) and
``sample(q, temperature=T, from_probs=True)`` give the first distribution;
``sample(q, temperature=T)``, which reads ``q`` as logits, reproduces the course's.

Every draw takes one ``u ~ U[0, 1)`` per row from a ``numpy.random.Generator`` and returns
the first index whose cumulative probability exceeds ``u`` (inverse CDF), so a seed fixes
the whole generated text.
"""

import numbers

import numpy as np


def _temperature(value, allow_zero):
    bound = ">= 0" if allow_zero else "> 0"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`temperature` must be a finite number {bound}, got {value!r}")
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"`temperature` must be a finite number {bound}, got {value}")
    return float(value)


def _scores(values, argument):
    """``values`` as a float array of rank 1 or 2 with a non-empty last axis."""
    arr = np.asarray(values)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"`{argument}` must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim not in (1, 2) or arr.shape[-1] == 0:
        raise ValueError(f"`{argument}` must have shape (num_classes,) or "
                         f"(batch, num_classes) with num_classes >= 1, got {arr.shape}")
    # float16 (and narrower) is computed in float64: its exp underflows at -17, and its
    # sum of a 100,000-token vocabulary's terms saturates, so that the draw came out the
    # last token every time.
    return arr if arr.dtype in (np.float32, np.float64) else arr.astype(np.float64)


def _tempered(scores, temperature):
    """softmax(scores / T) on the last axis; ``-inf`` scores get probability 0 (each row
    needs one finite score)."""
    # A difference (or its quotient by a tiny T) may overflow to -inf: its exp is the
    # exact 0 that the entry deserves, so that overflow is not reported.
    with np.errstate(over="ignore"):
        e = np.exp((scores - scores.max(axis=-1, keepdims=True)) / temperature)
    return e / e.sum(axis=-1, keepdims=True)


def softmax_with_temperature(logits, temperature=1.0):
    """``softmax(logits / temperature)`` on the last axis, without overflow.

    ``logits`` must be finite, ``temperature`` finite and > 0.  float32 and float64
    inputs keep their dtype; integers and float16 give float64.
    """
    temperature = _temperature(temperature, allow_zero=False)
    scores = _scores(logits, "logits")
    if not np.all(np.isfinite(scores)):
        raise ValueError("`logits` must be finite (no NaN or inf)")
    return _tempered(scores, temperature)


def _as_generator(rng):
    if rng is None or isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.Generator):
        return rng
    raise TypeError(f"`rng` must be None, an integer seed or a numpy.random.Generator, "
                    f"got {rng!r}")


def _keep_top_k(scores, top_k):
    """Scores with all but the ``top_k`` largest of each row set to ``-inf`` (ties at the
    cut: the lower indices are kept, as ``tf.math.top_k`` does)."""
    if isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or top_k < 1:
        raise ValueError(f"`top_k` must be None or a positive integer, got {top_k!r}")
    if top_k >= scores.shape[-1]:
        return scores
    order = np.argsort(-scores, axis=-1, kind="stable")
    kept = np.full(scores.shape, -np.inf, dtype=scores.dtype)
    rows = np.arange(scores.shape[0])[:, None]
    kept[rows, order[:, :top_k]] = scores[rows, order[:, :top_k]]
    return kept


def _keep_top_p(probs, top_p):
    """``probs`` restricted to the smallest set of most probable entries whose total
    reaches ``top_p``, renormalised: an entry stays when the probability of the entries
    ranked before it is still below ``top_p`` (so the most probable always stays)."""
    if isinstance(top_p, bool) or not isinstance(top_p, numbers.Real) \
            or not 0.0 < top_p <= 1.0:
        raise ValueError(f"`top_p` must be None or a number in (0, 1], got {top_p!r}")
    order = np.argsort(-probs, axis=-1, kind="stable")
    rows = np.arange(probs.shape[0])[:, None]
    ranked = probs[rows, order]
    before = np.cumsum(ranked, axis=-1) - ranked
    kept = np.zeros_like(probs)
    kept[rows, order] = np.where(before < top_p, ranked, 0.0)
    return kept / kept.sum(axis=-1, keepdims=True)


def distribution(logits, temperature=1.0, top_k=None, top_p=None, from_probs=False):
    """The distribution :func:`sample` draws from: softmax(logits / T), then top-k (the
    others set to 0), then top-p on what top-k left (renormalised), as Hugging Face's
    warpers chain them.  ``from_probs=True``: ``logits`` are probabilities (non-negative,
    finite, each row with a positive sum; they are renormalised)."""
    temperature = _temperature(temperature, allow_zero=False)
    scores = _from_input(logits, from_probs)
    rows = scores if scores.ndim == 2 else scores[None]
    if top_k is not None:
        rows = _keep_top_k(rows, top_k)
    probs = _tempered(rows, temperature)
    if top_p is not None:
        probs = _keep_top_p(probs, top_p)
    return probs if scores.ndim == 2 else probs[0]


def _from_input(values, from_probs):
    """Scores (``-inf`` allowed where a probability is 0) from logits or probabilities."""
    argument = "probs" if from_probs else "logits"
    scores = _scores(values, argument)
    if from_probs:
        if not np.all(np.isfinite(scores)) or np.any(scores < 0):
            raise ValueError("`logits` given as probabilities (`from_probs=True`) must be "
                             "finite and non-negative")
        if np.any(scores.sum(axis=-1) <= 0):
            raise ValueError("`logits` given as probabilities (`from_probs=True`) must "
                             "have a positive sum in every row")
        with np.errstate(divide="ignore"):
            return np.log(scores)
    if not np.all(np.isfinite(scores)):
        raise ValueError("`logits` must be finite (no NaN or inf)")
    return scores


def sample(logits, temperature=1.0, top_k=None, top_p=None, rng=None, greedy=False,
           from_probs=False):
    """Draw an index from :func:`distribution` of ``logits``.

    ``logits``: ``(num_classes,)`` gives a Python ``int``, ``(batch, num_classes)`` an
    int64 array of one index per row.  ``greedy=True`` or ``temperature=0``: the argmax
    (the first index among ties; ``top_k``/``top_p`` change nothing then).  ``rng``: a
    ``numpy.random.Generator`` (used and advanced), an integer seed, or None (fresh
    entropy).  ``from_probs=True``: ``logits`` are probabilities, e.g. a softmax output.
    """
    temperature = _temperature(temperature, allow_zero=True)
    if not isinstance(greedy, (bool, np.bool_)):
        raise TypeError(f"`greedy` must be True or False, got {greedy!r}")
    generator = _as_generator(rng)
    if greedy or temperature == 0.0:
        scores = _from_input(logits, from_probs)
        choice = np.argmax(scores, axis=-1)
    else:
        probs = distribution(logits, temperature, top_k, top_p, from_probs)
        rows = probs if probs.ndim == 2 else probs[None]
        choice = _inverse_cdf(rows, generator.random(rows.shape[0]))
        choice = choice if probs.ndim == 2 else choice[0]
    return int(choice) if np.ndim(choice) == 0 else choice.astype(np.int64)


def _inverse_cdf(probs, u):
    """Per row, the first index whose cumulative probability exceeds ``u * total``; never
    an index of probability 0 (rounding at the top end falls back to the last positive)."""
    cdf = np.cumsum(probs.astype(np.float64), axis=-1)
    choice = (cdf <= (u * cdf[:, -1])[:, None]).sum(axis=-1)
    last_positive = probs.shape[-1] - 1 - np.argmax(probs[:, ::-1] > 0, axis=-1)
    return np.minimum(choice, last_positive)


# --- text generation ------------------------------------------------------------------------

def _looks_like_probabilities(row):
    """A softmax output: entries in [0, 1] summing to 1 (to float32 precision)."""
    return bool(np.all(row >= 0) and np.all(row <= 1)
                and abs(float(row.sum(dtype=np.float64)) - 1.0) <= 1e-4)


def _next_scores(model, ids, vocabulary_size, one_hot):
    """The model's output for the next character after ``ids`` (a 1-D id array), as a
    ``(vocabulary_size,)`` array: the last step of a ``(1, T, V)`` output, or ``(1, V)``."""
    x = ids[None, :]
    if one_hot:
        x = np.eye(vocabulary_size, dtype=np.float32)[x]
    out = np.asarray(model(x, training=False))
    if out.ndim == 3:
        out = out[:, -1]
    if out.shape != (1, vocabulary_size):
        raise ValueError(f"`model` must output (1, {vocabulary_size}) or (1, T, "
                         f"{vocabulary_size}) scores for a (1, T) input, got {out.shape}")
    return out[0]


def _reset_stateful_layers(model):
    stateful = [layer for layer in getattr(model, "layers", [])
                if getattr(layer, "stateful", False)]
    if not stateful:
        raise ValueError("`stateful`=True needs a `model` whose `layers` include a "
                         "stateful recurrent layer (none has `stateful=True`)")
    for layer in stateful:
        layer.reset_states()


def generate_text(model, seed_text, length, temperature=1.0, vocabulary=None, window=None,
                  rng=None, top_k=None, top_p=None, stateful=False, from_logits=None,
                  one_hot=False):
    """``seed_text`` followed by ``length`` characters drawn one at a time from ``model``.

    ``model(x, training=False)`` takes ids ``(1, T)`` (``one_hot=True``: one-hot float32
    ``(1, T, V)``, as Keras's character-LSTM example feeds them) and returns scores for the
    next character, ``(1, V)`` or ``(1, T, V)`` (the last step is used).  ``vocabulary``:
    a :class:`scratchrnn.text.CharVocabulary` (anything with ``encode``, ``decode`` and
    ``size``).

    Without ``stateful``, each step encodes the last ``window`` characters (all of them
    if None, or while fewer exist), predicts, samples, appends: the window slides.
    With ``stateful=True`` the stateful recurrent layers among ``model.layers`` are
    ``reset_states()`` first, the seed is fed one character at a time as ``(1, 1)``
    inputs, then each drawn character is fed back: the state carries the context.

    Scores or probabilities: ``from_logits=None`` reads the output as probabilities when
    it looks like a softmax (entries in [0, 1] summing to 1 within 1e-4), as logits
    otherwise; pass ``from_logits`` to decide.  Sampling: :func:`sample` with
    ``temperature`` (0: greedy), ``top_k``, ``top_p`` and one generator from ``rng``.
    """
    if vocabulary is None:
        raise ValueError("`vocabulary` is required: the CharVocabulary that maps the "
                         "model's indices to characters")
    if not isinstance(seed_text, str) or not seed_text:
        raise ValueError(f"`seed_text` must be a non-empty string, got {seed_text!r}")
    if isinstance(length, bool) or not isinstance(length, numbers.Integral) or length < 0:
        raise ValueError(f"`length` must be a non-negative integer, got {length!r}")
    if window is not None and (isinstance(window, bool)
                               or not isinstance(window, numbers.Integral) or window < 1):
        raise ValueError(f"`window` must be None or a positive integer, got {window!r}")
    if from_logits not in (None, True, False):
        raise ValueError(f"`from_logits` must be None, True or False, got {from_logits!r}")
    for argument, flag in (("stateful", stateful), ("one_hot", one_hot)):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"`{argument}` must be True or False, got {flag!r}")
    _temperature(temperature, allow_zero=True)
    generator = _as_generator(rng)
    size = vocabulary.size
    try:
        ids = [int(i) for i in vocabulary.encode(seed_text)]
    except ValueError as error:
        raise ValueError(f"`seed_text` cannot be encoded: {error}") from error

    def draw(scores):
        probs = from_logits is False or (from_logits is None
                                         and _looks_like_probabilities(scores))
        return sample(scores, temperature, top_k, top_p, generator, from_probs=probs)

    if stateful:
        _reset_stateful_layers(model)
        for i in ids[:-1]:
            _next_scores(model, np.array([i]), size, one_hot)
        for _ in range(length):
            ids.append(draw(_next_scores(model, np.array(ids[-1:]), size, one_hot)))
    else:
        for _ in range(length):
            context = np.array(ids if window is None else ids[-window:])
            ids.append(draw(_next_scores(model, context, size, one_hot)))
    return seed_text + vocabulary.decode(np.array(ids[len(seed_text):], dtype=np.int64))
