"""Run `checkerlab` commands the way a user does, but many of them cheaply: one sandbox process imports
checkerlab once, then runs every command in a forked child with an address-space limit (RLIMIT_AS) and a
wall-clock timeout. The child calls the CLI's `main(argv)` with stdout/stderr redirected at the file
descriptor level (so even output from C code or Qt is caught) and strict UTF-8 streams (so printing an
unprintable message fails as it would in a terminal). One interpreter start for a whole corpus, yet every
input is isolated: a crash, a hang or a MemoryError in one input cannot affect the next.

Why a subprocess and not the test process: pytest has Qt and Numba threads running by then, and forking a
process with threads is unsafe; the sandbox forks before any of them exist.

Protocol: one JSON object per line on stdin, {"argv": [...], "files": {name: content}, "env": {...}}, where "{dir}" in
argv is the case's fresh directory and content is text, {"hex": ...}, a `join` form (see `expand`) or
{"fifo": true} for a named pipe; one
JSON result per line on stdout: {"status": "exit" | "timeout" | "signal", "code", "stdout", "stderr",
"seconds", "max_rss_mb"}.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TIMEOUT_S = 20
MEMORY = 4 << 30
#: The CLI's contract for bad input: exit code 2 and one line of at most this many characters.
MAX_LINE = 300


def expand(value):
    """A string, or {"join": [part, ...]} with parts strings or [string, times]: long inputs stay short in
    the corpus. {"hex": ...} gives bytes."""
    if isinstance(value, dict) and "hex" in value:
        return bytes.fromhex(value["hex"])
    if isinstance(value, dict) and "join" in value:
        return "".join(p if isinstance(p, str) else p[0] * p[1] for p in value["join"])
    return value


def _child(argv: list[str], env: dict, out, err) -> None:
    """In the forked child: limits, environment, fd-level capture, then the CLI. Never returns."""
    os.environ.update(env)
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    os.dup2(out.fileno(), 1)
    os.dup2(err.fileno(), 2)
    sys.stdout = open(1, "w", encoding="utf-8", errors="strict", closefd=False)
    sys.stderr = open(2, "w", encoding="utf-8", errors="strict", closefd=False)
    code = 70
    try:
        from checkerlab.app.cli import main

        code = main(argv)
    except BaseException:  # noqa: BLE001 - anything that escapes main is what we are looking for
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code if isinstance(code, int) else 70)


def run_case(case: dict, timeout: float = TIMEOUT_S) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        for name, content in case.get("files", {}).items():
            Path(tmp, name).parent.mkdir(parents=True, exist_ok=True)
            if content == {"fifo": True}:  # a named pipe: reading it blocks until someone writes
                os.mkfifo(Path(tmp, name))
                continue
            data = expand(content)
            Path(tmp, name).write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
        argv = [expand(a).replace("{dir}", tmp) for a in case["argv"]]
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            start = time.monotonic()
            pid = os.fork()
            if pid == 0:
                os.chdir(tmp)
                _child(argv, case.get("env", {}), out, err)
            status = "timeout"
            while time.monotonic() - start < timeout:
                done, wait_status, usage = os.wait4(pid, os.WNOHANG)
                if done:
                    status = "exit" if os.WIFEXITED(wait_status) else "signal"
                    break
                time.sleep(0.005)
            else:
                os.kill(pid, 9)
                _, wait_status, usage = os.wait4(pid, 0)
            seconds = time.monotonic() - start
            out.seek(0)
            err.seek(0)
            return {"status": status, "code": os.waitstatus_to_exitcode(wait_status) if status == "exit" else None,
                    "stdout": out.read().decode("utf-8", "backslashreplace"),
                    "stderr": err.read().decode("utf-8", "backslashreplace"),
                    "seconds": round(seconds, 3), "max_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def serve() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.pop("CHECKERLAB_DEBUG", None)
    import checkerlab.app.cli  # noqa: F401 - imported once, before any fork
    import checkerlab.kernels  # noqa: F401

    for line in sys.stdin:
        print(json.dumps(run_case(json.loads(line))), flush=True)


class Sandbox:
    """Client: `run(argv, files, env)` sends one case to the sandbox process. `env` of the constructor applies
    to every case."""

    def __init__(self, env: dict | None = None):
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", **(env or {})}
        self.proc = subprocess.Popen([sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=env, cwd=tempfile.gettempdir())

    def run(self, argv: list, files: dict | None = None, env: dict | None = None) -> dict:
        self.proc.stdin.write(json.dumps({"argv": argv, "files": files or {}, "env": env or {}}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the sandbox process died")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def contract_violation(result: dict) -> str | None:
    """Why `result` breaks the CLI contract (exit 0, or exit 2 with one line of <= MAX_LINE characters; no
    traceback; within the time and memory limits), or None."""
    if result["status"] != "exit":
        return f"{result['status']} after {result['seconds']} s"
    if "Traceback" in result["stderr"] or "Traceback" in result["stdout"]:
        return "a traceback"
    if result["code"] == 0:
        return None
    if result["code"] != 2:
        return f"exit code {result['code']}"
    lines = result["stderr"].splitlines()
    if len(lines) != 1 or not lines[0].strip():
        return f"{len(lines)} lines on stderr"
    if len(lines[0]) > MAX_LINE or lines[0].endswith("[...]"):  # [...]: the CLI had to cut the message
        return f"a line of {len(lines[0])} characters"
    return None


if __name__ == "__main__":
    serve()
