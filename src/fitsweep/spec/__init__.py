"""The sweep file: its schema, its defaults and its validation.

A sweep file is YAML with six keys (`name`, `data`, `model`, `train`, `tuner`, `report`). It is read
and validated once, here; everything downstream trusts the returned `SweepSpec`.

Every searchable hyperparameter takes one of three forms::

    dropout: 0.2                                        # a constant
    dropout: {values: [0.0, 0.2, 0.5]}                  # a choice
    l2: {min: 1.0e-6, max: 1.0e-2, sampling: log}       # a range (optional `step`)

Its modules, each one job, importing only those above it:

- `_messages`: how a problem is worded, one line naming the key (pydantic errors included).
- `_hyperparameters`: the three forms of a hyperparameter, the values each key allows (`bounds_of`,
  `names_of` read them back), `Section`.
- `_data`: the `data` section, one class per source.
- `_model`: the `model` section, one class per model family (`MODEL_FAMILIES`).
- `_writer`: YAML out (`yaml_entry`, a resolved sweep.yaml).
- `_overrides`: keys overridden apart from the file (`SweepSpec.with_overrides`).
- `_sweep`: `train`, `tuner`, `report`, the whole `SweepSpec`, and `parse_spec`.
- `_loader`: YAML in, hardened, and `load_spec`.
"""

from fitsweep.spec._data import CirclesData as CirclesData
from fitsweep.spec._data import CSVData as CSVData
from fitsweep.spec._data import DataSpec
from fitsweep.spec._data import DiabetesData as DiabetesData
from fitsweep.spec._data import DigitsData as DigitsData
from fitsweep.spec._data import HDF5Data as HDF5Data
from fitsweep.spec._data import KerasTunerData as KerasTunerData
from fitsweep.spec._data import MoonsData as MoonsData
from fitsweep.spec._data import NotMNISTData as NotMNISTData
from fitsweep.spec._data import NpzData as NpzData
from fitsweep.spec._hyperparameters import ACTIVATIONS, OPTIMIZERS, Bounds, Choice, Range, bounds_of, names_of
from fitsweep.spec._loader import load_spec, parse_spec_text
from fitsweep.spec._messages import names_a_key
from fitsweep.spec._model import MODEL_FAMILIES, BuildModelSpec, ConvModelSpec, ModelSection, ModelSpec
from fitsweep.spec._model import Regularization as Regularization
from fitsweep.spec._model import RegularizationChoice as RegularizationChoice
from fitsweep.spec._sweep import SWEEP_NAME as SWEEP_NAME
from fitsweep.spec._sweep import ReportSpec as ReportSpec
from fitsweep.spec._sweep import (
    SweepSpec,
    TrainSpec,
    TunerSpec,
    parse_spec,
)
from fitsweep.spec._writer import yaml_entry

__all__ = [
    "Bounds",
    "Choice",
    "Range",
    "bounds_of",
    "names_of",
    "SweepSpec",
    "DataSpec",
    "ModelSpec",
    "BuildModelSpec",
    "ConvModelSpec",
    "ModelSection",
    "MODEL_FAMILIES",
    "TrainSpec",
    "TunerSpec",
    "load_spec",
    "names_a_key",
    "parse_spec_text",
    "yaml_entry",
    "parse_spec",
    "ACTIVATIONS",
    "OPTIMIZERS",
]
