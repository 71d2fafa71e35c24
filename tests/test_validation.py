"""Bad inputs across the public API, one table: every row is a call that must fail with a
given exception whose message names the argument and shows what was expected and what
came.  ``tests/test_errors.py`` covers the recurrent layers' own arguments in depth; this
table goes across the library (layers, ``Sequential``, ops, losses, metrics, optimizers,
text, time series, sampling, saving, callbacks) so that no corner answers with a NumPy
broadcasting traceback or a silent coercion.

The property tests at the end draw wrong input ranks for each layer and wrong state
shapes for the ops.
"""

import os
import zipfile
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchrnn as sr
from scratchrnn import callbacks, layers, losses, metrics, ops, optimizers, sampling, schedules
from scratchrnn import text as text_utils
from scratchrnn import timeseries as ts

from .cells import examples

H = 5                                   # units of the recurrent ops below
X3 = np.zeros((2, 4, 3))                # (batch, timesteps, features) of the models below
Y2 = np.zeros((2, 2))


class Case(NamedTuple):
    id: str
    call: Callable[[], object]
    error: type
    parts: list                          # substrings the message must contain


def called(layer, *inputs, **kwargs):
    """``layer`` after one call on ``inputs`` (so that it is built)."""
    layer(*inputs, **kwargs)
    return layer


def model():
    """An uncompiled model built for (batch, 4, 3) inputs."""
    return sr.Sequential([sr.Input((4, 3)), layers.LSTM(5), layers.Dense(2)], seed=0)


def compiled(loss="mse", optimizer="adam"):
    m = model()
    m.compile(optimizer, loss)
    return m


def model_weights(change):
    """The model's weights with ``change(list)`` applied."""
    weights = model().get_weights()
    change(weights)
    return weights


def lstm_ops(x=X3, h0=(2, H), c0=(2, H), kernel=(3, 4 * H), recurrent_kernel=(H, 4 * H)):
    """``ops.lstm_forward`` with zeros of the given shapes."""
    return ops.lstm_forward(x, np.zeros(h0), np.zeros(c0), np.zeros(kernel),
                            np.zeros(recurrent_kernel))


def fitted_vectorizer():
    layer = text_utils.TextVectorization()
    layer.adapt(["the cat sat"])
    return layer


def garbage_file(tmp):
    path = os.path.join(tmp, "not_a_checkpoint.npz")
    with open(path, "wb") as f:
        f.write(b"this is not a checkpoint")
    return path


def truncated_checkpoint(tmp):
    path = os.path.join(tmp, "model.npz")
    compiled().save(path)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    return path


def flipped_byte_checkpoint(tmp):
    """A checkpoint with one bit of its first weight flipped on disk (the zip's CRC-32)."""
    path = os.path.join(tmp, "model.npz")
    compiled().save(path)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("weight_00000.npy")
    with open(path, "r+b") as f:          # the local header: 30 bytes, the name, the extra
        f.seek(info.header_offset + 26)
        name_length, extra_length = np.frombuffer(f.read(4), "<u2")
        last = info.header_offset + 30 + name_length + extra_length + info.file_size - 1
        f.seek(last)
        byte = f.read(1)[0]
        f.seek(last)
        f.write(bytes([byte ^ 1]))
    return path


def altered_checkpoint(tmp):
    """A checkpoint with one weight changed behind the digest's back (a valid archive)."""
    path = os.path.join(tmp, "model.npz")
    compiled().save(path)
    with np.load(path) as archive:
        contents = {name: archive[name] for name in archive.files}
    contents["weight_00000"] = contents["weight_00000"] + 1
    np.savez(path, **contents)
    return path


LOSS_NAMES = ["'mse'", "'binary_crossentropy'", "'sparse_categorical_crossentropy'"]

