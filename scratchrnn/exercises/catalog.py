"""The exercises, in the order a course would take them: what each asks, the random draws
it is graded on, and the hints, keyed by the quantity that comes out wrong.

Every draw is seeded (``draws(seed)``), float64, and small, so that the finite
differences of the gradient exercises take milliseconds.
"""

import types

import numpy as np

from .. import losses, ops, optimizers
from ..layers.attention import AdditiveAttention
from ..ops import activations as act
from ..ops import common
from .grading import Draw, Exercise, copies, fd

NAME = act.NAMES


def _rng(seed, salt):
    return np.random.default_rng([seed, salt])


def _dropout(rng, gates, batch, features, rate=0.3):
    """A Keras-style dropout mask (gates, batch, features): 0 or 1/(1 - rate)."""
    return (rng.random((gates, batch, features)) >= rate) / (1 - rate)


def _split(prefix, array, names):
    """``{prefix_name: block}`` for the equal column blocks of ``array`` (None stays None)."""
    if array is None:
        return {f"{prefix}_{n}": None for n in names}
    blocks = np.split(np.asarray(array), len(names), axis=-1) if np.ndim(array) == 2 and \
        np.shape(array)[-1] % len(names) == 0 else [None] * len(names)
    return {f"{prefix}_{n}": b for n, b in zip(names, blocks)}


def _weighted(outputs, upstream):
    return float(sum(np.sum(o * g) for o, g in zip(outputs, upstream)))


# --- 1. SimpleRNN ---------------------------------------------------------------------------

def _simple_rnn_step(seed):
    rng = _rng(seed, 1)
    B, H = int(rng.integers(1, 4)), int(rng.integers(1, 5))
    activation = (act.TANH, act.SIGMOID, act.SOFTSIGN, act.TANH)[seed % 4]
    rdm = _dropout(rng, 1, B, H) if seed % 2 else None
    zx, h_prev = rng.normal(size=(B, H)), rng.normal(size=(B, H))
    U, dh = rng.normal(scale=0.5, size=(H, H)), rng.normal(size=(B, H))

    def forward():
        return ops.simple_rnn_step_forward(zx, h_prev, U, rdm, activation)

    cache = forward()[1]

    def call(fn):
        da, dh_prev = fn(*copies(dh, cache, U, rdm, activation))
        return {"da": da, "dh_prev": dh_prev}

    def numerical():
        return fd(lambda: float(np.sum(forward()[0] * dh)), {"da": zx, "dh_prev": h_prev})

    label = f"B={B} H={H} {NAME[activation]}" + (" recurrent dropout" if rdm is not None else "")
    return Draw(label, call, numerical)


def _sequence(seed, cell, masked):
    """A draw of ``simple_rnn_backward`` or ``lstm_backward`` (``masked``: with a mask)."""
    rng = _rng(seed, 2 if cell == "simple_rnn" else 3)
    B, T, I, H = (int(rng.integers(1, 4)), int(rng.integers(2, 5)), int(rng.integers(1, 4)),
                  int(rng.integers(1, 4)))
    G = 1 if cell == "simple_rnn" else 4
    s = 1 / np.sqrt(I + H)
    p = {"x": rng.normal(size=(B, T, I)), "h0": rng.normal(scale=0.5, size=(B, H))}
    if cell == "lstm":
        p["c0"] = rng.normal(scale=0.5, size=(B, H))
    p["kernel"] = rng.uniform(-s, s, size=(I, G * H)) * 2
    p["recurrent_kernel"] = rng.uniform(-s, s, size=(H, G * H)) * 2
    use_bias = seed % 3 != 2
    p["bias"] = rng.uniform(-0.5, 0.5, size=(G * H,)) if use_bias else None
    go_backwards = seed % 2 == 1
    zero_output = masked and seed % 4 >= 2
    mask = None
    if masked:
        mask = rng.random((B, T)) < 0.6
        mask[0, 0] = False              # a sample that starts masked
        mask[-1, -1] = False            # and one that ends masked
    states = ("h0",) if cell == "simple_rnn" else ("h0", "c0")
    options = dict(mask=mask, go_backwards=go_backwards, zero_output_for_mask=zero_output)

    def forward():
        f = ops.simple_rnn_forward if cell == "simple_rnn" else ops.lstm_forward
        return f(p["x"], *(p[n] for n in states), p["kernel"], p["recurrent_kernel"],
                 p["bias"], **options)

    outputs, cache = forward()
    upstream = [rng.normal(size=o.shape) for o in outputs]

    def call(fn):
        grads = fn(*copies(*upstream, cache, p["kernel"], p["recurrent_kernel"]))
        names = ["x", *states, "kernel", "recurrent_kernel", "bias"]
        return {"d" + n: g for n, g in zip(names, grads)}

    def numerical():
        return fd(lambda: _weighted(forward()[0], upstream),
                  {"d" + n: a for n, a in p.items()})

    label = (f"B={B} T={T} I={I} H={H}" + ("" if use_bias else " no bias")
             + (" go_backwards" if go_backwards else "")
             + (f" mask {mask.astype(int).tolist()}" if masked else "")
             + (" zero_output_for_mask" if zero_output else ""))
    return Draw(label, call, numerical if seed < 2 else None)


