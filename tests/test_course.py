"""The course's 19 code blocks (``../shared/seeds/000_a9e6916459d59478.txt``), run on
scratchrnn with only the names changed, and against tf.keras where TensorFlow is installed.

Each ``block_NN(K, tf, out)`` below is one block of the course as it is written, with:

- ``tf.keras.X`` written ``K.X``: the block runs on ``K = scratchrnn`` (``sr.layers``,
  ``sr.utils``, ``sr.Model``, ``sr.optimizers``...) and on ``K = tf.keras``, unchanged;
- ``tf.random.normal(shape)`` and ``tf.constant(a)`` that make input data written as
  NumPy (the same arrays for both sides), and ``.numpy()`` dropped;
- ``print(...)`` of a number written ``out[name] = number``, so that the two sides'
  numbers can be compared (``summary()`` calls stay: they must run);
- the data shrunk (IMDB replaced by token ids made here, fewer samples, epochs 1-2,
  smaller units where the block does not depend on them), the structure left alone;
- ``tf.data`` pipelines and ``tf.random.categorical`` left as they are: those blocks need
  TensorFlow (``NEEDS_TF``) and run only where it is installed.

Where tf.keras 3.15 itself stops in a block (04 and 09 call ``count_params()`` on models
that are not built; 19 passes Keras 2's ``batch_input_shape``), the block is expected to
stop at the same line with the same exception class, as Keras does.

Comparison with Keras (``compare_block``; also the ``course-NN-*`` rows of the parity
report, :mod:`parity.checks_course`): every recorded number, shape, padded array, token id
and window must be equal (floats within the parity suite's float32 tolerance), the same
exception raised at the same point, and then, per block, predictions with the weights
copied from scratchrnn's model into Keras's, and losses of a training run started from
copied weights (dropout set to 0 on both sides, no shuffling: neither is reproducible
across the two random number generators).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import io
import warnings
from collections.abc import Callable

import numpy as np
import pytest

import scratchrnn as sr


def _has_tensorflow():
    try:
        return importlib.util.find_spec("tensorflow") is not None
    except ValueError:          # blocked: sys.modules["tensorflow"] = None
        return False


HAS_TF = _has_tensorflow()


# --- the course's custom layer, ported -------------------------------------------------

from scratchrnn.demos.attention_layer import SimpleAttention as SrSimpleAttention  # noqa: E402


def keras_simple_attention(tf):
    """The course's class, verbatim, for the Keras side (kept once, in the parity checks
    of functional models)."""
    from parity.checks_functional import SimpleAttention
    return SimpleAttention


def normal(shape, seed=0):
    """``tf.random.normal(shape)``, as NumPy (the same array for both sides)."""
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


# --- the blocks ---------------------------------------------------------------------------


def block_01(K, tf, out):
    """Sequence data & why RNNs: NumPy only."""
    text_sequence = [45, 123, 7, 892, 33]
    out["text_sequence"] = np.array(text_sequence)
    time_series = np.sin(np.linspace(0, 4 * np.pi, 100))
    out["time_series_shape"] = time_series.shape
    audio_signal = np.random.randn(16000)
    out["audio_signal_shape"] = audio_signal.shape

    np.random.seed(42)
    W_h = np.random.randn(4, 4) * 0.5
    W_x = np.random.randn(4, 3) * 0.5
    b = np.zeros(4)
    h = np.zeros(4)
    sequence = np.random.randn(5, 3)
    for t in range(5):
        h = np.tanh(W_h @ h + W_x @ sequence[t] + b)
        out[f"h_{t}"] = h
    grad = 1.0
    weight = 0.7
    for t in range(20):
        grad *= weight
        if t % 5 == 4:
            out[f"grad_{t + 1}"] = grad
    out["_rnn"] = (W_h, W_x, b, sequence)


def block_02(K, tf, out):
    """SimpleRNN vs LSTM vs GRU."""
    batch_size = 32
    timesteps = 50
    features = 10
    X = normal([batch_size, timesteps, features])

    simple_rnn = K.layers.SimpleRNN(64, return_sequences=False)
    output_simple = simple_rnn(X)
    out["simple_rnn_shape"] = tuple(output_simple.shape)
    lstm = K.layers.LSTM(64, return_sequences=False)
    output_lstm = lstm(X)
    out["lstm_shape"] = tuple(output_lstm.shape)
    lstm_seq = K.layers.LSTM(64, return_sequences=True)
    output_seq = lstm_seq(X)
    out["lstm_seq_shape"] = tuple(output_seq.shape)
    lstm_state = K.layers.LSTM(64, return_sequences=False, return_state=True)
    output, hidden_state, cell_state = lstm_state(X)
    out["lstm_state_shapes"] = [tuple(a.shape) for a in (output, hidden_state, cell_state)]
    gru = K.layers.GRU(64, return_sequences=False)
    output_gru = gru(X)
    out["gru_shape"] = tuple(output_gru.shape)

    out["params"] = [simple_rnn.count_params(), lstm.count_params(), gru.count_params()]
    out["_calls"] = [(simple_rnn, X, output_simple), (lstm, X, output_lstm),
                     (lstm_seq, X, output_seq), (lstm_state, X, [output, hidden_state, cell_state]),
                     (gru, X, output_gru)]


def block_03(K, tf, out):
    """Bidirectional and stacked LSTMs."""
    X = normal([32, 50, 10])
    uni_lstm = K.layers.LSTM(64, return_sequences=True)
    out_uni = uni_lstm(X)
    out["uni_shape"] = tuple(out_uni.shape)
    bi_lstm = K.layers.Bidirectional(
        K.layers.LSTM(64, return_sequences=True)
    )
    out_bi = bi_lstm(X)
    out["bi_shape"] = tuple(out_bi.shape)

    model = K.Sequential([
        K.layers.Input(shape=(50, 10)),
        K.layers.Bidirectional(K.layers.LSTM(128, return_sequences=True)),
        K.layers.Dropout(0.3),
        K.layers.Bidirectional(K.layers.LSTM(64, return_sequences=False)),
        K.layers.Dropout(0.3),
        K.layers.Dense(32, activation='relu'),
        K.layers.Dense(1, activation='sigmoid')
    ])
    model.summary()
    out["total_params"] = model.count_params()
    out["_calls"] = [(uni_lstm, X, out_uni), (bi_lstm, X, out_bi)]
    out["_models"] = [(model, X[:4])]


def block_04(K, tf, out):
    """Embedding basics.  Keras 3.15 stops at ``model.count_params()``: the model has
    no Input, so it is not built (ValueError)."""
    vocab_size = 10000
    embedding_dim = 128
    max_length = 100
    embedding = K.layers.Embedding(
        input_dim=vocab_size,
        output_dim=embedding_dim,
        input_length=max_length
    )
    word_indices = np.array([[1, 42, 7, 0, 0],
                             [88, 5, 23, 14, 0]])
    embedded = embedding(word_indices)
    out["input_shape"] = tuple(word_indices.shape)
    out["output_shape"] = tuple(embedded.shape)
    out["one_word_shape"] = tuple(embedding(np.array([42])).shape)
    out["matrix_shape"] = tuple(embedding.embeddings.shape)
    out["_calls"] = [(embedding, word_indices, embedded)]

    model = K.Sequential([
        K.layers.Embedding(vocab_size, embedding_dim, input_length=max_length),
        K.layers.LSTM(64),
        K.layers.Dense(1, activation='sigmoid')
    ])
    out["_unbuilt"] = [(model, (None, max_length))]
    out["embedding_params"] = vocab_size * embedding_dim
    out["total_params"] = model.count_params()
    model.summary()


def block_05(K, tf, out):
    """Pretrained (GloVe-like) frozen embeddings."""
    vocab = ["", "the", "cat", "sat", "on", "mat", "dog", "ran", "fast", "slow"]
    word_index = {word: i for i, word in enumerate(vocab)}
    vocab_size = len(vocab)
    embedding_dim = 100
    np.random.seed(42)
    embedding_matrix = np.zeros((vocab_size, embedding_dim))
    for word, idx in word_index.items():  # noqa: B007 (the course's loop)
        if idx > 0:
            embedding_matrix[idx] = np.random.randn(embedding_dim) * 0.1
    out["cat_vector"] = embedding_matrix[word_index['cat']][:5]

    pretrained_embedding = K.layers.Embedding(
        input_dim=vocab_size,
        output_dim=embedding_dim,
        weights=[embedding_matrix],
        trainable=False
    )
    model = K.Sequential([
        pretrained_embedding,
        K.layers.Bidirectional(K.layers.LSTM(64)),
        K.layers.Dense(32, activation='relu'),
        K.layers.Dropout(0.5),
        K.layers.Dense(1, activation='sigmoid')
    ])
    model.summary()
    out["embedding_weights"] = np.asarray(pretrained_embedding.get_weights()[0])
    out["_models"] = [(model, np.array([[1, 2, 3, 0, 9], [4, 5, 6, 7, 8]]))]
    trainable = sum(K.backend.count_params(w) for w in model.trainable_weights)
    non_trainable = sum(K.backend.count_params(w) for w in model.non_trainable_weights)
    out["trainable"] = trainable
    out["non_trainable"] = non_trainable


TEXT_DATA = [
    "TensorFlow makes deep learning accessible",
    "RNNs process sequential data effectively",
    "LSTM networks handle long-term dependencies",
    "Natural language processing is fascinating",
    "Word embeddings capture semantic meaning"
]


def block_06(K, tf, out):
    """TextVectorization."""
    text_data = TEXT_DATA
    vectorizer = K.layers.TextVectorization(
        max_tokens=1000,
        output_mode='int',
        output_sequence_length=10,
        standardize='lower_and_strip_punctuation',
        split='whitespace'
    )
    vectorizer.adapt(text_data)
    vocab = vectorizer.get_vocabulary()
    out["vocab_size"] = len(vocab)
    out["vocab"] = [str(w) for w in vocab]
    sample = np.array(["LSTM networks are powerful"])
    encoded = np.asarray(vectorizer(sample))
    out["encoded"] = encoded
    idx_to_word = {i: w for i, w in enumerate(vocab)}
    decoded = [idx_to_word.get(idx, '?') for idx in encoded[0] if idx > 0]
    out["decoded"] = ' '.join(decoded)
    batch_encoded = np.asarray(vectorizer(text_data))
    out["batch_encoded"] = batch_encoded


def block_07(K, tf, out):
    """Padding strategies and masking."""
    sequences = [
        [1, 2, 3],
        [4, 5, 6, 7, 8],
        [9, 10]
    ]
    out["pre_padded"] = K.utils.pad_sequences(sequences, maxlen=6, padding='pre')
    out["post_padded"] = K.utils.pad_sequences(sequences, maxlen=6, padding='post')
    long_seq = [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]
    out["truncated_pre"] = K.utils.pad_sequences(long_seq, maxlen=5, truncating='pre')
    out["truncated_post"] = K.utils.pad_sequences(long_seq, maxlen=5, truncating='post')

    model = K.Sequential([
        K.layers.Embedding(100, 32, mask_zero=True),
        K.layers.LSTM(64),
        K.layers.Dense(1, activation='sigmoid')
    ])
    model_explicit = K.Sequential([
        K.layers.Embedding(100, 32),
        K.layers.Masking(mask_value=0.0),
        K.layers.LSTM(64),
        K.layers.Dense(1, activation='sigmoid')
    ])
    sample_input = np.array([[0, 0, 5, 12, 3]])
    embedding_layer = model.layers[0]
    output = embedding_layer(sample_input)
    mask = embedding_layer.compute_mask(sample_input)
    out["mask"] = np.asarray(mask)
    out["_calls"] = [(embedding_layer, sample_input, output)]
    tokens = np.array([[0, 0, 5, 12, 3], [7, 0, 9, 1, 0], [0, 0, 0, 4, 2]])
    out["_models"] = [(model, tokens), (model_explicit, tokens)]


# IMDB, replaced: token ids 1..VOCAB-1 (0 is padding; 1-3 are IMDB's special ids), random
# lengths, the label decided by the review's first token.
IMDB_TRAIN, IMDB_TEST, IMDB_LENGTHS = 64, 16, (5, 30)


def fake_imdb(num_words, seed=1):
    rng = np.random.default_rng(seed)

    def reviews(n):
        data = [list(rng.integers(4, num_words, size=rng.integers(*IMDB_LENGTHS)))
                for _ in range(n)]
        for review in data:
            review[0] = 1                                # IMDB's start mark
        labels = np.array([int(r[1] > num_words // 2) for r in data])
        return data, labels

    word_index = {f"word{i}": i for i in range(1, num_words)}
    return reviews(IMDB_TRAIN), reviews(IMDB_TEST), word_index


def block_08(K, tf, out):
    """Sentiment analysis on IMDB (replaced by made-up token ids)."""
    (train_data, train_labels), (test_data, test_labels), word_index = fake_imdb(10000)
    out["sample_lengths"] = [len(train_data[0]), len(train_data[1]), len(train_data[2])]
    reverse_word_index = {v + 3: k for k, v in word_index.items()}
    reverse_word_index[0] = ''
    reverse_word_index[1] = ''
    reverse_word_index[2] = ''
    out["decoded"] = ' '.join(reverse_word_index.get(i, '?') for i in train_data[0][:30])

    max_length = 24                                      # the course: 256
    train_padded = K.utils.pad_sequences(train_data, maxlen=max_length, padding='post')
    test_padded = K.utils.pad_sequences(test_data, maxlen=max_length, padding='post')
    out["train_padded"] = train_padded
    out["test_padded"] = test_padded

    model = K.Sequential([
        K.layers.Embedding(10000, 16, mask_zero=True),   # the course: 128
        K.layers.Bidirectional(K.layers.LSTM(16, dropout=0.2)),  # the course: 64
        K.layers.Dense(16, activation='relu'),            # the course: 64
        K.layers.Dropout(0.5),
        K.layers.Dense(1, activation='sigmoid')
    ])
    model.compile(
        optimizer='adam',
        loss='binary_crossentropy',
        metrics=['accuracy']
    )
    model.summary()
    history = model.fit(
        train_padded, train_labels,
        epochs=1,                                        # the course: 5
        batch_size=32,                                   # the course: 64
        validation_split=0.2,
        verbose=1
    )
    out["history_keys"] = sorted(history.history)
    test_loss, test_acc = model.evaluate(test_padded, test_labels, verbose=0)
    out["_finite"] = [test_loss, test_acc]
    out["_models"] = [(model, test_padded)]
    out["_train"] = [(model, train_padded, train_labels.astype("float32"),
                      dict(optimizer="adam", loss="binary_crossentropy",
                           metrics=["accuracy"]),
                      dict(batch_size=32, validation_split=0.2))]


def block_09(K, tf, out):
    """Comparing architectures.  Keras 3.15 stops at the first ``count_params()``: the
    models have no Input, so they are not built (ValueError)."""
    vocab_size = 10000
    embedding_dim = 128
    max_length = 256
    model_simple = K.Sequential([
        K.layers.Embedding(vocab_size, embedding_dim, input_length=max_length),
        K.layers.GlobalAveragePooling1D(),
        K.layers.Dense(64, activation='relu'),
        K.layers.Dense(1, activation='sigmoid')
    ], name='simple_avgpool')
    model_lstm = K.Sequential([
        K.layers.Embedding(vocab_size, embedding_dim, input_length=max_length),
        K.layers.LSTM(64, dropout=0.2),
        K.layers.Dense(64, activation='relu'),
        K.layers.Dense(1, activation='sigmoid')
    ], name='lstm')
    model_bilstm = K.Sequential([
        K.layers.Embedding(vocab_size, embedding_dim, input_length=max_length),
        K.layers.Bidirectional(K.layers.LSTM(64, dropout=0.2)),
        K.layers.Dense(64, activation='relu'),
        K.layers.Dropout(0.5),
        K.layers.Dense(1, activation='sigmoid')
    ], name='bidirectional_lstm')
    model_conv_lstm = K.Sequential([
        K.layers.Embedding(vocab_size, embedding_dim, input_length=max_length),
        K.layers.Conv1D(64, 5, activation='relu'),
        K.layers.MaxPooling1D(4),
        K.layers.LSTM(64),
        K.layers.Dense(1, activation='sigmoid')
    ], name='conv1d_lstm')
    models = [model_simple, model_lstm, model_bilstm, model_conv_lstm]
    out["_unbuilt"] = [(m, (None, max_length)) for m in models]
    for m in models:
        out[f"name_{m.name}"] = m.name
        out[f"params_{m.name}"] = m.count_params()


SHAKESPEARE = """To be, or not to be, that is the question:
Whether 'tis nobler in the mind to suffer
The slings and arrows of outrageous fortune,
Or to take arms against a sea of troubles,
And by opposing end them. To die, to sleep."""


def block_10(K, tf, out):
    """Character-level text generation: the model and a brief training."""
    text = SHAKESPEARE
    chars = sorted(set(text))
    char_to_idx = {c: i for i, c in enumerate(chars)}
    vocab_size = len(chars)
    out["vocab_size"] = vocab_size
    seq_length = 20                                      # the course: 40
    sequences = []
    targets = []
    text_encoded = [char_to_idx[c] for c in text]
    for i in range(len(text_encoded) - seq_length):
        sequences.append(text_encoded[i:i + seq_length])
        targets.append(text_encoded[i + seq_length])
    X = np.array(sequences)
    y = np.array(targets)
    out["X"], out["y"] = X, y

    model = K.Sequential([
        K.layers.Embedding(vocab_size, 64, input_length=seq_length),
        K.layers.LSTM(64, return_sequences=True),        # the course: 256
        K.layers.Dropout(0.2),
        K.layers.LSTM(32),                               # the course: 128
        K.layers.Dropout(0.2),
        K.layers.Dense(vocab_size, activation='softmax')
    ])
    model.compile(
        optimizer='adam',
        loss='sparse_categorical_crossentropy',
        metrics=['accuracy']
    )
    model.summary()
    model.fit(X, y, epochs=1, batch_size=64, verbose=1)  # the course: 3 epochs
    out["_models"] = [(model, X[:16])]
    out["_train"] = [(model, X[:64], y[:64],
                      dict(optimizer="adam", loss="sparse_categorical_crossentropy",
                           metrics=["accuracy"]), dict(batch_size=32))]


def block_11(K, tf, out):
    """Sampling strategies; ``generate_text`` then used on a small model as the block's
    last line says (``Usage: generate_text(model, 'To be', ...)``)."""
    def sample_with_temperature(logits, temperature=1.0):
        logits = logits / temperature
        predicted_id = tf.random.categorical(
            tf.expand_dims(logits, 0), num_samples=1
        )[0, 0].numpy()
        return predicted_id

    np.random.seed(42)
    logits = np.array([2.0, 1.5, 0.5, -0.5, -1.0, 0.8, 3.0, 0.1])
    chars = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']
    for temp in [0.2, 0.5, 1.0, 1.5, 2.0]:
        scaled = logits / temp
        probs = np.exp(scaled) / np.exp(scaled).sum()
        out[f"top_prob_{temp}"] = probs.max()
        samples = []
        for _ in range(10):
            idx = sample_with_temperature(tf.constant(logits, dtype=tf.float32), temp)
            samples.append(chars[idx])
        out[f"samples_{temp}_length"] = len(''.join(samples))

    def generate_text(model, start_string, char_to_idx, idx_to_char, length=200,
                      temperature=0.8):
        seq_length = model.input_shape[1]
        input_eval = [char_to_idx.get(c, 0) for c in start_string]
        if len(input_eval) < seq_length:
            input_eval = [0] * (seq_length - len(input_eval)) + input_eval
        else:
            input_eval = input_eval[-seq_length:]
        generated = list(start_string)
        for _ in range(length):
            input_tensor = tf.expand_dims(input_eval, 0)
            predictions = model(input_tensor, training=False)[0]
            predicted_id = sample_with_temperature(predictions, temperature)
            generated.append(idx_to_char.get(predicted_id, '?'))
            input_eval = input_eval[1:] + [predicted_id]
        return ''.join(generated)

    # The usage line, made runnable with a small untrained character model.
    chars = sorted(set(SHAKESPEARE))
    char_to_idx = {c: i for i, c in enumerate(chars)}
    idx_to_char = {i: c for c, i in char_to_idx.items()}
    model = K.Sequential([
        K.layers.Input(shape=(10,)),
        K.layers.Embedding(len(chars), 8),
        K.layers.LSTM(16),
        K.layers.Dense(len(chars), activation='softmax')
    ])
    out["input_shape"] = tuple(model.input_shape)
    tf.random.set_seed(0)
    out["generated_length"] = len(generate_text(model, 'To be', char_to_idx, idx_to_char,
                                                length=20, temperature=0.8))
    out["_generate"] = (generate_text, model, char_to_idx, idx_to_char)


def block_12(K, tf, out):
    """Windowing a series with tf.data (no Keras names: compared with
    ``timeseries_dataset_from_array``)."""
    np.random.seed(42)
    time = np.arange(1000)
    trend = 0.02 * time
    seasonality = 10 * np.sin(2 * np.pi * time / 50)
    noise = np.random.randn(1000) * 2
    series = trend + seasonality + noise
    out["range"] = np.array([series.min(), series.max()])

    def create_windows(series, window_size, forecast_horizon=1):
        dataset = tf.data.Dataset.from_tensor_slices(series)
        total_window = window_size + forecast_horizon
        dataset = dataset.window(total_window, shift=1, drop_remainder=True)
        dataset = dataset.flat_map(lambda w: w.batch(total_window))
        dataset = dataset.map(lambda w: (w[:window_size], w[-forecast_horizon:]))
        return dataset

    window_size = 30
    dataset = create_windows(series.astype(np.float32), window_size, forecast_horizon=1)
    for x, y in dataset.take(1):
        out["window_shapes"] = (tuple(x.shape), tuple(y.shape))
    train_dataset = dataset.shuffle(1000).batch(32).prefetch(tf.data.AUTOTUNE)
    for batch_x, batch_y in train_dataset.take(1):
        out["batch_shapes"] = (tuple(batch_x.shape), tuple(batch_y.shape))
    # every window, in order, as arrays: the same windows through K.utils
    xs, ys = zip(*[(np.asarray(x), np.asarray(y)) for x, y in dataset])
    out["windows_x"], out["windows_y"] = np.stack(xs), np.stack(ys)
    data = series.astype(np.float32)
    ours = K.utils.timeseries_dataset_from_array(
        data[:-1], data[window_size:], sequence_length=window_size, batch_size=None)
    ox, oy = zip(*[(np.asarray(x), np.asarray(y)) for x, y in ours])
    out["utils_windows_x"], out["utils_windows_y"] = np.stack(ox), np.stack(oy)[:, None]


def block_13(K, tf, out):
    """Temporal train/val/test splits with tf.data (no Keras names)."""
    np.random.seed(42)
    time = np.arange(1000)
    series = 0.02 * time + 10 * np.sin(2 * np.pi * time / 50) + np.random.randn(1000) * 2
    train_end = 700
    val_end = 850
    train_series = series[:train_end]
    val_series = series[train_end:val_end]
    test_series = series[val_end:]
    train_mean = train_series.mean()
    train_std = train_series.std()
    train_norm = (train_series - train_mean) / train_std
    val_norm = (val_series - train_mean) / train_std
    test_norm = (test_series - train_mean) / train_std
    out["stats"] = np.array([train_mean, train_std])

    def make_windowed_dataset(series, window_size, batch_size, shuffle=True):
        series = tf.cast(series, tf.float32)
        ds = tf.data.Dataset.from_tensor_slices(series)
        ds = ds.window(window_size + 1, shift=1, drop_remainder=True)
        ds = ds.flat_map(lambda w: w.batch(window_size + 1))
        ds = ds.map(lambda w: (w[:-1], w[-1:]))
        if shuffle:
            ds = ds.shuffle(1000)
        ds = ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
        return ds

    window_size = 30
    batch_size = 32
    train_ds = make_windowed_dataset(train_norm, window_size, batch_size, shuffle=True)
    val_ds = make_windowed_dataset(val_norm, window_size, batch_size, shuffle=False)
    test_ds = make_windowed_dataset(test_norm, window_size, batch_size, shuffle=False)
    for x, y in train_ds.take(1):
        out["train_batch"] = (tuple(x.shape), tuple(y.shape))
    # the validation and test windows, batch by batch, against K.utils's
    for split, ds, norm in (("val", val_ds, val_norm), ("test", test_ds, test_norm)):
        data = norm.astype(np.float32)
        ours = K.utils.timeseries_dataset_from_array(
            data[:-1], data[window_size:], sequence_length=window_size, batch_size=batch_size)
        theirs = list(ds)
        out[f"{split}_batches"] = (len(theirs), len(list(ours)))
        out[f"{split}_x"] = np.concatenate([np.asarray(x) for x, _ in theirs])
        out[f"{split}_utils_x"] = np.concatenate([np.asarray(x) for x, _ in ours])
        out[f"{split}_y"] = np.concatenate([np.asarray(y) for _, y in theirs])[:, 0]
        out[f"{split}_utils_y"] = np.concatenate([np.asarray(y) for _, y in ours])


def block_14(K, tf, out):
    """Forecasting on tf.data windows with EarlyStopping (shrunk series and units)."""
    np.random.seed(42)
    n_steps = 220                                        # the course: 1500
    time = np.arange(n_steps)
    series = (0.03 * time +
              10 * np.sin(2 * np.pi * time / 50) +
              5 * np.sin(2 * np.pi * time / 120) +
              np.random.randn(n_steps) * 2).astype(np.float32)
    train_end, val_end = 84, 124                         # the course: 1000, 1250
    train_mean, train_std = series[:train_end].mean(), series[:train_end].std()
    series_norm = (series - train_mean) / train_std
    window_size = 20                                     # the course: 50

    def make_dataset(data, window_size, batch_size=32, shuffle=True):
        ds = tf.data.Dataset.from_tensor_slices(data)
        ds = ds.window(window_size + 1, shift=1, drop_remainder=True)
        ds = ds.flat_map(lambda w: w.batch(window_size + 1))
        ds = ds.map(lambda w: (tf.expand_dims(w[:-1], -1), w[-1:]))
        if shuffle:
            ds = ds.shuffle(500)
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)

    train_ds = make_dataset(series_norm[:train_end], window_size)
    val_ds = make_dataset(series_norm[train_end:val_end], window_size, shuffle=False)

    model = K.Sequential([
        K.layers.Input(shape=(window_size, 1)),
        K.layers.LSTM(16, return_sequences=True),        # the course: 128
        K.layers.Dropout(0.2),
        K.layers.LSTM(8),                                # the course: 64
        K.layers.Dropout(0.2),
        K.layers.Dense(8, activation='relu'),            # the course: 32
        K.layers.Dense(1)
    ])
    model.compile(
        optimizer=K.optimizers.Adam(learning_rate=1e-3),
        loss='mse',
        metrics=['mae']
    )
    model.summary()
    early_stop = K.callbacks.EarlyStopping(
        monitor='val_loss', patience=5, restore_best_weights=True
    )
    history = model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=2,                                        # the course: 20
        callbacks=[early_stop],
        verbose=1
    )
    out["history_keys"] = sorted(history.history)
    out["epochs_run"] = len(history.history['loss'])
    out["_finite"] = [min(history.history['val_mae']) * train_std,
                      min(history.history['val_loss'])]
    out["_models"] = [(model, np.stack([series_norm[i:i + window_size, None]
                                        for i in range(8)]))]
    # the training comparison: the same windows, not shuffled
    plain_train = make_dataset(series_norm[:train_end], window_size, shuffle=False)
    out["_train"] = [(model, plain_train, None,
                      dict(optimizer="adam", loss="mse", metrics=["mae"]),
                      dict(validation_data=val_ds))]


def block_15(K, tf, out):
    """Conv1D + LSTM hybrids: parameters, output shapes, one call."""
    window_size = 50
    model_lstm = K.Sequential([
        K.layers.Input(shape=(window_size, 1)),
        K.layers.LSTM(128, return_sequences=True),
        K.layers.LSTM(64),
        K.layers.Dense(1)
    ], name='pure_lstm')
    model_hybrid = K.Sequential([
        K.layers.Input(shape=(window_size, 1)),
        K.layers.Conv1D(64, kernel_size=5, activation='relu', padding='same'),
        K.layers.MaxPooling1D(2),
        K.layers.Conv1D(32, kernel_size=3, activation='relu', padding='same'),
        K.layers.MaxPooling1D(2),
        K.layers.LSTM(64),
        K.layers.Dense(32, activation='relu'),
        K.layers.Dense(1)
    ], name='conv_lstm_hybrid')
    forecast_horizon = 5
    model_multistep = K.Sequential([
        K.layers.Input(shape=(window_size, 1)),
        K.layers.Conv1D(64, 5, activation='relu', padding='same'),
        K.layers.MaxPooling1D(2),
        K.layers.Bidirectional(K.layers.LSTM(64)),
        K.layers.Dense(32, activation='relu'),
        K.layers.Dense(forecast_horizon)
    ], name='multistep_forecaster')
    for m in [model_lstm, model_hybrid, model_multistep]:
        out[f"{m.name}_output"] = m.output_shape[-1]
        out[f"{m.name}_params"] = m.count_params()
    model_hybrid.compile(
        optimizer=K.optimizers.Adam(1e-3),
        loss='huber',
        metrics=['mae']
    )
    dummy_x = normal([32, window_size, 1])
    dummy_y = model_hybrid(dummy_x)
    out["dummy_shapes"] = (tuple(dummy_x.shape), tuple(dummy_y.shape))
    out["_calls"] = [(model_hybrid, dummy_x, dummy_y)]
    out["_models"] = [(model_multistep, dummy_x[:4])]


def block_16(K, tf, out):
    """Seq2seq (functional API) on reversed number sequences."""
    vocab_size = 20
    embedding_dim = 32
    latent_dim = 64
    max_length = 10
    encoder_inputs = K.layers.Input(shape=(max_length,), name='encoder_input')
    encoder_embedding = K.layers.Embedding(vocab_size, embedding_dim)(encoder_inputs)
    encoder_lstm = K.layers.LSTM(latent_dim, return_state=True, name='encoder_lstm')
    _, state_h, state_c = encoder_lstm(encoder_embedding)
    encoder_states = [state_h, state_c]
    decoder_inputs = K.layers.Input(shape=(max_length,), name='decoder_input')
    decoder_embedding = K.layers.Embedding(vocab_size, embedding_dim)(decoder_inputs)
    decoder_lstm = K.layers.LSTM(
        latent_dim, return_sequences=True, return_state=True, name='decoder_lstm'
    )
    decoder_outputs, _, _ = decoder_lstm(decoder_embedding, initial_state=encoder_states)
    decoder_dense = K.layers.Dense(vocab_size, activation='softmax', name='output')
    outputs = decoder_dense(decoder_outputs)
    model = K.Model([encoder_inputs, decoder_inputs], outputs)
    model.compile(optimizer='adam', loss='sparse_categorical_crossentropy',
                  metrics=['accuracy'])
    model.summary()
    out["params"] = model.count_params()

    def generate_reverse_data(n_samples, seq_length, vocab_size):
        encoder_input = np.random.randint(1, vocab_size, size=(n_samples, seq_length))
        decoder_target = encoder_input[:, ::-1]
        decoder_input = np.zeros_like(decoder_target)
        decoder_input[:, 1:] = decoder_target[:, :-1]
        return encoder_input, decoder_input, decoder_target

    np.random.seed(0)
    seq_length = 5
    enc_in, dec_in, dec_target = generate_reverse_data(128, seq_length, vocab_size)
    enc_in_padded = K.utils.pad_sequences(enc_in, maxlen=max_length, padding='post')
    dec_in_padded = K.utils.pad_sequences(dec_in, maxlen=max_length, padding='post')
    dec_target_padded = K.utils.pad_sequences(dec_target, maxlen=max_length, padding='post')
    out["padded"] = [enc_in_padded, dec_in_padded, dec_target_padded]
    history = model.fit(
        [enc_in_padded, dec_in_padded],
        np.expand_dims(dec_target_padded, -1),
        epochs=1,                                        # the course: 10
        batch_size=64,
        validation_split=0.1,
        verbose=1
    )
    out["history_keys"] = sorted(history.history)
    out["_finite"] = [history.history['accuracy'][-1]]
    x = [enc_in_padded, dec_in_padded]
    out["_models"] = [(model, [a[:8] for a in x])]
    out["_train"] = [(model, x, np.expand_dims(dec_target_padded, -1),
                      dict(optimizer="adam", loss="sparse_categorical_crossentropy",
                           metrics=["accuracy"]),
                      dict(batch_size=64, validation_split=0.1))]


def block_17(K, tf, out):
    """The course's SimpleAttention layer (tf ops in its call: ported to NumPy)."""
    SimpleAttention = SrSimpleAttention if K is sr else keras_simple_attention(tf)
    batch_size = 2
    seq_len = 8
    hidden_dim = 64
    encoder_outputs = normal([batch_size, seq_len, hidden_dim])
    decoder_hidden = normal([batch_size, hidden_dim], seed=1)
    attention = SimpleAttention(units=32)
    context, weights = attention(encoder_outputs, decoder_hidden)
    out["shapes"] = [tuple(a.shape) for a in (encoder_outputs, decoder_hidden, context,
                                               weights)]
    out["weights_sum"] = np.asarray(weights[0]).sum()
    out["_calls"] = [(attention, (encoder_outputs, decoder_hidden), [context, weights])]


