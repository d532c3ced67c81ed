"""GuardedStore: the local stand-in for the host's cross-account role."""

import pytest

from fedring.errors import AccessDenied
from fedring.storage import GuardedStore, LocalStore


@pytest.fixture
def view(tmp_path):
    inner = LocalStore(tmp_path, "fedring-alpha", account="alpha")
    inner.put("outbox/r/x", b"out")
    inner.put("data/partition.npz", b"secret")
    return GuardedStore(inner, principal="host 'host'", read=("outbox/",), write=("inbox/",))


def test_reads_outbox_writes_inbox(view):
    assert view.get("outbox/r/x") == b"out"
    view.put("inbox/r/y", b"in")
    assert view.inner.get("inbox/r/y") == b"in"


@pytest.mark.parametrize(
    "action,call",
    [
        ("read", lambda v: v.get("data/partition.npz")),
        ("write", lambda v: v.put("outbox/r/z", b"forged")),
        ("list", lambda v: v.list("data/")),
        ("delete", lambda v: v.delete("outbox/r/x")),
    ],
)
def test_everything_else_is_denied_and_named(view, action, call):
    with pytest.raises(AccessDenied, match=f"host 'host' may not {action} account 'alpha', bucket 'fedring-alpha'"):
        call(view)
    assert view.inner.get("outbox/r/x") == b"out"
