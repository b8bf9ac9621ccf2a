"""Input and output: data tables (CSV, Parquet) in, result folders out (written atomically)."""
from .data import prepare_data, read_table
from .folders import atomic_folder, clean_partials, is_complete, read_result_json, write_result

__all__ = ["read_table", "prepare_data", "write_result", "atomic_folder", "is_complete", "clean_partials",
           "read_result_json"]
