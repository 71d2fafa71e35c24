"""Import TensorFlow and Keras without their start-up chatter (parity and benchmarks)."""

import contextlib
import os


@contextlib.contextmanager
def stderr_silenced():
    """Send file descriptor 2 to /dev/null: TensorFlow's C++ start-up lines are written
    there before its logging is initialised, so TF_CPP_MIN_LOG_LEVEL cannot stop them."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow():
    """``(tensorflow, keras)``, imported quietly, their Python loggers at ERROR."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with stderr_silenced():
        import keras
        import tensorflow
    tensorflow.get_logger().setLevel("ERROR")
    return tensorflow, keras
