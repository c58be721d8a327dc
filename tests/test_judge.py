"""The judge <-> kernel protocol: codec round trips and rejections, proxy semantics.

The kernel end (``instructor.agent.Agent``) runs in a thread over a socket pair, with a plain
dict as the notebook's namespace; the judge end is ``instructor.judge.Session``.
"""

from __future__ import annotations

import json
import linecache
import math
import socket
import struct
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from common import testing
from common.testing import CheckFailed
from instructor import judge, link, wire
from instructor.agent import Agent

CELL = "/tmp/ipykernel_0/cell-1.py"  # a file name the fake shell knows as a notebook cell


# -- codec ----------------------------------------------------------------------------------
def _pair():
    sent = []
    a = wire.Codec(0, lambda hid, name, c: ("kernel-object", hid, name, c))
    b = wire.Codec(1, lambda hid, name, c: ("judge-object", hid, name, c))
    return a, b, sent


def _through(sender: wire.Codec, receiver: wire.Codec, value):
    header, bufs = sender.encode_message({}, {"v": value})
    header = json.loads(json.dumps(header))  # what goes over the wire is JSON
    return receiver.decode_message(header, bufs, ("v",))["v"]


VALUES = [None, True, False, 0, -7, 2**80, -(2**70), 1.5, -0.0, float("inf"), 1e-308,
          complex(1.5, -2), "日本語 ✓", b"\x00\xff", (1, "a", (2.5,)), {1, 2}, frozenset("ab"),
          np.float64(0.1), np.int32(-3), np.bool_(True), np.float32(2.5), np.complex128(1j)]


@pytest.mark.parametrize("value", VALUES, ids=[repr(v)[:30] for v in VALUES])
def test_plain_values_round_trip_exactly(value):
    a, b, _ = _pair()
    got = _through(a, b, value)
    assert type(got) is type(value)
    assert got == value
    if type(value) is float:
        assert math.copysign(1, got) == math.copysign(1, value)


def test_nan_round_trips():
    a, b, _ = _pair()
    assert math.isnan(_through(a, b, float("nan")))


@pytest.mark.parametrize("dtype", ["?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8",
                                   "f2", "f4", "f8", "c8", "c16"])
def test_numeric_arrays_round_trip(dtype):
    a, b, _ = _pair()
    arr = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
    got = _through(a, b, arr)
    assert type(got) is np.ndarray and got.dtype == arr.dtype and got.shape == (3, 4)
    assert np.array_equal(got, arr) and got.flags.writeable


def test_non_contiguous_and_empty_arrays():
    a, b, _ = _pair()
    arr = np.arange(20.0).reshape(4, 5)[:, ::2].T
    assert np.array_equal(_through(a, b, arr), arr)
    assert _through(a, b, np.zeros((0, 3))).shape == (0, 3)


def test_object_and_string_arrays_are_handles_not_data():
    a, b, _ = _pair()
    for arr in (np.array([object()], dtype=object), np.array(["a", "b"])):
        got = _through(a, b, arr)
        assert got[0] == "judge-object"


def test_containers_keep_identity_and_cycles():
    a, b, _ = _pair()
    inner = np.ones(3)
    value = [inner, {"k": inner}, inner]
    value.append(value)
    got = _through(a, b, value)
    assert type(got) is list and got[3] is got
    assert got[0] is got[2] is got[1]["k"]


def test_mirrored_array_changes_flow_back_in_place():
    a, b, _ = _pair()
    arr = np.zeros(3)
    theirs = _through(a, b, arr)
    theirs[1] = 5.0  # the other end changes it in place
    again = _through(b, a, theirs)
    assert again is arr and arr[1] == 5.0


def test_mirrored_dict_changes_flow_back():
    a, b, _ = _pair()
    params = {"W": np.zeros(2)}
    theirs = _through(a, b, params)
    theirs["W"] = theirs["W"] - 1
    theirs["b"] = 3
    header, bufs = b.encode_message({}, {"v": None})
    a.decode_message(json.loads(json.dumps(header)), bufs, ("v",))
    assert set(params) == {"W", "b"} and np.array_equal(params["W"], [-1.0, -1.0])


