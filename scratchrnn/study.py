"""Two study tools: the vanishing-gradient picture, and one LSTM/GRU step printed gate by gate.

``scratchrnn gradients`` measures what no framework hands a learner: how large the
gradient of a loss at the end of a sequence still is at each earlier state.  For a loss
of the last state only, ``loss = Σ h_T ⊙ w``, backpropagation through time computes::

    ∂loss/∂h_T = w
    ∂loss/∂h_t = (∂loss/∂h_{t+1}) · ∂h_{t+1}/∂h_t        t = T-1, ..., 0

which is exactly the ``dh_prev`` that each cell's hand-written ``*_step_backward``
returns, step after step.  ``h_t`` is the state *entering* step t (``h_0`` the initial
state), so ``∂loss/∂h_t`` is ``T - t`` Jacobians away from the loss.  For the SimpleRNN
each Jacobian is ``diag(1 - h_{t+1}²) Uᵀ``, so the norm shrinks (or grows) geometrically
with the spectral radius of ``U``; the LSTM adds the cell path ``c_t = f ⊙ c_{t-1} + …``,
along which the gradient is only multiplied by the forget gate.  For the LSTM the
gradient reported is ``∂loss/∂h_t`` with ``c_t`` held (the partial derivative that BPTT
carries in ``dh``; ``dc`` travels beside it).

The initialisation, the same for the three cells (``I`` input features, ``H`` units, one
block of ``H`` columns per gate)::

    kernel            (I, gH)   N(0, scale² / I)
    recurrent_kernel  (H, gH)   N(0, scale² / H)     eigenvalues of a gate's block fill
                                                     the disc of radius ``scale``
    bias              zeros, but for the LSTM's forget block: 1 (Keras's unit_forget_bias)

with ``I = H = units``, one sequence of ``x ~ N(0, 1)`` and ``w ~ N(0, 1/H)``.

``scratchrnn trace`` runs one LSTM or GRU over a tiny input with small, round weights and
prints every intermediate value, each beside its equation.  The values are those of the
library's own step functions (:func:`scratchrnn.ops.lstm.lstm_step_forward`,
:func:`scratchrnn.ops.gru.gru_step_forward` and their caches), and the last line checks
the final state against ``layers.LSTM``/``layers.GRU`` given the same weights.
"""

import argparse
import sys
from typing import NamedTuple

import numpy as np

from . import _checks, layers
from .ops import activations as act
from .ops import common, gru, lstm, simple_rnn

CELLS = ("simple_rnn", "lstm", "gru")
LAYER_NAMES = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
N_GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}


def _cell(cell, choices=CELLS):
    if cell not in choices:
        raise ValueError(f"`cell` must be one of {choices}, got {cell!r}")
    return cell


def _positive_float(value, argument):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
            or not np.isfinite(value) or value <= 0:
        raise ValueError(f"`{argument}` must be a positive finite number, got {value!r}")
    return float(value)


# --- the gradient through time ----------------------------------------------------------

class GradientTask(NamedTuple):
    """One sequence, one cell's weights (in ``get_weights`` order) and the loss vector."""
    x: np.ndarray        # (1, T, I) the inputs
    weights: list        # [kernel, recurrent_kernel, bias]
    w: np.ndarray        # (1, H) loss = Σ h_T ⊙ w


def initial_weights(cell, features, units, scale, rng, dtype):
    """``[kernel, recurrent_kernel, bias]`` drawn as the module docstring states."""
    gh = N_GATES[cell] * units
    kernel = rng.normal(0.0, scale / np.sqrt(features), (features, gh))
    recurrent_kernel = rng.normal(0.0, scale / np.sqrt(units), (units, gh))
    bias = np.zeros((2, gh) if cell == "gru" else gh)     # GRU: reset_after, two bias rows
    if cell == "lstm":
        bias[units:2 * units] = 1.0                          # the forget block, as Keras sets it
    return [np.ascontiguousarray(a, dtype=dtype) for a in (kernel, recurrent_kernel, bias)]