def block_18(K, tf, out):
    """Gradient clipping; the cuDNN-friendly LSTM."""
    model = K.Sequential([
        K.layers.Input(shape=(50, 10)),
        K.layers.LSTM(128, return_sequences=True),
        K.layers.LSTM(64),
        K.layers.Dense(1)
    ])
    optimizer = K.optimizers.Adam(
        learning_rate=1e-3,
        clipnorm=1.0
    )
    optimizer_clipvalue = K.optimizers.Adam(
        learning_rate=1e-3,
        clipvalue=0.5
    )
    model.compile(optimizer=optimizer, loss='mse')
    out["clip"] = [optimizer.clipnorm, optimizer_clipvalue.clipvalue]
    cudnn_lstm = K.layers.LSTM(
        128,
        activation='tanh',
        recurrent_activation='sigmoid',
        dropout=0.2,
        recurrent_dropout=0.0,
        unroll=False,
        use_bias=True
    )
    x = normal([4, 50, 10])
    out["params"] = model.count_params()
    out["_models"] = [(model, x)]
    out["_calls"] = [(cudnn_lstm, x, None)]
    out["_train"] = [(model, x, normal([4, 1], seed=1),
                      dict(optimizer=("Adam", dict(learning_rate=1e-3, clipnorm=1.0)),
                           loss="mse"), dict(batch_size=4))]


