"""The parity cases: fixed named ones, and a hypothesis strategy for random ones.

Named cases cover every option of every cell, each in float64 (proves the math) and
float32 (proves the product): the defaults; ``return_sequences``; ``return_state``;
``go_backwards`` with and without masks; right/left-padded and holed masks; initial
states; ``use_bias=False``; activations relu / linear / hard_sigmoid / sigmoid for
``activation`` and ``recurrent_activation``; GRU ``reset_after`` both ways; LSTM
``unit_forget_bias=False``; ``Bidirectional`` in each merge mode (``None`` included) with
``return_state``, masks and initial states; dropout and recurrent dropout at training time
(exact, with scratchrnn's masks injected into Keras), at inference, and their structure;
stateful layers (Bidirectional too); ``None`` as the gradient of the returned states.
Shapes stay small (B <= 4, T <= 7, I <= 5, units <= 6) so that the whole suite runs in
well under a minute on two cores with Keras eager.

Random configurations draw the recurrent activation among the bounded ones (sigmoid,
hard_sigmoid, tanh): with an unbounded gate (linear, relu) the state update is quadratic
in the state (``z * h`` with ``z`` linear in ``h``), and random draws overflow float32
within seven steps (GRU, relu activation, linear gates: inf on both sides). The named
cases cover linear and relu gates on fixed draws.

A case's name reads ``<layer>-<what>-<f32|f64>[-<backend>]``, e.g. ``gru-mask-back-f32``.
"""

from __future__ import annotations

import zlib

from hypothesis import strategies as st

from .harness import LAYERS, MASK_KINDS, MERGE_MODES, Case

ACTIVATIONS = ("relu", None, "hard_sigmoid", "sigmoid")
RECURRENT_ACTIVATIONS = ("hard_sigmoid", None, "relu", "tanh")
BOUNDED_GATES = ("sigmoid", "hard_sigmoid", "tanh")
DTYPES = ("float64", "float32")
_DTYPE_SUFFIX = {"float64": "f64", "float32": "f32"}
_SEQ = {"return_sequences": True}
_STATE = {"return_state": True}
# Arguments left out of a random case when they have Keras's default (shorter options).
_KERAS_DEFAULTS = {
    "activation": "tanh",
    "recurrent_activation": "sigmoid",
    "use_bias": True,
    "return_sequences": False,
    "return_state": False,
    "go_backwards": False,
    "unit_forget_bias": True,
    "reset_after": True,
    "stateful": False,
}


def _spec(what: str, kwargs: dict | None = None, **fields) -> tuple[str, dict, dict]:
    return what, dict(kwargs or {}), fields