def gradient_task(cell, steps=150, units=32, scale=1.0, seed=0, dtype="float64"):
    """The task of :func:`gradient_norms`.  ``x`` and ``w`` depend on the seed only, so the
    three cells see the same sequence and the same loss."""
    cell = _cell(cell)
    steps = _checks.positive_int(steps, "steps")
    units = _checks.positive_int(units, "units")
    scale = _positive_float(scale, "scale")
    dtype = _checks.dtype(dtype)
    seed = _checks.non_negative_int(seed, "seed")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, steps, units)).astype(dtype)
    w = (rng.standard_normal((1, units)) / np.sqrt(units)).astype(dtype)
    weights = initial_weights(cell, units, units, scale, np.random.default_rng([seed, 1]),
                              dtype)
    return GradientTask(x, weights, w)


def state_gradients(cell, task):
    """``∂loss/∂h_t`` for t = 0..T-1, shape (T, B, H): the ``dh`` that BPTT carries back
    from ``∂loss/∂h_T = w`` through each step's hand-written backward (``c_t`` held for
    the LSTM)."""
    cell = _cell(cell)
    kernel, recurrent_kernel, bias = task.weights
    x = task.x
    B, T = x.shape[:2]
    h0 = np.zeros((B, recurrent_kernel.shape[0]), x.dtype)
    tanh, sigmoid = act.TANH, act.SIGMOID
    if cell == "simple_rnn":
        _, cache = simple_rnn.simple_rnn_forward(x, h0, kernel, recurrent_kernel, bias)

        def back(dh, dc, step):
            _, dh = simple_rnn.simple_rnn_step_backward(dh, step, recurrent_kernel, None, tanh)
            return dh, dc
    elif cell == "lstm":
        _, cache = lstm.lstm_forward(x, h0, h0, kernel, recurrent_kernel, bias)

        def back(dh, dc, step):
            _, dh, dc = lstm.lstm_step_backward(dh, dc, step, recurrent_kernel, None, tanh,
                                                sigmoid)
            return dh, dc
    else:
        _, cache = gru.gru_forward(x, h0, kernel, recurrent_kernel, bias)

        def back(dh, dc, step):
            _, _, dh = gru.gru_step_backward(dh, step, recurrent_kernel, None, True, tanh,
                                             sigmoid)
            return dh, dc

    grads = np.empty((T, *h0.shape), x.dtype)
    dh, dc = np.broadcast_to(task.w, h0.shape).astype(x.dtype), np.zeros_like(h0)
    for t in reversed(range(T)):          # step t reads x_t and h_t, and makes h_{t+1}
        dh, dc = back(dh, dc, cache.step(t))
        grads[t] = dh
    return grads


def gradient_norms(cell, steps=150, units=32, scale=1.0, seed=0, dtype="float64"):
    """``||∂loss/∂h_t||`` for t = 0..T-1 (length ``steps``) on :func:`gradient_task`.

    cell: ``"simple_rnn"``, ``"lstm"`` or ``"gru"`` (reset_after, Keras's default).
    """
    grads = state_gradients(cell, gradient_task(cell, steps, units, scale, seed, dtype))
    return np.linalg.norm(grads.reshape(grads.shape[0], -1), axis=1)


def decay_rate(norms):
    """The least-squares slope of ``ln ||∂loss/∂h_t||`` against ``T - t``, the number of
    steps between ``h_t`` and the loss: about ``ln λ`` for a gradient that shrinks by a
    factor λ per step (negative: vanishing).  Norms that underflowed to 0 are left out;
    NaN when fewer than two remain."""
    norms = np.asarray(norms, dtype=np.float64)
    distance = norms.size - np.arange(norms.size)
    ok = np.isfinite(norms) & (norms > 0)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(distance[ok], np.log(norms[ok]), 1)[0])