def _decode(header: dict, bufs: list[bytes], side: int = 0):
    codec = wire.Codec(side, lambda *a: a)
    return codec.decode_message(header, bufs, ("v",))["v"]


@pytest.mark.parametrize("node, bufs", [
    ({"t": "a", "id": 3, "d": "|O", "sh": [1], "b": 0}, [b"\x00" * 8]),  # object dtype
    ({"t": "a", "id": 3, "d": "<f8", "sh": [3], "b": 0}, [b"\x00" * 8]),  # size mismatch
    ({"t": "a", "id": 3, "d": "<f8", "sh": [-1], "b": 0}, [b"\x00" * 8]),
    ({"t": "a", "id": "4", "d": "<f8", "sh": [1], "b": 0}, [b"\x00" * 8]),  # not an id
    ({"t": "a", "id": 3, "d": "<f8", "sh": [1], "b": 5}, [b"\x00" * 8]),  # no such buffer
    ({"t": "s", "d": "<U1", "b": 0}, [b"\x00" * 4]),
    ({"t": "x"}, []),
    ({"t": "p", "id": 2}, []),  # a handle of ours we never gave
    ({"t": "r", "id": 3}, []),  # a shared value we do not have
    ({"t": "d", "id": 3, "v": [[{"t": "l", "id": 5, "v": []}, 1]]}, []),  # list as dict key
    ({"t": "f", "v": "pickle"}, []),
    ({"t": "i", "v": "1e5"}, []),
    ({"t": "h", "id": 3, "n": "x" * 500, "c": True}, []),
    ([1, 2], []),
])
def test_malformed_values_are_rejected(node, bufs):
    with pytest.raises(wire.ProtocolError):
        _decode({"v": node, "u": []}, bufs)


def test_deep_nesting_and_floods_are_rejected():
    node = 1
    for _ in range(100):
        node = {"t": "u", "v": [node]}
    with pytest.raises(wire.ProtocolError):
        _decode({"v": node, "u": []}, [])
    with pytest.raises(wire.ProtocolError):
        _decode({"v": {"t": "u", "v": [0] * 300_000}, "u": []}, [])


def test_updates_of_unknown_values_or_new_shapes_are_rejected():
    with pytest.raises(wire.ProtocolError):
        _decode({"v": None, "u": [[7, []]]}, [])
    a, b, _ = _pair()
    arr = np.zeros(4)
    theirs = _through(a, b, arr)
    theirs.shape = (2, 2)  # same object, other shape
    with pytest.raises(wire.ProtocolError):
        _through(b, a, None)


def _frame_sock(data: bytes):
    left, right = socket.socketpair()
    left.sendall(data)
    left.close()
    return right


def test_frames_over_the_limits_are_rejected():
    limits = wire.Limits(header_bytes=100, buffer_bytes=10)
    with pytest.raises(wire.ProtocolError):
        wire.recv_frame(_frame_sock(struct.pack(">I", 1000) + b"{}"), None, limits)
    header = json.dumps({"bufs": [11]}).encode()
    with pytest.raises(wire.ProtocolError):
        wire.recv_frame(_frame_sock(struct.pack(">I", len(header)) + header), None, limits)
    with pytest.raises(wire.ProtocolError):
        wire.recv_frame(_frame_sock(struct.pack(">I", 3) + b"\xff\xfe["), None, limits)
    with pytest.raises(EOFError):
        wire.recv_frame(_frame_sock(struct.pack(">I", 50) + b"{"), None, limits)