def block_19(K, tf, out):
    """Masking and stateful RNNs.  Keras 3.15 stops at ``batch_input_shape=`` (Keras 2's
    argument; Keras 3 spells it ``Input(batch_shape=...)``): ValueError."""
    model_masked = K.Sequential([
        K.layers.Embedding(1000, 64, mask_zero=True),
        K.layers.LSTM(32),
        K.layers.Dense(1, activation='sigmoid')
    ])
    model_explicit_mask = K.Sequential([
        K.layers.Input(shape=(100, 5)),
        K.layers.Masking(mask_value=0.0),
        K.layers.LSTM(32),
        K.layers.Dense(1)
    ])
    sample = np.array([[0, 0, 5, 12, 0, 8, 0]])
    emb = model_masked.layers[0]
    mask = emb.compute_mask(sample)
    out["mask"] = np.asarray(mask)
    x = normal([3, 100, 5])
    x[0, :40] = 0.0
    out["_models"] = [(model_masked, np.array([[0, 0, 5, 12, 0, 8, 0], [1, 2, 3, 0, 0, 0, 0]])),
                      (model_explicit_mask, x)]

    batch_size = 16
    stateful_model = K.Sequential([
        K.layers.LSTM(64, stateful=True, batch_input_shape=(batch_size, 50, 1)),
        K.layers.Dense(1)
    ])
    dummy_input = normal([batch_size, 50, 1])
    stateful_model(dummy_input)
    out["state_1"] = np.asarray(stateful_model.layers[0].states[0]).mean()
    stateful_model(dummy_input)
    out["state_2"] = np.asarray(stateful_model.layers[0].states[0]).mean()
    stateful_model.reset_states()
    out["state_reset"] = np.asarray(stateful_model.layers[0].states[0]).mean()