def _common_specs() -> list[tuple[str, dict, dict]]:
    """Options every cell has, as (what, layer kwargs, other Case fields)."""
    return [
        _spec("defaults"),
        _spec("seq", _SEQ),
        _spec("state", _STATE),
        _spec("seq-state-units6", {**_SEQ, **_STATE, "units": 6}, shape=(4, 7, 5)),
        _spec("back-seq", {**_SEQ, "go_backwards": True}),
        _spec("back-state", {**_STATE, "go_backwards": True}),
        _spec("mask-seq", _SEQ, mask="padded", shape=(4, 6, 3)),
        _spec("mask-state", _STATE, mask="padded", shape=(4, 6, 3)),
        _spec("mask-back-seq", {**_SEQ, "go_backwards": True}, mask="padded", shape=(4, 6, 3)),
        _spec("mask-back-state", {**_STATE, "go_backwards": True}, mask="padded", shape=(4, 6, 3)),
        _spec("holes-seq-state", {**_SEQ, **_STATE}, mask="holes", shape=(4, 7, 3)),
        _spec("init", _SEQ, initial_state=True),
        _spec(
            "init-mask-back-state",
            {**_STATE, "go_backwards": True},
            initial_state=True,
            mask="padded",
        ),
        _spec("nobias-seq", {**_SEQ, "use_bias": False}),
        _spec("units1-T1", {**_SEQ, **_STATE, "units": 1}, shape=(2, 1, 1)),
        *[_spec(f"act-{a or 'linear'}", {**_SEQ, "activation": a}) for a in ACTIVATIONS],
        _spec("dropout-inference", {**_SEQ, "dropout": 0.4, "recurrent_dropout": 0.3}),
        _spec("dropout-train", {**_SEQ, **_STATE, "dropout": 0.4}, training=True, mask="padded"),
        _spec("rdropout-train", {**_SEQ, "recurrent_dropout": 0.3}, training=True),
        _spec(
            "both-dropout-train",
            {**_STATE, "dropout": 0.4, "recurrent_dropout": 0.3},
            training=True,
            initial_state=True,
        ),
        _spec("dropout-structure", {"dropout": 0.3}, check="dropout_structure"),
        _spec(
            "both-dropout-structure",
            {"dropout": 0.3, "recurrent_dropout": 0.2},
            check="dropout_structure",
        ),
        _spec("stateful", {**_SEQ, "stateful": True}, check="stateful"),
        _spec("stateful-mask-state", {**_STATE, "stateful": True}, check="stateful", mask="padded"),
        # Not with return_state: Keras's Bidirectional.compute_mask then multiplies a
        # generator by 2 (TypeError, keras 3.15) when the layer is stateful.
        _spec(
            "bidi-stateful-none",
            {**_SEQ, "stateful": True},
            check="stateful",
            bidirectional=True,
            merge_mode=None,
        ),
        _spec(
            "bidi-stateful-mask",
            {"stateful": True},
            check="stateful",
            bidirectional=True,
            mask="padded",
        ),
        _spec("state-dstate-none", {**_SEQ, **_STATE}, none_state_grads=True, initial_state=True),
        _spec("bidi-state-dstate-none", _STATE, bidirectional=True, none_state_grads=True),
        *[
            _spec(f"bidi-{m or 'none'}", _SEQ, bidirectional=True, merge_mode=m)
            for m in MERGE_MODES
        ],
        _spec("bidi-concat-state", _STATE, bidirectional=True),
        _spec("bidi-none-seq-state", {**_SEQ, **_STATE}, bidirectional=True, merge_mode=None),
        _spec("bidi-mask-seq", _SEQ, bidirectional=True, mask="padded", shape=(4, 6, 3)),
        _spec("bidi-mul-mask-state", _STATE, bidirectional=True, merge_mode="mul", mask="padded"),
        _spec(
            "bidi-init-mask-seq-state",
            {**_SEQ, **_STATE},
            bidirectional=True,
            merge_mode="sum",
            initial_state=True,
            mask="holes",
        ),
        _spec(
            "bidi-dropout-train",
            {**_SEQ, "dropout": 0.4, "recurrent_dropout": 0.3},
            bidirectional=True,
            training=True,
            mask="padded",
        ),
    ]


def _gated_specs() -> list[tuple[str, dict, dict]]:
    """Options of LSTM and GRU only: the recurrent activation."""
    return [
        _spec(f"ract-{a or 'linear'}", {**_SEQ, "recurrent_activation": a})
        for a in RECURRENT_ACTIVATIONS
    ]


def _layer_specs(layer: str) -> list[tuple[str, dict, dict]]:
    specs = _common_specs()
    if layer != "SimpleRNN":
        specs += _gated_specs()
    if layer == "LSTM":
        specs += [_spec("no-ufb-state", {**_STATE, "unit_forget_bias": False})]
    if layer == "GRU":
        specs += [
            _spec(
                "reset-before-seq-state", {**_SEQ, **_STATE, "reset_after": False}, shape=(4, 7, 5)
            ),
            _spec(
                "reset-before-mask-init",
                {**_SEQ, "reset_after": False},
                mask="padded",
                initial_state=True,
            ),
            _spec("reset-before-nobias", {**_SEQ, "reset_after": False, "use_bias": False}),
            _spec(
                "reset-before-bidi-none",
                {**_SEQ, "reset_after": False},
                bidirectional=True,
                merge_mode=None,
            ),
            _spec(
                "reset-before-dropout-train",
                {**_SEQ, "reset_after": False, "dropout": 0.4, "recurrent_dropout": 0.3},
                training=True,
            ),
        ]
    return specs


