"""The data sets' catalogue, moved below the spec to groklab/catalog.py; this old path is kept
for one release and names the same objects."""

from groklab.catalog import DATASETS, DatasetInfo

__all__ = ["DATASETS", "DatasetInfo"]
