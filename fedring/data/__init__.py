"""An account's data where it keeps it, and the sums computed over it.

- ``examples``    ``Examples`` (features, int64 labels, source) and ``AccountData`` (train, eval)
- ``load``        find a split under the account's data prefix and read it in its format:
                  ``tables`` (CSV, Parquet), ``arrays`` (.npy), ``images`` (a folder by class)
- ``put``         an owner's files into its own bucket (``fedring data put``)
- ``statistics``  federated statistics: each account's sums, the finish from the totals
- ``exact``       int64 vectors through the uint32 ring of the secure sum, exactly

Everything reads through the account's own ``Store``; the host's role never reads ``data/``.
"""

from fedring.data.examples import AccountData, Examples
from fedring.data.images import ImageSchema
from fedring.data.load import Formats, load_account_data, load_split
from fedring.data.statistics import FederatedStats, StatsSpec, finish, local_sums
from fedring.data.tables import TableSchema

__all__ = [
    "AccountData",
    "Examples",
    "FederatedStats",
    "Formats",
    "ImageSchema",
    "StatsSpec",
    "TableSchema",
    "finish",
    "load_account_data",
    "load_split",
    "local_sums",
]
