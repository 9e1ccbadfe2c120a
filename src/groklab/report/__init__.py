"""Run reports: one self-contained HTML page per run (`groklab report`)."""

from groklab.report.fourier import embedding_fourier_norms
from groklab.report.page import build_index_page, build_run_page, write_report

__all__ = ["build_index_page", "build_run_page", "embedding_fourier_norms", "write_report"]
