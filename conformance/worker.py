"""Run an implementation in a child process, so that what it does to itself costs one case, not the run.

``IsolatedAdapter`` stands in for an adapter in the pytest process and forwards each call to a worker
(``python -m conformance.worker TARGET``) over its stdin/stdout as length-prefixed pickles. The worker
moves its own stdout onto stderr before importing anything, so a library that prints cannot corrupt the
channel; stderr goes to a log file whose tail is quoted when the worker dies.

  - an exception in the library comes back as ``WorkerRaised`` ("Type: message"), like an in-process raise;
  - no answer within the case timeout: the worker is killed, the case gets ``CaseTimeout``, and the next
    call starts a fresh worker;
  - a worker that dies (abort, segfault, os._exit) gives ``WorkerCrashed`` naming the signal or exit code.

The worker's environment can be set per implementation (Keras 3 picks its backend from KERAS_BACKEND at
import time, so each backend lives in its own worker).
"""
from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from adapters.base import Adapter, Unsupported

ROOT = Path(__file__).resolve().parent.parent
_HEADER = struct.Struct("!Q")
LOG_VARIABLE = "LOSSCONF_WORKER_LOG"  # where the worker's stderr goes, so an orphaned worker can remove it


class IsolationFailure(RuntimeError):
    """The worker hung or died: the case is an error whatever its input (a crash is no clean rejection)."""


class CaseTimeout(IsolationFailure):
    pass


class WorkerCrashed(IsolationFailure):
    pass


class WorkerRaised(Exception):
    """The library raised inside the worker; str() is the original "Type: message"."""


def _send(stream, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, got = [], 0
    while got < n:
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            raise TimeoutError
        chunk = os.read(fd, n - got)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _receive(fd: int, deadline: float | None = None):
    (size,) = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline))
    return pickle.loads(_read_exact(fd, size, deadline))


def _describe(adapter: Adapter) -> dict:
    return {
        "name": adapter.name, "library": adapter.library, "semantics": dict(adapter.semantics),
        "devices": tuple(adapter.devices), "variants": tuple(adapter.variants), "version": adapter.version(),
        "has_handle_identities": hasattr(adapter, "handle_identities"), "gradient_modes": tuple(adapter.gradient_modes),
        "implements_gradients": adapter.implements_gradients(),
    }


