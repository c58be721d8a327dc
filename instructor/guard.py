"""The grading kernel's guard: student code cannot change how the tests judge it.

Started as the grading kernel itself (``python -m instructor.guard -f <connection file>``), it
installs :data:`GUARD` in the IPython kernel before any notebook cell runs. The grader
(:class:`instructor.execute.SandboxedExecute`) talks to it through ``user_expressions`` of
silent execute requests (evaluated directly, never through IPython's input transformers):

``mark()`` / ``checkpoint()``
    around each cell that came from the master: names that cell bound (imports, given helpers)
    are remembered, to be given back to the tests.
``reset(nonce)``
    before each test cell: puts back everything a student's cell may have changed that the tests
    rely on: numpy, ``common`` and the standard modules they use (attributes, function code and
    defaults), builtins, ``sys`` hooks and module table, IPython's input/AST transformers,
    custom exception handler, event callbacks and overridden shell/kernel methods; stops
    threads started by the student's code. Answers ``ok:<nonce>`` plus what it had to restore.
``verdict(nonce)``
    after the test cell: ``pass`` only if the test ran to its end without an exception and
    nothing of the above changed while it ran (a student's function that patches numpy when it
    is called fails the test).

The test cell itself is sent as ``__kobai_run_test__(nonce, source)``: its code runs in a fresh
namespace made from the notebook's, with the master's names given back and the student's
callables that shadow builtins left out, so a student's ``range = ...`` cannot empty a test loop.
"""

from __future__ import annotations

import builtins
import ctypes
import json
import sys
import threading
import types

TRUSTED_PREFIXES = ("numpy", "common", "math", "functools", "itertools", "operator",
                    "collections", "copy", "inspect")
PROTECTED_CLASSES = ("IPython.core.interactiveshell.InteractiveShell",
                     "ipykernel.zmqshell.ZMQInteractiveShell",
                     "ipykernel.ipkernel.IPythonKernel",
                     "ipykernel.kernelbase.Kernel",
                     "jupyter_client.session.Session",
                     "ipykernel.iostream.OutStream",
                     "ipykernel.iostream.IOPubThread",
                     "IPython.core.displayhook.DisplayHook",
                     "ipykernel.displayhook.ZMQShellDisplayHook",
                     "IPython.core.events.EventManager")
EAGER_MODULES = ("numpy", "numpy.linalg", "numpy.random", "numpy.testing", "common.testing",
                 "common.grad", "common.loss", "common.activations", "common.layers",
                 "common.optimizers")
SYS_HOOKS = ("displayhook", "excepthook", "stdout", "stderr", "stdin", "exit")
# attributes ipykernel sets on itself while a cell runs (stdin forwarding)
KERNEL_MANAGED = ("_save_getpass", "_sys_raw_input", "_sys_eval_input", "_save_input")
TRUSTED_CALLBACK_PREFIXES = ("IPython", "ipykernel", "matplotlib", "matplotlib_inline",
                             "ipywidgets", "comm")


_MISSING = object()


def _resolve(dotted: str):
    module_name, _, attr = dotted.rpartition(".")
    module = sys.modules.get(module_name)
    return getattr(module, attr, None) if module is not None else None


def _same(a, b) -> bool:
    """Identity, also for bound methods (``obj.method`` makes a new object at every access)."""
    if a is b:
        return True
    return (isinstance(a, types.MethodType) and isinstance(b, types.MethodType)
            and a.__func__ is b.__func__ and a.__self__ is b.__self__)


def _function_state(value):
    if isinstance(value, types.FunctionType):
        return (value.__code__, value.__defaults__, value.__kwdefaults__)
    return None


