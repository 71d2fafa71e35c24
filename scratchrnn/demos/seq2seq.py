"""``scratchrnn demo seq2seq``: an LSTM encoder-decoder learns to reverse sequences, with
and without attention.

The task: a source of 4 to 10 letters from ``a`` to ``l`` ("c a f j b"), the target the
same letters reversed ("b j f a c") followed by an end token.  Token 0 is padding (the
sources are post-padded to 10), 1 the start token, 2 the end token, 3.. the letters.
Held-out sequences are drawn afresh, and any that also occurs in the training set is
dropped, so the test measures generalisation, not memory.

The models (:class:`scratchrnn.Seq2Seq`, trained with teacher forcing)::

    encoder  Embedding(15, 16, mask_zero) -> LSTM(64)       -> [h, c]  (and every h_j)
    decoder  Embedding(15, 16) -> LSTM(64) from [h, c]      -> s_i
    output   softmax(Dense(s_i)), or with Bahdanau attention softmax(Dense([c_i ; s_i]))

Without attention the whole source must pass through the 64 numbers of ``[h, c]``; with
attention each output step looks back at every encoder state and takes a weighted mean
of them, ``c_i = sum_j a_ij h_j``.  For a reversal the weights should pick the mirror
position: output ``i`` of a length-``n`` source reads source position ``n - 1 - i``, an
anti-diagonal in the heat-map this demo draws.

Evaluation decodes greedily (each predicted letter fed back) and counts, on the held-out
sequences, the letters in the right place (token accuracy) and the sequences entirely
right, end token included (sequence accuracy).
"""

import numpy as np

from .. import optimizers
from ..seq2seq import Seq2Seq
from . import _common

PAD, START, END = 0, 1, 2
LETTERS = "abcdefghijkl"
VOCAB = 3 + len(LETTERS)
MIN_LENGTH, MAX_LENGTH = 4, 10


def make_data(rng, n, exclude=()):
    """``(source, decoder_input, decoder_target)`` for ``n`` distinct random sequences
    not in ``exclude`` (a set of tuples); sources post-padded to :data:`MAX_LENGTH`,
    decoder rows ``[START, reversed]`` and ``[reversed, END]`` post-padded to
    ``MAX_LENGTH + 1``."""
    seen, rows = set(exclude), []
    while len(rows) < n:
        length = int(rng.integers(MIN_LENGTH, MAX_LENGTH + 1))
        tokens = tuple(int(t) for t in rng.integers(3, VOCAB, size=length))
        if tokens not in seen:
            seen.add(tokens)
            rows.append(tokens)
    source = np.zeros((n, MAX_LENGTH), np.int64)
    decoder_input = np.zeros((n, MAX_LENGTH + 1), np.int64)
    decoder_target = np.zeros((n, MAX_LENGTH + 1), np.int64)
    for i, tokens in enumerate(rows):
        reverse = tokens[::-1]
        source[i, :len(tokens)] = tokens
        decoder_input[i, :len(tokens) + 1] = (START, *reverse)
        decoder_target[i, :len(tokens) + 1] = (*reverse, END)
    return (source, decoder_input, decoder_target), set(rows)


def letters(tokens):
    """The letters of a row of token ids, up to the first padding or end token."""
    out = []
    for t in tokens:
        if t in (PAD, END):
            break
        out.append(LETTERS[t - 3] if t >= 3 else "?")
    return " ".join(out)


def accuracies(decoded, decoder_target):
    """``(token accuracy, sequence accuracy)`` of greedy ``decoded`` rows against the
    targets: tokens over the real target steps (end token included), sequences whole."""
    steps = decoder_target.shape[1]
    padded = np.zeros_like(decoder_target)
    padded[:, :min(steps, decoded.shape[1])] = decoded[:, :steps]
    real = decoder_target != PAD
    right = (padded == decoder_target) & real
    token = right.sum() / real.sum()
    sequence = np.mean(np.all(right == real, axis=1))
    return float(token), float(sequence)


def mirror_weight(weights, source):
    """The mean attention weight on the mirror position: output step ``i`` of a source of
    ``n`` letters (``i < n``) reading source position ``n - 1 - i``, over the letters of
    every row; and what uniform attention would give there, the mean of ``1 / n``.

    weights: ``(B, Tout, Tin)`` teacher-forced attention weights; source: ``(B, Tin)`` ids."""
    on_mirror, uniform = [], []
    for w, row in zip(weights, source):
        n = np.count_nonzero(row)
        on_mirror += [w[i, n - 1 - i] for i in range(n)]
        uniform += [1 / n] * n
    return float(np.mean(on_mirror)), float(np.mean(uniform))


#: The lessons' thresholds.  Attention "reads the mirror" when, on average, more than half
#: of an output step's attention falls on the one mirror position (of 4 to 10: uniform
#: attention would put about 0.16 there).  Attention "makes the difference" when its
#: sequence accuracy is at least this good and beats the model without attention by more
#: than :func:`_common.accuracy_margin` (three standard errors) of the held-out count.
MIRROR_SHARE = 0.5
GOOD_SEQUENCE_ACCURACY = 0.5


