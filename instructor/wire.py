"""The judge <-> kernel protocol: plain data in frames, shared arrays, opaque handles.

Used by both ends of one connection (a Unix socket): the judge (:mod:`instructor.judge`, trusted)
and the agent in the grading kernel (:mod:`instructor.agent`, untrusted by construction). The
judge validates everything it receives; nothing here ever unpickles, evaluates or imports.

Frame: 4-byte big-endian length of a JSON header, the header (UTF-8), then the raw bytes of the
buffers whose lengths the header lists under ``"bufs"``. Sizes are limited (``Limits``).

Values (``Codec.encode`` / ``Codec.decode``), tagged JSON:

- ``None``, ``bool``, ``int``, ``str`` as JSON; ``float`` ``{"t": "f", "v": float.hex}``
  (exact, nan/inf too); ``complex`` ``{"t": "c"}``; ``bytes`` ``{"t": "y", "b": buffer}``;
- numpy scalars ``{"t": "s", "d": dtype, "b": buffer}``; numpy arrays of a numeric or bool
  dtype (never object) ``{"t": "a", "id", "d", "sh", "b"}``;
- ``list`` / ``dict`` ``{"t": "l" | "d", "id", "v"}``, ``tuple`` / ``set`` / ``frozenset``
  ``{"t": "u" | "e" | "z", "v"}``;
- anything else (functions, classes, instances, arrays of object dtype) is an opaque handle
  ``{"t": "h", "id", "n": type name, "c": callable}`` owned by the sender; a handle given back
  is ``{"t": "p", "id"}`` and becomes the owner's object again.

Arrays, lists and dicts are *mirrored*: both ends keep their own copy under one id (the judge's
ids are even, the kernel's odd). Every message carries ``"u"``: the mirrors its sender changed
since the last message (compared by bytes for arrays, by item identity for containers); the
receiver writes them into its copy in place. So an array the student's function changes in
place is seen changed by the test, a returned array that *is* an argument is the test's own
object again, and ``node.grads[0] is grads[0]`` holds across calls.
"""

from __future__ import annotations

import json
import socket
import struct
import time
import weakref
from dataclasses import dataclass

import numpy as np

ALLOWED_DTYPES = frozenset(np.dtype(code).str for code in (
    "?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16"))
_KINDS = frozenset("biufc")
_HEADER = struct.Struct(">I")


@dataclass(frozen=True)
class Limits:
    header_bytes: int = 8 * 1024 * 1024
    buffer_bytes: int = 64 * 1024 * 1024  # all buffers of one message
    buffers: int = 100_000
    nodes: int = 200_000  # values in one message
    depth: int = 64
    string_chars: int = 1_000_000
    mirrored_bytes: int = 256 * 1024 * 1024  # arrays both ends keep in sync
    mirrors: int = 100_000
    handles: int = 100_000


LIMITS = Limits()


class ProtocolError(Exception):
    """The other end sent something this protocol does not allow (or nothing in time)."""


# -- frames ---------------------------------------------------------------------------------
def send_frame(sock: socket.socket, header: dict, bufs: list[bytes],
               limits: Limits = LIMITS) -> None:
    """Send one frame; ProtocolError (nothing sent) when it is larger than the limits."""
    header["bufs"] = [len(b) for b in bufs]
    data = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    if len(data) > limits.header_bytes or sum(header["bufs"]) > limits.buffer_bytes \
            or len(bufs) > limits.buffers:
        raise ProtocolError("message too large")
    sock.sendall(b"".join([_HEADER.pack(len(data)), data, *bufs]))


def _recv_exact(sock: socket.socket, size: int, deadline: float | None) -> bytes:
    chunks, got = [], 0
    while got < size:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer in time")
            sock.settimeout(left)
        else:
            sock.settimeout(None)
        try:
            chunk = sock.recv(min(size - got, 1 << 20))
        except TimeoutError:
            raise TimeoutError("no answer in time") from None
        if not chunk:
            raise EOFError("connection closed")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv_frame(sock: socket.socket, deadline: float | None,
               limits: Limits = LIMITS) -> tuple[dict, list[bytes]]:
    (size,) = _HEADER.unpack(_recv_exact(sock, 4, deadline))
    if size > limits.header_bytes:
        raise ProtocolError(f"header of {size} bytes")
    try:
        header = json.loads(_recv_exact(sock, size, deadline))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError("header is not JSON") from exc
    if type(header) is not dict:
        raise ProtocolError("header is not an object")
    sizes = header.get("bufs")
    if type(sizes) is not list or len(sizes) > limits.buffers \
            or not all(type(n) is int and 0 <= n for n in sizes) \
            or sum(sizes) > limits.buffer_bytes:
        raise ProtocolError("bad buffer list")
    return header, [_recv_exact(sock, n, deadline) for n in sizes]