# --- running and comparing ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Block:
    number: int
    name: str
    run: Callable
    needs_tf: bool = False      # tf.data or tf.random in the block itself
    keras_raises: type | None = None   # what tf.keras 3.15 raises in the block


BLOCKS = [
    Block(1, "numpy-rnn", block_01),
    Block(2, "rnn-lstm-gru", block_02),
    Block(3, "bidirectional-stacked", block_03),
    Block(4, "embedding", block_04, keras_raises=ValueError),
    Block(5, "pretrained-embedding", block_05),
    Block(6, "text-vectorization", block_06),
    Block(7, "padding-masking", block_07),
    Block(8, "sentiment-imdb", block_08),
    Block(9, "compare-architectures", block_09, keras_raises=ValueError),
    Block(10, "char-model", block_10),
    Block(11, "temperature-sampling", block_11, needs_tf=True),
    Block(12, "tf-data-windows", block_12, needs_tf=True),
    Block(13, "temporal-split", block_13, needs_tf=True),
    Block(14, "lstm-forecaster", block_14, needs_tf=True),
    Block(15, "conv-lstm-hybrid", block_15),
    Block(16, "seq2seq", block_16),
    Block(17, "simple-attention", block_17),
    Block(18, "gradient-clipping", block_18),
    Block(19, "masking-stateful", block_19, keras_raises=ValueError),
]
BY_NUMBER = {b.number: b for b in BLOCKS}


