"""The `data` section: one section class per data source, chosen by its `source`.

A new source is a class here, listed in `DATA_SOURCES`, and a loader of the same name in
`fitsweep.data.sources`. Every source but `kerastuner` (an imported run's record) shares the
split and scaling keys of `_DataBase`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union

from pydantic import Discriminator, Field, Tag, ValidationInfo, model_validator

from fitsweep.spec._hyperparameters import Section

# Seeds go to scikit-learn, NumPy and TensorFlow, which all take this range.
Seed = Annotated[int, Field(ge=0, le=2**31 - 1)]


class _DataBase(Section):
    """Keys shared by every data source: the task, and how the data are split and scaled."""

    # auto: whole-number labels with at most 20 distinct values are classes, any other target is
    # regressed (fitsweep.data.task says the rule); classification, regression: as named.
    task: Literal["auto", "classification", "regression"] = Field("auto", description=(
        "What the models learn: `classification` of class labels or `regression` of a numeric target. `auto` "
        "reads whole-number labels with at most 20 distinct values (or text labels) as classes, and any other "
        "numeric target as a regression; `validate` and `run` say which and why."))
    # Regression only: train on the target standardized by the training split's mean and standard
    # deviation; every metric is still reported in the target's own units.
    standardize_target: bool = Field(False, description=(
        "Regression only: train on the target standardized by the training split's mean and standard deviation; "
        "every metric is still reported in the target's own units."))

    test_size: float = Field(0.2, gt=0.0, lt=1.0, description=(
        "Share of the data held out as the test split, unless the source brings its own test set."))
    validation_size: float = Field(0.2, gt=0.0, lt=1.0, description=(
        "Share of the remaining (non-test) data used for validation."))
    split_seed: Seed = Field(0, description="Seed of both splits (and of `train_metrics_rows`' sample).")
    stratify: bool = Field(True, description=(
        "Keep the class shares equal across the splits. A regression's numeric target has no classes: its splits "
        "are drawn at random, and `validate` and the recorded sweep show `stratify: false`."))
    # auto: standardize when the training split's features are far from a unit scale
    # (fitsweep.data.scaling says the rule); none, standardize, minmax: as named.
    scaling: Literal["auto", "none", "standardize", "minmax"] = Field("auto", description=(
        "How the features are scaled, fitted on the training split only: `auto` standardizes them when they "
        "are far from a unit scale and leaves them as they are otherwise; `none`, `standardize` and `minmax` "
        "do as named."))
    # Rows of the training split on which each epoch's training metrics are measured (None: see
    # fitsweep.data.splits.measured_rows); at least 10 so an error rate means something.
    train_metrics_rows: int | None = Field(None, ge=10, le=100_000_000, description=(
        "Training rows on which each epoch's training metrics are measured: a fixed, stratified sample seeded "
        "by `split_seed`, from 10 up to the training split's size. `null` measures every training row, up to "
        "the larger of 2,000 and the validation split's size."))

    @model_validator(mode="after")
    def _target_scaling_is_for_regression(self) -> _DataBase:
        if self.standardize_target and self.task == "classification":
            raise ValueError("standardize_target applies to a regression target, not to class labels; "
                             "remove it or set task: regression")
        return self

    @model_validator(mode="before")
    @classmethod
    def _recorded_runs_kept_raw_inputs(cls, raw: Any, info: ValidationInfo) -> Any:
        """A run recorded before `auto` existed, with no `scaling` in its sweep.yaml, ran unscaled."""
        recorded = bool(info.context and info.context.get("recorded"))
        if recorded and isinstance(raw, dict) and "scaling" not in raw:
            return {**raw, "scaling": "none"}
        return raw


# [height, width] or [height, width, channels] of one row folded into an image.
ImageShape = Annotated[list[Annotated[int, Field(ge=1, le=100_000)]], Field(min_length=2, max_length=3)]


class _ImageData(_DataBase):
    """A source whose rows may be images: `image_shape` says how one row folds up, for `family: conv`.

    `[height, width]` or `[height, width, channels]`; its product must be the feature count.
    """

    image_shape: ImageShape | None = Field(None, description=(
        "`[height, width]` or `[height, width, channels]`: how one row folds up into an image for "
        "`model.family: conv`; its product must be the number of features. `null`: the source's own shape, "
        "if it has one."))


class MoonsData(_DataBase):
    """scikit-learn's two interleaving half circles (binary, 2 features)."""

    kind: ClassVar[str] = "moons"
    source: Literal["moons"]
    samples: int = Field(1000, ge=20, le=10_000_000, description="Points drawn (`sklearn.datasets.make_moons`).")
    noise: float = Field(0.2, ge=0.0, le=10.0, description="Standard deviation of the Gaussian noise added.")
    seed: Seed = Field(0, description="Seed of the points drawn.")