# -- values ---------------------------------------------------------------------------------
class Remote:
    """Base of the local stand-ins for the other end's objects (handles).

    Reading or setting an attribute is a request to the other end (``getattr`` / ``setattr``)
    through ``owner.link`` (an :class:`instructor.link.Link`), where the object lives. Special
    names are never forwarded (numpy asking for ``__array__`` or ``__float__`` gets nothing from
    the other end): a stand-in is not a number, not an array, not a sequence. The judge's
    :class:`instructor.judge.StudentObject` and the agent's :class:`instructor.agent.JudgeObject`
    add only how they are shown.
    """

    __slots__ = ("_wire_id", "_wire_link", "_wire_name", "__weakref__")

    def __init__(self, hid: int, owner, name: str) -> None:
        object.__setattr__(self, "_wire_id", hid)
        object.__setattr__(self, "_wire_link", owner)
        object.__setattr__(self, "_wire_name", name)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return _ask(self, "getattr", n=name)

    def __setattr__(self, name: str, value) -> None:
        _ask(self, "setattr", n=name, v=value)


class RemoteCallable(Remote):
    """A stand-in for a callable of the other end: calling it is a ``call`` request."""

    __slots__ = ()

    def __call__(self, *args, **kwargs):
        return _ask(self, "call", a=args, kw=tuple(kwargs.items()))


def _ask(remote: Remote, op: str, **fields):
    """Request ``op`` about ``remote``'s object of the other end; the answer's value."""
    return object.__getattribute__(remote, "_wire_link").link.request(op, h=remote, **fields)


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _reference(obj):
    """How a mirror holds its object: weakly for arrays (freed ones stop being synced)."""
    if isinstance(obj, np.ndarray):
        return weakref.ref(obj)
    return lambda: obj