# --- 2. LSTM --------------------------------------------------------------------------------

def _lstm_step(seed):
    rng = _rng(seed, 4)
    B, H = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    activation, recurrent_activation = ((act.TANH, act.SIGMOID), (act.SOFTSIGN, act.SIGMOID),
                                        (act.TANH, act.TANH), (act.TANH, act.SIGMOID))[seed % 4]
    rdm = (None, _dropout(rng, 4, B, H), None, _dropout(rng, 1, B, H))[seed % 4]
    zx, h_prev, c_prev = (rng.normal(size=(B, 4 * H)), rng.normal(size=(B, H)),
                          rng.normal(size=(B, H)))
    U = rng.normal(scale=0.5, size=(H, 4 * H))
    dh, dc = rng.normal(size=(B, H)), rng.normal(size=(B, H))
    acts = (activation, recurrent_activation)

    def forward():
        return ops.lstm_step_forward(zx, h_prev, c_prev, U, rdm, *acts)

    cache = forward()[2]

    def call(fn):
        dz, dh_prev, dc_prev = fn(*copies(dh, dc, cache, U, rdm, *acts))
        return {**_split("dz", dz, "ifgo"), "dh_prev": dh_prev, "dc_prev": dc_prev}

    def numerical():
        g = fd(lambda: _weighted(forward()[:2], [dh, dc]),
               {"dz": zx, "dh_prev": h_prev, "dc_prev": c_prev})
        return {**_split("dz", g.pop("dz"), "ifgo"), **g}

    label = (f"B={B} H={H} {NAME[activation]}/{NAME[recurrent_activation]}"
             + ("" if rdm is None else f" recurrent dropout ({len(rdm)} mask(s))"))
    return Draw(label, call, numerical)


# --- 3. GRU ---------------------------------------------------------------------------------

def _gru_step(seed, reset_after):
    rng = _rng(seed, 5 if reset_after else 6)
    B = 1 if seed == 0 else int(rng.integers(1, 4))   # B = 1: the bias's gradient is dzh's
    H = int(rng.integers(1, 4))
    activation, recurrent_activation = ((act.TANH, act.SIGMOID), (act.TANH, act.SIGMOID),
                                        (act.SOFTSIGN, act.TANH), (act.TANH, act.SIGMOID))[seed % 4]
    rdm = (None, _dropout(rng, 3, B, H), _dropout(rng, 1, B, H), None)[seed % 4]
    zx, h_prev = rng.normal(size=(B, 3 * H)), rng.normal(size=(B, H))
    U = rng.normal(scale=0.5, size=(H, 3 * H))
    rb = rng.normal(scale=0.5, size=(3 * H,)) if reset_after else None
    dh = rng.normal(size=(B, H))
    acts = (activation, recurrent_activation)

    def forward():
        return ops.gru_step_forward(zx, h_prev, U, rb, rdm, reset_after, *acts)

    cache = forward()[1]

    def call(fn):
        dzx, dzh, dh_prev = fn(*copies(dh, cache, U, rdm, reset_after, *acts))
        return {**_split("dzx", dzx, "zrh"), **_split("dzh", dzh, "zrh"), "dh_prev": dh_prev}

    def numerical():
        arrays = {"dzx": zx, "dh_prev": h_prev}
        if reset_after and B == 1:
            arrays["dzh"] = rb       # zh = h_prev @ U + b_rec: d b_rec is dzh when B = 1
        g = fd(lambda: float(np.sum(forward()[0] * dh)), arrays)
        out = {**_split("dzx", g["dzx"], "zrh"), "dh_prev": g["dh_prev"]}
        if "dzh" in g:
            out.update(_split("dzh", g["dzh"][None], "zrh"))
        elif not reset_after:
            out.update(_split("dzh", g["dzx"], "zrh"))   # dzh is dzx when reset_after=False
        return out

    label = (f"B={B} H={H} {NAME[activation]}/{NAME[recurrent_activation]}"
             + ("" if rdm is None else f" recurrent dropout ({len(rdm)} mask(s))"))
    return Draw(label, call, numerical)


# --- 4. masks and dropout ---------------------------------------------------------------------

def _input_projection(seed):
    rng = _rng(seed, 7)
    T, B, I, G, H = (int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 4)),
                     (3, 4, 1, 4)[seed % 4], int(rng.integers(1, 3)))
    gates = (G, 1, G, 0)[seed % 4]
    dm = _dropout(rng, gates, B, I) if gates else None
    use_bias = seed != 2
    x, kernel = rng.normal(size=(T, B, I)), rng.normal(size=(I, G * H))
    bias = rng.normal(size=(G * H,)) if use_bias else None
    dzx = rng.normal(size=(T, B, G * H))

    def call(fn):
        dx, dkernel, dbias = fn(*copies(dzx, x, kernel, dm, use_bias))
        return {"dx": dx, "dkernel": dkernel, "dbias": dbias}

    def numerical():
        return fd(lambda: float(np.sum(common.input_projection(x, kernel, bias, dm) * dzx)),
                  {"dx": x, "dkernel": kernel, "dbias": bias})

    label = (f"T={T} B={B} I={I} gates={G} H={H}"
             + (f" dropout mask ({gates}, B, I)" if gates else " no dropout")
             + ("" if use_bias else " no bias"))
    return Draw(label, call, numerical)


