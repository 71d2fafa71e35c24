"""``Seq2Seq``: the LSTM encoder–decoder of the courses, trained with teacher forcing.

The architecture, as the Keras functional model of the courses builds it::

    encoder   e = Embedding(source_vocab, embedding_dim)(source)            (B, Tin, E)
              [_, h, c] = LSTM(units, return_state=True)(e)                  masked by source != 0
    decoder   d = Embedding(target_vocab, embedding_dim)(decoder_input)     (B, Tout, E)
              [s, _, _] = LSTM(units, return_sequences=True, return_state=True)(
                              d, initial_state=[h, c])                       (B, Tout, units)
    output    p = Dense(target_vocab, activation="softmax")(s)              (B, Tout, V)

**Teacher forcing.**  In training the decoder reads the *true* previous token:
``decoder_input = [start, y_1, ..., y_{n-1}]`` and ``decoder_target = [y_1, ..., y_n]``,
so that the whole target sequence is one parallel pass, and the loss is Keras's
sparse categorical crossentropy averaged over the unpadded target steps.

**Attention** (``attention=True``), Luong's placement: the attention comes *after* the
decoder LSTM and does not feed back into it.  The encoder returns its whole sequence
``H (B, Tin, units)`` (``return_sequences=True``, as well as its states); each decoder
output ``s_i`` attends over ``H`` with :class:`~scratchrnn.layers.BahdanauAttention`
(additive scores ``V tanh(W1 h_j + W2 s_i)``, ``units`` of them, padded source steps get
weight 0), and the Dense layer reads the context concatenated *before* the decoder
output::

    c_i, a_i = BahdanauAttention(units)(s_i, H, mask=source != 0)
    p_i      = softmax(Dense([c_i ; s_i]))                      Dense: (2 units, V)

(Luong et al. 2015 pass ``[c_i ; s_i]`` through ``tanh(W_c ·)`` before the output layer;
here the output Dense reads the concatenation directly.)

**Masks, as Keras 3 applies them** (verified against Keras 3.15):

- the encoder LSTM skips padded source steps (its final ``[h, c]`` is that of the last
  real token, for pre- and post-padding alike);
- the decoder LSTM is **not** masked: Keras 3 fills a layer's ``mask`` argument only
  when the layer is called on one tensor, and the decoder is called on two
  (``sequences`` and ``initial_state``).  So it reads token 0 like any token.  With
  post-padded decoder inputs, the usual layout, this changes nothing: the real steps come
  before the padding and do not see it;
- the loss (and the metrics) still average over ``decoder_input != 0`` only: the
  embedding's mask travels to the output.  (``mask_zero=False``: no masks anywhere.)

**The start token and the padding id.**  ``mask_zero=True`` (Seq2Seq's default) is *not*
Keras's: ``Embedding``'s default is ``mask_zero=False``, and the course's functional model
uses that default with the start token 0.  Under a mask, a start token 0 is padding: the
first step would leave the loss, as it does in Keras, and never be trained — the loss does
not change when that step's target changes.  So ``fit``, ``train_on_batch``, ``evaluate``
and ``compute_gradients`` refuse, with a ``ValueError`` naming both fixes (a start token
other than 0, or ``mask_zero=False``, the course's model), any row whose decoder input
starts with 0 while its target starts with a real token; a warning would scroll away in a
training loop, and the model it lets through cannot produce its first token, which nobody
wants.  Decoding with ``start_token=0`` under ``mask_zero=True`` only warns: it computes
exactly what Keras computes (the decoder reads 0 as a token), but from a step no training
under that mask has taught.

**Logits.**  The output is a softmax Dense layer, so Keras 3 computes the crossentropy
from its pre-activation (see :mod:`scratchrnn.models`): the loss's gradient ``p - y``
enters the Dense layer's logits directly.

**Backward**, from the gradient of the logits ``dz``, the forward pass in reverse::

    [dc ; ds]  = Dense.backward_logits(dz)                   (split when attention)
    ds_q, dH   = attention.backward(dc);   ds += ds_q        (attention only)
    dd, [dh, dc0] = decoder.backward([ds, 0, 0])             (through initial_state)
    de         = encoder.backward([dH or 0, dh, dc0])        (the states' gradient)
    the two Embedding backwards take dd and de

**Scheduled sampling** (Bengio et al. 2015), ``scheduled_sampling=p``: at training time
each decoder input after the first is, with probability ``p`` (one draw per sample and
step from the model's seeded generator), the model's own greedy prediction at the
previous step instead of the true token (padding stays padding).  Those predictions
depend on the tokens fed before them, so they are found step by step: the decoder runs
one step at a time, carrying its states, and the argmax of step ``t - 1`` becomes input
``t`` where the draw says so.  The gradient treats the sampled tokens as constants: no
gradient flows through the argmax (it has none), exactly as a
``stop_gradient(argmax(...))`` would.  The computation the loss then differentiates is
the teacher-forced pass over the inputs actually fed, so the training step runs that
pass (on ``last_decoder_input``) and backpropagates through it as above.  (One step at a
time and all at once compute the same values, possibly rounded differently in the last
bits; the tokens chosen are what the step uses.)  ``p = 0`` is teacher forcing itself (no
step-by-step pass, no random draw).

**Inference** (``predict_greedy``, ``predict_sample``) decodes step by step from
``start_token``, each step's chosen token becoming the next input, with the decoder's
``[h, c]`` carried from step to step; a sequence stops at ``end_token`` (positions after
it are 0).

Weights, in ``get_weights`` order: the encoder embedding, the encoder LSTM, the decoder
embedding, the decoder LSTM, the attention (when on), the output Dense (each in its
layer's Keras order).  :func:`from_keras` copies a Keras functional model's weights by
the role of each layer, found from the graph (see there).
"""

