"""Run reports: interactive HTML pages of what the store holds (`groklab report`)."""

from groklab.report.page import (
    build_compare_page,
    build_index_page,
    build_run_page,
    write_report,
)

__all__ = ["build_compare_page", "build_index_page", "build_run_page", "write_report"]