CASES = [
    # --- recurrent layers ----------------------------------------------------------------
    Case("lstm-rank-2", lambda: layers.LSTM(3)(np.zeros((2, 4))), ValueError,
         ["`inputs`", "3-D", "(batch, timesteps, features)", "(2, 4)"]),
    Case("gru-features-after-build", lambda: called(layers.GRU(3), X3)(np.zeros((2, 4, 7))),
         ValueError, ["`inputs`", "3 features", "(2, 4, 7)"]),
    Case("simple-rnn-zero-timesteps", lambda: layers.SimpleRNN(3)(np.zeros((2, 0, 3))),
         ValueError, ["`inputs`", "at least one", "(2, 0, 3)"]),
    Case("lstm-empty-batch", lambda: layers.LSTM(3)(np.zeros((0, 4, 3))), ValueError,
         ["`inputs`", "at least one", "(0, 4, 3)"]),
    Case("gru-string-inputs", lambda: layers.GRU(3)(np.full((2, 4, 3), "a")), TypeError,
         ["`inputs`", "real numbers", "<U1"]),
    Case("lstm-object-inputs", lambda: layers.LSTM(3)(np.full((2, 4, 3), None)), TypeError,
         ["`inputs`", "real numbers", "object"]),
    Case("lstm-ragged-list", lambda: layers.LSTM(3)([[[1.0]], [[1.0, 2.0]]]), ValueError,
         ["`inputs`", "rectangular", "unequal lengths"]),
    Case("lstm-mask-shape", lambda: layers.LSTM(3)(X3, mask=np.ones((2, 5), bool)),
         ValueError, ["`mask`", "(2, 4)", "got (2, 5)"]),
    Case("gru-initial-state-shape",
         lambda: layers.GRU(3)(X3, initial_state=[np.zeros((2, 4))]), ValueError,
         ["`initial_state[h]`", "(2, 3)", "got (2, 4)"]),
    Case("lstm-initial-state-count",
         lambda: layers.LSTM(3)(X3, initial_state=[np.zeros((2, 3))]), ValueError,
         ["`initial_state`", "2 arrays", "got 1"]),
    Case("lstm-units-zero", lambda: layers.LSTM(0), ValueError,
         ["`units`", "positive integer", "got 0"]),
    Case("gru-recurrent-dropout-one", lambda: layers.GRU(3, recurrent_dropout=1.0),
         ValueError, ["`recurrent_dropout`", "[0, 1)", "got 1.0"]),
    Case("simple-rnn-unknown-activation", lambda: layers.SimpleRNN(3, activation="swish"),
         ValueError, ["`activation`", "'tanh'", "'relu'", "got 'swish'"]),
    Case("lstm-set-weights-shape",
         lambda: called(layers.LSTM(3), X3).set_weights(
             [np.zeros((3, 12)), np.zeros((3, 8)), np.zeros(12)]),
         ValueError, ["`weights[recurrent_kernel]`", "(3, 12)", "got (3, 8)"]),
    Case("gru-set-weights-strings",
         lambda: called(layers.GRU(3), X3).set_weights(
             [np.full((3, 9), "w"), np.zeros((3, 9)), np.zeros((2, 9))]),
         TypeError, ["`weights[kernel]`", "real numbers", "<U1"]),
    Case("bidirectional-rank", lambda: layers.Bidirectional(layers.LSTM(3))(np.zeros(4)),
         ValueError, ["`inputs`", "3-D", "(4,)"]),

    # --- Dense, Dropout, Conv1D, Embedding, the others -------------------------------------
    Case("dense-rank-1", lambda: layers.Dense(3)(np.zeros(4)), ValueError,
         ["`inputs`", "at least 2 dimensions", "(4,)"]),
    Case("dense-features-after-build",
         lambda: called(layers.Dense(3), np.zeros((2, 4)))(np.zeros((2, 5))), ValueError,
         ["`inputs`", "4 features", "(2, 5)"]),
    Case("dense-units-negative", lambda: layers.Dense(-1), ValueError,
         ["`units`", "positive integer", "got -1"]),
    Case("dense-unknown-activation", lambda: layers.Dense(3, activation="gelu"), ValueError,
         ["`activation`", "'softmax'", "'sigmoid'", "got 'gelu'"]),
    Case("dense-boolean-inputs", lambda: layers.Dense(3)(np.ones((2, 3), bool)), TypeError,
         ["`inputs`", "real numbers", "bool"]),
    Case("dense-complex-inputs", lambda: layers.Dense(3)(np.ones((2, 3), complex)),
         TypeError, ["`inputs`", "real numbers", "complex128"]),
    Case("dense-set-weights-shape",
         lambda: called(layers.Dense(3), np.zeros((2, 4))).set_weights(
             [np.zeros((4, 2)), np.zeros(3)]),
         ValueError, ["`weights[kernel]`", "(4, 3)", "got (4, 2)"]),
    Case("dense-set-weights-complex",
         lambda: called(layers.Dense(3), np.zeros((2, 4))).set_weights(
             [np.zeros((4, 3), complex), np.zeros(3)]),
         TypeError, ["`weights[kernel]`", "real numbers", "complex128"]),
    Case("dense-set-weights-count",
         lambda: called(layers.Dense(3), np.zeros((2, 4))).set_weights([np.zeros((4, 3))]),
         ValueError, ["`weights`", "2 arrays", "kernel, bias", "got 1"]),
    Case("dense-backward-shape",
         lambda: called(layers.Dense(3), np.zeros((2, 4))).backward(np.zeros((2, 4))),
         ValueError, ["`d_out`", "(2, 3)", "got (2, 4)"]),
    Case("dropout-rate-one", lambda: layers.Dropout(1.0), ValueError,
         ["`rate`", "[0, 1)", "got 1.0"]),
    Case("dropout-rate-negative", lambda: layers.Dropout(-0.5), ValueError,
         ["`rate`", "[0, 1)", "got -0.5"]),
    Case("dropout-noise-shape",
         lambda: layers.Dropout(0.5, noise_shape=(None, 3))(X3, training=True), ValueError,
         ["`noise_shape`", "(None, 3)", "(2, 4, 3)"]),
    Case("conv1d-rank", lambda: layers.Conv1D(2, 3)(np.zeros((2, 5))), ValueError,
         ["`inputs`", "3-D", "(batch, steps, channels)", "(2, 5)"]),
    Case("conv1d-channels-after-build",
         lambda: called(layers.Conv1D(2, 3), np.zeros((2, 5, 2)))(np.zeros((2, 5, 3))),
         ValueError, ["`inputs`", "2 channels", "(2, 5, 3)"]),
    Case("conv1d-too-short", lambda: layers.Conv1D(2, 5)(np.zeros((2, 3, 1))), ValueError,
         ["`inputs`", "at least 5 steps", "kernel_size=5", "got 3"]),
    Case("conv1d-padding", lambda: layers.Conv1D(2, 3, padding="full"), ValueError,
         ["`padding`", "'valid'", "'causal'", "got 'full'"]),
    Case("conv1d-filters-zero", lambda: layers.Conv1D(0, 3), ValueError,
         ["`filters`", "positive integer", "got 0"]),
    Case("conv1d-strides-and-dilation",
         lambda: layers.Conv1D(2, 3, strides=2, dilation_rate=2), ValueError,
         ["`strides`", "`dilation_rate`", "strides=2", "dilation_rate=2"]),
    Case("embedding-fractional-index", lambda: layers.Embedding(5, 2)(np.array([[0.5]])),
         TypeError, ["`inputs`", "integer indices", "0.5"]),
    Case("embedding-index-out-of-range", lambda: layers.Embedding(5, 2)(np.array([[1, 5]])),
         ValueError, ["`inputs`", "[0, input_dim=5)", "got 5", "(0, 1)"]),
    Case("embedding-string-indices", lambda: layers.Embedding(5, 2)(np.array([["a"]])),
         TypeError, ["`inputs`", "integer indices", "<U1"]),
    Case("embedding-weights-shape",
         lambda: layers.Embedding(5, 2, weights=[np.zeros((4, 2))]), ValueError,
         ["`weights[embeddings]`", "(5, 2)", "got (4, 2)"]),
    Case("time-distributed-rank",
         lambda: layers.TimeDistributed(layers.Dense(2))(np.zeros((2, 3))), ValueError,
         ["`inputs`", "at least 3 dimensions", "(2, 3)"]),
    Case("repeat-vector-rank", lambda: layers.RepeatVector(2)(X3), ValueError,
         ["`inputs`", "2-D", "(2, 4, 3)"]),
    Case("max-pooling-size-zero", lambda: layers.MaxPooling1D(0), ValueError,
         ["`pool_size`", "positive integer", "got 0"]),

    # --- attention ---------------------------------------------------------------------------
    Case("additive-attention-rank",
         lambda: layers.AdditiveAttention()([np.zeros((2, 3)), np.zeros((2, 3))]),
         ValueError, ["`query`", "3 dimensions", "(2, 3)"]),
    Case("additive-attention-features",
         lambda: layers.AdditiveAttention()([np.zeros((2, 3, 4)), np.zeros((2, 5, 3))]),
         ValueError, ["`value`", "4 features", "(2, 5, 3)"]),
    Case("additive-attention-batch",
         lambda: layers.AdditiveAttention()([np.zeros((2, 3, 4)), np.zeros((3, 5, 4))]),
         ValueError, ["`value`", "batch size 2", "(3, 5, 4)"]),
    Case("additive-attention-value-mask",
         lambda: layers.AdditiveAttention()([np.zeros((2, 3, 4)), np.zeros((2, 5, 4))],
                                            mask=[None, np.ones((2, 4), bool)]),
         ValueError, ["`value_mask`", "(2, 5)", "got (2, 4)"]),
    Case("additive-attention-one-input",
         lambda: layers.AdditiveAttention()([np.zeros((2, 3, 4))]), ValueError,
         ["`inputs`", "[query, value]", "length 1"]),
    Case("additive-attention-dropout", lambda: layers.AdditiveAttention(dropout=1.5),
         ValueError, ["`dropout`", "[0, 1)", "got 1.5"]),
    Case("bahdanau-values-rank",
         lambda: layers.BahdanauAttention(3)(np.zeros((2, 5)), np.zeros((2, 6))),
         ValueError, ["`values`", "3 dimensions", "(2, 6)"]),
    Case("bahdanau-mask-shape",
         lambda: layers.BahdanauAttention(3)(np.zeros((2, 5)), np.zeros((2, 6, 5)),
                                             mask=np.ones((2, 5), bool)),
         ValueError, ["`mask`", "(2, 6)", "got (2, 5)"]),
    Case("bahdanau-units-zero", lambda: layers.BahdanauAttention(0), ValueError,
         ["`units`", "positive integer", "got 0"]),

    # --- ops called directly -----------------------------------------------------------------
    Case("ops-lstm-x-rank", lambda: lstm_ops(x=np.zeros((2, 3))), ValueError,
         ["`x`", "3-D", "(2, 3)"]),
    Case("ops-lstm-kernel-rows", lambda: lstm_ops(kernel=(2, 4 * H)), ValueError,
         ["`kernel`", "(3, 20)", "got (2, 20)"]),
    Case("ops-lstm-c0-shape", lambda: lstm_ops(c0=(3, H)), ValueError,
         ["`c0`", "(2, 5)", "got (3, 5)"]),
    Case("ops-gru-recurrent-kernel",
         lambda: ops.gru_forward(X3, np.zeros((2, H)), np.zeros((3, 3 * H)),
                                 np.zeros((H, 4 * H))),
         ValueError, ["`recurrent_kernel`", "(5, 15)", "got (5, 20)"]),
    Case("ops-simple-rnn-h0",
         lambda: ops.simple_rnn_forward(X3, np.zeros((2, H + 1)), np.zeros((3, H)),
                                        np.zeros((H, H))),
         ValueError, ["`h0`", "(2, 5)", "got (2, 6)"]),

    # --- Sequential ----------------------------------------------------------------------------
    Case("fit-before-compile", lambda: model().fit(X3, Y2), RuntimeError,
         ["fit()", "compile(optimizer, loss) first"]),
    Case("compile-unknown-loss", lambda: model().compile("adam", "mse_loss"), ValueError,
         ["unknown loss 'mse_loss'", *LOSS_NAMES]),
    Case("compile-unknown-optimizer", lambda: model().compile("adamw", "mse"), ValueError,
         ["unknown optimizer 'adamw'", "'adam'", "'rmsprop'", "'sgd'"]),
    Case("compile-unknown-metric", lambda: model().compile("adam", "mse", metrics=["f1"]),
         ValueError, ["unknown metric 'f1'", "'accuracy'", "'mae'"]),
    Case("compile-metrics-not-a-list", lambda: model().compile("adam", "mse", metrics="mae"),
         TypeError, ["`metrics`", "list", "got 'mae'"]),
    Case("compile-without-loss", lambda: model().compile("adam"), ValueError,
         ["`loss` is required"]),
    Case("fit-sample-count", lambda: compiled().fit(X3, np.zeros((3, 2)), verbose=0),
         ValueError, ["`x` and `y`", "same number of samples", "2 and 3"]),
    Case("fit-target-shape", lambda: compiled().fit(X3, np.zeros((2, 3)), verbose=0),
         ValueError, ["`y_true` and `y_pred`", "(2, 3)", "(2, 2)"]),
    Case("fit-string-targets", lambda: compiled().fit(X3, np.full((2, 2), "a"), verbose=0),
         TypeError, ["`y_true`", "real numbers", "<U1"]),
    Case("fit-object-inputs",
         lambda: compiled().fit(np.full((2, 4, 3), None), Y2, verbose=0), TypeError,
         ["`inputs`", "real numbers", "object"]),
    Case("fit-empty", lambda: compiled().fit(np.zeros((0, 4, 3)), np.zeros((0, 2))),
         ValueError, ["`x`", "at least one sample"]),
    Case("fit-batch-size-zero", lambda: compiled().fit(X3, Y2, batch_size=0), ValueError,
         ["`batch_size`", "positive integer", "got 0"]),
    Case("fit-validation-split", lambda: compiled().fit(X3, Y2, validation_split=1.5),
         ValueError, ["`validation_split`", "[0, 1)", "got 1.5"]),
    Case("fit-callbacks-not-callbacks", lambda: compiled().fit(X3, Y2, callbacks=["stop"]),
         TypeError, ["`callbacks`", "Callback", "got str"]),
    Case("train-on-batch-sample-weight",
         lambda: compiled().train_on_batch(X3, Y2, sample_weight=np.ones(5)), ValueError,
         ["sample_weight", "(2,)", "(5,)"]),
    Case("predict-features", lambda: model().predict(np.zeros((2, 4, 6))), ValueError,
         ["`inputs`", "3 features", "(2, 4, 6)"]),
    Case("predict-rank", lambda: model().predict(np.zeros((2, 4))), ValueError,
         ["`inputs`", "3-D", "(2, 4)"]),
    Case("predict-strings", lambda: model().predict(np.full((2, 4, 3), "a")), TypeError,
         ["`inputs`", "real numbers", "<U1"]),
    Case("set-weights-count", lambda: model().set_weights([np.zeros(1)]), ValueError,
         ["`weights`", "5 arrays", "got 1"]),
    Case("set-weights-shape",
         lambda: model().set_weights(model_weights(
             lambda w: w.__setitem__(3, np.zeros((5, 3))))),
         ValueError, ["`weights[kernel]`", "(5, 2)", "got (5, 3)"]),
    Case("set-weights-dtype",
         lambda: model().set_weights(model_weights(
             lambda w: w.__setitem__(0, w[0].astype(str)))),
         TypeError, ["`weights[kernel]`", "real numbers", "<U"]),
    Case("set-weights-unbuilt",
         lambda: sr.Sequential([layers.LSTM(5)]).set_weights([np.zeros((3, 20))]),
         RuntimeError, ["set_weights()", "needs the model built", "Input"]),
    Case("sequential-add-string", lambda: sr.Sequential(["lstm"]), TypeError,
         ["`layer`", "scratchrnn layer or Input", "got str"]),
    Case("input-shape-zero", lambda: sr.Input((0, 3)), ValueError,
         ["`shape[0]`", "positive integer", "got 0"]),

    # --- losses and metrics --------------------------------------------------------------------
    Case("loss-unknown-name", lambda: losses.get("crossentropy"), ValueError,
         ["unknown loss 'crossentropy'", *LOSS_NAMES]),
    Case("loss-shapes", lambda: losses.MeanSquaredError()(np.zeros((2, 3)), np.zeros((2, 4))),
         ValueError, ["`y_true` and `y_pred`", "(2, 3)", "(2, 4)"]),
    Case("loss-mask-shape",
         lambda: losses.MeanSquaredError()(np.zeros((2, 4, 3)), np.zeros((2, 4, 3)),
                                           mask=np.ones((2, 5), bool)),
         ValueError, ["`mask`", "(2, 4)", "(2, 5)"]),
    Case("loss-object-predictions",
         lambda: losses.MeanSquaredError()(np.zeros((2, 3)), np.full((2, 3), None)),
         TypeError, ["`y_pred`", "float32 or float64", "object"]),
    Case("categorical-crossentropy-shapes",
         lambda: losses.CategoricalCrossentropy()(np.zeros((2, 4)), np.full((2, 3), 1 / 3)),
         ValueError, ["y_true.shape=(2, 4)", "y_pred.shape=(2, 3)"]),
    Case("sparse-crossentropy-class-index",
         lambda: losses.SparseCategoricalCrossentropy()(np.array([0, 5]),
                                                        np.full((2, 3), 1 / 3)),
         ValueError, ["`y_true`", "class index 5", "[0, 3)"]),
    Case("loss-label-smoothing", lambda: losses.BinaryCrossentropy(label_smoothing=1.5),
         ValueError, ["`label_smoothing`", "[0, 1]", "got 1.5"]),
    Case("loss-reduction", lambda: losses.MeanSquaredError(reduction="avg"), ValueError,
         ["`reduction`", "'sum_over_batch_size'", "got 'avg'"]),
    Case("metric-unknown-name", lambda: metrics.get("f1"), ValueError,
         ["unknown metric 'f1'", "'accuracy'"]),
    Case("sparse-accuracy-label-count",
         lambda: metrics.get("sparse_categorical_accuracy").update_state(
             np.zeros(3), np.zeros((2, 4))),
         ValueError, ["`y_true`", "(3,)", "(2,)"]),

    # --- optimizers and schedules ------------------------------------------------------------
    Case("optimizer-unknown-name", lambda: optimizers.get("adamax"), ValueError,
         ["unknown optimizer 'adamax'", "'adam'", "'rmsprop'", "'sgd'"]),
    Case("adam-beta-1-one", lambda: optimizers.Adam(beta_1=1.0), ValueError,
         ["`beta_1`", "[0.0, 1.0)", "got 1.0"]),
    Case("rmsprop-rho", lambda: optimizers.RMSprop(rho=1.5), ValueError,
         ["`rho`", "[0.0, 1.0)", "got 1.5"]),
    Case("sgd-learning-rate-negative", lambda: optimizers.SGD(learning_rate=-1), ValueError,
         ["`learning_rate`", ">= 0", "got -1"]),
    Case("optimizer-gradient-shape",
         lambda: optimizers.Adam().apply([np.zeros(3)], [np.zeros(2)]), ValueError,
         ["`grads[0]`", "(2,)", "got (3,)"]),
    Case("optimizer-gradient-dtype",
         lambda: optimizers.SGD().apply([np.zeros(3, np.float32)], [np.zeros(3)]), TypeError,
         ["`grads[0]`", "float64", "got float32"]),
    Case("optimizer-integer-variable",
         lambda: optimizers.SGD().apply([np.zeros(3)], [np.zeros(3, int)]), TypeError,
         ["`variables[0]`", "float32 or float64", "int64"]),
    Case("schedule-decay-steps", lambda: schedules.ExponentialDecay(0.1, 0, 0.5), ValueError,
         ["`decay_steps`", "> 0", "got 0"]),

    # --- text -------------------------------------------------------------------------------------
    Case("text-vectorization-max-tokens", lambda: text_utils.TextVectorization(max_tokens=1),
         ValueError, ["`max_tokens`", "> 1", "got 1"]),
    Case("text-vectorization-split", lambda: text_utils.TextVectorization(split="comma"),
         ValueError, ["`split`", "'whitespace'", "'character'", "got 'comma'"]),
    Case("text-vectorization-integers", lambda: fitted_vectorizer()(np.array([1, 2])),
         TypeError, ["`inputs`", "strings", "got 1", "int"]),
    Case("text-vectorization-before-adapt", lambda: text_utils.TextVectorization()(["a"]),
         RuntimeError, ["no vocabulary", "adapt(data)"]),
    Case("pad-sequences-padding", lambda: text_utils.pad_sequences([[1]], padding="mid"),
         ValueError, ["`padding`", "'pre' or 'post'", "got 'mid'"]),
    Case("pad-sequences-maxlen", lambda: text_utils.pad_sequences([[1]], maxlen=-1),
         ValueError, ["`maxlen`", "non-negative integer", "got -1"]),
    Case("pad-sequences-string-value", lambda: text_utils.pad_sequences([[1]], value="x"),
         ValueError, ["`value`", "'x'", "`dtype`", "'int32'"]),

    # --- time series -----------------------------------------------------------------------------
    Case("windows-size-zero", lambda: ts.windows(np.arange(10.0), 0), ValueError,
         ["`window_size`", ">= 1", "got 0"]),
    Case("windows-string-series", lambda: ts.windows(np.array(["a", "b"]), 1), TypeError,
         ["`series`", "numbers", "<U1"]),
    Case("windows-target-column", lambda: ts.windows(np.zeros((10, 2)), 3, target_columns=5),
         ValueError, ["`target_columns`", "2 features", "got 5"]),
    Case("split-train-fraction", lambda: ts.train_val_test_split(np.arange(10.0), train=1.2),
         ValueError, ["`train`", "[0, 1]", "got 1.2"]),
    Case("split-fractions-sum",
         lambda: ts.train_val_test_split(np.arange(10.0), train=0.8, val=0.5), ValueError,
         ["`train` + `val` <= 1", "train=0.8", "val=0.5"]),
    Case("normalizer-features",
         lambda: ts.Normalizer().fit(np.zeros((5, 3))).transform(np.zeros((5, 2))),
         ValueError, ["`values`", "(3,)", "got (2,)"]),

    # --- sampling ---------------------------------------------------------------------------------
    Case("sample-temperature", lambda: sampling.sample(np.zeros(3), temperature=-1),
         ValueError, ["`temperature`", ">= 0", "got -1"]),
    Case("sample-top-k", lambda: sampling.sample(np.zeros(3), top_k=0), ValueError,
         ["`top_k`", "positive integer", "got 0"]),
    Case("sample-top-p", lambda: sampling.sample(np.zeros(3), top_p=1.5), ValueError,
         ["`top_p`", "(0, 1]", "got 1.5"]),
    Case("sample-rank", lambda: sampling.sample(np.zeros((2, 2, 2))), ValueError,
         ["`logits`", "(batch, num_classes)", "(2, 2, 2)"]),
    Case("sample-nan", lambda: sampling.sample(np.array([0.0, np.nan])), ValueError,
         ["`logits`", "finite"]),
    Case("sample-rng", lambda: sampling.sample(np.zeros(3), rng="x"), TypeError,
         ["`rng`", "Generator", "got 'x'"]),

    # --- saving and callbacks ---------------------------------------------------------------------
    Case("load-model-missing-file", lambda: sr.load_model("/nonexistent/model.npz"),
         FileNotFoundError, ["/nonexistent/model.npz"]),
    Case("save-missing-directory", lambda: compiled().save("/nonexistent/model.npz"),
         FileNotFoundError, ["/nonexistent/model.npz", "directory /nonexistent",
                             "does not exist"]),
    Case("save-path-not-a-path", lambda: compiled().save(5), TypeError,
         ["`path`", "os.PathLike", "got 5"]),
    Case("early-stopping-mode", lambda: callbacks.EarlyStopping(mode="best"), ValueError,
         ["`mode`", "'auto'", "'min'", "'max'", "got 'best'"]),
    Case("early-stopping-patience", lambda: callbacks.EarlyStopping(patience=-1), ValueError,
         ["`patience`", "non-negative integer", "got -1"]),
    Case("early-stopping-baseline", lambda: callbacks.EarlyStopping(baseline="low"),
         TypeError, ["`baseline`", "number", "got 'low'"]),
    Case("reduce-lr-factor", lambda: callbacks.ReduceLROnPlateau(factor=1.0), ValueError,
         ["`factor`", "(0, 1)", "got 1.0"]),
    Case("model-checkpoint-filepath", lambda: callbacks.ModelCheckpoint(5), TypeError,
         ["`filepath`", "os.PathLike", "got 5"]),
    Case("model-checkpoint-threshold",
         lambda: callbacks.ModelCheckpoint("m.npz", initial_value_threshold="x"), TypeError,
         ["`initial_value_threshold`", "number", "got 'x'"]),
    Case("early-stopping-nan-baseline", lambda: callbacks.EarlyStopping(baseline=np.nan),
         ValueError, ["`baseline`", "must not be NaN", "None"]),
    Case("model-checkpoint-nan-threshold",
         lambda: callbacks.ModelCheckpoint("m.npz", initial_value_threshold=float("nan")),
         ValueError, ["`initial_value_threshold`", "must not be NaN"]),
    # NaN and overflow policy, numbers that must not change quietly (issue 16, 4-6)
    Case("loss-nan-sample-weight",
         lambda: losses.MeanSquaredError()(Y2, Y2, sample_weight=[np.nan, 1.0]), ValueError,
         ["`sample_weight`", "finite", "nan"]),
    Case("sgd-clipnorm-underflows", lambda: optimizers.SGD(clipnorm=1e-50), ValueError,
         ["`clipnorm`", "float32", "got 1e-50", "underflow"]),
    Case("sgd-learning-rate-overflows", lambda: optimizers.SGD(learning_rate=1e40),
         ValueError, ["`learning_rate`", "float32", "got 1e+40", "overflow"]),
    Case("adam-learning-rate-underflows", lambda: optimizers.Adam(learning_rate=1e-50),
         ValueError, ["`learning_rate`", "float32", "got 1e-50", "underflow"]),
    Case("adam-epsilon-underflows", lambda: optimizers.Adam(epsilon=1e-50), ValueError,
         ["`epsilon`", "float32", "got 1e-50"]),
    Case("schedule-rate-overflows", lambda: schedules.ExponentialDecay(1e40, 10, 0.9),
         ValueError, ["`initial_learning_rate`", "float32", "got 1e+40"]),
    Case("pad-sequences-int32-overflow", lambda: text_utils.pad_sequences([[2 ** 40, 5]]),
         ValueError, ["`sequences`[0]", "1099511627776", "int32", "[-2147483648, 2147483647]"]),
    Case("pad-sequences-int64-array-overflow",
         lambda: text_utils.pad_sequences([np.array([2 ** 40, 5])]), ValueError,
         ["`sequences`[0]", "1099511627776", "int32"]),
    Case("pad-sequences-nan-value",
         lambda: text_utils.pad_sequences([[1]], maxlen=2, value=np.nan), ValueError,
         ["`value`", "nan", "int32"]),
    Case("pad-sequences-float32-overflow",
         lambda: text_utils.pad_sequences([[1e300]], dtype="float32"), ValueError,
         ["`sequences`[0]", "float32", "inf"]),
    Case("masking-nan-mask-value", lambda: layers.Masking(mask_value=np.nan), ValueError,
         ["`mask_value`", "NaN", "masked", "nan_to_num"]),
    Case("lstm-masked-array",
         lambda: layers.LSTM(3)(np.ma.array(X3, mask=np.zeros(X3.shape, bool))), TypeError,
         ["`inputs`", "masked array", "`mask=`"]),
    Case("fit-validation-split-string",
         lambda: compiled().fit(X3, Y2, validation_split="0.2", verbose=0), TypeError,
         ["`validation_split`", "float in [0, 1)", "'0.2'", "str"]),
    Case("windows-ragged-series", lambda: ts.windows([[1.0, 2.0], [3.0]], 1), ValueError,
         ["`series`", "rectangular", "unequal lengths"]),
    Case("text-vectorization-invalid-utf8",
         lambda: text_utils.TextVectorization().adapt([b"ok", b"\xff bad"]), ValueError,
         ["`data`", "UTF-8", "b'\\xff bad'", "invalid start byte"]),
]