# -- the two ends ---------------------------------------------------------------------------------
STUDENT = """
import numpy as np

def add(a, b=0):
    return a + b

def twice_via(f, x):
    return 2 * f(x)

def bump(x):
    x[0] += 1
    return x

def fresh(x):
    return x.copy()

def zeros(n):
    return np.zeros(n)

def fails(kind):
    raise {"value": ValueError, "key": KeyError}[kind]("学生のエラー")

class MyError(ValueError):
    pass

def fails_custom():
    raise MyError("独自の例外")

class Node:
    def __init__(self, W):
        self.W = W
        self.grads = [np.zeros_like(W)]

    def forward(self, x):
        return x @ self.W

    def backward(self):
        self.grads[0][...] = 1.0

def catches(f):
    try:
        f()
    except Exception:
        return "caught"

def calls_f_forever(f):
    while True:
        f(1.0)

def sleeps():
    import time
    time.sleep(30)

def peek(f):
    return f.__globals__

def describe(f):
    return repr(f), hasattr(f, "__len__"), f(2.0)

def probe(obj):
    out = []
    for name in ("count", "_secret", "method"):
        try:
            value = getattr(obj, name)
            out.append(value() if callable(value) else value)
        except AttributeError:
            out.append("refused")
    try:
        obj.count = 99
        out.append("set")
    except AttributeError:
        out.append("refused")
    return out

def draws():
    return np.random.randn()
"""


@pytest.fixture
def ends():
    judge_sock, kernel_sock = socket.socketpair()
    user_ns: dict = {}
    shell = SimpleNamespace(user_ns=user_ns, compile=SimpleNamespace(_filename_map={CELL: 1}))
    exec(compile(STUDENT, CELL, "exec"), user_ns)
    linecache.cache[CELL] = (len(STUDENT), None, STUDENT.splitlines(True), CELL)  # as IPython
    agent = Agent(kernel_sock, shell)

    def serve_forever():
        try:
            while True:
                agent.serve()
        except BaseException:  # noqa: BLE001 - the socket closes at the end of the test
            pass

    thread = threading.Thread(target=serve_forever, daemon=True)
    thread.start()
    session = judge.Session()
    session.connect(judge_sock)
    session.setup("import numpy as np\nfrom common.testing import check_close, check_true\n")
    session.agent = agent  # for tests that change the kernel end's limits
    session.setup_ns["__codec__"] = session.codec  # for tests that look at the shared values
    yield session
    judge_sock.close()
    kernel_sock.close()
    testing.read_global_rng_state_with(np.random.get_state)


def _run(session, source: str, timeout: float = 20) -> dict:
    return session.run_test(source, timeout)


def test_calls_attributes_and_callbacks(ends):
    verdict = _run(ends, """
check_true(add(2, b=3) == 5, check="call")
check_close(twice_via(lambda t: t * t, 3.0), 18.0, name="callback")
node = Node(np.eye(2))
check_close(node.forward(np.array([1.0, 2.0])), [1.0, 2.0], name="method")
node.W = 2 * np.eye(2)
check_close(node.forward(np.array([1.0, 2.0])), [2.0, 4.0], name="setattr")
print("OK")
""")
    assert verdict["error"] is None, verdict
    assert verdict["stdout"] == "OK\n"


def test_stand_ins_say_whose_object_they_are_and_forward_no_special_names(ends):
    verdict = _run(ends, """
node = Node(np.eye(2))
assert repr(node) == "<あなたの Node 型のオブジェクト>", repr(node)
assert not callable(node) and callable(add)
assert not hasattr(node, "__array__") and not hasattr(node, "__len__")
node.W = 3 * np.eye(2)
assert node.W[0, 0] == 3.0
shown, has_len, value = describe(lambda t: t + 1)
assert shown == "<採点側の function>" and has_len is False and value == 3.0, (shown, has_len)
print("OK")
""")
    assert verdict["error"] is None, verdict
    assert verdict["stdout"] == "OK\n"


def test_a_test_double_shows_the_kernel_its_public_data_and_methods_only(ends):
    verdict = _run(ends, """
class Double:
    def __init__(self):
        self.count = 0
        self._secret = 42.0

    def method(self):
        return "m"

double = Double()
seen = probe(double)
assert seen == [0, "refused", "m", "refused"], seen
assert double.count == 0
print("OK")
""")
    assert verdict["error"] is None, verdict
    assert verdict["stdout"] == "OK\n"


