"""Any model's state dict as two vectors (floating, integer) and as compact bytes.

What secure aggregation needs from a model is generic: every floating tensor, whatever
its shape and dtype (float16, bfloat16, float32, float64), goes into one float32 vector
that is averaged, quantised and masked; every integer tensor (batch norm's
``num_batches_tracked``, any other integer or bool buffer) goes into one int64 vector
that is never averaged as floats. ``StateLayout`` records names, shapes and dtypes in
``state_dict`` order, so a state from another account that differs anywhere is refused
with the name of the first tensor that differs (``StateMismatch``).

Integer buffers aggregate as *the global value plus the rounded mean increment*: each
survivor i reports ``local_i - global`` (exact integers, through the exact integer
section of the secure sum), the host adds ``round_half_up(sum / survivors)`` to the
global value. For ``num_batches_tracked`` that advances the counter by the mean number
of optimiser steps an account took; a buffer nobody changes stays exactly as it was.

Wire format of a model state (``encode``): a 52-byte header, then raw little-endian
arrays, no framing or JSON::

    b"FRS1" | SHA-256 of the layout (32 bytes) | n_float (u64) | n_int (u64)
    | n_float x float32 | n_int x int64

so a model costs 4 bytes per floating entry plus 8 per integer entry: 1.0x its float32
size (the MNIST CNN: 2 integer entries, 68 bytes over 1.69 MB). float64 tensors travel
as float32 (the secure round quantises to fixed point anyway); every other dtype
round-trips exactly.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from fedring.errors import ConfigError, IntegrityError, StateMismatch

MAGIC = b"FRS1"
_HEADER = struct.Struct("<4s32sQQ")
HEADER_BYTES = _HEADER.size

FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
INT_DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64", "uint16", "uint32")


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


@dataclass(frozen=True)
class TensorSpec:
    """One entry of a state dict: its name, shape and dtype (``float32``, ``int64``...)."""

    name: str
    shape: tuple[int, ...]
    dtype: str

    @property
    def numel(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def is_float(self) -> bool:
        return self.dtype in FLOAT_DTYPES

    def describe(self) -> str:
        return f"shape {tuple(self.shape)} {self.dtype}"


@dataclass(frozen=True)
class ModelState:
    """A model as the round sees it: ``floats`` (float32) and ``ints`` (int64), both 1-D."""

    floats: np.ndarray
    ints: np.ndarray


class StateLayout:
    """Names, shapes and dtypes of a state dict, in order: how to split it and join it back."""

    def __init__(self, specs: tuple[TensorSpec, ...]) -> None:
        for spec in specs:
            if spec.dtype not in FLOAT_DTYPES + INT_DTYPES:
                raise StateMismatch(
                    f"tensor {spec.name!r} has dtype {spec.dtype}; a model state may hold "
                    f"{', '.join(FLOAT_DTYPES + INT_DTYPES)}"
                )
        self.specs = specs
        self.float_specs = tuple(s for s in specs if s.is_float)
        self.int_specs = tuple(s for s in specs if not s.is_float)
        self.float_size = sum(s.numel for s in self.float_specs)
        self.int_size = sum(s.numel for s in self.int_specs)

    @classmethod
    def of(cls, state: Mapping[str, torch.Tensor] | nn.Module) -> StateLayout:
        """The layout of a state dict (or of a module's ``state_dict()``)."""
        if isinstance(state, nn.Module):
            state = state.state_dict()
        return cls(tuple(TensorSpec(n, tuple(t.shape), _dtype_name(t.dtype)) for n, t in state.items()))

    def describe(self) -> list[list]:
        """JSON-able ``[[name, shape, dtype], ...]``, for a run manifest."""
        return [[s.name, list(s.shape), s.dtype] for s in self.specs]

    @classmethod
    def from_description(cls, rows: list[list]) -> StateLayout:
        return cls(tuple(TensorSpec(str(n), tuple(int(d) for d in shape), str(dt)) for n, shape, dt in rows))

    @property
    def digest(self) -> bytes:
        """SHA-256 of the layout; equal digests mean equal names, shapes and dtypes in order."""
        text = "\n".join(f"{s.name}\t{','.join(map(str, s.shape))}\t{s.dtype}" for s in self.specs)
        return hashlib.sha256(text.encode()).digest()

    def compare(self, other: StateLayout, who: str) -> None:
        """Raise ``StateMismatch`` naming the first tensor where ``other`` (``who``'s) differs."""
        mine = {s.name: s for s in self.specs}
        theirs = {s.name: s for s in other.specs}
        for spec in self.specs:
            got = theirs.get(spec.name)
            if got is None:
                raise StateMismatch(f"{who}: the model has no tensor {spec.name!r} ({spec.describe()} expected)")
            if got != spec:
                raise StateMismatch(
                    f"{who}: tensor {spec.name!r} has {got.describe()}, the federation's model has {spec.describe()}"
                )
        extra = [n for n in theirs if n not in mine]
        if extra:
            raise StateMismatch(f"{who}: the model has tensor {extra[0]!r}, which the federation's model lacks")
        if [s.name for s in other.specs] != [s.name for s in self.specs]:
            raise StateMismatch(f"{who}: the model's tensors come in another order than the federation's")

    def split(self, state: Mapping[str, torch.Tensor], who: str = "model") -> ModelState:
        """``state`` as (float32 vector, int64 vector); ``StateMismatch`` if its layout differs."""
        self.compare(StateLayout.of(state), who)
        floats = [state[s.name].detach().reshape(-1).to("cpu", torch.float32) for s in self.float_specs]
        ints = [state[s.name].detach().reshape(-1).to("cpu", torch.int64) for s in self.int_specs]
        return ModelState(
            torch.cat(floats).numpy().copy() if floats else np.zeros(0, np.float32),
            torch.cat(ints).numpy().copy() if ints else np.zeros(0, np.int64),
        )

    def join(self, model: ModelState) -> dict[str, torch.Tensor]:
        """The state dict back, each tensor in its own dtype and shape."""
        self._check_sizes(model)
        out: dict[str, torch.Tensor] = {}
        f_at = i_at = 0
        for spec in self.specs:
            n = spec.numel
            if spec.is_float:
                chunk = np.array(model.floats[f_at : f_at + n], dtype=np.float32)
                f_at += n
            else:
                chunk = np.array(model.ints[i_at : i_at + n], dtype=np.int64)
                i_at += n
                _check_range(spec, chunk)
            out[spec.name] = torch.from_numpy(chunk).reshape(spec.shape).to(getattr(torch, spec.dtype))
        return out

    def load_into(self, module: nn.Module, model: ModelState, who: str = "the model built here") -> nn.Module:
        """Write ``model`` into ``module`` (whose layout must be this one); returns ``module``."""
        self.compare(StateLayout.of(module), who)
        module.load_state_dict(self.join(model))
        return module

    def encode(self, model: ModelState) -> bytes:
        """The compact wire form (see the module docstring)."""
        self._check_sizes(model)
        header = _HEADER.pack(MAGIC, self.digest, self.float_size, self.int_size)
        floats = np.ascontiguousarray(model.floats, dtype="<f4").tobytes()
        return header + floats + np.ascontiguousarray(model.ints, dtype="<i8").tobytes()

    def decode(self, data: bytes) -> ModelState:
        """Parse ``encode``'s bytes; ``StateMismatch`` if made for another layout."""
        if len(data) < HEADER_BYTES or data[:4] != MAGIC:
            raise IntegrityError("not a fedring model state (bad header)")
        _, digest, n_float, n_int = _HEADER.unpack_from(data)
        if digest != self.digest:
            raise StateMismatch(
                f"the model bytes were made for another model layout ({n_float} floating and {n_int} integer "
                f"entries; this model has {self.float_size} and {self.int_size})"
            )
        if len(data) != HEADER_BYTES + 4 * n_float + 8 * n_int:
            raise IntegrityError("model state bytes are truncated or padded")
        floats = np.frombuffer(data, dtype="<f4", count=n_float, offset=HEADER_BYTES).astype(np.float32)
        ints = np.frombuffer(data, dtype="<i8", count=n_int, offset=HEADER_BYTES + 4 * n_float).astype(np.int64)
        return ModelState(floats, ints)

    def _check_sizes(self, model: ModelState) -> None:
        if model.floats.shape != (self.float_size,) or model.ints.shape != (self.int_size,):
            raise StateMismatch(
                f"model state has {model.floats.size} floating and {model.ints.size} integer entries; "
                f"the layout needs {self.float_size} and {self.int_size}"
            )


def _check_range(spec: TensorSpec, values: np.ndarray) -> None:
    if spec.dtype == "bool":
        lo, hi = 0, 1
    else:
        info = np.iinfo(getattr(np, spec.dtype))
        lo, hi = int(info.min), int(info.max)
    if values.size and (values.min() < lo or values.max() > hi):
        raise StateMismatch(f"tensor {spec.name!r}: integer values outside {spec.dtype}'s range [{lo}, {hi}]")


def int_increment(global_ints: np.ndarray, local_ints: np.ndarray) -> np.ndarray:
    """What an account adds to the exact section for its integer buffers: local - global."""
    if global_ints.shape != local_ints.shape:
        raise StateMismatch(f"integer buffers: {local_ints.size} entries, the global model has {global_ints.size}")
    return local_ints.astype(np.int64) - global_ints.astype(np.int64)


def apply_mean_increment(global_ints: np.ndarray, increment_total: np.ndarray, accounts: int) -> np.ndarray:
    """The aggregated integer buffers: ``global + round_half_up(increment_total / accounts)``.

    ``increment_total`` is the exact sum of the survivors' ``int_increment``; ``accounts``
    the number of survivors (public). ``(t + m // 2) // m`` rounds half up for any m >= 1.
    """
    if not (isinstance(accounts, int) and accounts >= 1):
        raise ConfigError(f"accounts must be an integer >= 1, got {accounts!r}")
    total = np.asarray(increment_total, dtype=np.int64)
    if total.shape != global_ints.shape:
        raise StateMismatch(f"integer increments: {total.size} entries, the global model has {global_ints.size}")
    return global_ints.astype(np.int64) + (total + accounts // 2) // accounts
