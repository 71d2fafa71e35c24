"""``scratchrnn demo textgen``: a character LSTM learns to write Python, from Python's own
standard library.

The corpus is real text every Python installation has: the source of a fixed list of
standard-library modules (:data:`FILES`, about 300 KB, read from
``sysconfig.get_paths()["stdlib"]``).  The model reads 40 characters and predicts, at
every position, the character that comes next::

    ids (B, 40) -> Embedding(V, 32) -> LSTM(128, return_sequences=True)
                -> Dense(V, softmax)   (B, 40, V): p(x_{t+1} | x_1 .. x_t)

trained with sparse categorical crossentropy on the windows ``text[i : i + 40]`` ->
``text[i + 1 : i + 41]`` (non-overlapping, the last 10 % of the corpus held out), so that
each window gives 40 predictions, until the held-out loss stops improving (early stopping,
the best epoch's weights kept).  The loss is in nats per character (``/ ln 2`` for bits).

Then :func:`scratchrnn.sampling.generate_text` writes 200 characters after the same seed
at temperatures 0.2, 0.5, 1.0 and 1.5: low temperatures repeat the most likely
continuations, high ones invent.  The window slides, so each new character costs an LSTM
pass over the last 40 characters, and whatever came before them is forgotten.  The
*stateful* variant (the same weights in a model whose LSTM has ``stateful=True``) feeds
one character at a time and carries ``[h, c]`` instead: one LSTM step per character,
and a context that is not cut at 40 characters.  Cold samples stall in indentation;
:func:`explain_stall` prints the model's probabilities that make them.
"""

import os
import sysconfig

import numpy as np

from .. import callbacks, layers, optimizers, sampling, text
from ..models import Input, Sequential
from . import _common

#: The standard-library modules read, in this order (those missing are skipped, and said).
#: All ASCII (a larger vocabulary would only add characters seen once or twice).
FILES = ("textwrap.py", "bisect.py", "fnmatch.py", "glob.py", "copy.py", "string.py",
         "queue.py", "sched.py", "graphlib.py", "operator.py", "reprlib.py", "contextlib.py",
         "random.py", "tempfile.py", "shutil.py", "dataclasses.py")
WINDOW = 40
SEED_TEXT = "def "
TEMPERATURES = (0.2, 0.5, 1.0, 1.5)
STATEFUL_TEMPERATURES = (1.0,)


def read_corpus(files=None, limit=None):
    """The text of ``files`` (default :data:`FILES`) from the standard library folder,
    joined (at most ``limit`` characters), and the names actually read."""
    files = FILES if files is None else files
    folder = sysconfig.get_paths()["stdlib"]
    parts, read = [], []
    for name in files:
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8") as f:
            parts.append(f.read())
        read.append(name)
    if not parts:
        raise FileNotFoundError(f"none of {files} is in {folder}")
    corpus = "\n".join(parts)
    return (corpus if limit is None else corpus[:limit]), read


def char_windows(ids, window):
    """Non-overlapping ``(x, y)`` windows of ``ids``: ``y`` is ``x`` shifted one character
    on, ``(N, window)`` each."""
    n = (len(ids) - 1) // window
    x = ids[:n * window].reshape(n, window)
    y = ids[1:n * window + 1].reshape(n, window)
    return x, y


def build_model(vocab_size, units, seed, stateful=False):
    """Embedding -> LSTM -> Dense(softmax) over the whole sequence; ``stateful``: for
    generation one character at a time (batch 1)."""
    return Sequential([
        Input((None,), dtype="int32"),
        layers.Embedding(vocab_size, 32, seed=seed),
        layers.LSTM(units, return_sequences=True, stateful=stateful, backend="numba",
                    seed=seed + 1),
        layers.Dense(vocab_size, activation="softmax", seed=seed + 2),
    ], name="char_lstm_stateful" if stateful else "char_lstm", seed=seed)


