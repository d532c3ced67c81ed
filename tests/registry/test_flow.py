"""The ``share`` flow: the same publish as the CLI, from plain (deployment-style) parameters."""

from __future__ import annotations

import pytest
import yaml

from fedring.registry import catalog, verify_all
from fedring.storage import host_store

pytestmark = pytest.mark.usefixtures("prefect_harness")
ATTR = "account-1:researcher"


def test_share_flow_from_a_federation_file(trained, tmp_path) -> None:
    from flows.share import share

    trained.consumer("lab", ATTR)
    config = tmp_path / "federation.yaml"
    config.write_text(yaml.safe_dump(trained.cfg.model_dump(mode="json")))

    first = share(model="mnist", policy=ATTR, config=str(config), public=[str(trained.keys("account-1") / "public.json")])
    second = share(model="mnist", policy=ATTR, storage_root=str(trained.storage), run="reg",
                   public=[str(trained.keys("account-1") / "public.json")])

    store = host_store(trained.cfg)
    assert (first["version"], second["version"]) == (1, 2)
    assert catalog.version_numbers(store, "mnist") == [1, 2]
    assert verify_all(store).ok


def test_publish_task_refuses_a_run_without_commits(trained) -> None:
    from fedring.errors import ConfigError
    from tasks.share import publish

    empty = trained.cfg.model_copy(update={"run": "never-trained"})

    with pytest.raises(ConfigError, match="no committed round"):
        publish.fn(empty, "mnist", ATTR, None, [])
