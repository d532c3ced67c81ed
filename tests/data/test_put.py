"""``put_data``: an owner's files into its own bucket under the data prefix, idempotently."""

from __future__ import annotations

import pytest

from fedring.data.put import put_data
from fedring.errors import ConfigError, DataError
from fedring.storage import LocalStore


@pytest.fixture
def store(tmp_path):
    return LocalStore(tmp_path / "buckets", "bucket-alpha", account="alpha")


def test_a_folder_keeps_its_relative_paths_and_skips_hidden_files(tmp_path, store):
    src = tmp_path / "src"
    (src / "train" / "cat").mkdir(parents=True)
    (src / "train" / "cat" / "1.png").write_bytes(b"png")
    (src / "eval.csv").write_text("x,label\n1,0\n")
    (src / ".DS_Store").write_bytes(b"junk")
    (src / "train" / ".cache").mkdir()
    (src / "train" / ".cache" / "x").write_bytes(b"junk")

    report = put_data(store, src)

    assert report.written == ["data/eval.csv", "data/train/cat/1.png"]
    assert store.list("data/") == ["data/eval.csv", "data/train/cat/1.png"]
    assert store.get("data/train/cat/1.png") == b"png"
    assert report.bytes == len(b"png") + len("x,label\n1,0\n")


def test_putting_again_is_a_no_op_and_finishes_an_interrupted_put(tmp_path, store):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.csv").write_text("a")
    (src / "b.csv").write_text("b")
    store.put("data/a.csv", b"a")  # an earlier put stopped after the first file

    report = put_data(store, src)

    assert report.unchanged == ["data/a.csv"] and report.written == ["data/b.csv"]


def test_a_single_file_goes_under_the_prefix(tmp_path, store):
    (tmp_path / "train.parquet").write_bytes(b"PAR1")

    report = put_data(store, tmp_path / "train.parquet", prefix="data/site-a/")

    assert report.written == ["data/site-a/train.parquet"]


def test_other_bytes_under_an_existing_key_are_refused_with_the_fix(tmp_path, store):
    (tmp_path / "train.csv").write_text("new")
    store.put("data/train.csv", b"old")

    with pytest.raises(DataError) as info:
        put_data(store, tmp_path / "train.csv")

    assert "account 'alpha', bucket 'bucket-alpha', key 'data/train.csv' already holds other bytes" in str(info.value)
    assert "--prefix data/v2/" in str(info.value)
    assert store.get("data/train.csv") == b"old"


def test_missing_or_empty_sources_and_bad_prefixes(tmp_path, store):
    (tmp_path / "empty" / ".hidden").mkdir(parents=True)
    (tmp_path / "file").write_text("x")

    with pytest.raises(DataError, match="no such file or folder"):
        put_data(store, tmp_path / "nope")
    with pytest.raises(DataError, match="the folder holds no files to put"):
        put_data(store, tmp_path / "empty")
    with pytest.raises(ConfigError, match="data prefix 'public/' must be 'data/'"):
        put_data(store, tmp_path / "file", prefix="public/")
    assert store.list("") == []
