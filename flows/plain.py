"""Client flow of the plaintext baseline: train and publish the model (no secure aggregation)."""

from __future__ import annotations

from prefect import flow
from prefect.utilities.annotations import quote

from fedring.config import FederationConfig
from tasks.plain import train_plain


@flow(name="client-train", flow_run_name="{account}-round-{rnd}", persist_result=False)
def client_train(cfg: FederationConfig, account: str, rnd: int) -> dict:
    """Train on this account's partition and publish the updated model in its outbox."""
    return train_plain(quote(cfg), account, rnd)  # quote: see flows/client.py