def import_tf():
    from scratchrnn._tensorflow import import_tensorflow
    tf, _ = import_tensorflow()
    return tf


@contextlib.contextmanager
def keras_eagerly(tf):
    """Keras's steps run eagerly, not traced into tf.functions: on these few small batches
    tracing is most of Keras's time (and a traced step's float32 rounding differs from the
    eager one's: 1e-4 relative in block 14's losses, against 1e-7 eagerly)."""
    if tf is None:
        yield
        return
    before = tf.config.functions_run_eagerly()
    tf.config.run_functions_eagerly(True)
    try:
        yield
    finally:
        tf.config.run_functions_eagerly(before)


def run_block(block, K, tf=None):
    """Run one block on ``K`` quietly: ``(recorded values, the exception or None)``."""
    out = {}
    np.random.seed(0)
    try:
        with contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings(), \
                keras_eagerly(tf if K is not sr else None):
            warnings.simplefilter("ignore")
            block.run(K, tf, out)
    except Exception as error:  # compared with what Keras does
        return out, error
    return out, None


def _equal(a, b):
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    except ValueError:          # ragged, e.g. a list of shapes of different lengths
        return a == b


def compare_values(cmp, ours, theirs):
    """Every value Keras's run recorded (keys without ``_``) against ours: float arrays
    within tolerance, everything else equal."""
    for key, b in theirs.items():
        if key.startswith("_"):
            continue
        if key not in ours:
            cmp.problem(f"{key}: not reached on scratchrnn's side")
            continue
        a = ours[key]
        if isinstance(b, list) and b and isinstance(b[0], np.ndarray):
            same = len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))
        elif isinstance(b, (np.ndarray, np.floating)) and b.dtype == np.float32:
            cmp.add(key, np.asarray(a, dtype=np.float32), np.asarray(b))
            continue
        else:
            same = _equal(a, b)
        cmp.errors[key] = 0.0 if same else float("inf")
        if not same:
            cmp.problem(f"{key}: scratchrnn {a!r:.300}, Keras {b!r:.300}")


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _call(layer, x):
    if isinstance(x, tuple):
        return layer(*x)
    return layer(x)


