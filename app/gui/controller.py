"""The compute controller: turns document edits into requests on the single compute worker and hands the
results to whoever displays them.

Edits restart a short debounce timer; its timeout submits one request (newest wins: the worker drops a
pending request and stops the running one at its next check). A request holds the exact analysis (only
when the geometry changed) and the simulation. Results are accepted only from the newest request, so a
stale result never reaches the screen. The closed form and the fixes (SymPy) are requested once the views
are current, in the low-priority background process (they never hold the GIL the maps need), and cached per
stack.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from PySide6.QtCore import QObject, QTimer, Signal

from ...analytics import CheckerlabError, Stack
from . import compute
from .background_process import BackgroundProcess
from .compare import CompareResult, b_config, run_b
from .document import Document
from .worker import ComputeWorker, Request

DEBOUNCE_MS = 20
HOLD_MS = 60  # longest wait for the simulation before the new analysis is drawn alone
DRAWS_WAIT_S = 0.25  # longest wait of the remaining Monte Carlo draws for the first draw to be drawn
FORMULA_DELAY_MS = 100  # after the maps are current
RESULT_CACHE = 64  # stacks whose closed form, fixes and atlas are kept (least recently used dropped)


class ComputeController(QObject):
    """Owns the worker and the newest results. `updated(stage)` fires after a stage's result is accepted,
    `settled` when the newest request has finished, `failed(stage, message)` when a stage raised."""

    updated = Signal(str)
    settled = Signal()
    failed = Signal(str, str)
    started = Signal(str)  # request label
    progress = Signal(float, str)
    finished = Signal()
    message = Signal(str)  # a one-line notice for the status bar

    def __init__(self, document: Document, parent: QObject | None = None, *, debounce_ms: int = DEBOUNCE_MS,
                 threads: int | None = None):
        super().__init__(parent)
        self.document = document
        self.worker = ComputeWorker(threads, self)
        self.analytic: compute.AnalyticResult | None = None
        self.simulation: compute.SimulationResult | None = None
        self.formula: compute.FormulaResult | None = None
        self.fixes: compute.FixesResult | None = None
        self.atlas: list | None = None  # atlas.AtlasCell per (k, s), of `atlas_key`
        self.compare_stack: Stack | None = None  # B of the compare tab
        self.compare: CompareResult | None = None
        self.compare_wanted = False  # B is computed only while the compare tab is shown
        self.failed_stages: set[str] = set()
        self.timings: dict[str, float] = {}
        self._cache: OrderedDict = OrderedDict()  # stack -> {"formula": ..., "fixes": ..., "atlas": ...}
        self._latest = 0
        self._background_requests: dict[int, tuple[str, object]] = {}  # request id -> (job, stack)
        self.formula_dpi = 100.0
        self._held: compute.AnalyticResult | None = None
        self._expect_simulation = False
        self._first_shown = threading.Event()  # per simulation request: the GUI has drawn its first draw
        self.focus = None  # focus(stack_length) -> the selector position whose exact view to prepare
        self._result_key: dict[str, object] = {}  # stage -> the stack its accepted result is about

        self._debounce = _timer(self, debounce_ms, self.recompute)
        self._symbolic_timer = _timer(self, FORMULA_DELAY_MS, self.request_symbolic)
        self._hold_timer = _timer(self, HOLD_MS, self._flush_held)
        document.changed.connect(self._debounce.start)
        self.worker.stageDone.connect(self._on_stage)
        self.worker.failed.connect(self._on_failed)
        self.worker.finished.connect(self._on_finished)
        self.worker.progress.connect(self._on_progress)
        self.worker.started.connect(self._on_started)
        self.background = BackgroundProcess.shared()
        self.background.answered.connect(self._on_background)

    # ---- requests ---------------------------------------------------------------------------------
    def recompute(self, force: bool = False) -> None:
        """Submit what is not current for the current config: the analysis (if the geometry changed), the
        simulation (also when `force`), then B of the compare tab (when wanted)."""
        self._debounce.stop()
        config = self.document.config
        if config is None:
            return
        stages = []
        if not self.is_current("analytic"):
            focus = self.focus(len(config.stack)) if self.focus is not None else None
            stages.append(("analytic", lambda ctx: compute.analyze(config, focus)))
        try:
            image = self.document.image()
        except CheckerlabError as exc:
            self.message.emit(f"⚠ input image: {exc}")
            image, sim_ok = None, False
        else:
            sim_ok = True
        if sim_ok and (force or not self.is_current("draws")):

            threads = compute.kernel_threads(config, self.worker.threads)
            draws = config.simulation.draws
            self._first_shown = shown = threading.Event()  # set once the GUI has shown draw 0

            def run_simulation(ctx):  # the first draw: what the maps show
                return compute.simulate(config, image, cancel=ctx.should_stop, threads=threads, first_only=True)

            def run_draws(ctx):  # the other draws, for the metrics: off the maps' critical path
                if "simulation" not in ctx.results:  # the first draw failed (and said so)
                    return None
                # Let the GUI thread draw the first draw alone: both at once share one GIL (and on a busy
                # machine one core), which slowed the maps' update. At most DRAWS_WAIT_S.
                deadline = time.monotonic() + DRAWS_WAIT_S
                while not shown.wait(0.01) and time.monotonic() < deadline:
                    if ctx.should_stop():
                        return None
                return compute.complete_draws(ctx.results["simulation"], cancel=ctx.should_stop, threads=threads,
                                              progress=lambda d, n: ctx.report((d + 1) / draws,
                                                                               f"draw {d + 1}/{draws}"))

            stages.append(("simulation", run_simulation))
            if draws > 1:
                stages.append(("draws", run_draws))
        if sim_ok and self.compare_wanted and self.compare_stack is not None and not self.is_current("compare"):
            try:
                b = b_config(self.compare_stack, config)
            except CheckerlabError as exc:
                self.failed_stages.add("compare")
                self.failed.emit("compare", f"B cannot take this input: {exc}")
            else:
                b_threads = compute.kernel_threads(b, self.worker.threads)
                stages.append(("compare", lambda ctx: run_b(b, image, cancel=ctx.should_stop, threads=b_threads)))
        if not stages:
            self.settled.emit()
            return
        self._symbolic_timer.stop()
        self.failed_stages.clear()
        self._hold_timer.stop()
        self._held = None
        self._expect_simulation = any(name == "simulation" for name, _ in stages)
        self._latest = self.worker.submit(Request(stages, label="compute"))

    def set_compare(self, stack: Stack | None) -> None:
        """Compare the document's stack with `stack` (B), run on the same input; None stops comparing."""
        self.compare_stack, self.compare = stack, None
        self.recompute()

    def request_symbolic(self) -> None:
        """Closed form and fixes (SymPy) of the current stack, from the cache or the background process."""
        config = self.document.config
        if config is None:
            return
        cached = self._cache.get(config.stack, {})
        if cached:
            self._cache.move_to_end(config.stack)
        for name in ("formula", "fixes"):
            if name in cached:
                self._accept(name, (config.stack, cached[name]))
        for job in ("formula", "fixes"):
            if job not in cached:
                self._submit_background(job, config.stack, config.to_json(), self.formula_dpi)

    def request_atlas(self, index: int) -> None:
        """The k x s atlas of layer `index` (a convolution) and the layers before it, from the cache or the
        background process; `updated("atlas")` when it is accepted (`self.atlas`: the list of cells)."""
        config = self.document.config
        if config is None or not 0 <= index < len(config.stack):
            return
        key = config.stack[: index + 1]  # the atlas depends on this prefix only
        cached = self._cache.get(key, {}).get("atlas")
        if cached is not None:
            self._accept("atlas", (key, cached))
        else:
            self._submit_background("atlas", key, config.to_json(), index)

    def _submit_background(self, job: str, key, config_json: str, option: float) -> None:
        rid = self.background.submit(self, job, config_json, option)
        self._background_requests = {r: v for r, v in self._background_requests.items() if v[0] != job}
        self._background_requests[rid] = (job, key)

    def _on_background(self, rid: int, ok: bool, result) -> None:
        """An answer of the background process: accepted only if it answers this controller's newest request."""
        if rid not in self._background_requests:
            return
        job, stack = self._background_requests.pop(rid)
        if ok:
            self._accept(job, (stack, result))
        else:
            self.failed_stages.add(job)
            self.failed.emit(job, result)

    @property
    def atlas_key(self):
        """The stack prefix (up to the varied layer) of the accepted atlas, or None."""
        return self._result_key.get("atlas")

    def is_current(self, stage: str) -> bool:
        """Whether the accepted result of `stage` belongs to the document's current (valid) config; views
        showing anything else are stale."""
        config = self.document.config
        if config is None:
            return False
        if stage == "analytic":
            return self.analytic is not None and _geometry(self.analytic.config) == _geometry(config)
        if stage == "simulation":
            return self.simulation is not None and self.simulation.config == config
        if stage == "draws":
            return self.simulation is not None and self.simulation.config == config and self.simulation.complete
        if stage == "compare":
            b = self.compare.config if self.compare is not None else None
            return b is not None and (b.stack, b.input_size, b.simulation) == (
                self.compare_stack, config.input_size, config.simulation)
        key = self._result_key.get(stage)
        return key is not None and key == config.stack[: len(key)] if stage == "atlas" else key == config.stack

    def cancel(self) -> None:
        """Stop the running computation; the views keep what they show."""
        self.worker.cancel()
        self._symbolic_timer.stop()

    def is_busy(self) -> bool:
        return self.worker.is_busy() or self._debounce.isActive()

    def shutdown(self) -> None:
        self._debounce.stop()
        self._symbolic_timer.stop()
        self.worker.shutdown()

    # ---- worker signals ---------------------------------------------------------------------------
    def _on_started(self, rid: int, label: str) -> None:
        if rid == self._latest:
            self.started.emit(label)

    def _on_progress(self, rid: int, fraction: float, text: str) -> None:
        if rid == self._latest:
            self.progress.emit(fraction, text)

    def _on_stage(self, rid: int, name: str, result, seconds: float) -> None:
        if rid != self._latest or result is None:
            return
        self.timings[name] = seconds
        if name == "analytic" and self._expect_simulation:
            # Hold the analysis briefly: drawing it while the worker simulates would slow both down
            # (one GIL); a fast simulation then lands in the same repaint, a slow one waits at most HOLD_MS.
            self._held = result
            self._hold_timer.start()
            return
        if name == "simulation":
            self._flush_held()
        self._accept(name, result)

    def _flush_held(self) -> None:
        self._hold_timer.stop()
        if self._held is not None:
            held, self._held = self._held, None
            self._accept("analytic", held)

    def _accept(self, name: str, result) -> None:
        if name in ("analytic", "simulation", "compare"):
            setattr(self, name, result)
            if name == "simulation":  # the remaining draws start once the maps have been drawn
                QTimer.singleShot(0, self._first_shown.set)
        elif name == "draws":  # the same first draw, with the statistics of every draw
            self.simulation = result
        else:
            stack, value = result
            self._remember(stack, name, value)
            self._result_key[name] = stack
            setattr(self, name, value)
        self.updated.emit(name)

    def _remember(self, stack, name: str, value) -> None:
        self._cache.setdefault(stack, {})[name] = value
        self._cache.move_to_end(stack)
        while len(self._cache) > RESULT_CACHE:
            self._cache.popitem(last=False)

    def _on_failed(self, rid: int, stage: str, message: str) -> None:
        if rid != self._latest:
            return
        self._flush_held()
        self.failed_stages.add(stage)
        self.failed.emit(stage, message)

    def _on_finished(self, rid: int, ok: bool) -> None:
        if rid != self._latest:
            return
        self._flush_held()
        self.finished.emit()
        if ok:
            self._symbolic_timer.start()
        self.settled.emit()


def _geometry(config) -> tuple:
    """What the exact analysis depends on."""
    return (config.stack, config.input_size, config.simulation.in_channels)


def _timer(parent: QObject, interval_ms: int, slot) -> QTimer:
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(interval_ms)
    timer.timeout.connect(slot)
    return timer
