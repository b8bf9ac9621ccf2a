"""Input and output: data tables (CSV, Parquet) in, result folders out (written atomically, only into
folders henderson owns)."""
from .data import prepare_data, read_table
from .fingerprint import file_fingerprint
from .folders import atomic_folder, clean_partials, is_complete, read_result_json, write_result, write_text_atomic
from .ownership import check_output, check_writable, read_manifest

__all__ = ["read_table", "prepare_data", "write_result", "atomic_folder", "is_complete", "clean_partials",
           "read_result_json", "write_text_atomic", "check_output", "check_writable", "read_manifest",
           "file_fingerprint"]