def lessons(accuracy, mirror, uniform, n_test):
    """The lines that say what the run shows, each only when its numbers carry it.

    accuracy: ``{"with attention": (token, sequence), "without attention": ...}``."""
    with_, without = accuracy["with attention"][1], accuracy["without attention"][1]
    lines = []
    if with_ >= GOOD_SEQUENCE_ACCURACY and with_ - without > _common.accuracy_margin(n_test):
        lines.append(f"Attention makes the difference: {with_:.1%} of the held-out sequences "
                     f"reversed exactly, against {without:.1%} when the whole source must "
                     "pass\nthrough the encoder's final [h, c].")
    else:
        lines.append(f"No lesson on attention from these numbers: sequence accuracy "
                     f"{with_:.1%} with it, {without:.1%} without (a lesson needs at least "
                     f"{GOOD_SEQUENCE_ACCURACY:.0%} with attention and a gap over "
                     f"{_common.accuracy_margin(n_test):.1%}).")
    if mirror > MIRROR_SHARE:
        lines.append(f"Each output reads its mirror: an output step puts {mirror:.2f} of its "
                     f"attention on the mirrored source position on average (uniform "
                     f"attention: {uniform:.2f}).")
    else:
        lines.append(f"The attention does not (yet) single out the mirror position: {mirror:.2f} "
                     f"of it falls there on average (uniform: {uniform:.2f}; the lesson needs "
                     f"over {MIRROR_SHARE}).")
    return lines


def run(args):
    rng = np.random.default_rng(args.seed)
    n_train, n_test = (600, 200) if args.quick else (6000, 1000)
    train, seen = make_data(rng, n_train)
    test, _ = make_data(rng, n_test, exclude=seen)
    epochs = args.epochs or (2 if args.quick else 12)
    print(f"Reverse {MIN_LENGTH} to {MAX_LENGTH} letters of {LETTERS[0]}..{LETTERS[-1]}: "
          f"{n_train} training sequences, {n_test} held-out ones (none seen in training); "
          f"{epochs} epochs, Adam, batch 64, seed {args.seed}")
    _common.quick_note(args, epochs)
    rows, models, accuracy = [], {}, {}
    for attention in (False, True):
        name = "with attention" if attention else "without attention"
        model = Seq2Seq(VOCAB, VOCAB, 16, 64, attention=attention, seed=args.seed,
                        backend="numba", name=name.replace(" ", "_"))
        model.compile(optimizers.Adam(learning_rate=0.01, clipnorm=1.0),
                      metrics=["accuracy"])
        print(f"\n{name}: {model.count_params():,} parameters")
        with _common.Stopwatch() as watch:
            model.fit(*train, batch_size=64, epochs=epochs, verbose=2)
        decoded = model.predict_greedy(test[0], START, END, MAX_LENGTH + 1)
        tokens = decoded[0] if attention else decoded
        token, sequence = accuracies(tokens, test[2])
        accuracy[name] = (token, sequence)
        rows.append([name, f"{model.count_params():,}", f"{watch.seconds:.1f}",
                     f"{token:.4f}", f"{sequence:.4f}"])
        models[name] = (model, tokens)
    print()
    print(_common.table(["model", "params", "train s", "token acc", "sequence acc"], rows))
    model, tokens = models["with attention"]
    mirror, uniform = mirror_weight(model.attention_weights(test[0][:200], test[1][:200]),
                                    test[0][:200])
    print()
    print("\n".join(lessons(accuracy, mirror, uniform, n_test)))
    print("\nHeld-out examples (with attention, greedy):")
    for i in range(5):
        n = np.count_nonzero(test[0][i]) + 1       # the letters and the end token
        right = tokens.shape[1] >= n and np.array_equal(tokens[i, :n], test[2][i, :n])
        print(f"  {letters(test[0][i]):20s} -> {letters(tokens[i]):20s} "
              f"({'right' if right else 'wrong'})")
    _plot(model, test, args.out, mirror > MIRROR_SHARE)
    return rows


def _plot(model, test, out, reads_mirror):
    """Heat-maps of the attention weights (teacher forced) of four held-out sequences."""
    plt = _common.pyplot()
    if plt is None:
        return None
    picked = [i for i in range(len(test[0]))
              if np.count_nonzero(test[0][i]) in (MAX_LENGTH, MAX_LENGTH - 1, 7, 5)]
    by_length = {}
    for i in picked:
        by_length.setdefault(np.count_nonzero(test[0][i]), i)
    chosen = [by_length[k] for k in sorted(by_length, reverse=True)][:4]
    weights = model.attention_weights(test[0][chosen], test[1][chosen])
    figure, axes = plt.subplots(1, len(chosen), figsize=(3.2 * len(chosen), 3.4))
    for k, (ax, i, w) in enumerate(zip(np.atleast_1d(axes), chosen, weights)):
        n = np.count_nonzero(test[0][i])
        ax.imshow(w[:n + 1, :n], cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks(range(n), letters(test[0][i]).split())
        ax.set_yticks(range(n + 1), letters(test[2][i]).split() + ["<end>"])
        ax.set_xlabel("source")
        if k == 0:
            ax.set_ylabel("output step")
    figure.suptitle("Bahdanau attention while reversing"
                    + (": each output reads its mirror" if reads_mirror else ""))
    return _common.save(figure, out, "seq2seq-attention.png")


def main(argv=None):
    p = _common.parser("seq2seq", "an LSTM encoder-decoder learns to reverse sequences")
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs per model (default: 12, 2 with --quick)")
    run(p.parse_args(argv))
    return 0
