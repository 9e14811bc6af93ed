"""How the kernels are compiled: lazily, once per op and dtype, cached on disk in the user's cache directory
(their threads: `kernels.threads`).

Every kernel is an ``njit`` function with ``cache=True``. Numba's default would write the cache next to the
source (``__pycache__`` of the installed package) or into Numba's own user directory; `install_cache_locator`
puts the files of every function defined in this package into

- ``$NUMBA_CACHE_DIR`` when it is set (Numba's own rule, honoured unchanged),
- else the platform's user cache directory: ``$XDG_CACHE_HOME/checkerlab/numba`` (``~/.cache/checkerlab/numba``)
  on Linux and other Unixes, ``~/Library/Caches/checkerlab/numba`` on macOS,
  ``%LOCALAPPDATA%\\checkerlab\\Cache\\numba`` on Windows,
- else (no writable home) a per-user directory under the system's temporary directory,

never into the source or installed tree. The locator claims only functions whose source file lies inside this
package; every other Numba function keeps Numba's own locators. It must be installed before the first kernel
module is imported (``kernels/__init__.py`` does it first).

Compilation is lazy: a dispatcher compiles (or loads from the cache) the specialisation of a dtype on its first
call with that dtype, so a float32 conv never compiles the float64 one, and importing the package compiles
nothing. Numba keys each cached specialisation by the source file's hash, the argument types and the CPU, and
checks a stamp of the source before loading it: here the stamp covers every module of the function's package
(`package_stamp`), because kernels inline helpers from sibling modules.
"""

from __future__ import annotations

import os
import sys
import tempfile

import numpy as np
from numba.core import caching, config

#: The safe fastmath subset: no ``nnan``/``ninf``, so NaN and Inf propagate as in PyTorch (DESIGN.md section 6).
FASTMATH = frozenset({"nsz", "arcp", "contract", "reassoc"})
U = np.uint64  # an array index Numba needs not test for wrap-around (so the loops vectorise; `direct._stage`)

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the checkerlab package root


def user_cache_dir(environ=None, platform: str | None = None, home: str | None = None) -> str:
    """The directory where the compiled kernels are cached when ``NUMBA_CACHE_DIR`` is not set.

    Follows the platform conventions (XDG on Linux and other Unixes, ``~/Library/Caches`` on macOS,
    ``%LOCALAPPDATA%`` on Windows); the arguments exist for tests."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    home = os.path.expanduser("~") if home is None else home
    if platform == "win32":
        base = environ.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local")
        return os.path.join(base, "checkerlab", "Cache", "numba")
    if platform == "darwin":
        return os.path.join(home, "Library", "Caches", "checkerlab", "numba")
    base = environ.get("XDG_CACHE_HOME")
    if not base or not os.path.isabs(base):  # the XDG spec: a relative path is invalid and ignored
        base = os.path.join(home, ".cache")
    return os.path.join(base, "checkerlab", "numba")


def _fallback_cache_dir() -> str:
    uid = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    return os.path.join(tempfile.gettempdir(), f"checkerlab-{uid}", "numba")


def package_stamp(directory: str) -> tuple:
    """(name, mtime, size) of every ``.py`` file in ``directory``, sorted: changes whenever any of them does.
    Cost: one ``stat`` per file when a cached function is loaded or saved."""
    out = []
    for name in sorted(os.listdir(directory)):
        if name.endswith(".py"):
            st = os.stat(os.path.join(directory, name))
            out.append((name, st.st_mtime, st.st_size))
    return tuple(out)


def _in_package(py_file: str) -> bool:
    """Whether the source file ``py_file`` lies inside this package."""
    try:
        return os.path.commonpath([os.path.abspath(py_file), PACKAGE_DIR]) == PACKAGE_DIR
    except ValueError:  # another drive (Windows)
        return False


class UserCacheLocator(caching._SourceFileBackedLocatorMixin, caching._CacheLocator):
    """Numba cache locator for this package's functions: the user cache directory (see the module docstring).

    Returns no locator for functions outside the package, or when ``NUMBA_CACHE_DIR`` is set (Numba's
    ``UserProvidedCacheLocator`` then applies, next in the list)."""

    def __init__(self, py_func, py_file, root=None):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        root = user_cache_dir() if root is None else root
        self._cache_path = os.path.join(root, self.get_suitable_cache_subpath(py_file))

    def get_cache_path(self):
        return self._cache_path

    def get_source_stamp(self):
        """`package_stamp` of the function's directory, not Numba's (mtime, size) of its own file: kernels
        inline helpers from sibling modules (`simd.fma4x4`, `exp.exp`, `activations.activate`), and an edit
        there must invalidate every cached caller, not only the callers in the edited file."""
        return package_stamp(os.path.dirname(self._py_file))

    @classmethod
    def from_function(cls, py_func, py_file):
        if config.CACHE_DIR or not os.path.exists(py_file) or not _in_package(py_file):
            return None
        for root in (user_cache_dir(), _fallback_cache_dir()):
            locator = cls(py_func, py_file, root)
            try:
                locator.ensure_cache_path()
            except OSError:
                continue
            return locator
        return None


def install_cache_locator() -> None:
    """Put `UserCacheLocator` first in Numba's locator list (idempotent). Affects only this package's files."""
    classes = caching.CacheImpl._locator_classes
    if UserCacheLocator not in classes:
        classes.insert(0, UserCacheLocator)


def on_first_compile(callback) -> None:
    """Call ``callback(cache_dir)`` once in this process, when Numba starts compiling one of this package's
    kernels: a cache miss, i.e. the first run after an install or upgrade (or with an empty cache), which
    then takes seconds (docs/performance.md). Loads from the cache fire nothing (Numba's ``numba:compile``
    event is raised only for a compile). ``cache_dir`` is where the compiled kernels will be kept. The CLI
    uses it to say why its first run pauses."""
    from numba.core import event

    class _Once(event.Listener):
        fired = False

        def on_start(self, ev):
            dispatcher = ev.data.get("dispatcher") if isinstance(ev.data, dict) else None
            code = getattr(getattr(dispatcher, "py_func", None), "__code__", None)
            if not self.fired and code is not None and _in_package(code.co_filename):
                self.fired = True
                callback(config.CACHE_DIR or user_cache_dir())

        def on_end(self, ev):
            pass

    event.register("numba:compile", _Once())