class Guard:
    """Snapshots taken before any student code; restored and checked around every test."""

    def __init__(self, shell, kernel) -> None:
        import importlib

        for name in EAGER_MODULES:
            try:
                importlib.import_module(name)
            except ImportError:
                pass
        self.shell = shell
        self.kernel = kernel
        self.modules: dict[str, types.ModuleType] = {}
        self.module_vars: dict[str, dict] = {}
        self.functions: dict[int, tuple] = {}
        self._snapshot_new_modules()
        self.builtins = dict(vars(builtins))
        self.sys_hooks = {name: getattr(sys, name) for name in SYS_HOOKS}
        self.meta_path = list(sys.meta_path)
        self.classes = {}
        for dotted in PROTECTED_CLASSES:
            cls = _resolve(dotted)
            if isinstance(cls, type):
                self.classes[dotted] = (cls, dict(vars(cls)))
        self.instances = {"shell": (shell, dict(vars(shell))),
                          "kernel": (kernel, dict(vars(kernel)))}
        for attr in ("displayhook", "display_pub", "events", "compile"):
            value = getattr(shell, attr, None)
            if value is not None:
                self.instances[f"shell.{attr}"] = (value, dict(vars(value)))
        session = getattr(kernel, "session", None)
        if session is not None:
            self.instances["kernel.session"] = (session, dict(vars(session)))
        self.transformers = {
            "input_transformers_cleanup": list(shell.input_transformers_cleanup),
            "input_transformers_post": list(shell.input_transformers_post),
            "ast_transformers": list(shell.ast_transformers),
        }
        manager = shell.input_transformer_manager
        self.manager = (manager, {k: list(v) for k, v in vars(manager).items()
                                  if isinstance(v, list)})
        self.callbacks = {event: list(cbs) for event, cbs in shell.events.callbacks.items()}
        self.threads = set(threading.enumerate())
        self.master_names: dict[str, object] = {}
        self._marked: dict[str, int] = {}
        self._verdicts: dict[str, str] = {}

    def _snapshot_new_modules(self) -> None:
        """Snapshot trusted modules not seen yet (at start, and after each master cell)."""
        for name, module in list(sys.modules.items()):
            if module is None or name in self.modules \
                    or name.split(".")[0] not in TRUSTED_PREFIXES:
                continue
            self.modules[name] = module
            self.module_vars[name] = namespace = dict(vars(module))
            for value in namespace.values():
                members = [value]
                if isinstance(value, type) and value.__module__ == name \
                        and name.startswith("common"):
                    members += list(vars(value).values())
                for member in members:
                    state = _function_state(member)
                    if state is not None:
                        self.functions[id(member)] = (member, state)

    # -- master cells -----------------------------------------------------------------------
    def mark(self) -> str:
        self._marked = {k: id(v) for k, v in self.shell.user_ns.items()}
        return "ok"

    def checkpoint(self) -> str:
        """Remember what the master cell just bound: modules, functions, classes."""
        for key, value in self.shell.user_ns.items():
            if key.startswith("_") or self._marked.get(key) == id(value):
                continue
            if isinstance(value, (types.ModuleType, types.FunctionType, type,
                                  types.BuiltinFunctionType)):
                self.master_names[key] = value
        self._snapshot_new_modules()
        return "ok"

    # -- before a test ----------------------------------------------------------------------
    def _restore_namespace(self, label: str, target, snapshot: dict, changed: list[str],
                           *, only_callables: bool = False) -> None:
        current = vars(target) if not isinstance(target, dict) else target
        for key, value in snapshot.items():
            if only_callables and not callable(value):
                continue
            if key not in current or not _same(current[key], value):
                changed.append(f"{label}.{key}")
                try:
                    if isinstance(target, dict):
                        target[key] = value
                    else:
                        setattr(target, key, value)
                except (AttributeError, TypeError):
                    pass
        for key in [k for k in list(current) if k not in snapshot]:
            value = current[key]
            if isinstance(value, types.ModuleType) or key.startswith("__"):
                continue
            if key in KERNEL_MANAGED:
                continue
            if only_callables and not callable(value):
                continue
            changed.append(f"{label}.{key} (added)")
            try:
                if isinstance(target, dict):
                    del target[key]
                else:
                    delattr(target, key)
            except (AttributeError, TypeError):
                pass

    def _restore_core(self, entry: tuple[dict, dict] | None = None) -> list[str]:
        """numpy, common & co., builtins, sys hooks, the kernel's classes: what tests rely on.

        Builtins and sys hooks are compared with ``entry`` when given: while a cell runs,
        IPython and ipykernel swap some of them (``input``, ``displayhook``) themselves.
        """
        changed: list[str] = []
        sys.settrace(None)
        sys.setprofile(None)
        threading.settrace(None)
        threading.setprofile(None)
        for name, module in self.modules.items():
            if sys.modules.get(name) is not module:
                changed.append(f"sys.modules[{name!r}]")
                sys.modules[name] = module
            self._restore_namespace(name, module, self.module_vars[name], changed)
        for function, (code, defaults, kwdefaults) in self.functions.values():
            if (function.__code__, function.__defaults__, function.__kwdefaults__) != \
                    (code, defaults, kwdefaults):
                changed.append(f"{function.__module__}.{function.__qualname__}.__code__")
                function.__code__, function.__defaults__ = code, defaults
                function.__kwdefaults__ = kwdefaults
        saved_builtins, saved_hooks = entry or (self.builtins, self.sys_hooks)
        current = vars(builtins)
        for key, value in saved_builtins.items():
            if key in ("exit", "quit"):  # IPython swaps these while a cell runs
                continue
            if not _same(current.get(key, _MISSING), value):
                changed.append(f"builtins.{key}")
                current[key] = value
        for name, value in saved_hooks.items():
            if not _same(getattr(sys, name), value):
                changed.append(f"sys.{name}")
                setattr(sys, name, value)
        if sys.meta_path != self.meta_path:
            changed.append("sys.meta_path")
            sys.meta_path[:] = self.meta_path
        for dotted, (cls, snapshot) in self.classes.items():
            self._restore_namespace(dotted, cls, snapshot, changed, only_callables=True)
        return changed

    def _restore_kernel_state(self) -> list[str]:
        """The shell's and kernel's own hooks: transformers, exception handler, events."""
        changed: list[str] = []
        for label, (obj, snapshot) in self.instances.items():
            self._restore_namespace(label, obj, snapshot, changed, only_callables=True)
        shell = self.shell
        for attr, saved in self.transformers.items():
            current_list = getattr(shell, attr)
            if current_list != saved:
                changed.append(f"shell.{attr}")
                current_list[:] = saved
        manager, lists = self.manager
        if shell.input_transformer_manager is not manager:
            changed.append("shell.input_transformer_manager")
            shell.input_transformer_manager = manager
        for key, saved in lists.items():
            if getattr(manager, key) != saved:
                changed.append(f"input_transformer_manager.{key}")
                setattr(manager, key, list(saved))
        if shell.custom_exceptions:
            changed.append("shell.set_custom_exc")
            shell.custom_exceptions = ()
        for event, callbacks in shell.events.callbacks.items():
            kept = [cb for cb in callbacks if cb in self.callbacks.get(event, [])
                    or getattr(cb, "__module__", "").split(".")[0] in TRUSTED_CALLBACK_PREFIXES]
            if kept != callbacks:
                changed.append(f"shell.events[{event!r}]")
                callbacks[:] = kept
        return changed

    def _stop_student_threads(self) -> list[str]:
        """Stop threads whose code the notebook defined (library threads such as tqdm's stay)."""
        stopped = []
        for thread in threading.enumerate():
            if thread in self.threads or thread is threading.current_thread():
                continue
            target = getattr(thread, "_target", None)
            target = getattr(target, "func", target)  # functools.partial
            origin = {getattr(target, "__module__", None), type(thread).__module__}
            if "__main__" not in origin:
                continue
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident),
                                                       ctypes.py_object(SystemExit))
            stopped.append(f"thread {thread.name}")
        return stopped

    def reset(self, nonce: str) -> str:
        changed = self._restore_core() + self._restore_kernel_state()
        changed += self._stop_student_threads()
        self.shell.user_ns["__kobai_run_test__"] = self.run_test
        return f"ok:{nonce}:" + json.dumps(sorted(set(changed)))

    # -- the test -----------------------------------------------------------------------------
    def _test_namespace(self) -> dict:
        namespace = dict(self.shell.user_ns)
        for key, value in list(namespace.items()):
            if key in self.builtins and key not in self.master_names and callable(value):
                del namespace[key]  # a student's range/len/isinstance... never reaches a test
        namespace.update(self.master_names)
        namespace["__builtins__"] = builtins
        namespace["__name__"] = "__main__"
        return namespace

    def run_test(self, nonce: str, source: str) -> None:
        """Run one test cell's code; raise what it raises (IPython shows it as the cell's error)."""
        self._verdicts[nonce] = "started"
        code = compile(source, "<テスト>", "exec", dont_inherit=True)
        namespace = self._test_namespace()
        before = dict(namespace)
        entry = (dict(vars(builtins)), {name: getattr(sys, name) for name in SYS_HOOKS})
        try:
            exec(code, namespace)
        finally:
            tampered = self._restore_core(entry)
        if tampered:
            self._verdicts[nonce] = "tampered:" + json.dumps(sorted(set(tampered)))
            raise TamperedError(tampered)
        user_ns = self.shell.user_ns
        for key, value in namespace.items():  # what the test defined stays, as in a normal cell
            if not key.startswith("__") and before.get(key, _MISSING) is not value:
                user_ns[key] = value
        self._verdicts[nonce] = "pass"

    def verdict(self, nonce: str) -> str:
        return self._verdicts.pop(nonce, "none")


class TamperedError(Exception):
    """Raised when a test ran while student code changed what tests rely on."""

    def __init__(self, changed: list[str]) -> None:
        shown = ", ".join(sorted(set(changed))[:5])
        super().__init__(f"テストの実行中に採点環境 ({shown}) が書き換えられたため、"
                         "このテストは不合格です")

    def _render_traceback_(self) -> list[str]:
        return [f"TamperedError: {self}"]


GUARD: Guard | None = None


def main() -> None:
    """Start an IPython kernel with the guard installed before the first cell."""
    global GUARD
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(sys.argv[1:])
    GUARD = Guard(app.shell, app.kernel)
    app.start()


if __name__ == "__main__":
    # ``python -m`` runs this file as __main__: make the guard reachable under its own name
    sys.modules.setdefault("instructor.guard", sys.modules["__main__"])
    main()
