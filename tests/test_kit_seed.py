"""Does kit.seed_everything make runs repeatable?"""
from __future__ import annotations

import random

import numpy as np
import pytest

from kit import seed_everything


def _draws():
    import keras

    layer = keras.layers.Dense(4)
    layer.build((None, 3))
    return random.random(), np.random.rand(), keras.ops.convert_to_numpy(layer.kernel)


def test_does_the_same_seed_give_the_same_python_numpy_and_keras_draws():
    seed_everything(7)
    a = _draws()
    seed_everything(7)
    b = _draws()
    assert a[0] == b[0] and a[1] == b[1]
    np.testing.assert_array_equal(a[2], b[2])
    seed_everything(8)
    c = _draws()
    assert a[0] != c[0] and not np.array_equal(a[2], c[2])


def test_does_seed_everything_enable_op_determinism():
    from tensorflow.python.framework import config  # the public API has a setter only

    seed_everything(1)
    assert config.is_op_determinism_enabled()


@pytest.mark.parametrize("bad", ["42", 4.2, None, True])
def test_is_a_seed_that_is_not_an_int_refused_with_an_example(bad):
    with pytest.raises(TypeError, match=r"seed must be an int.*seed_everything\(42\)"):
        seed_everything(bad)
