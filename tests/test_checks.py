"""Unit tests of the notebook checkers in utils/checks.py (beyond the notebook's own
solution/stub tests in test_notebooks.py): wrong answers fail with useful messages."""

import keras
import pytest

from utils import checks, vgg


@pytest.mark.parametrize("config", list(checks.VGG_PARAMS))
def test_vgg_params_table_matches_built_models(config):
    assert vgg.vgg(config).count_params() == checks.VGG_PARAMS[config]
    keras.backend.clear_session()


def test_fc1_wrong_answers():
    assert checks.check_fc1_params(lambda: 102_764_544)
    missing_bias = checks.check_fc1_params(lambda: 7 * 7 * 512 * 4096)
    assert not missing_bias and "add one bias" in repr(missing_bias)
    assert "expected 102764544, received 5" in repr(checks.check_fc1_params(lambda: 5))


def test_block_shapes_wrong_answers():
    def off_by_one_pool(size):
        return [(size // 2**b, size // 2**b, c) for b, c in enumerate([64, 128, 256, 512, 512])]
    result = checks.check_block_output_shapes(off_by_one_pool)
    assert not result and "shapes for a 224x224 input" in repr(result)

    def rounds_up(size):
        import math
        return [(math.ceil(size / 2**b),) * 2 + (c,) for b, c in enumerate([64, 128, 256, 512, 512], 1)]
    result = checks.check_block_output_shapes(rounds_up)
    assert not result and "100x100" in repr(result) and "224x224" not in repr(result)


def test_vgg_params_wrong_answers():
    result = checks.check_vgg_params(lambda config: checks.VGG_PARAMS["D"])
    assert not result and "vgg_params('A')" in repr(result) and "vgg_params('D')" not in repr(result)
    raising = checks.check_vgg_params(lambda config: {}[config])
    assert not raising and "raised KeyError" in repr(raising)
