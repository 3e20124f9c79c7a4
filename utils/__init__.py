"""ConvNet Classics: the shared library of the notebooks.

Modules:
    config: folders, run mode, seeds and the setup banner.
    data: dataset loaders with verification and caching.
    vgg: the VGG configuration table (paper, Table 1) and builders.
    resnet: ResNet's identity and convolutional blocks, with the course's layer names, and ResNet50.
    signs: hand-sign photos (Sign Language Digits, the course's SIGNS files), preprocessing, pipeline.
    transfer: ImageNet weights copied by layer name, and the matching preprocessing.
    distribute: the tf.distribute strategy for whatever accelerators are present.
    profiling: per-layer cost, timing and memory helpers.
    progress: a live progress line for model.fit that leaves one line in a saved notebook.
    receptive_field: receptive field size, jump and start of every layer of a Keras model.
    checks: the checkers behind the notebooks' exercises.
"""

__version__ = "0.1.0"

# Importing the package imports TensorFlow with its C++ start-up log muted, so that the
# setup cell's `import utils` (and every later `import tensorflow`) prints nothing that
# differs from run to run. See config.import_tensorflow_quietly.
from utils import config as _config  # noqa: E402

_config.import_tensorflow_quietly()
del _config
