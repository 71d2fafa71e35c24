"""``scratchrnn demo NAME``: every demo end to end in ``--quick`` mode (its printed table
or samples and its PNG files), the shipped synthetic reviews (made again byte for byte by
their generator), and the pieces the demos are built from (windows that do not leak the
future, a forecaster that predicts changes, the bag of words, the reversal data)."""

import importlib.util
import os

import numpy as np
import pytest

from scratchrnn import cli, layers, timeseries
from scratchrnn.demos import forecast, reviews, sentiment, seq2seq, textgen
from scratchrnn.demos import main as demo_main
from scratchrnn.models import Input, Sequential

pytest.importorskip("numba")

PNG = b"\x89PNG\r\n\x1a\n"
#: Without matplotlib the demos run and say so, without their figures.
HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


def assert_png(path):
    if not HAS_MATPLOTLIB:
        return
    assert os.path.isfile(path), f"{path} was not written"
    with open(path, "rb") as f:
        assert f.read(8) == PNG


# --- the command --------------------------------------------------------------------------

def test_demo_without_a_name_lists_the_demos(capsys):
    assert demo_main([]) == 2
    out = capsys.readouterr().out
    for name in ("textgen", "sentiment", "forecast", "seq2seq"):
        assert name in out


def test_demo_help_lists_the_demos(capsys):
    assert cli.main(["demo", "--help"]) == 0
    assert "sentiment" in capsys.readouterr().out


def test_an_unknown_demo_is_named_in_the_error(capsys):
    assert demo_main(["poetry"]) == 2
    assert "'poetry'" in capsys.readouterr().err


def test_a_demo_has_its_own_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        demo_main(["forecast", "--help"])
    assert exit_.value.code == 0
    assert "--quick" in capsys.readouterr().out


# --- each demo, quick --------------------------------------------------------------------

