"""One recurrent layer, four implementations: how each is built and timed.

Each backend turns ``(cell, config)`` into two callables over the same shapes,
``forward()`` and ``forward_backward()``, where the backward is the gradient of
``sum(out * G)`` for a fixed random ``G`` with respect to the inputs and every weight
(``return_sequences=True``, float32).  Forward is each library's natural forward:
scratchrnn's keeps the cache its backward needs; Keras's (``tf.function``) and
PyTorch's (``no_grad``) do not.  A backend that cannot run here says why, and its
rows read "skipped: <why>".
"""

import os

import numpy as np

CELLS = ("LSTM", "GRU", "SimpleRNN")


class Skip(Exception):
    """This backend cannot run here; the message says why."""


def _inputs(config, seed=0):
    B, T, I, H = config
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(B, T, I)).astype(np.float32),
            rng.normal(size=(B, T, H)).astype(np.float32))


class Scratch:
    """scratchrnn's layers, with ``backend="numpy"`` or ``"numba"``."""

    def __init__(self, backend):
        self.name = backend
        self.backend = backend

    def configure(self, threads):
        from threadpoolctl import threadpool_info
        info = {"blas": [f"{p['internal_api']} {p.get('version')} {p.get('architecture')} "
                         f"threads={p['num_threads']} ({os.path.basename(p['filepath'])})"
                         for p in threadpool_info()]}
        if self.backend == "numba":
            # The numba backend runs its own threads and sets BLAS to one inside each call
            # (scratchrnn.kernels.common).
            import numba
            numba.set_num_threads(threads)
            info["numba_threads"] = numba.get_num_threads()
            info["numba_threading_layer"] = numba.config.THREADING_LAYER   # as asked
        return info

    def versions(self):
        import numba
        import scipy

        import scratchrnn
        return {"scratchrnn": scratchrnn.__version__, "numpy": np.__version__,
                "scipy": scipy.__version__, "numba": numba.__version__}

    def prepare(self, cell, config, threads):
        import scratchrnn as sr
        x, g = _inputs(config)
        layer = getattr(sr.layers, cell)(config[3], return_sequences=True, seed=0,
                                         backend=self.backend)

        def forward():
            return layer(x)

        def forward_backward():
            layer(x)
            return layer.backward(g)
        return forward, forward_backward


class KerasCPU:
    """tf.keras on the CPU: ``tf.function``-compiled forward and GradientTape backward."""

    name = "keras-cpu"

    def __init__(self, device="/CPU:0"):
        self.device = device

    def versions(self):
        import keras
        import tensorflow as tf
        return {"tensorflow": tf.__version__, "keras": keras.__version__}

    def configure(self, threads):
        from scratchrnn._tensorflow import import_tensorflow
        tf, _ = import_tensorflow()
        try:  # only possible before TensorFlow starts its thread pools
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:
            pass
        return {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                "inter_op": tf.config.threading.get_inter_op_parallelism_threads()}

    def prepare(self, cell, config, threads):
        import keras
        import tensorflow as tf
        x_np, g_np = _inputs(config)
        with tf.device(self.device):
            x, g = tf.constant(x_np), tf.constant(g_np)
            layer = getattr(keras.layers, cell)(config[3], return_sequences=True)
            layer.build(x.shape)

        @tf.function
        def forward_fn():
            with tf.device(self.device):
                return layer(x)

        @tf.function
        def forward_backward_fn():
            with tf.device(self.device):
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    loss = tf.reduce_sum(layer(x) * g)
                return tape.gradient(loss, [x] + layer.trainable_weights)

        # .numpy() waits for the result (it matters on a GPU).
        return (lambda: forward_fn().numpy(),
                lambda: [t.numpy() for t in forward_backward_fn()])


class KerasCuDNN(KerasCPU):
    """Keras's cuDNN path: LSTM and GRU on a GPU that TensorFlow sees."""

    name = "cudnn"

    def __init__(self):
        super().__init__("/GPU:0")

    def configure(self, threads):
        info = super().configure(threads)
        import tensorflow as tf
        if not tf.config.list_physical_devices("GPU"):
            raise Skip("no GPU")
        return info

    def prepare(self, cell, config, threads):
        if cell == "SimpleRNN":
            raise Skip("cuDNN has no SimpleRNN in Keras")
        return super().prepare(cell, config, threads)


class Torch:
    """PyTorch's ``nn.LSTM``/``nn.GRU``/``nn.RNN`` (oneDNN on the CPU, cuDNN on a GPU)."""

    def __init__(self, device):
        self.device = device
        self.name = "torch-cpu" if device == "cpu" else "cudnn"

    def versions(self):
        import torch
        return {"torch": torch.__version__}

    def configure(self, threads):
        try:
            import torch
        except ImportError:
            raise Skip("torch not installed (pip install torch==2.13.0)") from None
        if self.device == "cuda" and not torch.cuda.is_available():
            raise Skip("no GPU")
        torch.set_num_threads(threads)
        return {"torch_threads": torch.get_num_threads()}

    def prepare(self, cell, config, threads):
        import torch
        x_np, g_np = _inputs(config)
        B, T, I, H = config
        module = {"LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU, "SimpleRNN": torch.nn.RNN}[cell]
        rnn = module(I, H, batch_first=True).to(self.device)
        x = torch.tensor(x_np, device=self.device, requires_grad=True)
        g = torch.tensor(g_np, device=self.device)
        sync = torch.cuda.synchronize if self.device == "cuda" else (lambda: None)

        def forward():
            with torch.no_grad():
                out = rnn(x)[0]
            sync()
            return out

        def forward_backward():
            x.grad = None
            rnn.zero_grad(set_to_none=True)
            (rnn(x)[0] * g).sum().backward()
            sync()
            return x.grad
        return forward, forward_backward


def all_backends():
    """Every backend of the matrix, in table order (cudnn: Keras's if TensorFlow sees a
    GPU, else PyTorch's, labelled as such)."""
    return [Scratch("numpy"), Scratch("numba"), KerasCPU(), Torch("cpu"), CuDNN()]


class CuDNN:
    """Keras's cuDNN path when TensorFlow sees a GPU, else PyTorch's cuDNN LSTM/GRU."""

    name = "cudnn"

    def __init__(self):
        self.impl = None

    def configure(self, threads):
        reasons = []
        for impl in (KerasCuDNN(), Torch("cuda")):
            try:
                info = impl.configure(threads)
            except (Skip, ImportError) as why:
                reasons.append(str(why))
                continue
            self.impl = impl
            return {**info, "cudnn_via": type(impl).__name__}
        raise Skip(reasons[0] if all(r == reasons[0] for r in reasons) else "; ".join(reasons))

    def versions(self):
        return self.impl.versions() if self.impl else {}

    def prepare(self, cell, config, threads):
        return self.impl.prepare(cell, config, threads)
