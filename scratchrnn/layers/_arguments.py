"""Constructor arguments the Keras way, shared by the layers of this package.

Keras refuses a size that is not an integer (``Dense(3.7)``, ``Embedding(input_dim=3.7)``,
``Conv1D(2, kernel_size=None)``) with a ``ValueError``; Python's convention, and
scratchrnn's checks elsewhere, say ``TypeError``.  :class:`IntegerArgumentError` is both,
so that a Keras user's ``except ValueError`` and a Python user's ``except TypeError`` each
catch it.
"""

from .. import _checks, initializers, regularizers
from ..ops import activations

IntegerArgumentError = _checks.IntegerArgumentError
positive_int = _checks.positive_int


def regularizer(value, argument):
    """A regulariser object (or None) from what a layer is given; see
    :func:`scratchrnn.regularizers.get`."""
    return regularizers.get(value, argument)


def no_activity_regularizer(value):
    """Keras's ``activity_regularizer`` penalises a layer's *output*, which would put a
    term into every backward pass; scratchrnn takes only None."""
    if value is not None:
        raise ValueError(f"`activity_regularizer` is not supported by scratchrnn (got "
                         f"{value!r}): only weight regularizers are (kernel_regularizer, "
                         f"bias_regularizer, ...); pass None")
    return None


def serialized(value):
    """A JSON-friendly form of an initialiser or regulariser argument for ``get_config``:
    a name stays a name, an object becomes ``{"class_name", "config"}``.  A callable of the
    user's own, which has no such form, is kept as it is (the config still rebuilds the
    layer in this process; saving it to a file needs a serialisable one)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, regularizers.Regularizer):
        try:
            return regularizers.serialize(value)
        except TypeError:
            return value
    try:
        return initializers.serialize(value)
    except TypeError:
        return value


def set_recurrent_arguments(layer, units, activation, use_bias, kernel_initializer,
                            recurrent_initializer, bias_initializer, dropout,
                            recurrent_dropout):
    """Check and set what a recurrent cell and a recurrent layer both take (Keras's names):
    the configuration as given (for ``get_config``) and, with a leading underscore, the
    activation and initialiser functions it names."""
    layer.units = positive_int(units, "units")
    layer.activation = activation
    layer._activation = activations.get(activation, "activation")
    layer.use_bias = _checks.boolean(use_bias, "use_bias")
    for name, value in (("kernel_initializer", kernel_initializer),
                        ("recurrent_initializer", recurrent_initializer),
                        ("bias_initializer", bias_initializer)):
        setattr(layer, name, value)
        setattr(layer, "_" + name, initializers.get(value, name))
    layer.dropout = _checks.rate(dropout, "dropout")
    layer.recurrent_dropout = _checks.rate(recurrent_dropout, "recurrent_dropout")