def _dropout_off(layer):
    """Rates to 0 in ``layer`` and everything it holds (either library)."""
    for attr in ("rate", "dropout", "recurrent_dropout"):
        value = getattr(layer, attr, None)
        if isinstance(value, float) and value:
            try:
                setattr(layer, attr, 0.0)
            except AttributeError:      # Keras's RNN layers read it from their cell
                pass
    for inner in ("cell", "forward_layer", "backward_layer"):
        if getattr(layer, inner, None) is not None:
            _dropout_off(getattr(layer, inner))
    for sub in getattr(layer, "layers", None) or []:
        _dropout_off(sub)


def _optimizer(K, spec):
    if isinstance(spec, tuple):
        name, kwargs = spec
        return getattr(K.optimizers, name)(**kwargs)
    return spec


def compare_block(cmp, block, tf, our_run=None):
    """Run ``block`` on scratchrnn (unless ``our_run``, a fresh ``run_block(block, sr, tf)``,
    is given) and on tf.keras, and compare (see the module's doc)."""
    ours, our_error = our_run or run_block(block, sr, tf)
    theirs, their_error = run_block(block, tf.keras, tf)
    expected = block.keras_raises
    if type(their_error) is not (expected or type(None)):
        cmp.problem(f"Keras's side: expected {expected}, got {their_error!r:.300}")
    if type(our_error) is not type(their_error):
        cmp.problem(f"scratchrnn raised {our_error!r:.300} where Keras raised "
                    f"{their_error!r:.300}")
    cmp.errors["raises"] = 0.0 if type(our_error) is type(their_error) else float("inf")
    compare_values(cmp, ours, theirs)
    if our_error is not None and their_error is None:
        return
    extra = COMPARISONS.get(block.number)
    if extra:
        extra(cmp, ours, theirs, tf)
    for value in ours.get("_finite", []):
        if not np.isfinite(value):
            cmp.problem(f"a logged number of scratchrnn's run is not finite: {value}")
    for i, ((mine, xm, ym), (their, _, _)) in enumerate(zip(ours.get("_calls", []),
                                                              theirs.get("_calls", []))):
        # predictions with copied weights: our object's output, Keras's with our weights
        if ym is None:
            ym = _call(mine, xm)
            _call(their, xm)
        their.set_weights(mine.get_weights())
        theirs_out = [np.asarray(t) for t in _as_list(_call(their, xm))]
        cmp.add(f"call{i}", [np.asarray(t) for t in _as_list(ym)], theirs_out)
    for key in ("_unbuilt",):
        for i, ((mine, shape), (their, _)) in enumerate(zip(ours.get(key, []),
                                                             theirs.get(key, []))):
            # the course's fix: build the model, then count
            mine.build(shape)
            their.build(shape)
            same = mine.count_params() == their.count_params()
            cmp.errors[f"built_params{i}"] = 0.0 if same else float("inf")
            if not same:
                cmp.problem(f"built model {i}: {mine.count_params()} parameters, Keras "
                            f"{their.count_params()}")
    for i, ((mine, x), (their, _)) in enumerate(zip(ours.get("_models", []),
                                                     theirs.get("_models", []))):
        mine_out = np.asarray(mine.predict(x, verbose=0))
        their(x)                                       # builds what the block did not
        their.set_weights(mine.get_weights())
        their_out = np.asarray(their(x, training=False))
        cmp.add(f"predict{i}", mine_out, their_out)
        if cmp.errors[f"predict{i}"] > 1e-5 and hasattr(cmp, "judge_rounding"):
            # a trained model's output can cancel (a Dense(1) over relu units): judge the
            # excess against Keras in float64 on the same weights, as the parity suite does
            cmp.judge_rounding(f"predict{i}", mine_out, their_out,
                               _keras_float64(their, tf)(x.astype("float64")))
    for i, ((mine, x, y, compiled, fitted), (their, _, _, _, _)) in enumerate(
            zip(ours.get("_train", []), theirs.get("_train", []))):
        # losses of a training run from copied weights: no dropout, no shuffling
        for model, K in ((mine, sr), (their, tf.keras)):
            _dropout_off(model)
            model.compile(**{**compiled, "optimizer": _optimizer(K, compiled["optimizer"])})
        their.set_weights(mine.get_weights())
        kwargs = dict(fitted, epochs=1, shuffle=False, verbose=0)
        with warnings.catch_warnings(), keras_eagerly(tf):
            warnings.simplefilter("ignore")
            h_ours = mine.fit(x, y, **kwargs).history
            h_theirs = their.fit(x, y, **kwargs).history
        if sorted(h_ours) != sorted(h_theirs):
            cmp.problem(f"history keys {sorted(h_ours)}, Keras {sorted(h_theirs)}")
        for key in h_theirs:
            if key in h_ours:
                cmp.add(f"fit{i}_{key}", np.asarray(h_ours[key], "float32"),
                        np.asarray(h_theirs[key], "float32"))


