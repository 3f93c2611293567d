"""Data for a sweep: a named source loads arrays, then they are split, encoded (tables) and scaled once."""

from fitsweep.data.linear_reference import linear_reference
from fitsweep.data.scaling import Scaling, decide_scaling
from fitsweep.data.sources import SourceData, load_source
from fitsweep.data.splits import Splits, make_splits, prepare_data
from fitsweep.data.table_encoding import TableEncoding, TableLayout

__all__ = ["Scaling", "SourceData", "Splits", "TableEncoding", "TableLayout", "decide_scaling", "linear_reference",
           "load_source", "make_splits", "prepare_data"]
