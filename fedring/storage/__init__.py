"""Storage: one bucket per account, immutable objects, SHA-256 on every object.

- ``base``        the ``Store`` interface every part of fedring writes through;
- ``local``       ``LocalStore`` (a bucket as a directory, the embedded default) and
                  ``GuardedStore`` (the host's cross-account role, played locally);
- ``s3``          ``S3Store`` on AWS or any S3-compatible server (boto3);
- ``credentials`` an account's own S3 session and the host's assumed-role sessions;
- ``federation``  the stores of a federation's accounts, built from its configuration:
                  ``owner_store``, ``host_store``, ``host_view``.

``s3`` and ``credentials`` import boto3; nothing here imports them until asked.
"""

from fedring.storage.base import Store, check_key, sha256_hex
from fedring.storage.federation import account_session, host_store, host_view, owner_store
from fedring.storage.local import GuardedStore, LocalStore

__all__ = [
    "GuardedStore",
    "LocalStore",
    "Store",
    "account_session",
    "check_key",
    "host_store",
    "host_view",
    "owner_store",
    "sha256_hex",
]
