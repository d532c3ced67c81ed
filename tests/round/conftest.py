"""A small federation on local stores for the step modules' unit tests (no Prefect).

Three accounts hold 100 real MNIST images each; keys are made, the directory is
published and the run is started, as the flow does before round 1. ``Federation``
drives the steps of a round in process, one call per step, as the flow does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from fedring.config import FederationConfig, build_config
from fedring.manifest import start_run
from fedring.round import advertise, consistency, contribute, model, reveal, ring, share_keys, train, unmask
from fedring.round.party import Host, Party, client_party, ensure_keys, host_party
from fedring.round.plan import RoundPlan
from fedring.secagg import Hop, Relay, ring_route
from fedring.split import split_data
from fedring.storage import owner_store
from fedring.workloads.federation import federation_workload

ACCOUNTS = ("alpha", "beta", "gamma")


@dataclass
class Federation:
    cfg: FederationConfig
    roster: dict[str, int]
    host: Host
    parties: dict[str, Party]
    seeded: RoundPlan | None = None
    survivors: list[str] = field(default_factory=list)
    last_hops: list[str] = field(default_factory=list)
    purpose: str = ""  # "" drives a training round; "eval" or "stats" a sub-sum of round 1 (or 0)

    def plan(self, rnd: int = 1) -> RoundPlan:
        return RoundPlan.create(self.cfg, self.roster, 0 if self.purpose == "stats" else rnd, self.purpose)

    def broadcast(self, rnd: int = 1) -> None:
        if self.purpose != "stats":
            model.broadcast(self.cfg, rnd, list(self.parties), purpose=self.purpose, host=self.host)

    def advertise_all(self, accounts=None, rnd: int = 1) -> RoundPlan:
        accounts = accounts or tuple(self.parties)
        plan = self.plan(rnd)
        self.broadcast(rnd)
        for name in accounts:
            advertise.advertise(self.parties[name], plan, host="host")
        self.seeded, _ = advertise.relay_advertisements(self.host, plan, sorted(accounts))
        return self.seeded

    def share_all(self, accounts=None) -> RoundPlan:
        accounts = accounts or tuple(self.parties)
        seeded = self.advertise_all(accounts)
        for name in accounts:
            share_keys.share(self.parties[name], self.plan(), host="host")
        share_keys.relay_shares(self.host, seeded, sorted(accounts))
        return seeded

    def contribute_all(self, accounts=None) -> RoundPlan:
        accounts = accounts or tuple(self.parties)
        seeded = self.share_all(accounts)
        for name in accounts:
            contribute.contribute(self.parties[name], self.plan(), host="host",
                                  vector=contribute.vector_for(self.cfg, self.plan(), host="host"))
        return seeded

    def ring(self, failed=frozenset()) -> list[str]:
        """Run every ring; hops in ``failed`` fail. Returns the survivors."""
        self.survivors, self.last_hops = [], []
        for hops in self.seeded.ring_plan.rings:
            live = [h for h in hops if h in self.parties]
            for step in ring_route(live, host="host", failed=failed):
                if isinstance(step, Relay):
                    ring.relay_partial(self.host, self.seeded, sender=step.sender, recipient=step.recipient)
                    if step.recipient == "host":
                        self.last_hops.append(step.sender)
                elif not (isinstance(step, Hop) and step.account in failed):
                    ring.ring_hop(self.parties[step.account], self.plan(), to=step.to, came_from=step.came_from, host="host")
            self.survivors += [h for h in live if h not in failed]
        self.survivors.sort()
        return self.survivors

    def sign_all(self, dropped=()) -> dict[str, bytes]:
        for name in self.survivors:
            consistency.sign_survivors(self.parties[name], self.plan(), survivors=self.survivors,
                                       dropped=sorted(dropped), host="host")
        return consistency.collect_signatures(self.host, self.seeded, self.survivors)

    def reveal_all(self, signatures: dict[str, bytes], dropped=()) -> None:
        for name in self.survivors:
            reveal.reveal(self.parties[name], self.plan(), survivors=self.survivors, dropped=sorted(dropped),
                          signatures=signatures, host="host")

    def aggregate(self, dropped=()) -> tuple[np.ndarray, dict]:
        key, stats = unmask.unmask_and_aggregate(
            self.host, self.plan(), last_hops=self.last_hops, survivors=self.survivors, dropped=sorted(dropped),
            revealers=self.survivors, advertised=list(self.parties),
        )
        state = model.open_model(self.host, self.host.store.get(key), rnd=1, host="host")
        return federation_workload(self.cfg).layout.decode(state).floats, stats

    def totals(self, length: int, dropped=()) -> np.ndarray:
        """A sub-sum's unmasked int64 totals."""
        return unmask.unmask_totals(self.host, self.plan(), length=length, last_hops=self.last_hops,
                                    survivors=self.survivors, dropped=sorted(dropped), revealers=self.survivors,
                                    advertised=list(self.parties))

    def full_round(self, failed=frozenset()) -> tuple[np.ndarray, dict]:
        self.contribute_all()
        self.ring(failed)
        signatures = self.sign_all(dropped=failed)
        self.reveal_all(signatures, dropped=failed)
        return self.aggregate(dropped=failed)


def make_federation(root, mnist, names=ACCOUNTS, images: int = 100, **secagg) -> Federation:
    """A started run of ``names`` (each with ``images`` real MNIST images) on local stores under ``root``."""
    cfg = build_config(
        run="unit",
        accounts=[{"name": n} for n in names],
        partition={"limit": images * len(names)},
        training={"rounds": 1, "eval_limit": 200},
        secagg=secagg,
        storage={"root": str(root / "storage")},
    )
    manifests = split_data(cfg, mnist[0], {a: owner_store(cfg, a) for a in names}, mnist[1])
    roster = {a: m["samples"] for a, m in manifests.items()}
    for name in names:
        ensure_keys(cfg, name, owner_store(cfg, name))
    host = host_party(cfg)
    advertise.publish_directory(host)
    fw = federation_workload(cfg)
    initial = model.seal_model(host, fw.layout.encode(fw.initial_state()), rnd=0, participants=sorted(roster))
    start_run(host.store, cfg, roster, initial, sign=lambda blob, rnd: model.model_statement(host, blob, rnd=rnd))
    return Federation(cfg, roster, host, {n: client_party(cfg, n) for n in names})


@pytest.fixture
def fed(tmp_path, mnist) -> Federation:
    return make_federation(tmp_path, mnist)


@pytest.fixture
def trained(monkeypatch) -> dict[tuple[str, int], tuple[np.ndarray, np.ndarray]]:
    """(account, round) -> (global floats, trained floats) of every local training."""
    seen = {}
    real = train.train_local

    def spy(workload, store, start, **kwargs):
        update = real(workload, store, start, **kwargs)
        seen[(store.account, kwargs["rnd"])] = (start.floats.copy(), update.state.floats.copy())
        return update

    monkeypatch.setattr(train, "train_local", spy)
    return seen