def _recurrent_projection(seed):
    rng = _rng(seed, 8)
    B, H, G = int(rng.integers(1, 4)), int(rng.integers(1, 4)), (4, 3, 1, 4)[seed % 4]
    gates = (G, 1, G, 0)[seed % 4]
    dm = _dropout(rng, gates, B, H) if gates else None
    h, U, dz = rng.normal(size=(B, H)), rng.normal(size=(H, G * H)), rng.normal(size=(B, G * H))

    def call(fn):
        return {"dh": fn(*copies(dz, U, dm))}

    def numerical():
        return fd(lambda: float(np.sum(common.recurrent_projection(h, U, dm) * dz)), {"dh": h})

    label = f"B={B} H={H} gates={G}" + (f" dropout mask ({gates}, B, H)" if gates else
                                         " no dropout")
    return Draw(label, call, numerical)


# --- 5. attention -----------------------------------------------------------------------------

def _attention(seed):
    rng = _rng(seed, 9)
    B, Tq, Tv, D = (int(rng.integers(1, 3)), int(rng.integers(1, 4)), int(rng.integers(2, 4)),
                    int(rng.integers(1, 4)))
    Dv = D if seed % 2 == 0 else int(rng.integers(1, 4))
    key = seed % 2 == 1                       # a separate key (needed when Dv != D)
    use_scale = seed != 2
    dropout = 0.3 if seed >= 2 else 0.0       # the finite differences run without dropout
    causal = seed == 3
    if causal:
        Tq = Tv = 3                           # rows that see 1, 2 and 3 steps
    q, v = rng.normal(size=(B, Tq, D)), rng.normal(size=(B, Tv, Dv))
    k = rng.normal(size=(B, Tv, D)) if key else None
    value_mask = rng.random((B, Tv)) < 0.7
    value_mask[:, 0] = True                   # a fully masked row shifts by 1e9: not this one
    value_mask[:, :2] |= causal               # and every causal row keeps a step
    query_mask = rng.random((B, Tq)) < 0.8 if seed % 2 else None
    inputs = [q, v] + ([k] if key else [])
    layer = AdditiveAttention(use_scale=use_scale, dropout=dropout, dtype="float64", seed=seed)
    scores_used = seed % 2 == 0
    options = dict(mask=[query_mask, value_mask], use_causal_mask=causal,
                   return_attention_scores=scores_used)
    out = layer(inputs, training=dropout > 0, **options)
    outputs = list(out) if scores_used else [out]
    upstream = [rng.normal(size=o.shape) for o in outputs]
    tape, dropout_mask = layer._tape, layer.dropout_mask

    def call(fn):
        layer._tape, layer.dropout_mask = copies(tape, dropout_mask)
        layer._gradients = None
        grads = fn(layer, *copies(*upstream))
        names = ["d_query", "d_value"] + (["d_key"] if key else [])
        result = {n: g for n, g in zip(names, grads)}
        result["d_scale"] = layer._gradients[0] if use_scale and layer._gradients else None
        return result

    def numerical():
        twin = AdditiveAttention(use_scale=use_scale, dtype="float64")
        twin.build([x.shape for x in inputs])
        twin.set_weights(layer.get_weights())
        arrays = {"d_query": q, "d_value": v}
        if key:
            arrays["d_key"] = k
        if use_scale:
            arrays["d_scale"] = twin.scale

        def loss():
            result = twin(inputs, **options)
            return _weighted(list(result) if scores_used else [result], upstream)

        return fd(loss, arrays)

    label = (f"B={B} Tq={Tq} Tv={Tv} D={D} Dv={Dv}" + (" key" if key else "")
             + ("" if use_scale else " use_scale=False") + (" dropout" if dropout else "")
             + (" causal" if causal else "") + (" query mask" if query_mask is not None else "")
             + (" d_scores" if scores_used else ""))
    return Draw(label, call, None if dropout else numerical)


# --- 6. training ------------------------------------------------------------------------------

def _crossentropy(seed):
    rng = _rng(seed, 10)
    shape = ((3, 4), (2, 3, 5), (4, 3), (2, 2, 4))[seed % 4]
    from_logits = seed % 2 == 0
    y_true = rng.integers(0, shape[-1], size=shape[:-1]).astype(np.float64)
    if from_logits:
        y_pred = rng.normal(scale=2.0, size=shape)
    else:   # probabilities that need not sum to 1 (Keras renormalises them)
        y_pred = act.softmax(rng.normal(size=shape)) * rng.uniform(0.5, 1.5, size=shape[:-1] + (1,))
        if seed == 3:
            y_pred[0, 0, 0] = 0.0       # clipped to 1e-7: no gradient flows there
    dv = rng.normal(size=shape[:-1])

    def call(fn):
        values, vjp = fn(*copies(y_true, y_pred, from_logits))
        return {"values": values, "dy_pred": vjp(dv.copy())}

    def numerical():
        f = losses._sparse_categorical_crossentropy
        return fd(lambda: float(np.sum(f(y_true, y_pred, from_logits)[0] * dv)),
                  {"dy_pred": y_pred})

    label = f"y_pred {shape}" + (" logits" if from_logits else " probabilities") + \
        (" with a 0" if seed == 3 else "")
    return Draw(label, call, numerical if seed != 3 else None)