class CirclesData(_DataBase):
    """scikit-learn's two concentric circles (binary, 2 features)."""

    kind: ClassVar[str] = "circles"
    source: Literal["circles"]
    samples: int = Field(1000, ge=20, le=10_000_000, description="Points drawn (`sklearn.datasets.make_circles`).")
    noise: float = Field(0.1, ge=0.0, le=10.0, description="Standard deviation of the Gaussian noise added.")
    factor: float = Field(0.5, gt=0.0, lt=1.0, description="Scale of the inner circle against the outer one.")
    seed: Seed = Field(0, description="Seed of the points drawn.")


class DigitsData(_DataBase):
    """scikit-learn's bundled 8x8 handwritten digits (10 classes, 64 features)."""

    kind: ClassVar[str] = "digits"
    source: Literal["digits"]


class DiabetesData(_DataBase):
    """scikit-learn's bundled diabetes data: a regression of disease progression a year on (442 rows, 10 features).

    The features are the raw measurements (age, sex, body mass index, blood pressure and six blood
    serum values), which `scaling: auto` standardizes on the training split; the target runs from
    25 to 346. A linear regression explains about half its variance.

    Example:
        data: {source: diabetes, standardize_target: true}
    """

    kind: ClassVar[str] = "diabetes"
    source: Literal["diabetes"]


class HDF5Data(_ImageData):
    """An HDF5 file of tables, one row per sample: the features, then the label.

    This is the notMNIST study's `data.h5` layout. Float features are used as stored; uint8
    features are divided by 255. `test_dataset: null` splits the test set off the training data;
    `validation_dataset` replaces the `validation_size` split with a dataset of the file.
    A relative `path` starts at the sweep file's folder.

    Example:
        data: {source: hdf5, path: data.h5, train_dataset: trainData, test_dataset: testData}
    """

    kind: ClassVar[str] = "hdf5"
    source: Literal["hdf5"]
    path: str = Field(min_length=1, description="The HDF5 file; a relative path starts at the sweep file's folder.")
    train_dataset: str = Field("trainData", min_length=1, description="The dataset holding the training rows.")
    test_dataset: str | None = Field("testData", min_length=1, description=(
        "The dataset holding the test rows; `null` splits the test set off the training rows (`test_size`)."))
    validation_dataset: str | None = Field(None, min_length=1, description=(
        "A dataset holding the validation rows; `null` splits them off (`validation_size`)."))
    label_column: int = Field(-1, description="Where the label sits in each row; -1 is the last column.")