def _keras_float64(model, tf):
    """A float64 copy of the Keras ``model`` with its float32 weights: the exact answer
    that float32 rounding is measured against."""
    def in_float64(layer):
        return type(layer).from_config({**layer.get_config(), "dtype": "float64"})
    copy = tf.keras.models.clone_model(model, clone_function=in_float64)
    copy.build(model.input_shape)
    copy.set_weights([w.astype("float64") for w in model.get_weights()])
    return lambda x: np.asarray(copy(x, training=False))


def _compare_01(cmp, ours, theirs, tf):
    """The course's hand-written recurrence is Keras's (and scratchrnn's) SimpleRNN."""
    W_h, W_x, b, sequence = ours["_rnn"]
    x = sequence[None].astype("float32")
    weights = [W_x.T.astype("float32"), W_h.T.astype("float32"), b.astype("float32")]
    mine, their = sr.layers.SimpleRNN(4), tf.keras.layers.SimpleRNN(4)
    mine(x), their(x)
    mine.set_weights(weights)
    their.set_weights(weights)
    cmp.add("simple_rnn_h", mine(x), np.asarray(their(x)))
    cmp.add("course_h", ours["h_4"][None].astype("float32"), np.asarray(their(x)))


def _compare_11(cmp, ours, theirs, tf):
    """``generate_text`` with the same seed and copied weights writes the same text."""
    gen, mine, char_to_idx, idx_to_char = ours["_generate"]
    _, their, _, _ = theirs["_generate"]
    their.set_weights(mine.get_weights())
    texts = []
    for model in (mine, their):
        tf.random.set_seed(7)
        texts.append(gen(model, 'To be', char_to_idx, idx_to_char, length=30))
    cmp.errors["generated"] = 0.0 if texts[0] == texts[1] else float("inf")
    if texts[0] != texts[1]:
        cmp.problem(f"generated {texts[0]!r}, Keras {texts[1]!r}")


