"""The `model` section: one section class per model family, chosen by its `family`.

`ModelSpec` is the Dense network (`family: dense`, the default), `BuildModelSpec` a user's own
KerasTuner `build(hp)` function (`family: build`), `ConvModelSpec` a convolutional network
(`family: conv`). `fitsweep.families` builds each; a new family is a section here, listed in
`MODEL_FAMILIES`, and its module there.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from fitsweep.spec._hyperparameters import (
    Activation,
    Blocks,
    Depth,
    Filters,
    KernelSize,
    Layers,
    Penalty,
    Pooling,
    Rate,
    Section,
    Switch,
    Width,
    largest,
)
from fitsweep.spec._messages import shown

_FAMILY = "The kind of network: `dense` (the default), `conv`, or `build` (your own KerasTuner function)."


class Regularization(Section):
    """One combination of regularizers, an option of `model.regularizers`."""

    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="Dropout rate after every hidden layer.")
    l1: float = Field(0.0, ge=0.0, le=1e3, description="L1 penalty on every kernel.")
    l2: float = Field(0.0, ge=0.0, le=1e3, description="L2 penalty on every kernel.")


class RegularizationChoice(Section):
    """`model.regularizers`: whole combinations to compare, instead of a product of dropout, l1, l2."""

    values: list[Regularization] = Field(min_length=1, description="The combinations, each a `Regularization`.")


class ModelSpec(Section):
    """The Dense network (`family: dense`, the default): hidden layers by `depth` x `width` or a `layers` list."""

    kind: ClassVar[str] = "dense"
    family: Literal["dense"] = Field("dense", description=_FAMILY)
    depth: Depth = Field(2, description="Hidden layers; 0 is a logistic (softmax) regression.")
    width: Width = Field(64, description="Units in every hidden layer.")
    layers: Layers | None = Field(None, description=(
        "Explicit hidden-layer widths such as `[600, 400, 200]` (`[]` for none), or a choice of such lists; "
        "replaces `depth` and `width` (give one or the other). At most 64 layers."))
    activation: Activation = Field("relu", description="Activation of every hidden layer.")
    dropout: Rate = Field(0.0, description="Dropout rate after every hidden layer (0: no dropout layer).")
    l1: Penalty = Field(0.0, description="L1 penalty on the kernel of every Dense layer, the output layer's included.")
    l2: Penalty = Field(0.0, description="L2 penalty on the kernel of every Dense layer, the output layer's included.")
    regularizers: RegularizationChoice | None = Field(None, description=(
        "Whole combinations to compare, `{values: [{...}, ...]}`, each a mapping of `dropout`, `l1`, `l2` "
        "(missing ones are 0), such as `{values: [{}, {l1: 1.0e-4}, {l2: 1.0e-3}, {dropout: 0.2}]}`; replaces "
        "`dropout`, `l1` and `l2` (give one or the other). The trials table shows the combination as "
        "`regularizers` (`none`, `l1=0.0001`, `dropout=0.2+l2=0.001`) and spelled out in `dropout`, `l1`, `l2`."))

    @model_validator(mode="after")
    def _exclusive_keys(self) -> ModelSpec:
        if self.layers is not None and ({"depth", "width"} & self.model_fields_set):
            raise ValueError("give either layers or depth and width, not both")
        if self.regularizers is not None and ({"dropout", "l1", "l2"} & self.model_fields_set):
            raise ValueError("give either regularizers or dropout, l1 and l2, not both")
        return self

    @property
    def can_penalise(self) -> bool:
        """Whether some trial of the sweep has an L1 or L2 penalty."""
        if self.regularizers is not None:
            return any(option.l1 > 0 or option.l2 > 0 for option in self.regularizers.values)
        return any(largest(form) > 0 for form in (self.l1, self.l2))


# `model.build`: "FILE.py:FUNCTION"; a function passed to `run_sweep(build=...)` is recorded as
# "python:NAME" (see `fitsweep.families.user_build`).
_BUILD_TARGET = re.compile(r"^(?P<file>.+):(?P<function>[A-Za-z_][A-Za-z0-9_.]*)$")
# Keys of the Dense family's section, which a user's build function decides itself.
_DENSE_ONLY_KEYS = ("depth", "width", "layers", "activation", "dropout", "l1", "l2", "regularizers")


class BuildModelSpec(Section):
    """A model from the user's own KerasTuner `build(hp)` function (`family: build`).

    `build` names a Python file and a function in it, `FILE.py:FUNCTION`; a relative file
    starts at the sweep file's folder. The function declares the search space and compiles the
    model, as for KerasTuner; fitsweep imports the file, so it runs the file's code.

    Example:
        model: {build: models.py:build}
    """

    kind: ClassVar[str] = "build"
    family: Literal["build"] = Field("build", description=_FAMILY + " Implied by `build`.")
    build: str = Field(min_length=1, description=(
        "Your KerasTuner build function as `FILE.py:FUNCTION`; a relative file starts at the sweep file's "
        "folder. Importing the file runs its code."))

    @model_validator(mode="before")
    @classmethod
    def _no_dense_keys(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for key in _DENSE_ONLY_KEYS:
                if key in value:
                    raise ValueError(f"{key} does not apply to a model from model.build: its function builds "
                                     f"the network; remove it")
        return value

    @field_validator("build")
    @classmethod
    def _file_and_function(cls, value: str) -> str:
        if not _BUILD_TARGET.match(value):
            raise ValueError(f"{shown(value)} is not FILE.py:FUNCTION, such as models.py:build")
        return value

    @property
    def can_penalise(self) -> bool:
        """Whether some trial may have a penalty: fitsweep cannot see inside the function, so it may."""
        return True

    @property
    def file(self) -> str:
        """The file part of `build`."""
        return str(_BUILD_TARGET.match(self.build)["file"])  # type: ignore[index]

    @property
    def function(self) -> str:
        """The function part of `build`."""
        return str(_BUILD_TARGET.match(self.build)["function"])  # type: ignore[index]

    def located(self, base_dir: str | Path) -> BuildModelSpec:
        """The same section with a relative file made absolute from `base_dir` (the sweep file's folder)."""
        if self.build.startswith("python:") or Path(self.file).is_absolute():
            return self
        return self.model_copy(update={"build": f"{(Path(base_dir) / self.file).resolve()}:{self.function}"})


class ConvModelSpec(Section):
    """A convolutional network over images (`family: conv`): Conv2D blocks, then a Dense head.

    Block i (from 0) has `filters` x 2**i filters of `kernel_size` ("same" padding), batch
    normalisation if `batch_norm`, the activation, 2x2 `pooling` and dropout. The head is Dense
    layers of the `head` widths (as `layers` of the Dense family), each with dropout, then the
    output. `blocks: 0` leaves the head alone: a Dense network over the pixels, a baseline in the
    same sweep. L1/L2 penalise every kernel, convolutional and dense. The data need an image
    shape (`data.image_shape`, or the source's own).
    """

    kind: ClassVar[str] = "conv"
    family: Literal["conv"] = Field(description=_FAMILY)
    blocks: Blocks = Field(2, description="Convolution blocks; 0 leaves only the head, a Dense network on the pixels.")
    filters: Filters = Field(16, description="The first block's filters; block i has `filters` x 2^i.")
    kernel_size: KernelSize = Field(3, description="Side of the square kernels: an odd size, as a value or a choice.")
    pooling: Pooling = Field("max", description=(
        "2x2 pooling after each block (\"same\" padding: the image never shrinks below 1x1)."))
    batch_norm: Switch = Field(False, description=(
        "Batch normalisation after each convolution, as a value or a choice (`{values: [true, false]}`)."))
    head: Layers = Field([64], description=(  # pydantic gives each section its own copy of the list
        "The Dense head's hidden widths, as `layers` of the dense family; `[]` for none. Shown as `600-400-200` "
        "in the trials table."))
    activation: Activation = Field("relu", description="Activation of every block and head layer.")
    dropout: Rate = Field(0.0, description="Dropout rate after every block and every head layer.")
    l1: Penalty = Field(0.0, description="L1 penalty on every kernel, convolutional and dense.")
    l2: Penalty = Field(0.0, description="L2 penalty on every kernel, convolutional and dense.")

    @property
    def can_penalise(self) -> bool:
        """Whether some trial of the sweep has an L1 or L2 penalty."""
        return any(largest(form) > 0 for form in (self.l1, self.l2))


# Every model family's section, each chosen by its `family` (`fitsweep.families` builds them).
MODEL_FAMILIES: tuple[type[Section], ...] = (ModelSpec, BuildModelSpec, ConvModelSpec)


def _family_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        family = value.get("family", "build" if "build" in value else "dense")
        return family if isinstance(family, str) else None
    # Not a mapping (`model: null`): the default family's section says what it should be.
    return getattr(value, "family", "dense")


if TYPE_CHECKING:  # the same union, written out: mypy cannot read one built at run time
    ModelSection = ModelSpec | BuildModelSpec | ConvModelSpec
else:
    ModelSection = Annotated[
        Union[tuple(Annotated[cls, Tag(cls.kind)] for cls in MODEL_FAMILIES)],  # noqa: UP007
        Discriminator(_family_tag, custom_error_type="model_family", custom_error_message=(
            "unknown family; allowed: " + ", ".join(cls.kind for cls in MODEL_FAMILIES)
        )),
    ]