def _adam(seed):
    rng = _rng(seed, 11)
    amsgrad = seed % 2 == 1
    lr, beta_1, beta_2, epsilon = ((0.1, 0.9, 0.999, 1e-7), (0.05, 0.8, 0.99, 0.01),
                                   (0.1, 0.5, 0.9, 0.1), (0.01, 0.9, 0.999, 1e-7))[seed % 4]
    shapes = [(3,), (2, int(rng.integers(1, 4)))]
    init = [rng.normal(size=s) for s in shapes]
    steps = [[rng.normal(scale=0.1 * (1 + t), size=s) for s in shapes] for t in range(3)]

    def call(fn):
        opt = optimizers.Adam(lr, beta_1, beta_2, epsilon, amsgrad=amsgrad)
        opt._update_step = types.MethodType(fn, opt)
        variables = [w.copy() for w in init]
        trace = {"variable": [], "momentum": [], "velocity": [], "velocity_hat": []}
        for grads in steps:
            opt.apply([g.copy() for g in grads], variables)
            trace["variable"] += [w.ravel().copy() for w in variables]
            for slot in ("momentum", "velocity") + (("velocity_hat",) if amsgrad else ()):
                trace[slot] += [opt._slot(slot, i).ravel().copy() for i in range(len(shapes))]
        return {q: np.concatenate(t) if t else None for q, t in trace.items()}

    label = (f"3 steps, lr={lr} beta_1={beta_1} beta_2={beta_2} epsilon={epsilon}"
             + (" amsgrad" if amsgrad else ""))
    return Draw(label, call)


# --- 7. sampling ------------------------------------------------------------------------------

def _temperature(seed):
    rng = _rng(seed, 12)
    B, C = int(rng.integers(1, 4)), int(rng.integers(2, 6))
    temperature = (1.0, 0.5, 2.0, 0.7)[seed % 4]
    scores = rng.normal(scale=3.0, size=(B, C))
    masked = scores.copy()
    masked[:, rng.integers(0, C)] = -np.inf          # probability 0, as top-k leaves it
    masked[:, 0] = np.maximum(masked[:, 0], 0.0)     # each row keeps a finite score

    def call(fn):
        return {"probs": fn(scores.copy(), temperature),
                "probs_cold": fn(scores.copy() * 100, 1e-3),
                "probs_masked": fn(masked.copy(), temperature)}

    return Draw(f"B={B} C={C} temperature={temperature}", call)


def _top_p(seed):
    rng = _rng(seed, 13)
    B, C = int(rng.integers(1, 4)), int(rng.integers(3, 7))
    top_p = (0.5, 0.8, 0.3, 0.95)[seed % 4]
    probs = act.softmax(rng.normal(scale=1.5, size=(B, C)))
    ties = np.full((2, 4), 0.25)

    def call(fn):
        return {"kept": fn(probs.copy(), top_p), "kept_all": fn(probs.copy(), 1.0),
                "kept_tiny": fn(probs.copy(), 1e-3), "kept_ties": fn(ties.copy(), 0.5)}

    return Draw(f"B={B} C={C} top_p={top_p}", call)


# --- 8. data ----------------------------------------------------------------------------------

def _pad(seed):
    rng = _rng(seed, 14)
    n = int(rng.integers(2, 5))
    seqs = [list(rng.integers(1, 20, size=int(rng.integers(0, 7)))) for _ in range(n)]
    seqs[0] = seqs[0] or [7]
    longest = max(len(s) for s in seqs)
    maxlen = int(rng.integers(1, longest + 1))
    vectors = [rng.integers(1, 9, size=(int(rng.integers(0, 4)), 2)).tolist()
               for _ in range(n)]
    vectors[0] = vectors[0] or [[1, 2]]

    def call(fn):
        return {"default": fn(copies(seqs)[0], maxlen),
                "padding_post": fn(copies(seqs)[0], maxlen, padding="post"),
                "truncating_post": fn(copies(seqs)[0], maxlen, truncating="post"),
                "maxlen_none": fn(copies(seqs)[0]),
                "value_dtype": fn(copies(seqs)[0], maxlen + 1, dtype="float32", value=-1.5),
                "vectors": fn(copies(vectors)[0], 2, padding="post")}

    return Draw(f"{n} sequences of lengths {[len(s) for s in seqs]}, maxlen={maxlen}", call)