class Codec:
    """Encoding and decoding for one end; holds its mirrors and handles.

    ``side`` 0 is the judge (even ids), 1 the kernel (odd ids). ``make_remote(id, name,
    callable)`` builds the stand-in for a handle of the other end.
    """

    def __init__(self, side: int, make_remote, limits: Limits = LIMITS) -> None:
        self.side = side
        self.make_remote = make_remote
        self.limits = limits
        self.reset()

    def reset(self) -> None:
        """Forget every shared value and handle (a new test); ids are never reused."""
        self.next_id = getattr(self, "next_id", 2 + self.side)
        self.mirrors: dict[int, list] = {}  # id -> [reference to the object, snapshot]
        self.mirror_of: dict[int, int] = {}  # id(object) -> mirror id
        self.released: list[int] = []  # mirrors whose array is gone here: the other end drops them
        self.gone: set[int] = set()  # released by us: late updates of them are ignored
        self.mirrored_bytes = 0
        self.handles: dict[int, object] = {}  # own handle id -> object
        self.handle_of: dict[int, int] = {}  # id(object) -> handle id
        self.remotes: dict[int, Remote] = {}  # other end's handle id -> stand-in

    def _new_id(self) -> int:
        value = self.next_id
        self.next_id += 2
        return value

    # -- encoding ---------------------------------------------------------------------------
    def encode_message(self, header: dict, fields: dict) -> tuple[dict, list[bytes]]:
        """``header`` plus the encoded ``fields`` and the mirror updates; (header, buffers)."""
        bufs: list[bytes] = []
        self._count = 0
        header["u"] = self._updates(bufs)
        for key, value in fields.items():
            header[key] = self.encode(value, bufs)
        header["r"], self.released = self.released, []
        return header, bufs

    def mark(self) -> int:
        return self.next_id

    def rollback(self, mark: int) -> None:
        """Undo an encoding that was not sent: drop what it added, resend every shared value."""
        for table, index in ((self.mirrors, self.mirror_of), (self.handles, self.handle_of)):
            for key in [k for k in table if k >= mark and k % 2 == self.side]:
                obj = table.pop(key)
                index.pop(obj[2] if table is self.mirrors else id(obj), None)
        for entry in self.mirrors.values():
            entry[1] = None

    def _get(self, mid: int):
        """The object of mirror ``mid`` here, or None (unknown, or an array since freed)."""
        entry = self.mirrors.get(mid)
        return None if entry is None else entry[0]()

    def _drop(self, mid: int) -> None:
        entry = self.mirrors.pop(mid, None)
        if entry is not None and self.mirror_of.get(entry[2]) == mid:
            del self.mirror_of[entry[2]]

    def _snapshot(self, obj):
        if isinstance(obj, np.ndarray):
            return (obj.dtype.str, obj.shape, obj.tobytes())
        if type(obj) is list:
            return list(obj)
        return list(obj.items())

    def _changed(self, obj, snap) -> bool:
        if snap is None:
            return True
        if isinstance(obj, np.ndarray):
            return (obj.dtype.str, obj.shape, obj.tobytes()) != snap
        items = list(obj) if type(obj) is list else list(obj.items())
        if len(items) != len(snap):
            return True
        if type(obj) is list:
            return any(a is not b for a, b in zip(items, snap, strict=True))
        return any(a[0] is not b[0] or a[1] is not b[1] for a, b in zip(items, snap, strict=True))

    def _updates(self, bufs: list[bytes]) -> list:
        updates = []
        for mid, entry in list(self.mirrors.items()):
            obj, snap = entry[0](), entry[1]
            if obj is None:  # an array nobody holds here any more: nothing to keep in sync
                self._drop(mid)
                self.released.append(mid)
                self.gone.add(mid)
                continue
            if not self._changed(obj, snap):
                continue
            entry[1] = self._snapshot(obj)
            if isinstance(obj, np.ndarray):
                content = self._array_body(obj, bufs)
            elif type(obj) is list:
                content = [self.encode(item, bufs, 1) for item in obj]
            else:
                content = [[self.encode(k, bufs, 1), self.encode(v, bufs, 1)]
                           for k, v in obj.items()]
            updates.append([mid, content])
        return updates

    def _array_body(self, arr: np.ndarray, bufs: list[bytes]) -> dict:
        base = np.ascontiguousarray(np.asarray(arr).view(np.ndarray))
        bufs.append(base.tobytes())
        return {"d": base.dtype.str, "sh": list(base.shape), "b": len(bufs) - 1}

    def _register_mirror(self, obj) -> int:
        mid = self._new_id()
        self.mirrors[mid] = [_reference(obj), self._snapshot(obj), id(obj)]
        self.mirror_of[id(obj)] = mid
        if isinstance(obj, np.ndarray):
            self.mirrored_bytes += obj.nbytes
        if len(self.mirrors) > self.limits.mirrors \
                or self.mirrored_bytes > self.limits.mirrored_bytes:
            raise ProtocolError("too many shared arrays or values")
        return mid

    def handle(self, obj) -> dict:
        hid = self.handle_of.get(id(obj))
        if hid is None or self.handles.get(hid) is not obj:
            hid = self._new_id()
            self.handles[hid] = obj
            self.handle_of[id(obj)] = hid
            if len(self.handles) > self.limits.handles:
                raise ProtocolError("too many handles")
        try:
            name = type(obj).__name__
            name = name[:80] if type(name) is str else "object"
        except Exception:  # noqa: BLE001 - the kernel end encodes student objects
            name = "object"
        return {"t": "h", "id": hid, "n": name, "c": callable(obj)}

    def encode(self, value, bufs: list[bytes], depth: int = 0):
        self._count = getattr(self, "_count", 0) + 1
        if depth > self.limits.depth or self._count > self.limits.nodes:
            raise ProtocolError("value too large or nested too deeply")
        kind = type(value)
        if value is None or kind is bool or kind is str:
            return value
        if kind is int:
            return value if -(2**63) <= value < 2**63 else {"t": "i", "v": str(value)}
        if kind is float:
            return {"t": "f", "v": value.hex()}
        if kind is complex:
            return {"t": "c", "v": [value.real.hex(), value.imag.hex()]}
        if kind is bytes:
            bufs.append(value)
            return {"t": "y", "b": len(bufs) - 1}
        if isinstance(value, Remote):
            return {"t": "p", "id": object.__getattribute__(value, "_wire_id")}
        if isinstance(value, np.generic) and value.dtype.str in ALLOWED_DTYPES:
            bufs.append(np.asarray(value).tobytes())
            return {"t": "s", "d": value.dtype.str, "b": len(bufs) - 1}
        if isinstance(value, np.ndarray) and value.dtype.str in ALLOWED_DTYPES \
                or kind is list or kind is dict:
            mid = self.mirror_of.get(id(value))
            if mid is not None and self._get(mid) is value:
                if isinstance(value, np.ndarray):  # always with its data: the other end may
                    return {"t": "a", "id": mid, **self._array_body(value, bufs)}  # have freed it
                return {"t": "r", "id": mid}
            mid = self._register_mirror(value)
            if kind is list:
                return {"t": "l", "id": mid, "v": [self.encode(v, bufs, depth + 1) for v in value]}
            if kind is dict:
                return {"t": "d", "id": mid, "v": [[self.encode(k, bufs, depth + 1),
                                                   self.encode(v, bufs, depth + 1)]
                                                  for k, v in value.items()]}
            return {"t": "a", "id": mid, **self._array_body(value, bufs)}
        if kind is tuple or kind is set or kind is frozenset:
            tag = {tuple: "u", set: "e", frozenset: "z"}[kind]
            return {"t": tag, "v": [self.encode(v, bufs, depth + 1) for v in value]}
        return self.handle(value)

    # -- decoding ---------------------------------------------------------------------------
    def decode_message(self, header: dict, bufs: list[bytes], keys: tuple[str, ...]) -> dict:
        """Apply the mirror updates of a received message, then decode ``keys``."""
        state = {"nodes": 0}
        updates, released = header.get("u", []), header.get("r", [])
        if type(updates) is not list or type(released) is not list \
                or len(released) > self.limits.mirrors:
            raise ProtocolError("bad updates")
        for mid in released:  # the other end no longer holds these: no more syncing
            if type(mid) is not int:
                raise ProtocolError("bad release")
            self._drop(mid)
        for update in updates:
            self._apply_update(update, bufs, state)
        return {key: self.decode(header.get(key), bufs, state) for key in keys}

    def _apply_update(self, update, bufs, state) -> None:
        if type(update) is not list or len(update) != 2 or type(update[0]) is not int:
            raise ProtocolError("bad update")
        entry = self.mirrors.get(update[0])
        if entry is None:
            if update[0] in self.gone:  # freed here, its release crossed this update
                return
            raise ProtocolError("update of an unknown value")
        obj, content = entry[0](), update[1]
        if obj is None:  # freed here meanwhile (its release is on its way): nothing to update
            return
        if isinstance(obj, np.ndarray):
            if type(content) is not dict:
                raise ProtocolError("bad array update")
            new = self._array(content, bufs)
            if new.dtype != obj.dtype or new.shape != obj.shape:
                raise ProtocolError("an argument array changed its shape or dtype")
            np.copyto(obj, new, casting="no")
        elif type(obj) is list:
            if type(content) is not list:
                raise ProtocolError("bad list update")
            obj[:] = [self.decode(item, bufs, state, 1) for item in content]
        else:
            if type(content) is not list:
                raise ProtocolError("bad dict update")
            items = self._pairs(content, bufs, state, 1)
            obj.clear()
            obj.update(items)
        entry[1] = self._snapshot(obj)

    def _array(self, spec: dict, bufs: list[bytes]) -> np.ndarray:
        dtype, shape, index = spec.get("d"), spec.get("sh"), spec.get("b")
        if type(dtype) is not str or dtype not in ALLOWED_DTYPES:
            raise ProtocolError("array dtype not allowed")
        if type(shape) is not list or len(shape) > 32 \
                or not all(type(n) is int and 0 <= n for n in shape):
            raise ProtocolError("bad array shape")
        if type(index) is not int or not 0 <= index < len(bufs):
            raise ProtocolError("bad buffer index")
        dt = np.dtype(dtype)
        count = 1
        for n in shape:
            count *= n
        if count * dt.itemsize != len(bufs[index]):
            raise ProtocolError("array size does not match its buffer")
        return np.frombuffer(bufs[index], dtype=dt).reshape(shape).copy()

    def _pairs(self, content, bufs, state, depth) -> list:
        items = []
        for pair in content:
            if type(pair) is not list or len(pair) != 2:
                raise ProtocolError("bad dict item")
            key = self.decode(pair[0], bufs, state, depth + 1)
            if not _hashable(key) or isinstance(key, (list, dict, set, np.ndarray)):
                raise ProtocolError("dict key is not hashable")
            items.append((key, self.decode(pair[1], bufs, state, depth + 1)))
        return items

    def _hex(self, text) -> float:
        if type(text) is not str or len(text) > 40:
            raise ProtocolError("bad float")
        try:
            return float.fromhex(text)
        except ValueError:
            raise ProtocolError("bad float") from None

    def decode(self, node, bufs: list[bytes], state: dict, depth: int = 0):
        state["nodes"] += 1
        if state["nodes"] > self.limits.nodes or depth > self.limits.depth:
            raise ProtocolError("value too large or nested too deeply")
        kind = type(node)
        if node is None or kind is bool or kind is int:
            return node
        if kind is str:
            if len(node) > self.limits.string_chars:
                raise ProtocolError("string too long")
            return node
        if kind is not dict:
            raise ProtocolError("bad value")
        tag = node.get("t")
        if tag == "f":
            return self._hex(node.get("v"))
        if tag == "i":
            text = node.get("v")
            if type(text) is not str or len(text) > 4000 or not text.lstrip("-").isdigit():
                raise ProtocolError("bad int")
            return int(text)
        if tag == "c":
            parts = node.get("v")
            if type(parts) is not list or len(parts) != 2:
                raise ProtocolError("bad complex")
            return complex(self._hex(parts[0]), self._hex(parts[1]))
        if tag == "y":
            index = node.get("b")
            if type(index) is not int or not 0 <= index < len(bufs):
                raise ProtocolError("bad buffer index")
            return bytes(bufs[index])
        if tag == "s":
            arr = self._array({"d": node.get("d"), "sh": [], "b": node.get("b")}, bufs)
            return arr[()]
        if tag == "a":
            mid = node.get("id")
            if type(mid) is not int or mid < 2:
                raise ProtocolError("bad array id")
            new = self._array(node, bufs)
            known = self._get(mid)
            if isinstance(known, np.ndarray):  # an array both ends hold: the same object here
                if known.dtype != new.dtype or known.shape != new.shape:
                    raise ProtocolError("an array changed its shape or dtype")
                return known
            self._drop(mid)
            self.mirrored_bytes += new.nbytes
            self.mirrors[mid] = [_reference(new), self._snapshot(new), id(new)]
            self.mirror_of[id(new)] = mid
            if len(self.mirrors) > self.limits.mirrors \
                    or self.mirrored_bytes > self.limits.mirrored_bytes:
                raise ProtocolError("too many shared arrays or values")
            return new
        if tag in ("l", "d"):
            mid = node.get("id")
            if type(mid) is not int or mid % 2 == self.side or mid in self.mirrors:
                raise ProtocolError("bad id of a new value")
            obj = [] if tag == "l" else {}
            self.mirrors[mid] = [_reference(obj), None, id(obj)]
            self.mirror_of[id(obj)] = mid
            if len(self.mirrors) > self.limits.mirrors \
                    or self.mirrored_bytes > self.limits.mirrored_bytes:
                raise ProtocolError("too many shared arrays or values")
            content = node.get("v")
            if tag == "l":
                if type(content) is not list:
                    raise ProtocolError("bad list")
                obj.extend(self.decode(item, bufs, state, depth + 1) for item in content)
            elif tag == "d":
                if type(content) is not list:
                    raise ProtocolError("bad dict")
                obj.update(self._pairs(content, bufs, state, depth))
            self.mirrors[mid][1] = self._snapshot(obj)
            return obj
        if tag == "r":
            mid = node.get("id")
            obj = self._get(mid) if type(mid) is int else None
            if obj is None:
                raise ProtocolError("reference to an unknown value")
            return obj
        if tag in ("u", "e", "z"):
            content = node.get("v")
            if type(content) is not list:
                raise ProtocolError("bad sequence")
            items = [self.decode(item, bufs, state, depth + 1) for item in content]
            if tag == "u":
                return tuple(items)
            if not all(_hashable(item) and not isinstance(item, (list, dict, set, np.ndarray))
                       for item in items):
                raise ProtocolError("set item is not hashable")
            return set(items) if tag == "e" else frozenset(items)
        if tag == "h":
            hid, name = node.get("id"), node.get("n")
            if type(hid) is not int or hid % 2 == self.side or type(name) is not str \
                    or len(name) > 100 or type(node.get("c")) is not bool:
                raise ProtocolError("bad handle")
            remote = self.remotes.get(hid)
            if remote is None:
                if len(self.remotes) >= self.limits.handles:
                    raise ProtocolError("too many handles")
                remote = self.remotes[hid] = self.make_remote(hid, name, node["c"])
            return remote
        if tag == "p":
            hid = node.get("id")
            if type(hid) is not int or hid not in self.handles:
                raise ProtocolError("unknown own handle")
            return self.handles[hid]
        raise ProtocolError("unknown value tag")