def named_cases(backend: str | None = None) -> list[Case]:
    """Every named case, each layer and spec in float64 then float32 (same data), for
    scratchrnn's ``backend`` (None: its default; a name is appended to the case names)."""
    suffix = f"-{backend}" if backend else ""
    cases = []
    for layer in LAYERS:
        for what, kwargs, fields in _layer_specs(layer):
            seed = zlib.crc32(f"{layer}-{what}".encode())  # stable when cases are added
            kwargs = {"units": 3, **kwargs}
            for dtype in DTYPES:
                name = f"{layer.lower()}-{what}-{_DTYPE_SUFFIX[dtype]}{suffix}"
                cases.append(Case(name, layer, kwargs, dtype, seed=seed, backend=backend, **fields))
    return cases


def select(
    cases: list[Case],
    dtype: str | None = None,
    layer: str | None = None,
    substring: str | None = None,
) -> list[Case]:
    """The cases matching every filter given (``layer`` is case-insensitive)."""
    return [
        c
        for c in cases
        if (dtype is None or c.dtype == dtype)
        and (layer is None or c.layer.lower() == layer.lower())
        and (substring is None or substring in c.name)
    ]


@st.composite
def random_cases(draw, dtypes: tuple[str, ...] = DTYPES, backends: tuple = (None,)) -> Case:
    """A random configuration: any cell, option, mask, wrapper and small shape; a quarter
    of them are stateful (four calls in a row, see :func:`parity.harness.check_stateful`);
    ``dtypes`` and scratchrnn ``backends`` (None: its default) to draw from."""
    layer = draw(st.sampled_from(LAYERS))
    bidirectional = draw(st.booleans())
    stateful = draw(st.integers(0, 3)) == 0
    kwargs = {
        "units": draw(st.integers(1, 6)),
        "activation": draw(st.sampled_from(("tanh",) + ACTIVATIONS)),
        "use_bias": draw(st.booleans()),
        "return_sequences": draw(st.booleans()),
        # Keras's stateful Bidirectional fails with return_state (see _common_specs).
        "return_state": not (stateful and bidirectional) and draw(st.booleans()),
        # Keras refuses go_backwards inside Bidirectional (both halves would go backwards).
        "go_backwards": not bidirectional and draw(st.booleans()),
        "stateful": stateful,
    }
    if layer != "SimpleRNN":
        kwargs["recurrent_activation"] = draw(st.sampled_from(BOUNDED_GATES))
    if layer == "LSTM":
        kwargs["unit_forget_bias"] = draw(st.booleans())
    if layer == "GRU":
        kwargs["reset_after"] = draw(st.booleans())
    kwargs = {k: v for k, v in kwargs.items() if _KERAS_DEFAULTS.get(k, object()) != v}
    training = not stateful and draw(st.booleans())
    if training:
        kwargs["dropout"] = draw(st.sampled_from((0.0, 0.25, 0.5)))
        kwargs["recurrent_dropout"] = draw(st.sampled_from((0.0, 0.25, 0.5)))
    seed = draw(st.integers(0, 2**31 - 1))
    return Case(
        name=f"random-{layer.lower()}-{seed}",
        layer=layer,
        kwargs=kwargs,
        dtype=draw(st.sampled_from(dtypes)),
        shape=(draw(st.integers(1, 4)), draw(st.integers(1, 7)), draw(st.integers(1, 5))),
        bidirectional=bidirectional,
        merge_mode=draw(st.sampled_from(MERGE_MODES)) if bidirectional else "concat",
        mask=draw(st.sampled_from(MASK_KINDS)),
        initial_state=not stateful and draw(st.booleans()),
        training=training,
        none_state_grads=kwargs.get("return_state", False) and draw(st.booleans()),
        check="stateful" if stateful else "parity",
        seed=seed,
        backend=draw(st.sampled_from(backends)),
    )