def test_each_test_cell_starts_from_the_setup_names_only(ends):
    assert _run(ends, "helper = 41\nprint('OK')\n")["error"] is None
    later = _run(ends, "print(helper + 1)\n")
    # not in the judge's fresh namespace, not in the kernel either: a NameError (explained)
    assert "NameError" in later["error"]["evalue"] and "helper" in later["error"]["evalue"], later


def test_student_classes_are_stand_ins_not_types(ends):
    verdict = _run(ends, """
node = Node(np.eye(2))
try:
    isinstance(node, Node)
except TypeError:
    print("TypeError")
""")
    assert verdict["error"] is None and verdict["stdout"] == "TypeError\n", verdict


def test_mutated_arguments_and_identity_are_seen(ends):
    verdict = _run(ends, """
x = np.zeros(2)
y = bump(x)
assert x[0] == 1.0 and y is x
z = fresh(x)
assert z is not x and z[0] == 1.0
W = np.eye(2)
node = Node(W)
assert node.W is W
W[0, 0] = 7.0  # the test changes the array the student's object holds
assert node.forward(np.array([1.0, 0.0]))[0] == 7.0
grads = node.grads
node.backward()
assert node.grads[0] is grads[0] and grads[0][1, 1] == 1.0
print("OK")
""")
    assert verdict["error"] is None, verdict


def test_student_exceptions_are_raised_as_their_builtin_type(ends):
    verdict = _run(ends, """
try:
    fails("value")
except ValueError as err:
    assert "学生のエラー" in str(err)
try:
    fails_custom()
except ValueError as err:
    assert "独自の例外" in str(err)
fails("key")
""")
    error = verdict["error"]
    # an error the test did not catch is explained in Japanese (common.explain): its type, the
    # student's own line where it happened
    assert error["ename"] == "CheckFailed"
    assert "fails を呼んだところで KeyError が起きました" in error["evalue"]
    assert any("fails の中" in line and "raise" in line for line in error["traceback"])
    assert not any("assert" in line for line in error["traceback"])  # never the test's source


def test_check_failed_in_a_callback_fails_the_test_even_if_caught(ends):
    verdict = _run(ends, """
def strict():
    check_true(False, check="コールバックの中のチェック")
assert catches(strict) == "caught"
print("reached")
""")
    assert verdict["error"]["ename"] == "CheckFailed"


def test_the_kernel_cannot_introspect_the_judge(ends):
    verdict = _run(ends, """
secret = 12345.0
peek(lambda t: secret)
""")
    # the student's AttributeError, explained (common.explain); the secret never reaches them
    assert verdict["error"]["ename"] == "CheckFailed"
    assert "AttributeError" in verdict["error"]["evalue"]
    assert "12345" not in json.dumps(verdict)


def test_a_hanging_call_fails_the_test_then_the_link_is_closed(ends):
    start = time.monotonic()
    verdict = _run(ends, "sleeps()\n", timeout=1.0)
    assert time.monotonic() - start < 10
    assert verdict["error"]["ename"] == "TestAborted"
    again = _run(ends, "print('never')\n")
    assert again["error"]["ename"] == "TestAborted"


def test_callbacks_forever_end_at_the_deadline(ends):
    verdict = _run(ends, "calls_f_forever(lambda t: t)\n", timeout=1.0)
    assert verdict["error"]["ename"] == "TestAborted"


def test_garbage_from_the_kernel_fails_closed():
    judge_sock, kernel_sock = socket.socketpair()
    session = judge.Session()
    session.connect(judge_sock)
    kernel_sock.sendall(b"\x00\x00\x00\x05hello")
    threading.Timer(0.3, lambda: kernel_sock.sendall(b"\x00\x00\x00\x05[1,2]")).start()
    verdict = session.run_test("print('x')\n", 3)
    assert verdict["error"]["ename"] == "TestAborted"
    assert not verdict["stdout"]


