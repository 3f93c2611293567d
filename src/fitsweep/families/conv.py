"""The conv family: convolutional networks over images, each trained alone (`training.train_alone`).

A network is `blocks` Conv2D blocks, then a Dense head (its `head` widths), then the output the
Dense family's networks have (`training.heads`: one sigmoid unit for two classes, else softmax;
one linear unit for a regression, such as an image's brightness or an object's size); `blocks: 0`
is the head alone, a Dense network over the pixels. Block i (from 0) has
`filters` x 2**i filters, so each halving of the image by pooling doubles the channels, the
usual trade of resolution for features. Convolutions and pooling pad "same", so a small image
(digits' 8x8) can take as many blocks as the sweep allows: pooling stops shrinking it at 1x1.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fitsweep.errors import SpecError
from fitsweep.results.columns import HYPERPARAMETER_COLUMNS, decode_layers
from fitsweep.space import declare_form
from fitsweep.spec import Choice, ConvModelSpec, SweepSpec

if TYPE_CHECKING:
    import keras
    import keras_tuner

    from fitsweep.data import Splits
    from fitsweep.training.heads import Head

__all__ = ["ConvFamily", "block_filters"]


def block_filters(values: Mapping[str, Any]) -> list[int]:
    """Each block's filters: `filters` doubled per block.

    Example:
        >>> block_filters({"blocks": 3, "filters": 16})
        [16, 32, 64]
    """
    return [int(values["filters"]) * 2**block for block in range(int(values["blocks"]))]


class ConvFamily:
    """Conv2D networks over the data's image shape (`data.image_shape`, or the source's own)."""

    train_fused = None  # its networks do not stack: each trains alone

    def __init__(self, spec: SweepSpec) -> None:
        if not isinstance(spec.model, ConvModelSpec):
            raise TypeError(f"the conv family cannot build a {spec.model.family} model")
        self.spec, self.model = spec, spec.model

    def searched_parameters(self) -> dict[str, Any]:
        model, train = self.model, self.spec.train
        searched = {
            "blocks": model.blocks, "filters": model.filters, "kernel_size": model.kernel_size,
            "pooling": model.pooling, "batch_norm": model.batch_norm, "head": model.head,
            "activation": model.activation, "dropout": model.dropout, "l1": model.l1, "l2": model.l2,
            "optimizer": train.optimizer, "learning_rate": train.learning_rate, "batch_size": train.batch_size,
        }
        return {name: searched[name] for name in HYPERPARAMETER_COLUMNS if name in searched}

    def hyperparameter_names(self) -> list[str]:
        return list(self.searched_parameters())

    def declare(self, hp: keras_tuner.HyperParameters) -> None:
        for name, form in self.searched_parameters().items():
            if name == "batch_norm" and isinstance(form, Choice) and len(set(form.values)) == 2:
                # KerasTuner's Choice records booleans as 0 and 1; its Boolean keeps them true and false.
                hp.Boolean(name, default=bool(form.values[0]))
            elif name == "batch_norm":
                hp.Fixed(name, bool(form.values[0] if isinstance(form, Choice) else form))
            else:
                declare_form(hp, name, form)

    def check_data(self, splits: Splits) -> None:
        """Conv networks need images: rows with a known (height, width[, channels]) shape."""
        shape = splits.feature_shape
        if shape is None or len(shape) not in (2, 3):
            found = f"rows of shape {shape}" if shape else f"flat rows of {splits.n_features} features"
            raise SpecError(
                f"model.family: conv needs images, but the data are {found}; give data.image_shape "
                f"[height, width] or [height, width, channels] whose product is {splits.n_features} "
                "(hdf5, csv, npz, notmnist sources), or use family: dense"
            )

    def build(self, values: Mapping[str, Any], splits: Splits,
              hyperparameters: keras_tuner.HyperParameters | None = None) -> keras.Model:
        """The compiled network; its space is declared up front (`declare`), so `hyperparameters` is not needed."""
        from fitsweep.families.dense.network import compile_network

        return compile_network(self.network(values, splits), values, self.head(splits))

    def network(self, values: Mapping[str, Any], splits: Splits) -> keras.Model:
        """The uncompiled network of one trial's values (its layers are described in the module's docstring)."""
        import keras

        self.check_data(splits)
        assert splits.feature_shape is not None  # check_data said so
        image = tuple(splits.feature_shape)
        dropout = float(values["dropout"])
        regularizer = _regularizer(float(values["l1"]), float(values["l2"]))
        inputs = keras.Input(shape=(*image, 1) if len(image) == 2 else image)
        hidden = inputs
        for filters in block_filters(values):
            hidden = keras.layers.Conv2D(filters, int(values["kernel_size"]), padding="same",
                                         kernel_regularizer=regularizer)(hidden)
            if bool(values["batch_norm"]):
                hidden = keras.layers.BatchNormalization()(hidden)
            hidden = keras.layers.Activation(str(values["activation"]))(hidden)
            if values["pooling"] != "none":
                pooling = keras.layers.MaxPooling2D if values["pooling"] == "max" else keras.layers.AveragePooling2D
                hidden = pooling(2, padding="same")(hidden)
            if dropout > 0:
                hidden = keras.layers.Dropout(dropout)(hidden)
        hidden = keras.layers.Flatten()(hidden)
        for width in decode_layers(values["head"]):
            hidden = keras.layers.Dense(width, activation=str(values["activation"]),
                                        kernel_regularizer=regularizer)(hidden)
            if dropout > 0:
                hidden = keras.layers.Dropout(dropout)(hidden)
        head = self.head(splits)
        outputs = keras.layers.Dense(head.units, activation=head.activation, kernel_regularizer=regularizer)(hidden)
        return keras.Model(inputs, outputs)

    def head(self, splits: Splits) -> Head:
        """The models' output for the data's task, with the sweep's `train.loss`."""
        from fitsweep.training.heads import head_for

        return head_for(splits, self.spec.train.loss)

    def parameter_count(self, values: Mapping[str, Any], splits: Splits) -> int:
        """The network's weights (batch normalisation's moving statistics included), counted without Keras."""
        self.check_data(splits)
        assert splits.feature_shape is not None
        height, width, channels = (*splits.feature_shape, 1)[:3]
        kernel, count = int(values["kernel_size"]), 0
        for filters in block_filters(values):
            count += kernel * kernel * channels * filters + filters + (4 * filters if bool(values["batch_norm"]) else 0)
            if values["pooling"] != "none":  # "same" padding: a 2x2 pool rounds up
                height, width = -(-height // 2), -(-width // 2)
            channels = filters
        widths = [height * width * channels, *decode_layers(values["head"]), self.head(splits).units]
        return count + sum(fan_in * fan_out + fan_out for fan_in, fan_out in itertools.pairwise(widths))


def _regularizer(l1: float, l2: float) -> Any:
    import keras

    return None if l1 == 0 and l2 == 0 else keras.regularizers.L1L2(l1=l1, l2=l2)
