"""``scratchrnn demo sentiment``: four ways to read a review, against a bag of words.

The data: Keras's IMDB reviews when their file is already in Keras's cache
(:func:`scratchrnn.text.load_imdb` never downloads), otherwise the synthetic reviews this
package ships (:mod:`scratchrnn.demos.reviews`), built so that word order decides the label:
"the plot was not good" and "the plot was good", "not good ... boring" and
"good ... not boring".

The models, each trained with the same optimizer and epochs::

    bag of words        counts (B, V) -> Dense(1, sigmoid)       logistic regression
    embedding + average Embedding -> GlobalAveragePooling1D -> Dense(relu) -> Dense(1)
    LSTM                Embedding -> LSTM -> Dense(1, sigmoid)
    bidirectional LSTM  Embedding -> Bidirectional(LSTM) -> Dense(1, sigmoid)
    Conv1D + LSTM       Embedding -> Conv1D -> MaxPooling1D -> LSTM -> Dense(1, sigmoid)

The first two see no order: a sum of counts (or an average of embeddings) is the same
for any permutation of the words.  The last three read the words in order.  (The bag of
words is not short of training: on the synthetic reviews, 120 epochs instead of 12 leave
its test accuracy where it is, about 0.58.)  The table
shows, for each, its parameters, its training time and its test accuracy, overall and on
the test reviews with and without a negation ("not", "never", "hardly", "far from").
"""

import os

import numpy as np

from .. import layers, optimizers, text
from ..models import Input, Sequential
from . import _common, reviews

#: How a review becomes ids: at most this many words (pre-padded with 0, Keras's default).
MAXLEN = {"synthetic": 40, "imdb": 200}
#: Epochs per model: the IMDB reviews are five times longer and more numerous.
EPOCHS = {"synthetic": 12, "imdb": 3}


def load_data(source, quick, seed):
    """The reviews as padded ids: a dict with ``x_train, y_train, x_test, y_test``,
    ``vocab_size``, ``negated_test`` (a bool per test review, or None), ``name`` and
    ``epochs`` (the default for this data).

    ``source``: ``"auto"`` (IMDB if cached, else synthetic), ``"imdb"`` or
    ``"synthetic"``.  ``quick``: a small subset.
    """
    if source in ("auto", "imdb"):
        try:
            return _imdb(quick, seed)
        except FileNotFoundError as error:
            if source == "imdb":
                raise
            print(f"No IMDB here: {str(error).split(';')[0]}. The synthetic reviews are "
                  "used instead.")
    return _synthetic(quick)


def _synthetic(quick):
    corpus = reviews.load() if _shipped() else _generated()
    (train_texts, y_train), (test_texts, y_test) = corpus["train"], corpus["test"]
    if quick:
        train_texts, y_train = train_texts[:400], y_train[:400]
        test_texts, y_test = test_texts[:200], y_test[:200]
    vectorizer = text.TextVectorization()
    vectorizer.adapt(train_texts)   # the test reviews' words are not looked at

    def ids(texts):
        # TextVectorization pads at the end; the models read pre-padded rows (the real
        # words last, nearest the LSTM's output), so the padding is moved to the front.
        rows = vectorizer(texts)
        return text.pad_sequences([row[row > 0] for row in rows], maxlen=MAXLEN["synthetic"])

    return {"name": "synthetic reviews (scratchrnn/demos/data/reviews.tsv)",
            "epochs": EPOCHS["synthetic"],
            "x_train": ids(train_texts), "y_train": np.array(y_train, np.float32),
            "x_test": ids(test_texts), "y_test": np.array(y_test, np.float32),
            "vocab_size": vectorizer.vocabulary_size(),
            "negated_test": np.array([reviews.has_negation(t) for t in test_texts])}


def _shipped():
    return os.path.isfile(reviews.PATH)


def _generated():
    """The corpus made afresh, when the shipped file is missing (same rows)."""
    corpus = {}
    for split, label, review in reviews.generate():
        texts, labels = corpus.setdefault(split, ([], []))
        texts.append(review)
        labels.append(label)
    return corpus