def _compare_windows(cmp, ours, theirs, tf, pairs):
    """The tf.data windows against ``K.utils.timeseries_dataset_from_array``'s, on both
    sides (scratchrnn's utils and Keras's)."""
    for side, out in (("sr", ours), ("keras", theirs)):
        for a, b in pairs:
            cmp.add(f"{side}_{a}", out[a], out[b])


COMPARISONS = {
    1: _compare_01,
    11: _compare_11,
    12: lambda cmp, o, t, tf: _compare_windows(
        cmp, o, t, tf, [("utils_windows_x", "windows_x"), ("utils_windows_y", "windows_y")]),
    13: lambda cmp, o, t, tf: _compare_windows(
        cmp, o, t, tf, [(f"{s}_utils_{v}", f"{s}_{v}") for s in ("val", "test")
                        for v in ("x", "y")]),
}


# --- the tests ----------------------------------------------------------------------------

#: Blocks that do not run on scratchrnn today, and why (none, now).
XFAIL = {}


#: test_block_runs's runs, used once by test_block_matches_keras.
_OUR_RUNS = {}


def _marks(number, keras):
    marks = []
    reason = XFAIL.get(number)
    if reason:
        marks.append(pytest.mark.xfail(strict=True, reason=reason))
    if keras:
        marks.append(pytest.mark.keras)
    return marks


@pytest.mark.parametrize("block", [
    pytest.param(b, id=f"{b.number:02d}-{b.name}",
                 marks=_marks(b.number, b.needs_tf)) for b in BLOCKS])
def test_block_runs(block):
    """The block runs on scratchrnn (and stops where Keras 3.15 stops, as Keras does)."""
    tf = None
    if block.needs_tf:
        if not HAS_TF:
            pytest.skip("the block's own code uses tf.data / tf.random")
        tf = import_tf()
    out, error = _OUR_RUNS[block.number] = run_block(block, sr, tf)
    if block.keras_raises:
        assert type(error) is block.keras_raises, (
            f"Keras 3.15 raises {block.keras_raises.__name__} here; scratchrnn: {error!r}")
    elif error is not None:
        raise error
    check = EXPECTED.get(block.number)
    if check:
        check(out)


def _expect(**values):
    def check(out):
        for key, value in values.items():
            assert key in out, key
            if isinstance(value, float):
                assert out[key] == pytest.approx(value, rel=1e-4), key
            else:
                assert np.array_equal(np.asarray(out[key], dtype=object),
                                      np.asarray(value, dtype=object)), (key, out[key])
    return check


#: What the course's comments say (and Keras 3.15 printed, run here).
EXPECTED = {
    1: _expect(time_series_shape=(100,), audio_signal_shape=(16000,),
               grad_20=0.7 ** 20),
    2: _expect(simple_rnn_shape=(32, 64), lstm_shape=(32, 64), lstm_seq_shape=(32, 50, 64),
               gru_shape=(32, 64), params=[4800, 19200, 14592]),
    3: _expect(uni_shape=(32, 50, 64), bi_shape=(32, 50, 128), total_params=310849),
    4: _expect(output_shape=(2, 5, 128), one_word_shape=(1, 128),
               matrix_shape=(10000, 128)),
    5: _expect(trainable=0, non_trainable=1000),
    6: _expect(vocab_size=27, decoded="lstm networks [UNK] [UNK]",
               encoded=[[13, 9, 1, 1, 0, 0, 0, 0, 0, 0]]),
    7: _expect(pre_padded=[[0, 0, 0, 1, 2, 3], [0, 4, 5, 6, 7, 8], [0, 0, 0, 0, 9, 10]],
               truncated_pre=[[6, 7, 8, 9, 10]], truncated_post=[[1, 2, 3, 4, 5]],
               mask=[[False, False, True, True, True]]),
    15: _expect(pure_lstm_params=116033, conv_lstm_hybrid_params=33505,
                multistep_forecaster_params=70725, multistep_forecaster_output=5),
    16: _expect(params=52244),
    17: _expect(shapes=[(2, 8, 64), (2, 64), (2, 64), (2, 8)], weights_sum=1.0),
    19: _expect(mask=[[False, False, True, True, False, True, False]]),
}


@pytest.mark.keras
@pytest.mark.parametrize("block", [
    pytest.param(b, id=f"{b.number:02d}-{b.name}", marks=_marks(b.number, True))
    for b in BLOCKS])
def test_block_matches_keras(block):
    """The block's numbers on scratchrnn equal tf.keras's (the ``course-NN`` parity row)."""
    pytest.importorskip("tensorflow")
    from parity.checks_course import CHECKS
    from parity.components import Check, run_check
    [check] = [c for c in CHECKS if c.name.startswith(f"course-{block.number:02d}-")]
    our_run = _OUR_RUNS.pop(block.number, None)   # test_block_runs's, to save its time
    if our_run is not None:
        check = Check(check.name, check.kind, check.dtype, lambda cmp: compare_block(
            cmp, block, import_tf(), our_run), check.options, check.tolerance)
    result = run_check(check)
    assert result.errors, f"{check.name} compared nothing"
    assert result.passed, result.describe()