# Cases that need a temporary directory: ``call(tmp_path)``.
FILE_CASES = [
    Case("load-model-not-an-archive", lambda tmp: sr.load_model(garbage_file(tmp)),
         ValueError, ["not_a_checkpoint.npz", "not an intact scratchrnn checkpoint",
                      "not a zip archive"]),
    Case("load-model-truncated", lambda tmp: sr.load_model(truncated_checkpoint(tmp)),
         ValueError, ["model.npz", "not an intact scratchrnn checkpoint", "truncated"]),
    Case("load-model-flipped-byte", lambda tmp: sr.load_model(flipped_byte_checkpoint(tmp)),
         ValueError, ["model.npz", "not an intact scratchrnn checkpoint", "damaged",
                      "Bad CRC-32", "weight_00000"]),
    Case("load-model-altered", lambda tmp: sr.load_model(altered_checkpoint(tmp)),
         ValueError, ["model.npz", "altered or damaged", "SHA-256"]),
]


def check_message(error, parts):
    message = str(error)
    missing = [p for p in parts if p not in message]
    assert not missing, f"message {message!r} lacks {missing}"


def test_the_table_is_wide():
    assert len(CASES) + len(FILE_CASES) >= 45
    ids = [case.id for case in CASES + FILE_CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(case):
    with pytest.raises(case.error) as info:
        case.call()
    check_message(info.value, case.parts)


@pytest.mark.parametrize("case", FILE_CASES, ids=[case.id for case in FILE_CASES])
def test_bad_checkpoint(case, tmp_path):
    with pytest.raises(case.error) as info:
        case.call(str(tmp_path))
    check_message(info.value, case.parts)


# --- properties -------------------------------------------------------------------------------

#: Each layer and the ranks its ``inputs`` may have.
LAYER_RANKS = {
    "SimpleRNN": (lambda: layers.SimpleRNN(2), {3}),
    "LSTM": (lambda: layers.LSTM(2), {3}),
    "GRU": (lambda: layers.GRU(2), {3}),
    "Bidirectional": (lambda: layers.Bidirectional(layers.GRU(2)), {3}),
    "Conv1D": (lambda: layers.Conv1D(2, 1), {3}),
    "MaxPooling1D": (lambda: layers.MaxPooling1D(1), {3}),
    "GlobalAveragePooling1D": (lambda: layers.GlobalAveragePooling1D(), {3}),
    "RepeatVector": (lambda: layers.RepeatVector(2), {2}),
    "Dense": (lambda: layers.Dense(2), {2, 3, 4, 5}),
    "TimeDistributed": (lambda: layers.TimeDistributed(layers.Dense(2)), {3, 4, 5}),
}


@settings(max_examples=examples(40))
@given(name=st.sampled_from(sorted(LAYER_RANKS)),
       shape=st.lists(st.integers(1, 3), min_size=0, max_size=5))
def test_inputs_of_a_wrong_rank_always_name_inputs(name, shape):
    """A layer given inputs of a rank it does not take raises ValueError naming
    ``inputs`` and showing the shape it got (never an IndexError or a NumPy error)."""
    make, ranks = LAYER_RANKS[name]
    if len(shape) in ranks:
        return
    with pytest.raises(ValueError) as info:
        make()(np.zeros(shape))
    check_message(info.value, ["`inputs`", str(tuple(shape))])


@settings(max_examples=examples(30))
@given(cell=st.sampled_from(["lstm", "gru", "simple_rnn"]),
       features=st.integers(1, 6), wrong=st.integers(1, 6))
def test_inputs_with_other_features_after_build(cell, features, wrong):
    """A built recurrent layer refuses inputs with another feature count, naming it."""
    layer = {"lstm": layers.LSTM, "gru": layers.GRU, "simple_rnn": layers.SimpleRNN}[cell](2)
    layer(np.zeros((1, 2, features)))
    if wrong == features:
        return
    with pytest.raises(ValueError) as info:
        layer(np.zeros((1, 2, wrong)))
    check_message(info.value, ["`inputs`", f"{features} features", f"(1, 2, {wrong})"])


@settings(max_examples=examples(30))
@given(batch=st.integers(1, 4), h_batch=st.integers(1, 4), h_units=st.integers(1, 6))
def test_ops_refuse_initial_states_of_another_shape(batch, h_batch, h_units):
    """``ops.gru_forward`` with ``h0`` not (B, H) fails naming ``h0``, not in a step."""
    if (h_batch, h_units) == (batch, H):
        return
    with pytest.raises(ValueError) as info:
        ops.gru_forward(np.zeros((batch, 2, 3)), np.zeros((h_batch, h_units)),
                        np.zeros((3, 3 * H)), np.zeros((H, 3 * H)))
    check_message(info.value, ["`h0`", f"({batch}, {H})", f"({h_batch}, {h_units})"])