class CSVData(_ImageData):
    """A CSV file with a header row: feature columns and a `target` column of class labels.

    Text columns are one-hot encoded (`categorical` names number columns to encode as well); a
    text target's values become classes 0..K-1 in sorted order. Missing values (empty cells, NA,
    NaN) are refused unless `missing` says what to do with them. Encoding and filling are fitted
    on the training split only (`fitsweep.data.table_encoding`).

    Example:
        data: {source: csv, path: train.csv, target: label, test_path: test.csv, missing: median}
    """

    kind: ClassVar[str] = "csv"
    source: Literal["csv"]
    path: str = Field(min_length=1, description="The CSV file; a relative path starts at the sweep file's folder.")
    target: str = Field("target", min_length=1, description=(
        "The label column: integer class indices 0..k-1, or text (class names, numbered in sorted order). "
        "Every other column is a feature."))
    test_path: str | None = Field(None, min_length=1, description=(
        "A CSV file of test rows with the same columns; `null` splits the test set off (`test_size`)."))
    categorical: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list, description=(
        "Number columns whose values are categories (a zip code, a grade), one-hot encoded like text columns, "
        "which always are; categories come from the training split, and one it lacks encodes as zeros."))
    missing: Literal["refuse", "drop", "mean", "median"] = Field("refuse", description=(
        "What to do with missing values (empty cells, NA, NaN): `refuse` names their column and lines; `drop` "
        "removes their rows before the split; `mean` and `median` fill number columns with the training "
        "split's statistic (a missing category is refused, a row without a target dropped)."))


class NpzData(_ImageData):
    """A NumPy `.npz` file with arrays `x_train`, `y_train` and optionally `x_test`, `y_test`.

    Feature arrays with more than two axes (images) are flattened, keeping their shape as the image
    shape (`image_shape` overrides it); uint8 ones are divided by 255.

    Example:
        data: {source: npz, path: mnist.npz}
    """

    kind: ClassVar[str] = "npz"
    source: Literal["npz"]
    path: str = Field(min_length=1, description="The .npz file; a relative path starts at the sweep file's folder.")


class NotMNISTData(_ImageData):
    """The bundled notMNIST_small letters A-J (28x28 pixels in [0, 1], 10 classes, own test set).

    `limit` keeps a stratified, `split_seed`-seeded subset of the training rows for quick runs;
    the test set stays whole.

    Example:
        data: {source: notmnist, limit: 2000}
    """

    kind: ClassVar[str] = "notmnist"
    source: Literal["notmnist"]
    # 100 rows leave enough of each of the 10 classes for a stratified validation split.
    limit: int | None = Field(None, ge=100, description=(
        "Keep a stratified subset of this many training rows, for quick runs; `null` keeps all 15,914."))


class KerasTunerData(Section):
    """The data of a search plain KerasTuner ran, imported with `fitsweep import`: fitsweep never saw them.

    Only an imported run's recorded sweep.yaml names this source; a sweep file cannot run it. It has
    no split keys: KerasTuner's search chose its own validation data and had no test split.
    """

    kind: ClassVar[str] = "kerastuner"
    source: Literal["kerastuner"]
    task: Literal["unknown", "classification", "regression"] = Field("unknown", description=(
        "What the imported search learned, as its metric names tell: `regression` where Keras logged an MSE, MAE "
        "or R², `classification` where it logged an accuracy or a cross-entropy, `unknown` where it logged its "
        "loss alone."))
    project: str = Field(min_length=1, description="The KerasTuner project folder the search was read from.")
    tensorboard: str | None = Field(None, description="The TensorBoard log folder its curves were read from.")


DATA_SOURCES: tuple[type[Section], ...] = (
    MoonsData, CirclesData, DigitsData, DiabetesData, HDF5Data, CSVData, NpzData, NotMNISTData, KerasTunerData,
)


def _source_tag(value: Any) -> str | None:
    return value.get("source") if isinstance(value, dict) else getattr(value, "source", None)


if TYPE_CHECKING:  # the same union, written out: mypy cannot read one built at run time
    DataSpec = (MoonsData | CirclesData | DigitsData | DiabetesData | HDF5Data | CSVData | NpzData | NotMNISTData
                | KerasTunerData)
else:
    DataSpec = Annotated[
        # A Union built from a tuple at run time: `X | Y` syntax cannot take a generated list.
        Union[tuple(Annotated[cls, Tag(cls.kind)] for cls in DATA_SOURCES)],  # noqa: UP007
        Discriminator(_source_tag, custom_error_type="data_source", custom_error_message=(
            "unknown or missing source; allowed: "
            + ", ".join(cls.kind for cls in DATA_SOURCES if cls is not KerasTunerData)
        )),
    ]
