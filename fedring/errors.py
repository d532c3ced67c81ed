"""Every error fedring raises, rooted in one base class.

Callers catch a family, not a string::

    FedringError
    ├── ConfigError            bad option, file or argument; names the option to fix
    │   ├── DataError          data set missing or unusable; names where we looked
    │   ├── WorkloadError      a workload that does not import, lacks a verb or breaks its
    │   │                      contract; names the entry point
    │   └── StateMismatch      a model state differs from the federation's; names the tensor
    ├── PolicyError
    │   ├── PolicySyntaxError  the policy text does not parse; carries the position
    │   ├── PolicyTooLarge     normal form exceeds the clause bound
    │   └── PolicyNotSatisfied the key ring lacks attributes; lists the missing ones
    │       └── AttributeRevoked holds the attributes only at epochs a rotation retired
    ├── IntegrityError         tampered, truncated, replayed or mis-routed object (no detail
    │                          beyond what is safe: callers cannot use it as an oracle)
    ├── UnknownKey             a key id / epoch that no key ring or directory holds
    ├── RunBusy                another live process holds the run's lease, or took it over
    ├── ProtocolError          secure aggregation cannot proceed
    │   ├── NotEnoughShares    fewer than t shares to reconstruct; names who is missing
    │   ├── RevealRefused      asked to reveal both shares of one peer
    │   ├── TooFewSurvivors    a round lost more accounts than its threshold allows
    │   ├── StageRefused       an account declines a stage (its own decision): it drops out
    │   │   ├── NonFiniteUpdate  its training produced NaN or infinite weights
    │   │   └── RequestRefused   its agent refuses a stage request (unsigned, unknown run or stage,
    │   │                        unexpected parameters): nothing runs
    │   ├── DeadlineMissed     an account did not answer a stage request in time: it drops out
    │   └── StageFailed        a client stage failed for a reason that is not a dropout
    │                          (a bug): the round stops, naming account and stage
    └── StorageError           names account, bucket and key
        ├── ObjectNotFound
        ├── ObjectExists       immutable key written again with other bytes
        ├── AccessDenied
        └── CredentialsError   invalid, unknown or expired credentials
"""

from __future__ import annotations


class FedringError(Exception):
    """Root of every error raised by fedring."""


class ConfigError(FedringError, ValueError):
    """A bad option, argument or configuration file; the message names the option."""


class DataError(ConfigError):
    """The data set cannot be found or used; the message says where we looked."""


class WorkloadError(ConfigError):
    """A workload cannot be used: it does not import, lacks a verb, or returned the wrong thing.

    The message names the entry point (``mnist``, ``package.module:object``) and what to fix.
    """


class StateMismatch(ConfigError):
    """A model's state differs from the federation's layout; the message names the tensor."""


class PolicyError(FedringError):
    """Base of errors about attribute policies."""


class PolicySyntaxError(PolicyError, ValueError):
    """The policy text does not parse; ``position`` is the 0-based character offset."""

    def __init__(self, message: str, *, text: str, position: int) -> None:
        self.text = text
        self.position = position
        pointer = f"\n  {text}\n  {' ' * position}^"
        super().__init__(f"{message} at position {position}{pointer}")


class PolicyTooLarge(PolicyError, ValueError):
    """The policy's normal form has more clauses than the documented bound."""


class PolicyNotSatisfied(PolicyError):
    """The key ring holds no clause of the policy; ``missing`` lists, per clause, what lacks."""

    def __init__(self, policy: str, missing: list[list[str]]) -> None:
        self.policy = policy
        self.missing = missing
        closest = min(missing, key=len) if missing else []
        super().__init__(
            f"policy {policy!r} is not satisfied: missing attribute(s) "
            f"{', '.join(closest)} (closest clause)"
        )


class AttributeRevoked(PolicyNotSatisfied):
    """The ring holds the policy's attributes only at epochs the object no longer accepts."""

    def __init__(self, policy: str, missing: list[list[str]], held: dict[str, list[int]]) -> None:
        super().__init__(policy, missing)
        self.held = held
        detail = ", ".join(f"{a} (you hold epoch {', '.join(map(str, e))})" for a, e in sorted(held.items()))
        self.args = (
            f"{self.args[0]}; revoked: {detail} - the attribute was rotated; ask its authority "
            "to re-issue the current epoch if you should still have access",
        )


class IntegrityError(FedringError):
    """An object failed authentication: tampered, truncated, replayed or mis-routed."""


class UnknownKey(FedringError, KeyError):
    """No key with this id and epoch is known."""

    def __init__(self, key_id: str, epoch: int | None = None, where: str = "") -> None:
        self.key_id = key_id
        self.epoch = epoch
        at = f" epoch {epoch}" if epoch is not None else ""
        super().__init__(f"unknown key {key_id}{at}{(' in ' + where) if where else ''}")

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.args[0]


class RunBusy(FedringError):
    """Another live process holds the run (``fedring.lease``); the message names it.

    Raised by ``RunLease.acquire`` when the run's lease is held by a process that is alive
    (on this machine) or whose lease has not expired (elsewhere): the message names the
    holder's host, process and start, and when the run frees itself if it died. Raised by
    ``RunLease.check`` and ``renew`` in a holder whose lease another process took over (it
    expired first): that holder must stop before it commits anything more.
    """


class ProtocolError(FedringError):
    """Secure aggregation cannot proceed."""


class NotEnoughShares(ProtocolError):
    """Fewer than the threshold of shares arrived for some account."""


class RevealRefused(ProtocolError):
    """A client was asked to reveal both the self-mask and key shares of one peer."""


class TooFewSurvivors(ProtocolError):
    """Too many accounts dropped for the round to complete; nothing was committed."""


class StageRefused(ProtocolError):
    """An account declines to run a stage, by its own rule; the round drops it (a declared dropout)."""


class NonFiniteUpdate(StageRefused):
    """An account's update has NaN or infinite coordinates: it refuses to send it."""


class RequestRefused(StageRefused):
    """A client agent refuses a stage request: not signed by the pinned host key, for a run its
    federation file does not know, or naming anything but a known stage and its parameters.

    The agent runs nothing, logs the refusal and answers it, so the host need not wait for the
    deadline; the host drops the account for that stage.
    """


class DeadlineMissed(ProtocolError):
    """An account's agent did not answer a stage request before the stage's deadline.

    A declared dropout (``flows/dispatch.is_dropout``): the round goes on without the account.
    The message names account, stage, round and the deadline.
    """


class StageFailed(ProtocolError):
    """A client stage failed for a reason that is not a dropout: the round stops and names both."""


class StorageError(FedringError):
    """A store operation failed; the message names account, bucket and key."""


class ObjectNotFound(StorageError, KeyError):
    """No object under this key."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "object not found"


class ObjectExists(StorageError):
    """The key exists with other bytes; objects are immutable."""


class AccessDenied(StorageError, PermissionError):
    """The principal may not perform this operation on this key."""


class CredentialsError(StorageError):
    """Credentials are invalid, unknown or expired."""