def gradient_table(norms):
    """The lines of the table: ``norms`` maps a cell to its :func:`gradient_norms`."""
    T = len(next(iter(norms.values())))
    rows = sorted({t for t in (T - 1, T - 2, T - 5, T - 10, T - 25, T - 50, T - 100, 0)
                   if t >= 0}, reverse=True)
    head = f"{'t':>5} {'T-t':>5}" + "".join(f"{LAYER_NAMES[c]:>12}" for c in norms)
    lines = [head, "-" * len(head)]
    for t in rows:
        lines.append(f"{t:>5} {T - t:>5}" + "".join(f"{n[t]:>12.3e}" for n in norms.values()))
    lines.append("-" * len(head))
    slopes = [decay_rate(n) for n in norms.values()]
    lines.append(f"{'ln per step':>11}" + "".join(f"{s:>12.4f}" for s in slopes))
    lines.append(f"{'x per step':>11}" + "".join(f"{np.exp(s):>12.4f}" for s in slopes))
    return lines


def plot_gradient_norms(norms, path, title):
    """A log-scale plot of each cell's norms against ``T - t``, written to ``path``."""
    try:
        import matplotlib
    except ImportError as err:
        raise ImportError("the plot needs matplotlib: pip install matplotlib "
                          f"(or --out '' for the table alone) ({err})") from err
    matplotlib.use("Agg")    # files only: no display needed
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for cell, n in norms.items():
        distance = len(n) - np.arange(len(n))
        ax.semilogy(distance, n, label=f"{LAYER_NAMES[cell]} "
                                       f"(x{np.exp(decay_rate(n)):.3f} per step)")
    ax.set_xlabel("T - t: steps between h_t and the loss")
    ax.set_ylabel("||dloss / dh_t||")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _parsed(parser, argv, *checked):
    """Parse, then turn a ValueError/TypeError of our checks into argparse's error."""
    args = parser.parse_args(argv)
    for argument, check in checked:
        try:
            check(getattr(args, argument), f"--{argument.replace('_', '-')}")
        except (TypeError, ValueError) as err:
            parser.error(str(err))
    return args