import numbers
import warnings

import numpy as np

from . import _checks, sampling
from .data import batch_size_argument as _batch_size
from .layers import LSTM, BahdanauAttention, Dense, Embedding
from .models import Model


class Seq2Seq(Model):
    """An LSTM encoder–decoder (see the module docstring for the equations).

    ``Seq2Seq(source_vocab, target_vocab, embedding_dim, units)``; ``attention=True``
    adds Bahdanau attention after the decoder; ``mask_zero=True`` makes token 0 padding
    in both vocabularies (Keras's Embedding defaults to False, as the course's model has
    it; a start token 0 under the mask is refused, see the module docstring);
    ``scheduled_sampling`` is the probability of feeding the model's own previous
    prediction at training time (settable between epochs, for a schedule); ``backend``
    is the LSTMs' (``"numpy"``, ``"numba"`` or None for the global default); ``seed``
    fixes the initial weights (layer ``k`` gets ``seed + k``), ``fit``'s shuffling and the
    scheduled-sampling draws.
    """

    def __init__(self, source_vocab, target_vocab, embedding_dim, units, attention=False,
                 mask_zero=True, scheduled_sampling=0.0, dtype="float32", seed=None,
                 backend=None, name="seq2seq"):
        self.source_vocab = _checks.positive_int(source_vocab, "source_vocab")
        self.target_vocab = _checks.positive_int(target_vocab, "target_vocab")
        self.embedding_dim = _checks.positive_int(embedding_dim, "embedding_dim")
        self.units = _checks.positive_int(units, "units")
        self.attention = _checks.boolean(attention, "attention")
        self.mask_zero = _checks.boolean(mask_zero, "mask_zero")
        self.scheduled_sampling = scheduled_sampling
        self.dtype = _checks.dtype(dtype)
        self.backend = backend
        super().__init__(name=name, seed=seed)
        self._build_layers()
        #: The decoder inputs of the last training step (the sampled ones included).
        self.last_decoder_input = None

    def _build_layers(self):
        def seed(k):
            return None if self.seed is None else self.seed + k

        common = {"dtype": self.dtype.name}
        rnn = {**common, "backend": self.backend}
        self.encoder_embedding = Embedding(self.source_vocab, self.embedding_dim,
                                           mask_zero=self.mask_zero, seed=seed(0),
                                           name="encoder_embedding", **common)
        self.encoder = LSTM(self.units, return_sequences=self.attention, return_state=True,
                            seed=seed(1), name="encoder", **rnn)
        self.decoder_embedding = Embedding(self.target_vocab, self.embedding_dim,
                                           mask_zero=self.mask_zero, seed=seed(2),
                                           name="decoder_embedding", **common)
        self.decoder = LSTM(self.units, return_sequences=True, return_state=True,
                            seed=seed(3), name="decoder", **rnn)
        self.attention_layer = (BahdanauAttention(self.units, seed=seed(4), name="attention",
                                                  **common) if self.attention else None)
        self.dense = Dense(self.target_vocab, activation="softmax", seed=seed(5),
                           name="output", **common)
        for layer in (self.encoder, self.decoder):
            layer.build((None, None, self.embedding_dim))
        if self.attention:
            self.attention_layer.build([(None, None, self.units), (None, None, self.units)])
        features = 2 * self.units if self.attention else self.units
        self.dense.build((None, None, features))

    def __repr__(self):
        return (f"Seq2Seq(source_vocab={self.source_vocab}, target_vocab={self.target_vocab}, "
                f"embedding_dim={self.embedding_dim}, units={self.units}, "
                f"attention={self.attention}, name={self.name!r})")

    @property
    def scheduled_sampling(self):
        return self._scheduled_sampling

    @scheduled_sampling.setter
    def scheduled_sampling(self, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"`scheduled_sampling` must be a probability in [0, 1], got "
                            f"{value!r}")
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"`scheduled_sampling` must be a probability in [0, 1], got "
                             f"{value}")
        self._scheduled_sampling = float(value)

    # --- configuration and weights ---------------------------------------------------------

    def get_config(self):
        return {"source_vocab": self.source_vocab, "target_vocab": self.target_vocab,
                "embedding_dim": self.embedding_dim, "units": self.units,
                "attention": self.attention, "mask_zero": self.mask_zero,
                "scheduled_sampling": self.scheduled_sampling, "dtype": self.dtype.name,
                "seed": self.seed, "backend": self.backend, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @property
    def layers(self):
        """The layers in ``get_weights`` order."""
        middle = [self.attention_layer] if self.attention else []
        return [self.encoder_embedding, self.encoder, self.decoder_embedding, self.decoder,
                *middle, self.dense]

    # --- forward ---------------------------------------------------------------------------

    def _padding_mask(self, tokens):
        return tokens != 0 if self.mask_zero else None

    def _encode(self, source, training=False):
        """``(H or None, [h, c], source mask)``: the encoder's sequence (attention only),
        its final states and the mask of the source."""
        mask = self._padding_mask(source)
        outputs, h, c = self.encoder(self.encoder_embedding(source), mask=mask,
                                     training=training)
        return (outputs if self.attention else None), [h, c], mask

    def _decode(self, decoder_input, states, encoded, source_mask, training=False):
        """``(probabilities, [h, c], attention weights or None)`` for ``decoder_input``
        (every step at once, or one step ``(B, 1)``) from the states ``[h, c]``."""
        outputs, h, c = self.decoder(self.decoder_embedding(decoder_input),
                                     initial_state=states, training=training)
        features, weights = outputs, None
        if self.attention:
            context, weights = self.attention_layer(outputs, encoded, mask=source_mask)
            features = np.concatenate([context, outputs], axis=-1)
        return self.dense(features, training=training), [h, c], weights

    def _forward(self, source, decoder_input, training=False):
        encoded, states, source_mask = self._encode(source, training)
        return self._decode(decoder_input, states, encoded, source_mask, training)[0]

    def __call__(self, source, decoder_input, training=False):
        """The teacher-forced probabilities ``(B, Tout, target_vocab)``."""
        source, decoder_input = self._check_inputs(source, decoder_input)
        return self._forward(source, decoder_input, training)

    def attention_weights(self, source, decoder_input):
        """The teacher-forced attention weights ``(B, Tout, Tin)`` (attention only)."""
        self._require_attention("attention_weights")
        self(source, decoder_input)
        return self.attention_layer.attention_weights.copy()

    def _require_attention(self, what):
        if not self.attention:
            raise RuntimeError(f"{self.name}: {what}() needs a model built with "
                               "attention=True")

    # --- backward --------------------------------------------------------------------------

    def _backward(self, grad, from_logits):
        """Backpropagate the gradient of the output (of its logits when ``from_logits``)
        through every layer of the last forward pass, leaving each layer's weight
        gradients in it."""
        d_features = (self.dense.backward_logits(grad) if from_logits
                      else self.dense.backward(grad))
        d_outputs, d_encoded = d_features, None
        if self.attention:
            d_context, d_outputs = np.split(d_features, 2, axis=-1)
            d_query, d_encoded = self.attention_layer.backward(d_context)
            d_outputs = d_outputs + d_query
        d_embedded, (dh, dc) = self.decoder.backward([d_outputs, None, None])
        self.decoder_embedding.backward(d_embedded)
        self.encoder_embedding.backward(self.encoder.backward([d_encoded, dh, dc]))

    # --- compile and train -----------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                metrics=None):
        """As :meth:`Model.compile`, the loss defaulting to the sparse crossentropy."""
        super().compile(optimizer, loss, metrics)

    def _logits(self):
        """What the loss reads besides ``probs``: the output Dense layer's logits for a
        crossentropy (Keras 3's rule, see the module docstring), else nothing."""
        if self.loss.accepts_logits:
            return {"logits": self.dense.logits, "activation": "softmax"}
        return {}

    def _loss_and_gradient(self, decoder_target, probs, mask):
        """``(loss, gradient, from_logits)``: the gradient is that of the Dense layer's
        logits when ``from_logits``, else that of ``probs``."""
        logits = self._logits()
        value, grad = self.loss.value_and_gradient(decoder_target, probs, mask=mask, **logits)
        return value, grad, bool(logits)

    def compute_gradients(self, source, decoder_input, decoder_target):
        """``(loss, gradients)`` of the teacher-forced loss (no scheduled sampling, no
        update), the gradients dense and aligned with ``get_weights``."""
        self._require_compiled("compute_gradients")
        source, decoder_input, decoder_target = self._check_data(source, decoder_input,
                                                                 decoder_target)
        probs = self._forward(source, decoder_input, training=True)
        loss, grad, from_logits = self._loss_and_gradient(
            decoder_target, probs, self._padding_mask(decoder_input))
        self._backward(grad, from_logits)
        return float(loss), [g for layer in self.layers for g in layer.get_gradients()]

    def train_on_batch(self, source, decoder_input, decoder_target):
        """One optimisation step on one batch; returns the batch's loss (before the
        update), or ``[loss, *metrics]`` when the model has metrics (as Keras)."""
        self._require_compiled("train_on_batch")
        data = self._check_data(source, decoder_input, decoder_target)
        loss, probs, mask = self._train_step(*data)
        return self._batch_result(loss, data[2], probs, mask)

    def _train_step(self, source, decoder_input, decoder_target):
        fed = decoder_input
        if self.scheduled_sampling > 0:
            fed = self._scheduled_inputs(source, decoder_input)
        self.last_decoder_input = fed
        probs = self._forward(source, fed, training=True)
        mask = self._padding_mask(decoder_input)   # the true sequence's padding
        loss, grad, from_logits = self._loss_and_gradient(decoder_target, probs, mask)
        self._backward(grad, from_logits)
        self.optimizer.apply(*self._gradients_and_variables())
        return float(loss), probs, mask

    def _target_and_weight(self, batch):
        """A batch is ``(source, decoder_input, decoder_target)``: the target is last."""
        return batch[-1], None

    def _scheduled_inputs(self, source, decoder_input):
        """The decoder inputs with scheduled sampling: input ``t >= 1`` is, with
        probability ``scheduled_sampling``, the argmax of the model's output at step
        ``t - 1`` (which read the input fed at ``t - 1``), found step by step."""
        encoded, states, source_mask = self._encode(source, training=True)
        fed = decoder_input.copy()
        batch, steps = fed.shape
        for t in range(1, steps):
            probs, states, _ = self._decode(fed[:, t - 1:t], states, encoded, source_mask,
                                            training=True)
            own = np.argmax(probs[:, 0], axis=-1)
            take = self._rng.random(batch) < self.scheduled_sampling
            if self.mask_zero:
                take &= decoder_input[:, t] != 0
            fed[:, t] = np.where(take, own, decoder_input[:, t])
        return fed

    def evaluate(self, source, decoder_input, decoder_target, batch_size=None):
        """The teacher-forced loss over the data (each batch's loss weighted by its size,
        as Keras's tracker), or ``[loss, *metrics]`` when the model has metrics."""
        self._require_compiled("evaluate")
        data = self._check_data(source, decoder_input, decoder_target)
        values = list(self._evaluate(data, _batch_size(batch_size)).values())
        return values[0] if len(values) == 1 else values

    def _test_step(self, source, decoder_input, decoder_target):
        probs = self._forward(source, decoder_input)
        mask = self._padding_mask(decoder_input)
        loss = self.loss(decoder_target, probs, mask=mask, **self._logits())
        return float(loss), probs, mask

    def fit(self, source, decoder_input, decoder_target, batch_size=None, epochs=1,
            verbose="auto", callbacks=None, validation_data=None, shuffle=True,
            initial_epoch=0):
        """Train for ``epochs`` passes over the data; returns the :class:`History`.

        ``verbose``: 0 silent, 1 (or "auto") a tqdm bar per epoch with the running loss
        and metrics, 2 one line per epoch.  ``validation_data``: ``(source,
        decoder_input, decoder_target)`` evaluated (teacher forced) after every epoch,
        logged as ``val_loss`` and ``val_<metric>``.  Ctrl-C stops cleanly after the
        current batch (``history.interrupted = True``), as :meth:`Sequential.fit` does.
        ``initial_epoch``: Keras's, the epoch to resume at (``epochs`` is the index of the
        last, not a count): a model saved after epoch 1 and loaded resumes with
        ``fit(..., epochs=2, initial_epoch=1)`` exactly as two epochs straight would go.
        """
        self._require_compiled("fit")
        data = self._check_data(source, decoder_input, decoder_target)
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 3:
                raise ValueError("`validation_data` must be a tuple (source, decoder_input, "
                                 "decoder_target)")
            validation_data = self._check_data(*validation_data)
        return self._fit(data, _batch_size(batch_size), epochs, verbose, callbacks,
                         validation_data, shuffle, initial_epoch)

    # --- inference -------------------------------------------------------------------------

    def predict_greedy(self, source, start_token, end_token, max_length):
        """Decode greedily: each step feeds back the most probable token.

        Returns ``tokens (B, T)``, int64, ``T <= max_length`` (decoding stops once every
        sequence has produced ``end_token``; ``end_token=None`` runs ``max_length``
        steps); a sequence's positions after its end token are 0.  With attention,
        returns ``(tokens, weights)``, ``weights (B, T, Tin)`` the attention of each
        output step over the source (0 after the end), for plotting.
        """
        return self._decode_loop(source, start_token, end_token, max_length,
                                 lambda logits, probs: np.argmax(probs, axis=-1))

    def predict_sample(self, source, start_token, end_token, max_length, temperature=1.0,
                       rng=None, top_k=None, top_p=None):
        """Decode by drawing each token from the output distribution with
        :func:`scratchrnn.sampling.sample` (``temperature``, ``top_k``, ``top_p``; from
        the logits).  ``rng``: a ``numpy.random.Generator`` (used and advanced), an
        integer seed or None.  Returns what :meth:`predict_greedy` returns."""
        if not (rng is None or isinstance(rng, np.random.Generator)
                or isinstance(rng, numbers.Integral) and not isinstance(rng, bool)):
            raise TypeError(f"`rng` must be None, an integer seed or a "
                            f"numpy.random.Generator, got {rng!r}")
        generator = np.random.default_rng(rng)   # the Generator itself when given one
        return self._decode_loop(
            source, start_token, end_token, max_length,
            lambda logits, probs: sampling.sample(logits, temperature, top_k, top_p,
                                                  rng=generator))

    def _decode_loop(self, source, start_token, end_token, max_length, choose):
        source = _tokens(source, "source", self.source_vocab)
        token = _token_id(start_token, "start_token", self.target_vocab)
        if token == 0 and self.mask_zero:
            warnings.warn(
                f"{self.name}: start_token=0 is the padding id under mask_zero=True: the "
                "first decoder step reads it as Keras does, but training masked that step "
                "out of the loss (fit refuses a start token 0 under mask_zero), so the first "
                "token is decoded by an untrained step.  Use the start token the model was "
                "trained with", stacklevel=3)
        if end_token is not None:
            end_token = _token_id(end_token, "end_token", self.target_vocab)
        max_length = _checks.positive_int(max_length, "max_length")
        batch = len(source)
        encoded, states, source_mask = self._encode(source)
        fed = np.full((batch, 1), token, dtype=np.intp)
        done = np.zeros(batch, bool)
        tokens, weights = [], []
        for _ in range(max_length):
            probs, states, step_weights = self._decode(fed, states, encoded, source_mask)
            chosen = np.where(done, 0, choose(self.dense.logits[:, 0], probs[:, 0]))
            tokens.append(chosen)
            if self.attention:
                weights.append(np.where(done[:, None], 0, step_weights[:, 0]))
            if end_token is not None:
                done |= chosen == end_token
            if done.all():
                break
            fed = chosen[:, None].astype(np.intp)
        tokens = np.stack(tokens, axis=1).astype(np.int64)
        return (tokens, np.stack(weights, axis=1)) if self.attention else tokens

    # --- checks ----------------------------------------------------------------------------

    def _check_inputs(self, source, decoder_input):
        source = _tokens(source, "source", self.source_vocab)
        decoder_input = _tokens(decoder_input, "decoder_input", self.target_vocab)
        if len(decoder_input) != len(source):
            raise ValueError(f"`decoder_input` must have the batch size of `source` "
                             f"({len(source)}), got shape {decoder_input.shape}")
        return source, decoder_input

    def _check_data(self, source, decoder_input, decoder_target):
        source, decoder_input = self._check_inputs(source, decoder_input)
        if decoder_target is None:
            raise ValueError("`decoder_target` is required: the tokens the decoder must "
                             "output, decoder_input shifted by one step")
        target = _tokens(decoder_target, "decoder_target", self.target_vocab)
        if target.shape != decoder_input.shape:
            raise ValueError(f"`decoder_target` must have the shape of `decoder_input` "
                             f"{decoder_input.shape}, got {target.shape}")
        self._refuse_padding_start(decoder_input, target)
        return source, decoder_input, target

    def _refuse_padding_start(self, decoder_input, decoder_target):
        """With ``mask_zero`` the loss reads only the steps where ``decoder_input != 0``:
        a start token 0 (the course's) would mask the first step out of the loss, and
        that step would silently never be trained.  Refused (see the module docstring)."""
        if not self.mask_zero:
            return
        rows = np.flatnonzero((decoder_input[:, 0] == 0) & (decoder_target[:, 0] != 0))
        if rows.size:
            raise ValueError(
                f"`decoder_input` starts with token 0 (row {int(rows[0])}; {rows.size} "
                f"row(s) in all) while `decoder_target`'s first step is a real token: with "
                "mask_zero=True token 0 is padding, so the first decoder step would be "
                "masked out of the loss and never trained.  Use a start token other than 0 "
                "(e.g. 1, keeping 0 for padding), or build Seq2Seq(..., mask_zero=False), "
                "which is the Keras model of the course (Embedding's default mask_zero=False: "
                "no masks, every step trained)")

    # --- saving ----------------------------------------------------------------------------

    def save(self, path):
        """Write the configuration, the weights and (once compiled) the optimizer's state
        to one ``.npz`` file, atomically (:func:`scratchrnn.saving.save_model`)."""
        from .saving import save_model
        save_model(self, path)

    @classmethod
    def load(cls, path, compile=True):
        """The model :meth:`save` wrote to ``path`` (``scratchrnn.load_model`` reads it
        too), refusing any other model class."""
        from .saving import load_model
        model = load_model(path, compile)
        if not isinstance(model, cls):
            raise ValueError(f"{path} holds a {type(model).__name__}, not a {cls.__name__}")
        return model


def _tokens(value, argument, vocab):
    """``value`` as a 2-D array of token ids in ``[0, vocab)``."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"`{argument}` must hold integer token ids, got an array of "
                        f"dtype {arr.dtype}")
    if arr.ndim != 2 or 0 in arr.shape:
        raise ValueError(f"`{argument}` must be a 2-D array (batch, steps) with at "
                         f"least one sample and one step, got shape {arr.shape}")
    low, high = arr.min(), arr.max()
    if low < 0 or high >= vocab:
        bad = low if low < 0 else high
        where = tuple(int(i) for i in np.argwhere(arr == bad)[0])
        raise ValueError(f"`{argument}` must hold token ids in [0, {vocab}), got "
                         f"{int(bad)} at position {where}")
    return arr.astype(np.intp)


def _token_id(value, argument, vocab):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{argument}` must be an integer token id, got {value!r}")
    if not 0 <= value < vocab:
        raise ValueError(f"`{argument}` must be a token id in [0, {vocab}), got {value}")
    return int(value)


# --- from Keras ------------------------------------------------------------------------------

#: Config entries that may differ between a Keras layer and ours: names, seeds and
#: initialisers do not change the computation once the weights are copied.
_FREE_KEYS = {"name", "seed", "backend", "trainable", "kernel_initializer",
              "recurrent_initializer", "bias_initializer", "embeddings_initializer"}


def from_keras(keras_model, backend=None):
    """A :class:`Seq2Seq` copy of a Keras functional encoder–decoder (no attention)::

        encoder_tokens, decoder_tokens = keras.Input((None,), dtype="int32"), ...
        e = Embedding(...)(encoder_tokens);  _, h, c = LSTM(units, return_state=True)(e)
        d = Embedding(...)(decoder_tokens)
        s, _, _ = LSTM(units, return_sequences=True, return_state=True)(
                      d, initial_state=[h, c])
        model = keras.Model([encoder_tokens, decoder_tokens], Dense(V, "softmax")(s))

    Layers are identified by their place in the graph, not by name or order: the
    Embedding reading ``model.inputs[0]`` is the encoder's and the one reading
    ``model.inputs[1]`` the decoder's; the LSTM reading the encoder embedding is the
    encoder, the LSTM reading the decoder embedding with ``initial_state`` the encoder's
    states ``[h, c]`` is the decoder; the Dense reading the decoder's sequence is the
    output and must be the model's output.  Anything else (another layer, a layer
    called twice, a Keras argument whose value Seq2Seq does not use) is an error naming
    it.  The weights and ``trainable`` flags are copied; ``backend`` is the LSTMs'.
    """
    from .keras import dtype_name, keras_module, layer_from_keras
    keras = keras_module()
    if not isinstance(keras_model, keras.Model) or isinstance(keras_model, keras.Sequential):
        raise TypeError("from_keras() takes a Keras functional model with inputs "
                        f"[encoder_tokens, decoder_tokens], got {type(keras_model).__name__}")
    if len(keras_model.inputs) != 2 or len(keras_model.outputs) != 1:
        raise ValueError("`keras_model` must have two inputs [encoder_tokens, "
                         f"decoder_tokens] and one output, got {len(keras_model.inputs)} "
                         f"and {len(keras_model.outputs)}")
    roles = _find_roles(keras, keras_model)
    dtype = dtype_name(roles["output"].get_config()["dtype"])
    enc_emb, dec_emb = roles["encoder_embedding"], roles["decoder_embedding"]
    if enc_emb.mask_zero != dec_emb.mask_zero or enc_emb.output_dim != dec_emb.output_dim:
        raise ValueError("`keras_model`'s two Embeddings must agree on mask_zero and "
                         f"output_dim, got mask_zero {enc_emb.mask_zero}/{dec_emb.mask_zero} "
                         f"and output_dim {enc_emb.output_dim}/{dec_emb.output_dim}")
    model = Seq2Seq(enc_emb.input_dim, dec_emb.input_dim, enc_emb.output_dim,
                    roles["encoder"].units, mask_zero=enc_emb.mask_zero, dtype=dtype,
                    backend=backend, name=keras_model.name)
    for role, keras_layer in roles.items():
        layer = getattr(model, "dense" if role == "output" else role)
        _same_config(role, layer_from_keras(keras_layer).get_config(), layer.get_config())
        layer.set_weights(keras_layer.get_weights())
        layer.trainable = keras_layer.trainable
    return model


def _find_roles(keras, keras_model):
    """``{role: Keras layer}`` for the five roles, from the graph (see :func:`from_keras`)."""
    found = {}
    for layer in keras_model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        nodes = layer._inbound_nodes
        if len(nodes) != 1:
            raise ValueError(f"`keras_model`: layer {layer.name!r} is called "
                             f"{len(nodes)} times; each layer must be called once")
        found[layer] = nodes[0].input_tensors
    encoder_tokens, decoder_tokens = keras_model.inputs

    def consumer(cls, first_input, role):
        matches = [layer for layer, inputs in found.items()
                   if isinstance(layer, cls) and inputs and inputs[0] is first_input]
        if len(matches) != 1:
            raise ValueError(f"`keras_model` must have one {cls.__name__} as the {role} "
                             f"(see from_keras), found {len(matches)}")
        return matches[0]

    L = keras.layers
    roles = {"encoder_embedding": consumer(L.Embedding, encoder_tokens, "encoder embedding"),
             "decoder_embedding": consumer(L.Embedding, decoder_tokens, "decoder embedding")}
    roles["encoder"] = consumer(L.LSTM, roles["encoder_embedding"].output, "encoder")
    roles["decoder"] = consumer(L.LSTM, roles["decoder_embedding"].output, "decoder")
    encoder, decoder = roles["encoder"], roles["decoder"]
    if not encoder.return_state or encoder.return_sequences:
        raise ValueError(f"`keras_model`: the encoder LSTM {encoder.name!r} must have "
                         "return_state=True and return_sequences=False (from_keras copies "
                         "the model without attention)")
    if not (decoder.return_state and decoder.return_sequences):
        raise ValueError(f"`keras_model`: the decoder LSTM {decoder.name!r} must have "
                         "return_sequences=True and return_state=True")
    states = found[decoder][1:]
    if len(states) != 2 or states[0] is not encoder.output[1] \
            or states[1] is not encoder.output[2]:
        raise ValueError(f"`keras_model`: the decoder LSTM {decoder.name!r} must be called "
                         "with initial_state=[h, c], the encoder's final states")
    roles["output"] = consumer(L.Dense, decoder.output[0], "output layer")
    if roles["output"].output is not keras_model.outputs[0]:
        raise ValueError(f"`keras_model`'s output must be that of the Dense layer "
                         f"{roles['output'].name!r}")
    extra = set(found) - set(roles.values())
    if extra:
        raise ValueError(f"`keras_model` has layers outside the encoder–decoder: "
                         f"{sorted(layer.name for layer in extra)}")
    return roles


def _same_config(role, theirs, ours):
    """Raise unless the Keras layer's translated config computes what ours does."""
    for key in sorted(set(theirs) | set(ours)):
        if key not in _FREE_KEYS and theirs.get(key) != ours.get(key):
            raise ValueError(f"`keras_model`: the {role} has {key}={theirs.get(key)!r}; "
                             f"Seq2Seq's {role} has {key}={ours.get(key)!r}")