def _windows(seed):
    rng = _rng(seed, 15)
    n, F = int(rng.integers(8, 14)), int(rng.integers(2, 4))
    window, horizon, shift = int(rng.integers(2, 5)), int(rng.integers(1, 3)), \
        int(rng.integers(1, 4))
    series = rng.normal(size=n)
    table = rng.normal(size=(n, F))

    def call(fn):
        x, y = fn(series.copy(), window, horizon, shift)
        xf, yf = fn(table.copy(), window, horizon, shift)
        _, y_column = fn(table.copy(), window, horizon, shift, target_columns=F - 1)
        _, y_columns = fn(table.copy(), window, horizon, shift, target_columns=[0, F - 1])
        x_short, y_short = fn(series[:window + horizon - 1].copy(), window, horizon, shift)
        return {"X": x, "Y": y, "X_features": xf, "Y_features": yf, "Y_column": y_column,
                "Y_columns": y_columns, "X_short": x_short, "Y_short": y_short}

    return Draw(f"n={n} F={F} window_size={window} horizon={horizon} shift={shift}", call)


# --- the list ---------------------------------------------------------------------------------

EXERCISES = [
    Exercise(
        "simple_rnn_step_backward", "SimpleRNN", "easy",
        "backward through one SimpleRNN step: da and dh_prev",
        "scratchrnn.ops.simple_rnn:simple_rnn_step_backward",
        "Start here.  The forward step computes h = act(zx_t + h_prev @ recurrent_kernel) "
        "(with h_prev masked by the recurrent dropout mask when one is given).  Given dh, "
        "the gradient of the loss with respect to h, return da (the gradient of the "
        "pre-activation) and dh_prev.  act.backward(dy, y, code) gives dy * act'(a) from "
        "the output y = act(a).",
        _simple_rnn_step,
        {"da": "da = dh * act'(a), written from the output: act.backward(dh, cache.h, "
               "activation) (for tanh: dh * (1 - h**2)).  The derivative is taken at h, the "
               "step's output, not at h_prev.",
         "dh_prev": "h_prev enters through a = ... + h_prev @ U, so dh_prev = da @ U.T; with "
                    "recurrent dropout h_prev is multiplied by the mask first: multiply by it "
                    "again on the way back (recurrent_projection_backward does both)."},
        context=("SimpleRNNStepCache", "simple_rnn_step_forward")),
    Exercise(
        "simple_rnn_backward", "SimpleRNN", "medium",
        "backpropagation through time: the loop over the steps and the weight gradients",
        "scratchrnn.ops.simple_rnn:simple_rnn_backward",
        "Backpropagation through time for a whole sequence.  Walk the steps in reverse, "
        "adding the gradient of each step's output to the gradient arriving from the "
        "step after, call simple_rnn_step_backward, and gather every step's da; then "
        "turn them into dx, dkernel, drecurrent_kernel and dbias with one product each "
        "(input_projection_backward and recurrent_kernel_gradient do it).  Graded "
        "without masks (the masking exercise comes later), with and without bias and "
        "go_backwards.",
        lambda seed: _sequence(seed, "simple_rnn", masked=False),
        {"dx": "dx_t = da_t @ kernel.T for every step; with go_backwards the steps were "
               "processed reversed, so reverse them back (batch_major(dxs, go_backwards)).",
         "dh0": "the gradient reaching h0 is the dh_prev of the FIRST processed step, after "
                "the loop has run over all of them; at each step the gradient into the step "
                "is dh (from the step after) + d_outputs[:, s] (from the loss).",
         "dkernel": "dkernel = Σ_t x_tᵀ da_t, summed over all steps and samples (x from the "
                    "cache, time-major).",
         "drecurrent_kernel": "drecurrent_kernel = Σ_t h_{t-1}ᵀ da_t: the state ENTERING "
                              "each step (cache.h_prev), not its output.",
         "dbias": "dbias = Σ_t Σ_b da_t; None when the layer has no bias (cache.use_bias)."},
        context=("SimpleRNNCache", "simple_rnn_forward")),
    Exercise(
        "lstm_step_backward", "LSTM", "medium",
        "backward through one LSTM step: dz for the four gates, dh_prev, dc_prev",
        "scratchrnn.ops.lstm:lstm_step_backward",
        "Backward through one LSTM step, the equations of the module's docstring.  dh and "
        "dc arrive from the step after; return dz (the gradient of the four gates' "
        "pre-activations, columns i f c o), dh_prev and dc_prev.  The check names each "
        "gate's block of dz apart: dz_i, dz_f, dz_g (Keras's 'c' block), dz_o.",
        _lstm_step,
        {"dz_i": "di = dc_total * g, then through σ: act.backward(di, i, "
                 "recurrent_activation).  dc_total must already hold the path through h.",
         "dz_f": "df = dc_total * c_prev (the cell state ENTERING the step), then through σ.",
         "dz_g": "dg = dc_total * i, then through act (tanh), not σ: act.backward(dg, g, "
                 "activation).",
         "dz_o": "do = dh * act(c_t) (cache.act_c), then through σ: act.backward(do, o, "
                 "recurrent_activation).",
         "dh_prev": "dh_prev = dz @ recurrent_kernel.T with all four gate blocks (and the "
                    "recurrent dropout masks, one per gate when there are 4): "
                    "recurrent_projection_backward(dz, recurrent_kernel, "
                    "recurrent_dropout_mask).",
         "dc_prev": "dc_prev = dc_total * f, where dc_total = dc + dh * o * act'(c_t): c_t "
                    "reaches the loss twice, through the next step and through h_t = o * "
                    "act(c_t).  If dc_prev misses the path through h, add dh * o * (1 - "
                    "tanh(c)^2) (act.backward(dh * o, cache.act_c, activation))."},
        context=("LSTMStepCache", "lstm_step_forward")),
    Exercise(
        "gru_step_backward_reset_after", "GRU", "hard",
        "backward through one GRU step, reset_after=True (Keras's default, cuDNN's form)",
        "scratchrnn.ops.gru:gru_step_backward",
        "Backward through one GRU step in Keras's default form, reset_after=True: ĥ = "
        "act(zx_h + r * u) with u = h_prev @ U_h + b_rec_h.  Return dzx (gradient of the "
        "input projection, columns z r h), dzh (gradient of the recurrent projection zh, "
        "whose h block is du) and dh_prev.  Graded with reset_after=True only; the "
        "function must keep working for False (the next exercise).",
        lambda seed: _gru_step(seed, True),
        {"dzx_z": "h_t = z h_prev + (1 - z) ĥ, so dz = dh * (h_prev - ĥ), then through σ.",
         "dzx_r": "ĥ = act(zx_h + r * u): dr = da_h * u (u = cache.u), then through σ.",
         "dzx_h": "dĥ = dh * (1 - z), then da_h = dĥ * act'(ĥ) = act.backward(dĥ, ĥ, "
                  "activation).",
         "dzh_z": "zx and zh are added before σ in the z and r gates: dzh_z = dzx_z.",
         "dzh_r": "zx and zh are added before σ in the z and r gates: dzh_r = dzx_r.",
         "dzh_h": "with reset_after=True the candidate's recurrent block is u, multiplied by r "
                  "after the product: du = da_h * r (not da_h).",
         "dh_prev": "three paths: dh * z directly, du @ U_h.T through the candidate, and "
                    "[da_z, da_r] @ U[:, :2H].T through the gates, each with its recurrent "
                    "dropout mask when there is one (split_recurrent_mask)."},
        context=("GRUStepCache", "split_recurrent_mask", "gru_step_forward")),
    Exercise(
        "gru_step_backward_reset_before", "GRU", "hard",
        "the same GRU step backward, reset_after=False (the paper's form)",
        "scratchrnn.ops.gru:gru_step_backward",
        "The same function, now in the paper's form, reset_after=False: the reset gate "
        "multiplies h_prev BEFORE the product, ĥ = act(zx_h + (r * h_prev) @ U_h), and "
        "cache.u holds r * h_prev.  Return dzx, dzh (here the same array as dzx) and "
        "dh_prev.  Graded with reset_after=False only.",
        lambda seed: _gru_step(seed, False),
        {"dzx_z": "h_t = z h_prev + (1 - z) ĥ, so dz = dh * (h_prev - ĥ), then through σ.",
         "dzx_r": "u = r * h_in with du = da_h @ U_h.T: dr = du * h_in (h_prev times its "
                  "dropout mask when there is one), then through σ.",
         "dzx_h": "dĥ = dh * (1 - z), then da_h = act.backward(dĥ, ĥ, activation).",
         "dzh_z": "with reset_after=False dzh is dzx itself (each block enters the same sum "
                  "as zx's).",
         "dzh_r": "with reset_after=False dzh is dzx itself.",
         "dzh_h": "with reset_after=False dzh is dzx itself: the h block is da_h, the "
                  "gradient of what multiplies U_h's output.",
         "dh_prev": "dh * z, plus du * r through u = r * h_in (times the candidate's dropout "
                    "mask), plus [da_z, da_r] @ U[:, :2H].T through the gates."},
        context=("GRUStepCache", "split_recurrent_mask", "gru_step_forward")),
    Exercise(
        "lstm_backward_masked", "masks and dropout", "hard",
        "masking in the backward loop: BPTT of an LSTM with a mask, Keras's CPU path",
        "scratchrnn.ops.lstm:lstm_backward",
        "Backpropagation through time for an LSTM, now with a mask (Keras's CPU path): at "
        "a masked step a sample keeps h and c, and its output repeats the previous output "
        "(or is zero with zero_output_for_mask).  Masked steps must pass dh and dc straight "
        "through, and the gradient of a repeated output must reach the step that produced "
        "it.  lstm_step_backward is given; keep(m, new, old) and step_mask(mask, s) help.",
        lambda seed: _sequence(seed, "lstm", masked=True),
        {"dx": "a masked step's input gets no gradient: feed the step backward zeros there "
               "(keep(m, dh + d_out, 0), keep(m, dc, 0)).",
         "dh0": "at a masked step h is carried over: dh = keep(m, dh_prev, dh) passes it "
                "through unchanged; and a masked output repeats the previous output, so its "
                "gradient is carried back to the last valid step (d_carry), unless "
                "zero_output_for_mask.",
         "dc0": "at a masked step c is carried over too: dc = keep(m, dc_prev, dc).",
         "dkernel": "masked steps must contribute nothing: their dz is zero when the step "
                    "backward is given zero dh and dc there.",
         "drecurrent_kernel": "masked steps must contribute nothing; the gradient of a repeated "
                              "output (d_carry) belongs to the step that produced it.",
         "dbias": "masked steps must contribute nothing; None without bias."},
        context=("LSTMCache", "lstm_forward")),
    Exercise(
        "recurrent_projection_backward", "masks and dropout", "easy",
        "dropout masks in the backward: the recurrent projection, one mask or one per gate",
        "scratchrnn.ops.common:recurrent_projection_backward",
        "The recurrent projection multiplies h by a recurrent dropout mask before each gate's "
        "product: zh_g = (h * m_g) @ U_g, with one mask for all gates (shape (1, B, H)) or one "
        "per gate ((G, B, H)).  Return dh, the gradient with respect to h.",
        _recurrent_projection,
        {"dh": "dh = Σ_g (dz_g @ U_g.T) * m_g: each gate's block of dz goes back through its "
               "own columns of U and is multiplied by ITS mask; one shared mask multiplies "
               "the whole dz @ U.T once.  No mask: dz @ U.T."},
        context=("gate_slices", "recurrent_projection")),
    Exercise(
        "input_projection_backward", "masks and dropout", "medium",
        "dropout masks in the backward: the input projection and its weight gradients",
        "scratchrnn.ops.common:input_projection_backward",
        "The input projection of all steps at once, zx[t] = (x[t] * m_g) @ kernel_g + bias_g, "
        "with a dropout mask per gate or one for all.  Given dzx (T, B, G·H), return dx, "
        "dkernel and dbias (None without bias), each as one product over T·B rows.",
        _input_projection,
        {"dx": "dx = Σ_g (dzx_g @ kernel_g.T) * m_g: back through each gate's columns, then "
               "times that gate's mask (x was multiplied by it on the way in).",
         "dkernel": "dkernel_g = (x * m_g)ᵀ dzx_g over all T·B rows: the DROPPED input, as the "
                    "forward used it.",
         "dbias": "dbias = dzx summed over time and batch (the mask does not touch the bias); "
                  "None when use_bias is False."},
        context=("gate_slices", "input_projection")),
    Exercise(
        "additive_attention_backward", "attention", "hard",
        "Keras's AdditiveAttention backward: softmax Jacobian, tanh, scale",
        "scratchrnn.layers.attention:AdditiveAttention.backward",
        "The backward of AdditiveAttention (a method: self is the layer, its tape holds what "
        "the forward kept: q, v, k, key_given, t, a, w, query_mask, out_shape).  Return "
        "[d_query, d_value] (+ [d_key] when a key was given) and set self._gradients = "
        "[d_scale] (or [] without use_scale).  Graded with masks, a causal mask, dropout and "
        "a gradient of the returned attention scores.",
        _attention,
        {"d_query": "dq = Σ_j du where du = ds * scale * (1 - t²) and ds is the softmax "
                    "Jacobian applied to da: a * (da - Σ_j da * a).  Zero the rows of masked "
                    "query steps in d_out first (the forward zeroed those outputs).",
         "d_value": "out = w @ v, so dv = wᵀ @ dout (w: the weights after dropout); when no key "
                    "was given the value is also the key: add dk (Σ_i du).",
         "d_key": "dk = Σ_i du (sum over the query axis).",
         "d_scale": "d_scale = Σ_{b,i,j} ds * t over every axis but the feature axis; set it as "
                    "self._gradients = [d_scale].  With dropout, da = dw * dropout_mask before "
                    "the softmax Jacobian, and a gradient of the returned scores adds to dw."},
        context=("_softmax_backward",)),
    Exercise(
        "sparse_crossentropy", "training", "medium",
        "softmax + crossentropy's gradient: sparse labels, from logits or probabilities",
        "scratchrnn.losses:_sparse_categorical_crossentropy",
        "Sparse categorical crossentropy as Keras computes it: per-sample values and a vjp "
        "function taking dv (the gradient of the values) to the gradient of y_pred.  From "
        "logits x: v = logsumexp(x) - x_y and ∂v/∂x = softmax(x) - onehot(y).  From "
        "probabilities p: the logits are log clip(p, ε, 1 - ε).",
        _crossentropy,
        {"values": "v = logsumexp(ℓ) - ℓ_y with ℓ the logits (or log clip(p, 1e-7, 1 - 1e-7)); "
                   "compute log-softmax stably: subtract the row's max before exp.",
         "dy_pred": "from logits: dv[..., None] * (softmax(x) - onehot(y)).  From "
                    "probabilities the chain rule goes on through ℓ = log q: divide by q, and "
                    "give 0 where p was clipped (outside [1e-7, 1 - 1e-7]).  Note p need not "
                    "sum to 1."},
        context=("_class_indices", "_log_softmax")),
    Exercise(
        "adam_update", "training", "medium",
        "the Adam update: moments, bias correction folded into alpha, epsilon hat, AMSGrad",
        "scratchrnn.optimizers:Adam._update_step",
        "One Adam step for one variable, in place, as Keras 3 does it (Adam's docstring has "
        "the equations).  self._slot('momentum', index) and self._slot('velocity', index) "
        "(and 'velocity_hat' for amsgrad) are the slots, updated in place too; "
        "self._iterations counts the steps already taken.  Graded over 3 steps on two "
        "variables, with large epsilons so that where epsilon goes shows.",
        _adam,
        {"momentum": "m <- m + (g - m) * (1 - beta_1), in place (m += ...): the slot array "
                     "must change, not a new array be bound to a local name.",
         "velocity": "v <- v + (g**2 - v) * (1 - beta_2), in place; use `squared` instead of "
                     "g**2 when it is given.",
         "velocity_hat": "amsgrad: v_hat <- max(v_hat, v) in place (np.maximum(v_hat, v, "
                         "out=v_hat)), then v_hat replaces v in the update.",
         "variable": "alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t) with t = iterations + "
                     "1; w -= m * alpha / (sqrt(v) + epsilon): epsilon is added to sqrt(v), "
                     "not to sqrt(v_hat) of the bias-corrected form."}),
    Exercise(
        "temperature", "sampling", "easy",
        "softmax with a temperature, without overflow",
        "scratchrnn.sampling:_tempered",
        "softmax(scores / T) over the last axis: the distribution temperature sampling "
        "draws from.  It must not overflow for tiny T or large scores, and a -inf score "
        "gets probability exactly 0.",
        _temperature,
        {"probs": "p = exp(s / T) / Σ exp(s / T) over the LAST axis, keepdims=True so that "
                  "each row is divided by its own sum.",
         "probs_cold": "subtract the row's max before dividing by T and exponentiating: "
                       "exp((s - max s) / T) has exponents <= 0 and never overflows.",
         "probs_masked": "a -inf score must give exactly 0 (exp(-inf) = 0); the max must be "
                         "that of the row, and a row keeps at least one finite score."},
        n_draws=4),
    Exercise(
        "top_p", "sampling", "medium",
        "top-p (nucleus) filtering: keep the smallest set of likely tokens reaching top_p",
        "scratchrnn.sampling:_keep_top_p",
        "Nucleus sampling's filter: per row, keep the most probable entries until their total "
        "reaches top_p (an entry stays when the probability of the entries ranked before "
        "it is still below top_p, so the most probable always stays), zero the others and "
        "renormalise.  Ties are ranked by index (a stable sort).",
        _top_p,
        {"kept": "sort each row descending (np.argsort(-probs, kind='stable')), compute the "
                 "mass BEFORE each entry (cumsum - ranked), keep where it is < top_p, scatter "
                 "back to the original positions, renormalise.",
         "kept_all": "top_p = 1 keeps every entry with a positive probability: compare the mass "
                     "before an entry (< top_p), not the mass including it (<= top_p).",
         "kept_tiny": "the most probable entry always stays (the mass before it is 0 < top_p).",
         "kept_ties": "ties are ranked by index, lower first: a stable sort of -probs."}),
    Exercise(
        "pad_sequences", "data", "medium",
        "keras.utils.pad_sequences: pre/post padding and truncating, maxlen, dtype, value",
        "scratchrnn.text:pad_sequences",
        "Keras's pad_sequences: a (len(sequences), maxlen) + sample_shape array of dtype, "
        "filled with value, each sequence cut to maxlen items (truncating='pre' keeps the "
        "last ones) and written at the end of its row (padding='pre') or the start "
        "('post').  Graded on valid input; the argument checks are the library's extra.",
        _pad,
        {"default": "the defaults are padding='pre' and truncating='pre': keep the LAST maxlen "
                    "items and write them at the END of the row.",
         "padding_post": "padding='post': the kept items go at the start of the row, value "
                         "after them.",
         "truncating_post": "truncating='post' keeps the FIRST maxlen items.",
         "maxlen_none": "maxlen=None: the longest sequence's length.",
         "value_dtype": "np.full(shape, value, dtype=dtype): the array has the dtype asked for "
                        "and the padding is `value`.",
         "vectors": "items may be vectors: the array is (n, maxlen) + sample_shape, the sample "
                    "shape taken from the first non-empty sequence."}),
    Exercise(
        "windows", "data", "easy",
        "sliding windows of a time series: inputs and the horizon that follows",
        "scratchrnn.timeseries:windows",
        "Cut a series (n,) or (n, F) into windows of window_size steps followed by the "
        "horizon steps to predict, one starting every shift steps (only full windows): "
        "X (N, window_size, ...) and Y (N, horizon, ...), optionally only some target "
        "columns.  Graded on valid input.",
        _windows,
        {"X": "window k starts at step k * shift; N = (n - window_size - horizon) // shift + 1 "
              "full windows (window_count).  steps = arange(N)[:, None] * shift + "
              "arange(window_size + horizon) indexes all of them at once.",
         "Y": "the targets are the horizon steps right after each input window: "
              "framed[:, window_size:], shape (N, horizon) even when horizon is 1.",
         "X_features": "a series (n, F) gives X (N, window_size, F): index time only.",
         "Y_features": "a series (n, F) gives Y (N, horizon, F) when target_columns is None.",
         "Y_column": "an integer target column gives Y (N, horizon): y[..., column].",
         "Y_columns": "a list of columns gives Y (N, horizon, len(list)).",
         "X_short": "a series shorter than window_size + horizon has no full window: X is an "
                    "empty (0, window_size) array, not an error.",
         "Y_short": "a series shorter than window_size + horizon gives an empty (0, horizon) "
                    "Y."}),
]

BY_NAME = {e.name: e for e in EXERCISES}
