"""The encoder–decoder without TensorFlow: the gradient of the whole training loss with
respect to every weight against finite differences (float64, with and without attention,
with padding), masks, scheduled sampling, greedy and sampled decoding, a sequence-reversal
task learned from scratch, fit, saving and bad input.

Data: B samples, source length T_IN, decoder length T_OUT; token 0 is padding,
START = 1 and END = 2 in the target vocabulary.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchrnn import callbacks, optimizers
from scratchrnn.seq2seq import Seq2Seq

from .cells import examples
from .gradcheck import assert_gradients_match

SRC, TGT, START, END = 7, 6, 1, 2
T_IN, T_OUT = 5, 4
F64 = "float64"


def model_for(attention=False, dtype=F64, seed=0, **kwargs):
    """A small compiled model with non-trivial weights (biases are zeros at first)."""
    model = Seq2Seq(SRC, TGT, 3, 3, attention=attention, dtype=dtype, seed=seed, **kwargs)
    rng = np.random.default_rng(seed + 100)
    model.set_weights([rng.uniform(-0.8, 0.8, size=w.shape) for w in model.get_weights()])
    model.compile(optimizers.SGD(learning_rate=0.1))
    return model


def padded_data(rng, n=3):
    """Sources pre- and post-padded alike, decoder inputs ``[START, y...]`` and targets
    ``[y..., END]`` post-padded, one row of each length."""
    source = np.zeros((n, T_IN), np.int64)
    for i, length in enumerate(rng.integers(2, T_IN + 1, size=n)):
        tokens = rng.integers(1, SRC, size=length)
        if i % 2:
            source[i, :length] = tokens
        else:
            source[i, T_IN - length:] = tokens
    decoder_input = np.zeros((n, T_OUT), np.int64)
    decoder_target = np.zeros((n, T_OUT), np.int64)
    for i in range(n):
        length = 1 + i % T_OUT
        words = rng.integers(3, TGT, size=length - 1)
        decoder_input[i, :length] = np.concatenate([[START], words])
        decoder_target[i, :length] = np.concatenate([words, [END]])
    return source, decoder_input, decoder_target


# --- gradients --------------------------------------------------------------------------

@pytest.mark.parametrize("attention", [False, True], ids=["plain", "attention"])
def test_the_training_loss_gradient_matches_finite_differences(attention):
    model = model_for(attention)
    data = padded_data(np.random.default_rng(1))
    _, analytic = model.compute_gradients(*data)
    params = {f"{layer.name}.{name}": w for layer in model.layers
              for name, w in zip(layer.weight_names, layer.weights)}
    assert_gradients_match(lambda: model.compute_gradients(*data)[0], params,
                           dict(zip(params, analytic)))


def test_padded_target_steps_change_neither_the_loss_nor_the_gradients():
    model = model_for(attention=True)
    source, decoder_input, decoder_target = padded_data(np.random.default_rng(2))
    loss, grads = model.compute_gradients(source, decoder_input, decoder_target)
    noisy = np.where(decoder_input == 0, 5, decoder_target)
    again, grads_again = model.compute_gradients(source, decoder_input, noisy)
    assert again == loss
    for g, h in zip(grads, grads_again):
        np.testing.assert_array_equal(g, h)


def test_the_encoder_skips_source_padding():
    model = model_for(attention=True)
    source, decoder_input, _ = padded_data(np.random.default_rng(3))
    wider = np.concatenate([np.zeros((len(source), 2), np.int64), source], axis=1)
    np.testing.assert_allclose(model(wider, decoder_input), model(source, decoder_input),
                               rtol=1e-13, atol=1e-15)


def test_the_decoder_reads_zeros_as_tokens_as_keras_does():
    """Keras 3 does not mask an LSTM called with initial_state (parity: seq2seq-zeros-inside):
    a 0 inside the decoder inputs changes the later outputs."""
    model = model_for()
    source, _, _ = padded_data(np.random.default_rng(4))
    full = np.array([[START, 3, 4, 5]] * len(source))
    holed = full.copy()
    holed[:, 1] = 0
    changed = np.abs(model(source, full) - model(source, holed)).max(axis=(0, 2))
    assert changed[0] == 0 and np.all(changed[2:] > 1e-6)


# --- the start token and the padding id --------------------------------------------------

def course_data(rng, n=4):
    """The course's layout: targets of real tokens (1..), decoder inputs shifted right
    behind the start token 0."""
    source = rng.integers(1, SRC, size=(n, T_IN))
    decoder_target = rng.integers(1, TGT, size=(n, T_OUT))
    decoder_input = np.zeros_like(decoder_target)
    decoder_input[:, 1:] = decoder_target[:, :-1]
    return source, decoder_input, decoder_target


def test_a_start_token_0_trains_the_first_step_without_a_mask_as_the_course_does():
    """mask_zero=False (Keras's Embedding default, the course's model): the first step's
    target is in the loss."""
    model = model_for(mask_zero=False)
    source, decoder_input, decoder_target = course_data(np.random.default_rng(20))
    loss, _ = model.compute_gradients(source, decoder_input, decoder_target)
    changed = decoder_target.copy()
    changed[:, 0] = changed[:, 0] % (TGT - 1) + 1            # another real token
    assert model.compute_gradients(source, decoder_input, changed)[0] != loss


def test_a_start_token_0_under_mask_zero_is_refused_everywhere_the_loss_is_computed():
    """Under mask_zero the first step would leave the loss (measured: the loss did not
    change with that step's target) and never be trained: refused, naming both fixes."""
    model = model_for()
    data = course_data(np.random.default_rng(21))
    message = r"starts with token 0 \(row 0; 4 row\(s\).*start token other than 0.*mask_zero=False"
    for run in (model.compute_gradients, model.train_on_batch, model.evaluate,
                lambda *d: model.fit(*d, verbose=0)):
        with pytest.raises(ValueError, match=message):
            run(*data)
    good = padded_data(np.random.default_rng(22))
    with pytest.raises(ValueError, match="start token other than 0"):
        model.fit(*good, verbose=0, validation_data=data)
    weights = model.get_weights()
    model.fit(*good, verbose=0)                    # a start token 1 trains as before
    assert any(np.any(a != b) for a, b in zip(weights, model.get_weights()))


def test_only_a_real_first_target_behind_a_0_is_refused():
    """Rows of padding only (input and target 0) and zeros later in the decoder input
    (the parity case seq2seq-zeros-inside) are accepted."""
    model = model_for()
    source, decoder_input, decoder_target = padded_data(np.random.default_rng(23))
    decoder_input[0], decoder_target[0] = 0, 0
    decoder_input[1, 2] = 0
    model.compute_gradients(source, decoder_input, decoder_target)
    decoder_target[0, 0] = 3
    with pytest.raises(ValueError, match=r"\(row 0; 1 row\(s\) in all\)"):
        model.compute_gradients(source, decoder_input, decoder_target)


def test_decoding_from_start_token_0_under_mask_zero_warns():
    source = course_data(np.random.default_rng(24))[0]
    with pytest.warns(UserWarning, match="start_token=0 is the padding id"):
        model_for().predict_greedy(source, 0, END, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model_for(mask_zero=False).predict_greedy(source, 0, END, 3)
        model_for().predict_greedy(source, START, END, 3)


# --- scheduled sampling ------------------------------------------------------------------

def test_scheduled_sampling_zero_is_teacher_forcing_exactly():
    data = padded_data(np.random.default_rng(5), n=6)
    plain, sampled = model_for(seed=3), model_for(seed=3, scheduled_sampling=0.0)
    for model in (plain, sampled):
        model.compile(optimizers.Adam(learning_rate=0.05))
    for _ in range(3):
        assert plain.train_on_batch(*data) == sampled.train_on_batch(*data)
    np.testing.assert_array_equal(sampled.last_decoder_input, data[1])
    for a, b in zip(plain.get_weights(), sampled.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_scheduled_sampling_one_feeds_back_the_previous_argmax_and_keeps_padding():
    model = model_for(attention=True, scheduled_sampling=1.0)
    data = padded_data(np.random.default_rng(6), n=6)
    before = Seq2Seq.from_config(model.get_config())
    before.set_weights(model.get_weights())
    model.train_on_batch(*data)
    fed = model.last_decoder_input
    own = np.argmax(before(data[0], fed), axis=-1)
    real = data[1] != 0
    np.testing.assert_array_equal(fed[:, 0], data[1][:, 0])
    np.testing.assert_array_equal(fed[:, 1:][real[:, 1:]], own[:, :-1][real[:, 1:]])
    np.testing.assert_array_equal(fed[~real], 0)


@pytest.mark.parametrize("attention", [False, True], ids=["plain", "attention"])
def test_a_scheduled_sampling_step_is_the_teacher_forced_step_on_the_inputs_fed(attention):
    """No gradient through the argmax: the sampled tokens act as given inputs."""
    rng = np.random.default_rng(7)
    source = rng.integers(1, SRC, size=(8, T_IN))
    decoder_input = rng.integers(1, TGT, size=(8, T_OUT))
    decoder_target = rng.integers(1, TGT, size=(8, T_OUT))
    sampled = model_for(attention, mask_zero=False, scheduled_sampling=0.5)
    forced = model_for(attention, mask_zero=False)
    loss = sampled.train_on_batch(source, decoder_input, decoder_target)
    fed = sampled.last_decoder_input
    assert np.any(fed != decoder_input)
    assert forced.train_on_batch(source, fed, decoder_target) == loss
    for a, b in zip(sampled.get_weights(), forced.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_scheduled_sampling_must_be_a_probability():
    with pytest.raises(ValueError, match="`scheduled_sampling`.*got 1.5"):
        Seq2Seq(SRC, TGT, 3, 3, scheduled_sampling=1.5)
    model = Seq2Seq(SRC, TGT, 3, 3)
    with pytest.raises(TypeError, match="`scheduled_sampling`"):
        model.scheduled_sampling = "0.5"


# --- decoding ----------------------------------------------------------------------------

@pytest.mark.parametrize("attention", [False, True], ids=["plain", "attention"])
def test_greedy_decoding_is_the_argmax_of_teacher_forcing_on_its_own_outputs(attention):
    model = model_for(attention)
    source, _, _ = padded_data(np.random.default_rng(8), n=5)
    decoded = model.predict_greedy(source, START, None, 6)
    tokens, weights = decoded if attention else (decoded, None)
    assert tokens.shape == (5, 6) and tokens.dtype == np.int64
    fed = np.concatenate([np.full((5, 1), START), tokens[:, :-1]], axis=1)
    np.testing.assert_array_equal(np.argmax(model(source, fed), axis=-1), tokens)
    if attention:
        assert weights.shape == (5, 6, T_IN)
        np.testing.assert_allclose(weights, model.attention_weights(source, fed),
                                   rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-12)
        np.testing.assert_array_equal(weights[source[:, None, :].repeat(6, 1) == 0], 0)


def test_decoding_stops_at_the_end_token_and_pads_after_it():
    model = model_for(attention=True)
    source, _, _ = padded_data(np.random.default_rng(9), n=6)
    tokens, _ = model.predict_greedy(source, START, None, 8)
    end = int(tokens[0, 2])              # the third token of row 0 as the "end" token
    stopped, weights = model.predict_greedy(source, START, end, 8)
    cuts = []
    for row, row_weights, full in zip(stopped, weights, tokens):
        hits = np.flatnonzero(full == end)
        cut = hits[0] + 1 if hits.size else len(full)
        np.testing.assert_array_equal(row[:cut], full[:cut])
        np.testing.assert_array_equal(row[cut:], 0)
        np.testing.assert_array_equal(row_weights[cut:], 0)
        cuts.append(cut)
    assert stopped.shape[1] == max(cuts)


def test_sampling_is_seeded_and_at_temperature_zero_is_greedy():
    model = model_for()
    source, _, _ = padded_data(np.random.default_rng(10), n=4)
    first = model.predict_sample(source, START, END, 6, temperature=1.5, rng=42)
    np.testing.assert_array_equal(first, model.predict_sample(source, START, END, 6,
                                                              temperature=1.5, rng=42))
    generator = np.random.default_rng(42)
    np.testing.assert_array_equal(first, model.predict_sample(source, START, END, 6,
                                                              temperature=1.5,
                                                              rng=generator))
    np.testing.assert_array_equal(model.predict_sample(source, START, END, 6, temperature=0),
                                  model.predict_greedy(source, START, END, 6))
    with pytest.raises(TypeError, match="`rng`"):
        model.predict_sample(source, START, END, 6, rng="seed")


# --- learning ----------------------------------------------------------------------------

def reversal_data(rng, n):
    """Reverse 5 symbols of 3..9: ``decoder_input = [START, reversed]``,
    ``decoder_target = [reversed, END]`` (vocabulary of 10 on both sides)."""
    source = rng.integers(3, 10, size=(n, 5))
    reverse = source[:, ::-1]
    return (source, np.concatenate([np.full((n, 1), START), reverse], axis=1),
            np.concatenate([reverse, np.full((n, 1), END)], axis=1))


@pytest.mark.parametrize("attention", [False, True], ids=["plain", "attention"])
def test_sequence_reversal_is_learned_to_95_percent_on_held_out_sequences(attention):
    rng = np.random.default_rng(0)
    train, test = reversal_data(rng, 2000), reversal_data(rng, 500)
    model = Seq2Seq(10, 10, 16, 32, attention=attention, seed=0)
    model.compile(optimizers.Adam(learning_rate=0.01), metrics=["accuracy"])
    history = model.fit(*train, batch_size=32, epochs=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    decoded = model.predict_greedy(test[0], START, END, 8)
    tokens = decoded[0] if attention else decoded
    accuracy = np.mean(tokens[:, :5] == test[0][:, ::-1])
    assert accuracy >= 0.95, f"held-out token accuracy {accuracy:.3f}"
    # A perfect teacher-forced row is decoded the same way greedily.
    forced = np.argmax(model(test[0], test[1]), axis=-1)
    perfect = np.all(forced == test[2], axis=1)
    assert perfect.mean() > 0.8
    np.testing.assert_array_equal(tokens[perfect, :6], forced[perfect])


def test_the_numba_backend_gives_the_numpy_gradients():
    pytest.importorskip("numba")
    data = padded_data(np.random.default_rng(11))
    loss, grads = model_for(attention=True).compute_gradients(*data)
    loss_numba, grads_numba = model_for(attention=True,
                                        backend="numba").compute_gradients(*data)
    np.testing.assert_allclose(loss_numba, loss, rtol=1e-12)
    for g, h in zip(grads_numba, grads):
        np.testing.assert_allclose(g, h, rtol=1e-10, atol=1e-12)


# --- fit, evaluate, weights, saving --------------------------------------------------------

def test_fit_shuffles_with_the_model_seed_logs_metrics_and_stops_early():
    data = padded_data(np.random.default_rng(12), n=10)
    runs = []
    for _ in range(2):
        model = model_for(seed=4)
        model.compile(optimizers.Adam(learning_rate=0.02), metrics=["accuracy"])
        history = model.fit(*data, batch_size=3, epochs=3, verbose=0)
        runs.append((history.history, model.get_weights()))
    assert runs[0][0] == runs[1][0] and set(runs[0][0]) == {"loss", "accuracy"}
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)
    stop = callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=1e9)
    history = model.fit(*data, batch_size=4, epochs=5, verbose=0, callbacks=[stop])
    assert history.epoch == [0, 1]


def test_fit_logs_the_validation_loss_and_metrics_after_each_epoch():
    data = padded_data(np.random.default_rng(18), n=8)
    validation = padded_data(np.random.default_rng(19), n=5)
    model = model_for(attention=True)
    model.compile(optimizers.Adam(learning_rate=0.02), metrics=["accuracy"])
    history = model.fit(*data, batch_size=4, epochs=2, verbose=0,
                        validation_data=validation)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert [history.history["val_loss"][-1], history.history["val_accuracy"][-1]] == \
        model.evaluate(*validation, batch_size=4)
    with pytest.raises(ValueError, match="`validation_data` must be a tuple"):
        model.fit(*data, validation_data=validation[:2])


def test_evaluate_weighs_each_batch_by_its_size_and_counts_only_real_steps():
    model = model_for()
    data = padded_data(np.random.default_rng(13), n=5)
    whole = model.evaluate(*data, batch_size=5)
    probs = model(data[0], data[1])
    real = data[1] != 0
    picked = np.take_along_axis(probs, data[2][..., None], axis=-1)[..., 0]
    np.testing.assert_allclose(whole, -np.log(picked[real]).mean(), rtol=1e-12)
    halves = [model.evaluate(*(a[s] for a in data)) for s in (slice(0, 3), slice(3, 5))]
    np.testing.assert_allclose(model.evaluate(*data, batch_size=3),
                               (3 * halves[0] + 2 * halves[1]) / 5, rtol=1e-12)


def test_progress_bar_shows_the_loss(capsys):
    model = model_for()
    model.fit(*padded_data(np.random.default_rng(14)), epochs=1, verbose=1)
    assert "loss:" in capsys.readouterr().err


def test_weights_config_and_parameter_count():
    model = model_for(attention=True)
    names = [f"{layer.name}.{n}" for layer in model.layers for n in layer.weight_names]
    assert names[:4] == ["encoder_embedding.embeddings", "encoder.kernel",
                         "encoder.recurrent_kernel", "encoder.bias"]
    assert names[-2:] == ["output.kernel", "output.bias"]
    # Embeddings 7*3 + 6*3, two LSTMs 2 * (3*12 + 3*12 + 12), attention 2*(9+3) + 3 + 1,
    # output Dense (2*3)*6 + 6.
    assert model.count_params() == 21 + 18 + 2 * 84 + 28 + 42
    clone = Seq2Seq.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    data = padded_data(np.random.default_rng(15))
    np.testing.assert_array_equal(clone(*data[:2]), model(*data[:2]))
    with pytest.raises(ValueError, match="`weights` must be a list of 16 arrays"):
        model.set_weights(model.get_weights()[:-1])


def test_save_and_load_resume_training_exactly(tmp_path):
    data = padded_data(np.random.default_rng(16), n=6)
    model = model_for(attention=True)
    model.compile(optimizers.Adam(learning_rate=0.02), metrics=["accuracy"])
    model.train_on_batch(*data)
    model.save(tmp_path / "s2s.npz")
    loaded = Seq2Seq.load(tmp_path / "s2s.npz")
    assert loaded.get_config() == model.get_config()
    assert loaded.train_on_batch(*data) == model.train_on_batch(*data)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


@settings(max_examples=examples(10))
@given(st.integers(1, 4), st.integers(1, 5), st.integers(1, 5), st.booleans(),
       st.sampled_from(["float32", "float64"]))
def test_shapes_and_dtypes(batch, t_in, t_out, attention, dtype):
    model = Seq2Seq(SRC, TGT, 2, 3, attention=attention, dtype=dtype, seed=0)
    rng = np.random.default_rng(batch * 100 + t_in * 10 + t_out)
    source = rng.integers(0, SRC, size=(batch, t_in))
    decoder_input = rng.integers(0, TGT, size=(batch, t_out))
    probs = model(source, decoder_input)
    assert probs.shape == (batch, t_out, TGT) and probs.dtype == dtype
    decoded = model.predict_greedy(source, START, None, t_out)
    tokens = decoded[0] if attention else decoded
    assert tokens.shape == (batch, t_out)
    if attention:
        assert decoded[1].shape == (batch, t_out, t_in) and decoded[1].dtype == dtype
    model.compile("adam")
    _, grads = model.compute_gradients(source, decoder_input, decoder_input)
    assert [g.shape for g in grads] == [w.shape for w in model.get_weights()]
    assert all(g.dtype == dtype for g in grads)


# --- bad input ---------------------------------------------------------------------------

def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="`source_vocab`"):
        Seq2Seq(0, TGT, 3, 3)
    with pytest.raises(TypeError, match="`attention`"):
        Seq2Seq(SRC, TGT, 3, 3, attention="yes")
    with pytest.raises(ValueError, match="`dtype`"):
        Seq2Seq(SRC, TGT, 3, 3, dtype="float16")
    model = model_for()
    source, decoder_input, decoder_target = padded_data(np.random.default_rng(17))
    with pytest.raises(TypeError, match="`source` must hold integer token ids"):
        model(source.astype(float), decoder_input)
    bad = decoder_input.copy()
    bad[1, 2] = 6
    with pytest.raises(ValueError, match=r"`decoder_input` must hold token ids in \[0, 6\), "
                                         r"got 6 at position \(1, 2\)"):
        model(source, bad)
    with pytest.raises(ValueError, match="`source` must be a 2-D array"):
        model(source[0], decoder_input)
    with pytest.raises(ValueError, match="`decoder_input` must have the batch size"):
        model(source, decoder_input[:2])
    with pytest.raises(ValueError, match="`decoder_target` must have the shape"):
        model.train_on_batch(source, decoder_input, decoder_target[:, :2])
    with pytest.raises(ValueError, match="`start_token`.*got 9"):
        model.predict_greedy(source, 9, END, 4)
    with pytest.raises(TypeError, match="`end_token`"):
        model.predict_greedy(source, START, 2.0, 4)
    with pytest.raises(ValueError, match="`max_length`"):
        model.predict_greedy(source, START, END, 0)
    with pytest.raises(ValueError, match="`temperature`"):
        model.predict_sample(source, START, END, 4, temperature=-1)
    with pytest.raises(RuntimeError, match="attention=True"):
        model.attention_weights(source, decoder_input)
    with pytest.raises(RuntimeError, match="compile"):
        Seq2Seq(SRC, TGT, 3, 3).train_on_batch(source, decoder_input, decoder_target)