def run(args):
    limit = 6000 if args.quick else None
    corpus, read = read_corpus(limit=limit)
    vocabulary = text.CharVocabulary(corpus)
    ids = vocabulary.encode(corpus)
    split = int(len(ids) * 0.9)
    x_train, y_train = char_windows(ids[:split], WINDOW)
    x_val, y_val = char_windows(ids[split:], WINDOW)
    units = 32 if args.quick else 128
    epochs = args.epochs or (2 if args.quick else 20)
    length = 60 if args.quick else 200
    print(f"Corpus: {len(corpus):,} characters of Python's standard library "
          f"({sysconfig.get_paths()['stdlib']}): {', '.join(read)}")
    missing = [name for name in FILES if name not in read]
    if missing:
        print(f"        (not in this Python, skipped: {', '.join(missing)})")
    print(f"Vocabulary: {vocabulary.size} characters; {len(x_train)} training windows of "
          f"{WINDOW} characters, {len(x_val)} held out (the corpus' last 10 %)")
    _common.quick_note(args, epochs)
    model = build_model(vocabulary.size, units, args.seed)
    model.compile(optimizer=optimizers.Adam(learning_rate=0.005, clipnorm=1.0),
                  loss="sparse_categorical_crossentropy")
    model.summary()
    print(f"\nTraining at most {epochs} epochs, until the held-out loss stops improving "
          f"(loss: nats per character; uniform guessing would be ln {vocabulary.size} = "
          f"{np.log(vocabulary.size):.2f})")
    stop = callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    with _common.Stopwatch() as watch:
        history = model.fit(x_train, y_train, batch_size=64, epochs=epochs, verbose=2,
                            validation_data=(x_val, y_val), callbacks=[stop])
    best = int(np.argmin(history.history["val_loss"]))
    print(f"trained in {watch.seconds:.1f} s; the weights of epoch {best + 1} kept "
          f"(held-out loss {history.history['val_loss'][best]:.4f})")

    print(f"\nSamples: {length} characters after {SEED_TEXT!r}, seed {args.seed}; the "
          f"model reads the last {WINDOW} characters for each new one")
    samples = {}
    for temperature in TEMPERATURES:
        with _common.Stopwatch() as watch:
            samples[temperature] = sampling.generate_text(
                model, SEED_TEXT, length, temperature=temperature, vocabulary=vocabulary,
                window=WINDOW, rng=args.seed)
        print(f"\n--- temperature {temperature} ({length / watch.seconds:.0f} chars/s) ---")
        print(samples[temperature])

    stateful = build_model(vocabulary.size, units, args.seed, stateful=True)
    stateful.build((1, 1))
    stateful.set_weights(model.get_weights())
    print("\nStateful: the same weights in a model whose LSTM has stateful=True, fed one "
          "character per step,\n[h, c] carried from step to step: one LSTM step per "
          f"character instead of {WINDOW}, and a context\nthat is not cut at {WINDOW} "
          "characters.")
    for temperature in STATEFUL_TEMPERATURES:
        with _common.Stopwatch() as watch:
            samples["stateful", temperature] = sampling.generate_text(
                stateful, SEED_TEXT, length, temperature=temperature,
                vocabulary=vocabulary, stateful=True, rng=args.seed)
        print(f"\n--- stateful, temperature {temperature} "
              f"({length / watch.seconds:.0f} chars/s) ---")
        print(samples["stateful", temperature])
    explain_stall(model, vocabulary, samples[TEMPERATURES[0]], TEMPERATURES[0], corpus)
    _plot(history.history, args.out)
    return history.history, samples


def explain_stall(model, vocabulary, sample, temperature, corpus=None, run=8):
    """Print why a cold ``sample`` stalls in indentation, when it does: the model's
    probabilities after a line break and ``run`` spaces, that of a space at
    ``temperature``, and (given the ``corpus``) how often the corpus itself continues
    such a line with a space.  Returns the model's probability of a space and its
    tempered one, or None when the sample has no such run."""
    indent = "\n" + " " * run
    start = sample.find(indent)
    if start < 0 or " " not in vocabulary.index:
        return None
    context = sample[:start + len(indent)]
    probs = model(vocabulary.encode(context[-WINDOW:])[None], training=False)[0, -1]
    space = vocabulary.index[" "]
    other = max((i for i in range(vocabulary.size) if i != space), key=lambda i: probs[i])
    cold = sampling.distribution(probs, temperature=temperature, from_probs=True)[space]
    line = context.rsplit("\n", 2)[-2].strip()
    where = f"after {line!r}, a line break" if line else "after a blank line"
    print(f"\nWhy the cold samples stall: {where} and {run} spaces, the model gives one "
          f"more space\n{probs[space]:.2f} and its likeliest other character "
          f"({vocabulary.chars[other]!r}) {probs[other]:.2f}; at temperature {temperature} "
          f"(probabilities raised to the\npower {1 / temperature:g}, renormalised) the "
          f"space gets {cold:.4f}, and it keeps winning, space after space.")
    if corpus is not None:
        count = corpus.count(indent)
        more = corpus.count(indent + " ")
        if count:
            print(f"The data say the same: in the corpus, {more / count:.0%} of the {count} "
                  f"lines that start with {run} spaces\nhave a space next.")
    return float(probs[space]), float(cold)


def _plot(logs, out):
    plt = _common.pyplot()
    if plt is None:
        return None
    figure, axes = plt.subplots(figsize=(6, 3.5))
    epochs = np.arange(1, len(logs["loss"]) + 1)
    axes.plot(epochs, logs["loss"], marker="o", label="training")
    axes.plot(epochs, logs["val_loss"], marker="o", label="held out")
    axes.set_xlabel("epoch")
    axes.set_ylabel("nats per character")
    axes.set_title("Character LSTM on the standard library")
    axes.legend()
    return _common.save(figure, out, "textgen-loss.png")


def main(argv=None):
    p = _common.parser("textgen", "a character LSTM trained on Python's standard library")
    p.add_argument("--epochs", type=int, default=None,
                   help="at most this many epochs, early stopping on the held-out loss "
                        "(default: 20, 2 with --quick)")
    run(p.parse_args(argv))
    return 0
