"""Data for a sweep: a named source loads arrays, then they are split and scaled once."""

from fitsweep.data.sources import SourceData, load_source
from fitsweep.data.splits import Splits, make_splits, prepare_data

__all__ = ["SourceData", "Splits", "load_source", "make_splits", "prepare_data"]
