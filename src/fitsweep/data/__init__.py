"""Data for a sweep: a named source loads arrays, then they are split and scaled once."""

from fitsweep.data.scaling import Scaling, decide_scaling
from fitsweep.data.sources import SourceData, load_source
from fitsweep.data.splits import Splits, make_splits, prepare_data

__all__ = ["Scaling", "SourceData", "Splits", "decide_scaling", "load_source", "make_splits", "prepare_data"]