def _imdb(quick, seed):
    num_words = 10000
    (x_train, y_train), (x_test, y_test) = text.load_imdb(num_words=num_words)
    rng = np.random.default_rng(seed)
    # A random subset keeps the four models within the demo's two minutes.
    n_train, n_test = (400, 200) if quick else (10000, 5000)
    train = rng.permutation(len(x_train))[:n_train]
    test = rng.permutation(len(x_test))[:n_test]
    maxlen = MAXLEN["imdb"]
    return {"name": f"IMDB ({n_train} training and {n_test} test reviews, the {num_words} "
                    f"most frequent words, the last {maxlen} words of each)",
            "x_train": text.pad_sequences(list(x_train[train]), maxlen=maxlen),
            "y_train": np.asarray(y_train[train], np.float32),
            "x_test": text.pad_sequences(list(x_test[test]), maxlen=maxlen),
            "y_test": np.asarray(y_test[test], np.float32),
            "vocab_size": num_words, "negated_test": None, "epochs": EPOCHS["imdb"]}


def bag_of_words(ids, vocab_size):
    """Word counts ``(B, vocab_size)`` of padded id rows (the padding id 0 not counted)."""
    counts = np.zeros((len(ids), vocab_size), np.float32)
    rows = np.repeat(np.arange(len(ids)), ids.shape[1])
    np.add.at(counts, (rows, ids.ravel()), 1.0)
    counts[:, 0] = 0.0
    return counts


def build_models(vocab_size, maxlen, seed, embedding_dim=16, units=32):
    """``{name: model}``: the four architectures and the bag-of-words baseline."""
    def embedding(k, mask_zero=True):
        return layers.Embedding(vocab_size, embedding_dim, mask_zero=mask_zero, seed=seed + k)

    def lstm(k):
        return layers.LSTM(units, backend="numba", seed=seed + k)

    def sigmoid(k):
        return layers.Dense(1, activation="sigmoid", seed=seed + k)

    ids = Input((maxlen,), dtype="int32")
    return {
        "bag of words (logistic regression)": Sequential(
            [Input((vocab_size,)), sigmoid(1)], name="bag_of_words", seed=seed),
        "Embedding + GlobalAveragePooling1D": Sequential(
            [ids, embedding(1), layers.GlobalAveragePooling1D(),
             layers.Dense(units, activation="relu", seed=seed + 2), sigmoid(3)],
            name="average", seed=seed),
        "LSTM": Sequential([ids, embedding(1), lstm(2), sigmoid(3)], name="lstm", seed=seed),
        "Bidirectional LSTM": Sequential(
            [ids, embedding(1), layers.Bidirectional(lstm(2)), sigmoid(3)],
            name="bidirectional", seed=seed),
        # Conv1D does not support masking (in Keras neither): no mask here; the LSTM
        # reads the pre-padding first and forgets it.
        "Conv1D + MaxPooling1D + LSTM": Sequential(
            [ids, embedding(1, mask_zero=False),
             layers.Conv1D(units, 3, padding="same", activation="relu", seed=seed + 2),
             layers.MaxPooling1D(2), lstm(3), sigmoid(4)], name="conv_lstm", seed=seed),
    }


def accuracy(model, x, y, subset=None):
    """The share of ``x`` (restricted to the bool array ``subset``) whose rounded
    prediction is ``y``."""
    if subset is not None:
        x, y = x[subset], y[subset]
    if len(x) == 0:
        return float("nan")
    predicted = model.predict(x, batch_size=256)[:, 0] > 0.5
    return float(np.mean(predicted == (y > 0.5)))


#: The models that see no order (a sum of counts, an average of embeddings).
ORDER_BLIND = ("bag_of_words", "average")
#: The lesson "word order matters" needs the best recurrent model right on at least this
#: share of the reviews it is judged on (well above the 0.5 of guessing) and ahead of the
#: best order-blind model by more than :func:`_common.accuracy_margin` of their count.
GOOD_ACCURACY = 0.75


def order_lesson(scores, count, judged_on):
    """The line on word order, a lesson only when the numbers carry it.

    scores: ``{(name, order_blind): accuracy}`` on the ``count`` reviews ``judged_on``
    describes ("the 130 test reviews with a negation")."""
    def best(blind):
        return max(((a, n) for (n, b), a in scores.items() if b == blind),
                   key=lambda pair: pair[0])
    (recurrent, r_name), (blind, b_name) = best(False), best(True)
    margin = _common.accuracy_margin(count)
    numbers = (f"on {judged_on} the best recurrent model ({r_name}) is right on {recurrent:.3f}"
               f", the best order-blind one ({b_name}) on {blind:.3f}")
    if recurrent >= GOOD_ACCURACY and recurrent - blind > margin:
        return f"Word order matters here: {numbers}."
    return (f"These numbers do not show that word order matters: {numbers} (the lesson needs "
            f"the recurrent one at {GOOD_ACCURACY} or more and ahead by over {margin:.3f}).")