def test_textgen_quick(tmp_path, capsys):
    assert cli.main(["demo", "textgen", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Quick mode: a smoke test" in out
    assert "textwrap.py" in out and "Vocabulary:" in out
    assert "Epoch 1/2 - loss:" in out and "val_loss" in out
    for temperature in textgen.TEMPERATURES:
        assert f"--- temperature {temperature} " in out
    assert "--- stateful, temperature 1.0" in out
    samples = out.split("--- temperature 0.2")[1]
    assert samples.split("\n")[1].startswith(textgen.SEED_TEXT)
    assert_png(tmp_path / "textgen-loss.png")


def test_sentiment_quick(tmp_path, capsys):
    assert demo_main(["sentiment", "--quick", "--data", "synthetic",
                      "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Quick mode: a smoke test" in out
    assert "synthetic reviews" in out
    header = next(line for line in out.splitlines() if line.startswith("model"))
    for column in ("params", "train s", "test acc", "with negation", "without"):
        assert column in header
    for name in ("bag of words", "Embedding + GlobalAveragePooling1D", "LSTM",
                 "Bidirectional LSTM", "Conv1D + MaxPooling1D + LSTM"):
        row = next(line for line in out.splitlines() if line.startswith(name))
        accuracy = float(row.split()[-3])
        assert 0.0 <= accuracy <= 1.0
    assert "Word order matters here" not in out
    assert "do not show that word order matters" in out
    assert_png(tmp_path / "sentiment-accuracy.png")


def test_forecast_quick(tmp_path, capsys):
    assert demo_main(["forecast", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Quick mode: a smoke test" in out
    for name in ("naive", "seasonal naive (50 back)", "LSTM", "Conv1D + LSTM",
                 "LSTM, 10 steps at once", "best at horizon 1:", "best at horizon 10:"):
        assert name in out
    assert_png(tmp_path / "forecast-synthetic.png")
    if forecast.load_goog() is not None:
        assert "GOOG" in out and "seasonal naive (5 back)" in out
        assert_png(tmp_path / "forecast-goog.png")
    assert "random walk" not in out          # two epochs: the networks are not trained


def test_seq2seq_quick(tmp_path, capsys):
    assert demo_main(["seq2seq", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Quick mode: a smoke test" in out
    for name in ("without attention", "with attention", "token acc", "sequence acc",
                 "Held-out examples"):
        assert name in out
    # two epochs reverse nothing: the lessons are not claimed
    assert "reads its mirror" not in out and "makes the difference" not in out
    assert "No lesson on attention from these numbers" in out
    assert_png(tmp_path / "seq2seq-attention.png")


# --- the synthetic reviews -----------------------------------------------------------------

def test_the_shipped_reviews_are_what_the_generator_makes():
    with open(reviews.PATH, encoding="utf-8") as f:
        assert f.read() == reviews.to_tsv(reviews.generate())
    assert os.path.getsize(reviews.PATH) < 300_000


def test_the_reviews_are_balanced_and_split():
    data = reviews.load()
    assert set(data) == {"train", "test"}
    for split, (texts, labels) in data.items():
        assert len(texts) == reviews.COUNTS[split]
        assert sum(labels) == len(labels) // 2


def test_a_negator_flips_the_adjective_of_a_clause():
    rng = __import__("random").Random(0)
    for _ in range(200):
        polarity = rng.choice((1, -1))
        text, negated = reviews.clause(rng, polarity)
        adjective = text.split()[-1]
        flipped = -1 if negated else 1
        assert (adjective in reviews.POSITIVE) == (polarity * flipped > 0)
        assert reviews.has_negation(text) == negated


def test_has_negation_reads_words_not_substrings():
    assert reviews.has_negation("the plot was far from good")
    assert not reviews.has_negation("the plot was far . from here it was good")
    assert not reviews.has_negation("nothing was notable")


def test_the_imdb_path_when_keras_has_the_file(monkeypatch, tmp_path, capsys):
    """IMDB cannot be read here (no file, no TensorFlow in tests/): a stand-in with its
    shape (object arrays of lists of word ids) runs the same code."""
    rng = np.random.default_rng(0)

    def fake_imdb(num_words):
        def split(n):
            x = np.empty(n, dtype=object)
            x[:] = [list(rng.integers(1, num_words, size=rng.integers(5, 40)))
                    for _ in range(n)]
            return x, rng.integers(0, 2, size=n)
        return split(500), split(300)

    monkeypatch.setattr(sentiment.text, "load_imdb", fake_imdb)
    data = sentiment.load_data("auto", quick=True, seed=0)
    assert data["name"].startswith("IMDB") and data["negated_test"] is None
    assert data["x_train"].shape == (400, sentiment.MAXLEN["imdb"])
    assert data["x_test"].shape == (200, sentiment.MAXLEN["imdb"])


def test_without_imdb_auto_falls_back_and_imdb_alone_fails(monkeypatch):
    def missing(**kwargs):
        raise FileNotFoundError("The IMDB file is not in Keras's cache; offline")

    monkeypatch.setattr(sentiment.text, "load_imdb", missing)
    assert sentiment.load_data("auto", quick=True, seed=0)["name"].startswith("synthetic")
    with pytest.raises(FileNotFoundError, match="IMDB"):
        sentiment.load_data("imdb", quick=True, seed=0)


def test_bag_of_words_counts_each_id_and_ignores_padding():
    ids = np.array([[0, 0, 3, 1, 3], [2, 2, 2, 0, 1]])
    np.testing.assert_array_equal(sentiment.bag_of_words(ids, 4),
                                  [[0, 1, 0, 2], [0, 1, 3, 0]])


# --- pieces of the other demos ---------------------------------------------------------------

def test_char_windows_predict_the_next_character():
    ids = np.arange(23)
    x, y = textgen.char_windows(ids, 5)
    assert x.shape == y.shape == (4, 5)
    np.testing.assert_array_equal(y, x + 1)
    np.testing.assert_array_equal(x.ravel(), np.arange(20))


def test_a_stall_in_indentation_is_explained_by_the_model_s_probabilities(capsys):
    vocabulary = textgen.text.CharVocabulary("ab \n")       # chars: "\n", " ", "a", "b"
    probs = np.array([0.0, 0.6, 0.3, 0.1], np.float32)

    def model(ids, training=False):
        return np.broadcast_to(probs, ids.shape + (4,))

    corpus = "a\n" + " " * 9 + "b\n" + " " * 8 + "a\n" + " " * 8 + "b"
    space, cold = textgen.explain_stall(model, vocabulary, "ab\n" + " " * 12, 0.2, corpus)
    assert space == pytest.approx(0.6)
    assert cold == pytest.approx(0.6 ** 5 / (0.6 ** 5 + 0.3 ** 5 + 0.1 ** 5), rel=1e-5)
    out = capsys.readouterr().out
    assert "after 'ab', a line break and 8 spaces" in out
    assert "33% of the 3 lines that start with 8 spaces" in out
    assert textgen.explain_stall(model, vocabulary, "ab\n   ab", 0.2) is None


def test_forecast_windows_keep_each_split_s_targets_inside_it():
    values = np.arange(100.0)
    train, val, test = timeseries.train_val_test_split(values, 0.7, 0.15)
    data = forecast.split_windows(values, window=8, horizon=3)
    for name, part in (("train", train), ("val", val), ("test", test)):
        x, y = data[name]
        assert y.min() >= part[0] and y.max() <= part[-1]
        np.testing.assert_array_equal(x[:, -1] + 1, y[:, 0])   # inputs just before
    assert data["test"][1][0, 0] == test[0]       # the first test step is forecast


def test_a_forecaster_predicting_no_change_is_the_naive_forecast():
    values = timeseries.synthetic_series(n=200, season_period=20)
    normalizer = timeseries.Normalizer().fit(values[:140])
    model = Sequential([Input((16, 1)), layers.LSTM(4, seed=0), layers.Dense(3, seed=1)])
    dense = model.layers[-1]
    dense.set_weights([np.zeros_like(w) for w in dense.get_weights()])
    x, _ = timeseries.windows(values, 16, 3)
    predicted = forecast.ChangeForecaster(model, normalizer).predict(x)
    np.testing.assert_allclose(predicted, timeseries.naive_forecast(x, 3), rtol=1e-12)


def test_reversal_data_holds_out_every_training_sequence():
    rng = np.random.default_rng(0)
    train, seen = seq2seq.make_data(rng, 300)
    test, held_out = seq2seq.make_data(rng, 100, exclude=seen)
    assert not seen & held_out and len(held_out) == 100
    source, decoder_input, decoder_target = test
    for s, d_in, d_out in zip(source, decoder_input, decoder_target):
        n = np.count_nonzero(s)
        np.testing.assert_array_equal(d_out[:n], s[:n][::-1])
        assert d_out[n] == seq2seq.END and d_in[0] == seq2seq.START
        np.testing.assert_array_equal(d_in[1:n + 1], d_out[:n])


def test_reversal_accuracies_count_real_steps_only():
    target = np.array([[5, 4, 2, 0], [3, 2, 0, 0]])
    decoded = np.array([[5, 4, 2], [4, 2, 0]])          # second row: first letter wrong
    token, sequence = seq2seq.accuracies(decoded, target)
    assert token == pytest.approx(4 / 5)
    assert sequence == 0.5


# --- lessons only where the numbers carry them --------------------------------------------

def test_the_quick_help_calls_quick_mode_a_smoke_test(capsys):
    with pytest.raises(SystemExit):
        demo_main(["seq2seq", "--help"])
    assert "smoke test" in capsys.readouterr().out


def test_seq2seq_lessons_follow_the_numbers():
    quick = {"with attention": (0.2751, 0.0), "without attention": (0.1275, 0.0)}
    text = "\n".join(seq2seq.lessons(quick, mirror=0.12, uniform=0.16, n_test=200))
    assert "reads its mirror" not in text and "makes the difference" not in text
    full = {"with attention": (1.0, 1.0), "without attention": (0.966, 0.891)}
    text = "\n".join(seq2seq.lessons(full, mirror=0.9, uniform=0.16, n_test=1000))
    assert "Each output reads its mirror" in text and "Attention makes the difference" in text
    close = {"with attention": (1.0, 0.93), "without attention": (0.99, 0.90)}   # within noise
    assert "makes the difference" not in "\n".join(seq2seq.lessons(close, 0.9, 0.16, 200))


def test_mirror_weight_of_perfect_and_uniform_attention():
    source = np.array([[3, 4, 5, 0], [3, 4, 5, 6]])
    perfect = np.zeros((2, 5, 4))
    for b, n in enumerate((3, 4)):
        for i in range(n):
            perfect[b, i, n - 1 - i] = 1.0
    assert seq2seq.mirror_weight(perfect, source) == pytest.approx((1.0, (3 / 3 + 4 / 4) / 7))
    uniform = np.full((2, 5, 4), 0.25)
    assert seq2seq.mirror_weight(uniform, source)[0] == pytest.approx(0.25)


def test_the_word_order_lesson_needs_a_clear_margin():
    quick = {("LSTM", False): 0.415, ("Bidirectional LSTM", False): 0.415,
             ("bag of words", True): 0.454, ("average", True): 0.446}
    assert sentiment.order_lesson(quick, 130, "x").startswith("These numbers do not show")
    at_chance = {("LSTM", False): 0.525, ("average", True): 0.30}     # ahead, but a coin
    assert sentiment.order_lesson(at_chance, 130, "x").startswith("These numbers do not")
    full = {("LSTM", False): 1.0, ("average", True): 0.767, ("bag of words", True): 0.438}
    lesson = sentiment.order_lesson(full, 527, "the 527 test reviews with a negation")
    assert lesson.startswith("Word order matters here") and "(LSTM) is right on 1.000" in lesson


def test_the_accuracy_margin_is_three_standard_errors_of_a_difference():
    from scratchrnn.demos import _common
    assert _common.accuracy_margin(200) == pytest.approx(3 * np.sqrt(0.5 / 200))
    assert _common.accuracy_margin(1000) < _common.accuracy_margin(200)
