"""Each data format loads from an account's own LocalStore; each bad input names the account and file."""

from __future__ import annotations

import numpy as np
import pytest

from fedring.config import build_config
from fedring.data import Formats, ImageSchema, TableSchema, load_account_data, load_split
from fedring.errors import AccessDenied, ConfigError, DataError
from fedring.storage import LocalStore, host_view, owner_store
from tests.data.helpers import ARRAYS, CLASSES, IMAGES, TABLE, csv_bytes, frame, npy_bytes, parquet_bytes, png_bytes


@pytest.fixture
def store(tmp_path):
    return LocalStore(tmp_path, "bucket-alpha", account="alpha")


@pytest.mark.parametrize("fmt,encode", [("csv", csv_bytes), ("parquet", parquet_bytes)])
def test_tables_load_features_in_schema_order_and_labels(store, fmt, encode):
    table = frame(5)
    store.put(f"data/train.{fmt}", encode(table))
    store.put(f"data/eval.{fmt}", encode(frame(3)))

    data = load_account_data(store, TABLE)

    assert data.train.source == f"data/train.{fmt}"
    np.testing.assert_array_equal(data.train.features, table[["x1", "x2"]].to_numpy(dtype=np.float64))
    assert data.train.labels.tolist() == [0, 1, 2, 0, 1] and data.train.labels.dtype == np.int64
    assert len(data.evaluation) == 3


def test_text_labels_map_to_the_workloads_classes(store):
    table = frame(4).assign(label=["owl", "cat", "dog", "owl"])
    store.put("data/train.csv", csv_bytes(table))

    train = load_split(store, "data/", "train", TABLE, required=True)

    assert train.labels.tolist() == [2, 0, 1, 2]


def test_arrays_load(store):
    features = np.arange(24, dtype=np.float32).reshape(4, 2, 3)
    store.put("data/train/features.npy", npy_bytes(features))
    store.put("data/train/labels.npy", npy_bytes(np.array([2, 0, 1, 1])))

    data = load_account_data(store, ARRAYS)

    np.testing.assert_array_equal(data.train.features, features)
    assert data.train.labels.tolist() == [2, 0, 1, 1]
    assert data.evaluation is None


def test_an_image_folder_loads_by_class_converted_and_resized(store):
    grey = np.full((4, 6), 200, dtype=np.uint8)
    colour = np.zeros((8, 12, 3), dtype=np.uint8)
    store.put("data/train/owl/a.png", png_bytes(grey))
    store.put("data/train/cat/b.PNG", png_bytes(colour))

    train = load_split(store, "data/", "train", IMAGES, required=True)

    assert train.features.shape == (2, 4, 6) and train.features.dtype == np.uint8
    assert train.labels.tolist() == [0, 2]  # keys sorted: cat/b.PNG, owl/a.png; indices from the classes
    assert (train.features[1] == 200).all()


def test_without_class_names_sorted_folders_give_the_indices(store):
    store.put("data/train/b/1.png", png_bytes(np.zeros((2, 2))))
    store.put("data/train/a/1.png", png_bytes(np.zeros((2, 2))))

    train = load_split(store, "data/", "train", Formats(images=ImageSchema()), required=True)

    assert train.labels.tolist() == [0, 1]


def test_a_prefix_below_data_is_read_and_one_outside_is_refused(store):
    store.put("data/v2/train.csv", csv_bytes(frame(2)))

    assert len(load_split(store, "data/v2/", "train", TABLE, required=True)) == 2
    with pytest.raises(ConfigError, match="data prefix 'outbox/' must be 'data/' or a folder under it"):
        load_split(store, "outbox/", "train", TABLE, required=True)


