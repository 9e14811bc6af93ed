"""The background jobs, everything off the maps' critical path (closed forms typeset with mathtext, the
checkerboard-free verdict and its fixes, the k x s atlas), and the loop that serves them in a separate,
low-priority process. Qt-free.

SymPy and matplotlib are pure Python under the GIL: computed in a thread of the GUI process they would
slow the maps down. In their own process, niced, they never delay the maps (issue 15, add 7); a request
is a job name, a config as JSON and the job's options, the answer the picklable result or a one-line error.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import sys

from .atlas import atlas
from .compute import describe_error, fixes, formula

JOBS = ("formula", "fixes", "atlas")
NICENESS = 10  # the background process yields the CPU to the GUI and the compute worker


def run_job(kind: str, config_json: str, option: float = 100.0):
    """The result of job `kind` for the config given as JSON; `option` is the formula's dpi or the atlas's
    layer index."""
    from ...analytics.config import config_from_dict

    config = config_from_dict(json.loads(config_json))
    if kind == "formula":
        return formula(config, option)
    if kind == "fixes":
        return fixes(config)
    if kind == "atlas":
        return atlas(config.stack, int(option))
    raise ValueError(f"unknown background job {kind!r}; known: {', '.join(JOBS)}")


def warm_up() -> None:
    """Import SymPy and matplotlib and typeset one formula, so that the first real request is fast."""
    from ...analytics import Config

    formula(Config("ConvTranspose2d(3, stride=2)"))


def read_frame(stream) -> object | None:
    """One length-prefixed pickle from a binary stream; None at the end of the stream."""
    head = stream.read(4)
    if len(head) < 4:
        return None
    (size,) = struct.unpack("!I", head)
    return pickle.loads(stream.read(size))


def frame(message: object) -> bytes:
    """`message` as a length-prefixed pickle (the protocol between the GUI and this process)."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return struct.pack("!I", len(data)) + data


def main() -> None:
    """The process: read (request id, job, config JSON, option) frames from stdin, answer (request id, ok,
    result or one-line message) frames on stdout, at lower CPU priority, until stdin closes. Only the
    GUI process that started it writes to its stdin, so the pickles are trusted."""
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the answers
    if hasattr(os, "nice"):
        try:
            os.nice(NICENESS)
        except OSError:
            pass
    try:
        warm_up()
    except Exception:  # the real requests report their own errors
        pass
    while (message := read_frame(requests)) is not None:
        rid, kind, config_json, option = message
        try:
            answer = (rid, True, run_job(kind, config_json, option))
        except Exception as exc:
            answer = (rid, False, describe_error(exc))
        answers.write(frame(answer))
        answers.flush()


if __name__ == "__main__":
    main()