def test_check_failed_renders_only_its_message():
    error = judge._render(CheckFailed("チェック: x\n  期待した結果: 1"))
    assert error["ename"] == "CheckFailed" and error["traceback"][1] == "チェック: x"


def test_global_names_sees_nested_code_but_not_attributes():
    code = compile("def f():\n    return g(np.random.x)\nclass C:\n    y = h\n[k for _ in z]\n",
                   "<t>", "exec")
    assert {"g", "np", "h", "k", "z"} <= judge.global_names(code)
    assert "random" not in judge.global_names(code) and "x" not in judge.global_names(code)


def test_link_broken_is_not_an_exception():
    assert not issubclass(link.LinkBroken, Exception)


def test_a_value_too_large_to_send_is_an_error_not_a_broken_link(ends):
    limits = wire.Limits(buffer_bytes=1000)
    ends.link.limits = limits
    ends.codec.limits = limits
    verdict = _run(ends, """
x = np.zeros(500)  # 4000 bytes: more than the test end may send
try:
    add(x)
except wire.ProtocolError:
    pass
check_close(add(2.0, b=1.0), 3.0, name="after the refused message")
print("OK")
""".replace("wire.ProtocolError", "Exception"))
    assert verdict["error"] is None, verdict


def test_names_to_fetch_skips_what_the_test_binds_first():
    code = compile("net = Net()\nprint(x)\ndef f():\n    return start\nstart = 1\nuse(y)\ny = 2\n",
                   "<t>", "exec")
    assert judge.names_to_fetch(code) == {"Net", "print", "x", "use", "y"}


def test_global_rng_use_is_read_in_the_kernel(ends):
    ends.setup("from common.testing import global_rng_unused\n")
    verdict = _run(ends, """
with global_rng_unused(name="fresh"):
    fresh(np.zeros(2))
print("clean")
with global_rng_unused(name="draws"):
    draws()
""")
    assert verdict["stdout"] == "clean\n"
    assert verdict["error"]["ename"] == "CheckFailed"


def test_a_value_with_too_many_items_is_refused_before_sending():
    a, _, _ = _pair()
    with pytest.raises(wire.ProtocolError):
        a.encode_message({}, {"v": [0.5] * 300_000})


def test_a_kernel_that_floods_its_socket_fails_closed():
    judge_sock, kernel_sock = socket.socketpair()
    session = judge.Session()
    session.connect(judge_sock)
    stop = threading.Event()

    def flood():
        kernel_sock.setblocking(False)
        while not stop.is_set():
            try:
                kernel_sock.send(b"x" * 65536)
            except BlockingIOError:
                time.sleep(0.001)

    threading.Thread(target=flood, daemon=True).start()
    start = time.monotonic()
    verdict = session.run_test("print('x')\n", 30)
    stop.set()
    assert time.monotonic() - start < 10
    assert verdict["error"]["ename"] == "TestAborted"


def test_an_answer_too_large_to_send_is_a_student_error(ends):
    ends.agent.link.limits = wire.Limits(buffer_bytes=1000)  # what the kernel end may send
    verdict = _run(ends, """
try:
    zeros(500)  # 4000 bytes: too large to answer
except ValueError as err:
    print("refused:", "大きすぎる" in str(err))
check_close(add(1.0, b=2.0), 3.0, name="the link still works")
""")
    assert verdict["error"] is None and verdict["stdout"] == "refused: True\n", verdict


def test_freed_arrays_stop_being_shared_and_may_be_sent_again(ends):
    verdict = _run(ends, """
x = np.arange(3.0)
for _ in range(300):  # every answer is a new array, freed on both ends right after
    y = fresh(x)
assert len(ends_codec.mirrors) < 20, len(ends_codec.mirrors)
assert fresh(x)[2] == 2.0 and bump(x) is x and x[0] == 1.0
print("OK")
""".replace("ends_codec", "__codec__"))
    assert verdict["error"] is None and verdict["stdout"] == "OK\n", verdict