class IsolatedAdapter(Adapter):
    """An adapter whose every call runs in a worker process (see the module docstring)."""

    def __init__(self, target: str, env: dict | None = None, case_timeout: float = 120.0, setup_timeout: float = 600.0):
        self.target, self.env = target, dict(env or {})
        self.case_timeout, self.setup_timeout = case_timeout, setup_timeout
        self._proc = None
        self._log = None
        try:
            info = self._call("describe", timeout=setup_timeout, setup=False)
        except BaseException:
            self.close()
            raise
        self.name, self.library, self.semantics = info["name"], info["library"], info["semantics"]
        self.devices, self.variants, self._version = info["devices"], info["variants"], info["version"]
        self.gradient_modes, self._implements_gradients = info["gradient_modes"], info["implements_gradients"]
        if info["has_handle_identities"]:
            self.handle_identities = lambda: self._call("handle_identities")

    def implements_gradients(self) -> bool:  # the adapter's own answer, from its worker
        return self._implements_gradients

    # -- worker lifecycle ------------------------------------------------------------------------
    def _start(self) -> None:
        self._discard_log()
        self._log = tempfile.NamedTemporaryFile(prefix="lossconf-worker-", suffix=".log", delete=False)
        env = {**os.environ, **self.env, LOG_VARIABLE: self._log.name, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        self._proc = subprocess.Popen([sys.executable, "-m", "conformance.worker", self.target], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=self._log, env=env, cwd=os.getcwd())
        self._ready = False

    def _stop(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def close(self) -> None:
        if self._proc and self._proc.poll() is None:
            try:
                _send(self._proc.stdin, ("exit",))
                self._proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._stop()
        self._discard_log()

    def _discard_log(self) -> None:
        # the log only serves the message of a crash, read before the worker restarts
        if self._log:
            self._log.close()
            Path(self._log.name).unlink(missing_ok=True)
            self._log = None

    def _death(self) -> str:
        code = self._proc.wait() if self._proc else None
        cause = f"killed by {signal.Signals(-code).name}" if code is not None and code < 0 else f"exited with code {code}"
        tail = ""
        if self._log:
            try:
                text = Path(self._log.name).read_text(errors="replace").strip().splitlines()
            except OSError:  # someone cleaned the temporary folder under us: the cause alone must do
                text = []
            tail = (": " + " | ".join(text[-3:])) if text else ""
        return f"the {self.target} worker process {cause}{tail}"

    def _call(self, op: str, *args, timeout: float | None = None, setup: bool = True):
        if self._proc is None or self._proc.poll() is not None:
            self._start()
        if setup and not self._ready:
            self._exchange("setup", (), self.setup_timeout)
            self._ready = True
        return self._exchange(op, args, timeout or self.case_timeout)

    def _exchange(self, op: str, args: tuple, timeout: float):
        try:
            _send(self._proc.stdin, (op, *args))
            status, payload = _receive(self._proc.stdout.fileno(), time.monotonic() + timeout)
        except TimeoutError:
            self._stop()
            raise CaseTimeout(f"no answer from {self.target} within {timeout:g} s; its worker was killed and will restart") from None
        except (EOFError, BrokenPipeError, OSError):
            message = self._death()
            self._proc = None
            raise WorkerCrashed(message) from None
        if status == "ok":
            return payload
        if status == "unsupported":
            raise Unsupported(payload)
        raise WorkerRaised(payload)

    # -- the adapter contract, forwarded -----------------------------------------------------------
    def version(self) -> str:
        return self._version

    def setup(self) -> None:
        self._call("describe")  # starts the worker and runs the real setup once

    def available_devices(self):
        return self._call("available_devices")

    def environment(self) -> dict:
        return {**self._call("environment"), "isolation": "worker process", "case_timeout_s": self.case_timeout}

    def supports(self, case):
        return self._call("supports", case)

    def compute(self, case):
        return self._call("compute", case)

    def reproducer(self, case) -> str:
        return self._call("reproducer", case)

    def gradient_support(self, case, mode="reverse"):
        return self._call("gradient_support", case, mode)

    def compute_gradient(self, case, wrt, cotangent, mode="reverse"):
        return self._call("compute_gradient", case, tuple(wrt), cotangent, mode)

    def gradient_reproducer(self, case, wrt, cotangent, mode="reverse") -> str:
        return self._call("gradient_reproducer", case, tuple(wrt), cotangent, mode)


def serve(target: str) -> None:
    """The worker's loop: answer (op, *args) requests until told to exit or the pipe closes."""
    channel_in = os.fdopen(os.dup(0), "rb")
    channel_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything the library prints goes to the log, not into the channel
    sys.stdout = sys.stderr
    from adapters.registry import resolve_direct

    adapter = resolve_direct(target)
    while True:
        try:
            (size,) = _HEADER.unpack(channel_in.read(_HEADER.size))
        except struct.error:
            return _orphaned()
        op, *args = pickle.loads(channel_in.read(size))
        if op == "exit":
            return
        try:
            if op == "describe":
                result = _describe(adapter)
            elif op == "setup":
                result = adapter.setup()
            elif op == "compute":
                result = adapter.compute(*args)
            else:
                result = getattr(adapter, op)(*args)
            reply = ("ok", result)
        except Unsupported as exc:
            reply = ("unsupported", str(exc))
        except Exception as exc:
            reply = ("raised", f"{type(exc).__name__}: {exc}".strip()[:2000])
        try:
            _send(channel_out, reply)
        except BrokenPipeError:
            return _orphaned()


def _orphaned() -> None:
    """The parent went away (killed, or a run stopped with SIGKILL): nobody will read this worker's log."""
    with contextlib.suppress(OSError):
        os.unlink(os.environ.get(LOG_VARIABLE, ""))


if __name__ == "__main__":
    serve(sys.argv[1])