BAD = [
    ("no label column", {"data/train.csv": csv_bytes(frame().drop(columns="label"))}, TABLE,
     "key 'data/train.csv': no label column 'label' (columns: x1, note, x2)"),
    ("missing feature", {"data/train.csv": csv_bytes(frame().drop(columns="x2"))}, TABLE,
     "key 'data/train.csv': missing feature column(s) 'x2'"),
    ("non-numeric", {"data/train.csv": csv_bytes(frame().assign(x2=["1", "2", "three", "4", "5"]))}, TABLE,
     "key 'data/train.csv': feature column 'x2' is not numeric (row 3 holds 'three')"),
    ("NaN", {"data/train.parquet": parquet_bytes(frame().assign(x1=[0.0, 1.0, np.nan, 2.0, np.nan]))}, TABLE,
     "key 'data/train.parquet': feature column 'x1' has 2 missing, NaN or infinite value(s) (first: row 3)"),
    ("unknown label", {"data/train.csv": csv_bytes(frame(2).assign(label=["cat", "emu"]))}, TABLE,
     "key 'data/train.csv': label 'emu' is not one of the classes cat, dog, owl"),
    ("label range", {"data/train.csv": csv_bytes(frame(2).assign(label=[0, 3]))}, TABLE,
     "key 'data/train.csv': label 3 in row 2 is not below the 3 classes"),
    ("no rows", {"data/train.csv": b"x1,x2,label\n"}, TABLE, "key 'data/train.csv': the table has no rows"),
    ("unreadable parquet", {"data/train.parquet": b"PAR1 not really"}, TABLE,
     "key 'data/train.parquet': cannot be read as PARQUET"),
    ("unreadable npy", {"data/train/features.npy": b"\x93NUMPY garbage", "data/train/labels.npy": npy_bytes(np.zeros(1))},
     ARRAYS, "key 'data/train/features.npy': cannot be read as a .npy array"),
    ("pickled npy", {"data/train/features.npy": npy_bytes(np.zeros(2)), "data/train/labels.npy": b""}, ARRAYS,
     "key 'data/train/labels.npy': cannot be read as a .npy array"),
    ("array NaN", {"data/train/features.npy": npy_bytes(np.array([[1.0], [np.inf]])),
                   "data/train/labels.npy": npy_bytes(np.array([0, 1]))}, ARRAYS,
     "key 'data/train/features.npy': 1 example(s) hold NaN or infinite features (first: row 2)"),
    ("labels length", {"data/train/features.npy": npy_bytes(np.zeros((3, 2))),
                       "data/train/labels.npy": npy_bytes(np.zeros(2, dtype=np.int64))}, ARRAYS,
     "key 'data/train/labels.npy': expected 3 labels in one dimension"),
    ("half the arrays", {"data/train/features.npy": npy_bytes(np.zeros((3, 2)))}, ARRAYS,
     "key 'data/train/labels.npy': missing; arrays come as features.npy with labels.npy"),
    ("corrupt image", {"data/train/cat/a.png": b"\x89PNG\r\n\x1a\nbroken"}, IMAGES,
     "key 'data/train/cat/a.png': cannot be decoded as an image"),
    ("not an image", {"data/train/cat/notes.txt": b"hello"}, IMAGES,
     "key 'data/train/cat/notes.txt': not an image file"),
    ("not in a class folder", {"data/train/a.png": png_bytes(np.zeros((2, 2)))}, IMAGES,
     "key 'data/train/a.png': an image folder holds <class>/<file>"),
    ("unknown class", {"data/train/emu/a.png": png_bytes(np.zeros((2, 2)))}, IMAGES,
     "key 'data/train/emu/': class folder 'emu' is not one of the workload's classes (cat, dog, owl)"),
    ("sizes differ", {"data/train/a/1.png": png_bytes(np.zeros((2, 2))), "data/train/b/2.png": png_bytes(np.zeros((3, 2)))},
     Formats(images=ImageSchema()), "key 'data/train/b/2.png': is 2x3, the folder's first image 2x2"),
    ("two formats", {"data/train.csv": csv_bytes(frame()), "data/train/cat/a.png": png_bytes(np.zeros((2, 2)))}, TABLE,
     "split 'train' is held in more than one format under 'data/': csv (data/train.csv), images (data/train/cat/a.png)"),
    ("format not read", {"data/train.csv": csv_bytes(frame())}, IMAGES,
     "key 'data/train.csv': this workload reads images, not tables"),
    ("empty data folder", {}, TABLE, "account 'alpha', bucket 'bucket-alpha': holds no data under 'data/'"),
    ("no train split", {"data/eval.csv": csv_bytes(frame())}, TABLE,
     "account 'alpha', bucket 'bucket-alpha': holds no 'train' split under 'data/'"),
]


@pytest.mark.parametrize("case,objects,formats,message", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_a_data_error_naming_account_and_file(store, case, objects, formats, message):
    for key, blob in objects.items():
        store.put(key, blob)

    with pytest.raises(DataError) as info:
        load_account_data(store, formats)

    assert message in str(info.value)
    assert "account 'alpha'" in str(info.value)


@pytest.mark.parametrize(
    "objects",
    [
        {"data/train.csv": csv_bytes(frame())},
        {"data/train.parquet": parquet_bytes(frame())},
        {"data/train/features.npy": npy_bytes(np.zeros((2, 2))), "data/train/labels.npy": npy_bytes(np.zeros(2))},
        {"data/train/cat/a.png": png_bytes(np.zeros((2, 2)))},
    ],
    ids=["csv", "parquet", "arrays", "images"],
)
def test_the_host_cannot_read_any_format(tmp_path, objects):
    cfg = build_config(storage={"root": str(tmp_path)})
    owner = owner_store(cfg, "account-1")
    for key, blob in objects.items():
        owner.put(key, blob)
    host = host_view(cfg, "account-1")

    for key in objects:
        with pytest.raises(AccessDenied, match="host 'host' may not read"):
            host.get(key)
    with pytest.raises(AccessDenied):
        host.list("data/")
    with pytest.raises(AccessDenied):
        load_account_data(host, Formats(classes=CLASSES, table=TableSchema("label"), images=ImageSchema(), arrays=True))