def run(args):
    data = load_data(args.data, args.quick, args.seed)
    epochs = args.epochs or (3 if args.quick else data["epochs"])
    x_train, x_test = data["x_train"], data["x_test"]
    print(f"Data: {data['name']}")
    print(f"      {len(x_train)} training and {len(x_test)} test reviews, vocabulary "
          f"{data['vocab_size']}, sequences of {x_train.shape[1]} ids (pre-padded with 0); "
          f"{epochs} epochs of Adam, batch 32, seed {args.seed}")
    _common.quick_note(args, epochs)
    counts_train = bag_of_words(x_train, data["vocab_size"])
    counts_test = bag_of_words(x_test, data["vocab_size"])
    negated = data["negated_test"]
    rows, scores = [], {}
    for name, model in build_models(data["vocab_size"], x_train.shape[1], args.seed).items():
        bow = model.name == "bag_of_words"
        xtr, xte = (counts_train, counts_test) if bow else (x_train, x_test)
        model.compile(optimizer=optimizers.Adam(learning_rate=0.005),
                      loss="binary_crossentropy", metrics=["accuracy"])
        with _common.Stopwatch() as watch:
            history = model.fit(xtr, data["y_train"], batch_size=32, epochs=epochs, verbose=0)
        row = [name, f"{model.count_params():,}", f"{watch.seconds:.1f}",
               f"{history.history['loss'][-1]:.3f}",
               f"{accuracy(model, xte, data['y_test']):.3f}"]
        blind = model.name in ORDER_BLIND      # the lesson's scores: the negated reviews
        if negated is None:                    # when there are some, else all
            scores[name, blind] = accuracy(model, xte, data["y_test"])
        else:
            scores[name, blind] = accuracy(model, xte, data["y_test"], negated)
            row += [f"{scores[name, blind]:.3f}",
                    f"{accuracy(model, xte, data['y_test'], ~negated):.3f}"]
        rows.append(row)
        print(f"  trained {name} in {watch.seconds:.1f} s")
    headers = ["model", "params", "train s", "train loss", "test acc"]
    if negated is not None:
        headers += [f"with negation ({int(negated.sum())})",
                    f"without ({int((~negated).sum())})"]
    print()
    print(_common.table(headers, rows))
    print()
    print("The bag of words and the embedding average see which words a review holds, not "
          "their order;\nthe three recurrent models read them in order.")
    if negated is not None:
        print("(The synthetic labels follow their rule exactly, without noise: a model that "
              "has learned\nthe rule can be right on every review.)")
        print(order_lesson(scores, int(negated.sum()),
                           f"the {int(negated.sum())} test reviews with a negation"))
    else:
        print(order_lesson(scores, len(x_test), f"the {len(x_test)} test reviews"))
    _plot(rows, headers, args.out)
    return rows


def _plot(rows, headers, out):
    plt = _common.pyplot()
    if plt is None:
        return None
    figure, axes = plt.subplots(figsize=(8, 3.6))
    names = [row[0] for row in rows]
    column = headers.index("test acc")
    y = np.arange(len(rows))
    axes.barh(y, [float(row[column]) for row in rows], color="tab:blue", label="all test")
    if len(headers) > column + 1:
        axes.scatter([float(row[column + 1]) for row in rows], y, color="tab:red", zorder=3,
                     label="with a negation")
    axes.set_yticks(y, names)
    axes.invert_yaxis()
    axes.set_xlim(0.0, 1.02)
    axes.axvline(0.5, color="grey", lw=0.8, ls=":")
    axes.set_xlabel("test accuracy")
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    axes.set_title("Sentiment: order-blind models against recurrent ones")
    return _common.save(figure, out, "sentiment-accuracy.png")


def main(argv=None):
    p = _common.parser("sentiment", __doc__.split("\n\n")[0].split(": ", 1)[1])
    p.add_argument("--data", choices=("auto", "imdb", "synthetic"), default="auto",
                   help="IMDB (only from Keras's cache) or the shipped synthetic reviews "
                        "(default: %(default)s, IMDB when cached)")
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs per model (default: 12 on the synthetic reviews, 3 on "
                        "IMDB, 3 with --quick)")
    run(p.parse_args(argv))
    return 0