def gradients_main(argv=None):
    """``scratchrnn gradients``: the table and the plot."""
    parser = argparse.ArgumentParser(
        prog="scratchrnn gradients",
        description="||dloss/dh_t|| through time for SimpleRNN, LSTM and GRU, computed by the "
                    "hand-written BPTT, loss = sum(h_T * w).  Weights N(0, scale^2/units), "
                    "biases 0 (LSTM forget bias 1).")
    parser.add_argument("--steps", type=int, default=150, help="sequence length T (150)")
    parser.add_argument("--units", type=int, default=32, help="units = input features (32)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="weight scale: N(0, scale^2/units) (1.0)")
    parser.add_argument("--seed", type=int, default=0, help="seed of inputs and weights (0)")
    parser.add_argument("--out", default="gradients.png",
                        help="the PNG to write (gradients.png); '' for none")
    parser.add_argument("--dtype", choices=_checks.DTYPES, default="float64")
    args = _parsed(parser, argv, ("steps", _checks.positive_int),
                   ("units", _checks.positive_int), ("scale", _positive_float),
                   ("seed", _checks.non_negative_int))

    norms = {cell: gradient_norms(cell, args.steps, args.units, args.scale, args.seed,
                                  args.dtype) for cell in CELLS}
    print(f"||dloss/dh_t||, loss = sum(h_T * w); T={args.steps}, units={args.units}, "
          f"scale={args.scale}, seed={args.seed}, {args.dtype}; LSTM: c_t held")
    print("\n".join(gradient_table(norms)))
    if args.out:
        title = (f"||dloss/dh_t||, T={args.steps}, units={args.units}, "
                 f"weights N(0, {args.scale:g}²/units)")
        try:
            plot_gradient_norms(norms, args.out, title)
        except ImportError as err:
            print(f"scratchrnn gradients: {err}", file=sys.stderr)
            return 1
        print(f"plot: {args.out}")
    return 0


# --- one step, every gate ---------------------------------------------------------------

def _vec(a, blocks=1):
    """``[ 0.1234, -0.5678 | ...]``: 4 decimals, ``|`` between the gates' column blocks."""
    parts = np.split(np.ravel(a), blocks)
    return "[" + " | ".join(", ".join(f"{v:7.4f}" for v in p) for p in parts) + "]"


def _line(name, equation, value, blocks=1):
    return f"  {name:<22} {equation:<27} = {_vec(value, blocks)}"


def _matrix(name, a, blocks):
    """A weight matrix (or bias) row by row, gate blocks separated."""
    rows = a.reshape(-1, a.shape[-1])
    first = f"  {name:<22} {str(a.shape):<27} = "
    return [(first if k == 0 else " " * len(first)) + _vec(row, blocks)
            for k, row in enumerate(rows)]


def trace_weights(cell, units, features, seed, reset_after=True):
    """Small round weights (two decimals, in [-0.5, 0.5]) and a bias in ``get_weights`` order."""
    rng = np.random.default_rng(seed)
    gh = N_GATES[cell] * units

    def draw(*shape):
        return np.round(rng.uniform(-0.5, 0.5, shape), 2)

    bias_shape = (2, gh) if (cell == "gru" and reset_after) else (gh,)
    return [draw(features, gh), draw(units, gh), draw(*bias_shape)]


def _lstm_trace(x, weights, H):
    kernel, recurrent_kernel, bias = weights
    zx = common.input_projection(x[0][:, None], kernel, bias, None)   # (T, 1, 4H), as the op
    h = c = np.zeros((1, H))
    lines = []
    for t in range(zx.shape[0]):
        z = zx[t] + common.recurrent_projection(h, recurrent_kernel, None)
        h_new, c_new, cache = lstm.lstm_step_forward(zx[t], h, c, recurrent_kernel, None,
                                                     act.TANH, act.SIGMOID)
        i, f, g, o = np.split(cache.gates, 4, axis=1)
        lines += [
            f"step {t + 1}",
            _line(f"x_{t + 1}", "input", x[0, t]),
            _line(f"h_{t}", "state entering", cache.h_prev),
            _line(f"c_{t}", "cell state entering", cache.c_prev),
            _line("z (i|f|c|o)", "x_t W + h_{t-1} U + b", z, 4),
            _line("i  input gate", "σ(z_i)", i),
            _line("f  forget gate", "σ(z_f)", f),
            _line("g  candidate (c block)", "tanh(z_c)", g),
            _line("o  output gate", "σ(z_o)", o),
            _line(f"c_{t + 1}", "f ⊙ c_{t-1} + i ⊙ g", c_new),
            _line(f"h_{t + 1}", "o ⊙ tanh(c_t)", h_new),
        ]
        h, c = h_new, c_new
    return lines, h


def _gru_trace(x, weights, H, reset_after):
    kernel, recurrent_kernel, bias = weights
    input_bias, recurrent_bias = (bias[0], bias[1]) if reset_after else (bias, None)
    b_in = "b_in" if reset_after else "b"
    zx = common.input_projection(x[0][:, None], kernel, input_bias, None)   # (T, 1, 3H)
    U_h = recurrent_kernel[:, 2 * H:]
    h = np.zeros((1, H))
    lines = []
    for t in range(zx.shape[0]):
        zh_zr = h @ recurrent_kernel[:, :2 * H]
        if recurrent_bias is not None:
            zh_zr = zh_zr + recurrent_bias[:2 * H]
        h_new, cache = gru.gru_step_forward(zx[t], h, recurrent_kernel, recurrent_bias, None,
                                            reset_after, act.TANH, act.SIGMOID)
        z, r, hh = np.split(cache.gates, 3, axis=1)
        if reset_after:
            candidate = [_line("u", "h_{t-1} U_h + b_rec_h", cache.u),
                         _line("a_h", "zx_h + r ⊙ u", zx[t][:, 2 * H:] + r * cache.u)]
        else:
            candidate = [_line("r ⊙ h_{t-1}", "reset before the product", cache.u),
                         _line("a_h", "zx_h + (r ⊙ h_{t-1}) U_h",
                               zx[t][:, 2 * H:] + cache.u @ U_h)]
        lines += [
            f"step {t + 1}",
            _line(f"x_{t + 1}", "input", x[0, t]),
            _line(f"h_{t}", "state entering", cache.h_prev),
            _line("zx (z|r|h)", f"x_t W + {b_in}", zx[t], 3),
            _line("zh (z|r)", "h_{t-1} U_zr" + (" + b_rec_zr" if reset_after else ""),
                  zh_zr, 2),
            _line("z  update gate", "σ(zx_z + zh_z)", z),
            _line("r  reset gate", "σ(zx_r + zh_r)", r),
            *candidate,
            _line("ĥ  candidate", "tanh(a_h)", hh),
            _line(f"h_{t + 1}", "z ⊙ h_{t-1} + (1 - z) ⊙ ĥ", h_new),
        ]
        h = h_new
    return lines, h


def trace(cell, units=2, features=3, steps=2, seed=0, reset_after=True):
    """The lines of a step-by-step trace of ``cell`` (``"lstm"`` or ``"gru"``), float64,
    batch of one, ending with a check against the layer given the same weights."""
    cell = _cell(cell, ("lstm", "gru"))
    units = _checks.positive_int(units, "units")
    features = _checks.positive_int(features, "features")
    steps = _checks.positive_int(steps, "steps")
    seed = _checks.non_negative_int(seed, "seed")
    reset_after = _checks.boolean(reset_after, "reset_after")
    weights = trace_weights(cell, units, features, seed, reset_after)
    x = np.round(np.random.default_rng([seed, 1]).uniform(-1, 1, (1, steps, features)), 1)

    if cell == "lstm":
        layer = layers.LSTM(units, dtype="float64", backend="numpy")
        header = (f"LSTM, units={units}, features={features}, steps={steps}, seed={seed}: "
                  "gates in Keras's order i f c o; σ = sigmoid")
        body, h = _lstm_trace(x, weights, units)
    else:
        layer = layers.GRU(units, reset_after=reset_after, dtype="float64", backend="numpy")
        header = (f"GRU (reset_after={reset_after}), units={units}, features={features}, "
                  f"steps={steps}, seed={seed}: gates in Keras's order z r h; σ = sigmoid")
        body, h = _gru_trace(x, weights, units, reset_after)

    two_rows = cell == "gru" and reset_after
    names = ("W  kernel", "U  recurrent_kernel", "b  bias: b_in; b_rec" if two_rows else "b  bias")
    lines = [header]
    for name, array in zip(names, weights):
        lines += _matrix(name, array, N_GATES[cell])
    lines += body
    layer.set_weights(weights)
    theirs = layer(x)
    verdict = "equal" if np.array_equal(h, theirs) else \
        f"DIFFERENT (max |difference| {np.max(np.abs(h - theirs)):.1e})"
    lines.append(f"check: layers.{type(layer).__name__} with these weights gives "
                 f"h_{steps} = {_vec(theirs)}: {verdict}")
    return lines


def trace_main(argv=None):
    """``scratchrnn trace``: print :func:`trace`."""
    parser = argparse.ArgumentParser(
        prog="scratchrnn trace",
        description="Run an LSTM or GRU over a tiny input with small round weights and print "
                    "every pre-activation, gate and state, each with its equation.")
    parser.add_argument("--cell", choices=("lstm", "gru"), default="lstm")
    parser.add_argument("--units", type=int, default=2, help="units H (2)")
    parser.add_argument("--features", type=int, default=3, help="input features (3)")
    parser.add_argument("--steps", type=int, default=2, help="timesteps (2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and inputs (0)")
    parser.add_argument("--reset-after", action=argparse.BooleanOptionalAction, default=True,
                        help="GRU: Keras's reset_after (default: on)")
    args = _parsed(parser, argv, ("units", _checks.positive_int),
                   ("features", _checks.positive_int), ("steps", _checks.positive_int),
                   ("seed", _checks.non_negative_int))
    print("\n".join(trace(args.cell, args.units, args.features, args.steps, args.seed,
                          args.reset_after)))
    return 0
