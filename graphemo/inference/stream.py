"""Live prediction on the folder that ``openpose --write_json DIR`` is filling (``graphemo stream``).

Three pieces, each usable alone:

* :class:`FolderWatcher` polls the folder (no dependency beyond the standard library) and hands out each
  new frame file once, parsed, in frame-number order. OpenPose writes its files in place, so a file may be
  read half-written: a file that is not yet valid JSON is retried on every poll and reported as bad only
  once it has stopped changing for ``partial_timeout`` seconds. A frame whose predecessor is still missing
  waits at most ``reorder_wait`` seconds (a known but incomplete predecessor is always waited for); a frame
  arriving after its successors is still predicted once, with the frames known by then. When a poll finds
  every file seen so far gone (the folder was emptied for a new recording), the watcher says so and the
  state starts afresh; file names seen before are then new files again. (Files are known by name: a file
  deleted and rewritten under the same name between two polls, milliseconds apart, is not read again.)
* :class:`~graphemo.keypoints.tracking.MainPersonTracker` (the offline tracker's rule, causally) follows the
  main person: ``person_id`` when OpenPose tracked, else joint-distance matching gated by body size; it locks on
  the most visible person and keeps them until they have been unseen for ``LOST_AFTER_FRAMES``.
* :class:`StreamPredictor` keeps the recent frames and predicts each frame exactly once: frame models at
  once; window models from the sliding window of recent frames. A model trained on **centred** windows is
  kept exact: frame ``t`` is predicted when frame ``t + lag`` arrives (``lag``: the window's frames after its
  centre, ``(length - 1 - length // 2) * stride``, 15 frames or 0.5 s at 30 fps for a 32-frame window), and
  the frames still waiting are predicted at the end as the last frames of a video are (the future missing).
  ``causal=True`` predicts every frame at once from the window ending at it instead (no lag, but the model
  sees a window shifted from the one it was trained on). Models trained with ``anchor="end"`` are causal and
  have no lag.

Latency is measured per frame from handing the parsed file to :meth:`StreamPredictor.push` to its prediction
(tracking, features, model, smoothing): the compute added on top of OpenPose.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from graphemo.inference.predict import OnlineSmoother, Predictor, Smoothing, frame_row, renormalize
from graphemo.keypoints.openpose import OpenPoseFormatError, frame_from_doc, frame_number, load_json_bytes
from graphemo.keypoints.tracking import MainPersonTracker

# --- following the folder ------------------------------------------------------------------------

# ``<prefix><frame number><suffix>``: OpenPose's ``<video>_000000000123_keypoints.json`` (see ``frame_number``).
_NUMBERED = re.compile(r"^(?P<prefix>.*?)(?P<number>\d+)(?P<suffix>(?:_keypoints)?\.json)$")


@dataclass
class FrameFile:
    """One frame file handed out by :class:`FolderWatcher`: its number, path and parsed JSON (None if bad)."""

    number: int | None
    path: Path
    doc: object | None
    error: str | None = None
    read_seconds: float = 0.0  # time spent reading and parsing the file


@dataclass
class FolderReset:
    """The folder was emptied: every file seen so far is gone."""


@dataclass
class _Pending:
    first_seen: float
    last_change: float
    size: int


class FolderWatcher:
    """Poll a folder of OpenPose ``*_keypoints.json`` files and hand out each new one once, in frame order.

    Listing a folder costs time in proportion to its files (about 0.3 ms per 1000), and an hour of OpenPose
    output holds 100 000. So a poll first looks for the file names it expects: the newest name with the frame
    number counted up, and the numbers missing before it (one ``open`` per name). It lists the folder only
    when the folder has changed and those names do not explain it (a foreign file, an emptied folder), and
    otherwise every ``list_interval`` seconds while it changes (stretched to keep listings under 5 % of the
    time).

    Args:
        folder: the ``--write_json`` folder (created if missing).
        partial_timeout: seconds a file may stay unparseable without changing before it is reported as bad.
        reorder_wait: seconds a frame waits for a missing predecessor before it is handed out anyway.
        skip_existing: ignore the files already there at the first poll (start with the next frame written).
        list_interval: seconds between listings while the expected names keep arriving.
        clock: monotonic clock (seconds).
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        partial_timeout: float = 2.0,
        reorder_wait: float = 0.25,
        skip_existing: bool = False,
        list_interval: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.partial_timeout = partial_timeout
        self.reorder_wait = reorder_wait
        self.skip_existing = skip_existing
        self.list_interval = list_interval
        self.clock = clock
        self.last_activity = clock()
        self._first_poll = True
        self._listed_mtime: int | None = None  # the folder's mtime (ns) read just before the last listing
        self._listed_wall = 0  # time.time_ns() of the last listing
        self._seen_mtime: int | None = None  # the mtime that the last listing or found expected names explain
        self._listed_at = -float("inf")
        self._list_seconds = 0.0
        self.skipped: list[tuple[Path, str]] = []  # files given up on, and why, not yet reported (see take_skipped)
        self._reset_state()

    def _reset_state(self) -> None:
        self.done: set[str] = set()  # names handed out (or skipped)
        self.pending: dict[str, _Pending] = {}  # names not yet parseable
        self.ready: dict[int, FrameFile] = {}  # parsed, waiting for their turn
        self.next_number: int | None = None
        self.blocked_since: float | None = None
        self._pattern: tuple[str, int, str] | None = None  # (prefix, digits, suffix) of the newest name
        self._newest = -1  # highest frame number seen

    def take_skipped(self) -> list[tuple[Path, str]]:
        """The files given up on since the last call (a partial file deleted before it completed), and why."""
        skipped, self.skipped = self.skipped, []
        return skipped

    def idle_for(self) -> float:
        """Seconds since a new file last appeared; 0 while a file is still being written or a frame waits."""
        if self.pending or self.ready:
            return 0.0
        return self.clock() - self.last_activity

    def _scan(self) -> set[str]:
        """Names of the frame files in the folder (empty if the folder itself is gone)."""
        try:
            return {n for n in os.listdir(self.folder) if n.endswith(".json") and not n.startswith(".")}
        except FileNotFoundError:
            return set()

    def _mtime(self) -> int | None:
        try:
            return os.stat(self.folder).st_mtime_ns
        except FileNotFoundError:
            return None

    def _unsettled(self, mtime: int | None) -> bool:
        """File-system timestamps are coarse (a few ms): a file created just after a listing, within the same
        tick, leaves the folder's mtime as the listing saw it. A listing made within 50 ms of the folder's last
        change is therefore repeated once that tick is surely over."""
        return (
            mtime is not None
            and mtime == self._listed_mtime
            and self._listed_wall - mtime < 50_000_000 <= time.time_ns() - mtime
        )

    def _probe(self, now: float) -> int:
        """Read the names expected next: missing predecessors of the frames waiting, then the newest name counted
        up. Returns how many new files were there."""
        if self._pattern is None:
            return 0
        prefix, digits, suffix = self._pattern
        found = 0
        first = self._newest if self.next_number is None else self.next_number
        for number in range(max(first, self._newest - 64), self._newest):  # gaps before the newest frame
            name = f"{prefix}{number:0{digits}d}{suffix}"
            if number not in self.ready and name not in self.done and name not in self.pending:
                found += self._try_read(name, now)
        number = self._newest + 1
        for _ in range(256):
            name = f"{prefix}{number:0{digits}d}{suffix}"
            if name in self.done or name in self.pending or not self._try_read(name, now):
                break
            found, number = found + 1, number + 1
        return found

    def poll(self) -> list[FrameFile | FolderReset]:
        """Look at the folder once; returns the frames now ready, in order (and a :class:`FolderReset` first
        when the folder was emptied since the last poll)."""
        now = self.clock()
        out: list[FrameFile | FolderReset] = []
        mtime = self._mtime()
        found = self._probe(now)
        for name in list(self.pending):  # files still being written
            self._try_read(name, now)
        unexplained = mtime != self._seen_mtime or self._unsettled(mtime)
        due = mtime != self._listed_mtime and now - self._listed_at >= max(self.list_interval, 20 * self._list_seconds)
        if self._first_poll or (unexplained and not found) or due:
            began = time.perf_counter()
            current = self._scan()
            self._list_seconds = time.perf_counter() - began
            self._listed_mtime = self._seen_mtime = mtime
            self._listed_wall, self._listed_at = time.time_ns(), now
            if self._first_poll:
                self._first_poll = False
                if self.skip_existing:
                    self.done.update(current)
                    return out
            if (self.done or self.pending) and current.isdisjoint(self.done) and current.isdisjoint(self.pending):
                out += self._release(force=True)  # every file seen so far is gone
                out.append(FolderReset())
                self._reset_state()
            for name in sorted(current - self.done - set(self.pending)):
                self._try_read(name, now)
        elif found:
            self._seen_mtime = mtime  # the new expected files explain the change (a listing comes when due)
        out += self._release(force=False)
        return out

    def _try_read(self, name: str, now: float) -> bool:
        """Read and parse one file: hand it out, or keep it pending while it does not parse. False if absent."""
        path = self.folder / name
        began = time.perf_counter()
        try:
            raw = path.read_bytes()
        except FileNotFoundError:  # not (or no longer) there
            if self.pending.pop(name, None) is not None:
                self.skipped.append((path, "deleted before it was complete"))
            return False
        except IsADirectoryError:
            self.done.add(name)
            return True
        try:
            number: int | None = frame_number(name)
        except ValueError as exc:
            self._hand_out(FrameFile(None, path, None, str(exc)), name)
            return True
        self._newest = max(self._newest, number)
        try:
            doc = load_json_bytes(raw, path)
        except OpenPoseFormatError as exc:  # still being written, or truncated for good
            state = self.pending.get(name)
            if state is None:
                self.pending[name] = _Pending(now, now, len(raw))
                self.last_activity = now
            elif len(raw) != state.size:
                state.size, state.last_change = len(raw), now
            elif now - state.last_change >= self.partial_timeout:
                reason = f"{exc.reason} (unchanged for {self.partial_timeout:g} s)"
                self._hand_out(FrameFile(number, path, None, reason), name)
            return True
        self._hand_out(FrameFile(number, path, doc, read_seconds=time.perf_counter() - began), name)
        if number == self._newest:
            match = _NUMBERED.match(name)
            if match:
                self._pattern = (match["prefix"], len(match["number"]), match["suffix"])
        return True

    def _hand_out(self, frame: FrameFile, name: str) -> None:
        self.pending.pop(name, None)
        self.done.add(name)
        self.last_activity = self.clock()
        if frame.number in self.ready:  # two files of one frame number: the second is a problem, not a frame
            other = self.ready[frame.number].path.name
            frame = FrameFile(None, frame.path, None, f"frame {frame.number} is also in {other}; ignored")
        if frame.number is None:
            self.ready[-1 - len(self.done)] = frame  # unnumbered: handed out at once (negative keys sort first)
        else:
            self.ready[frame.number] = frame

    def _release(self, *, force: bool) -> list[FrameFile | FolderReset]:
        """Hand out ready frames in number order; a gap holds later frames back (see the class docstring)."""
        out: list[FrameFile | FolderReset] = []
        pending_numbers = []
        for name in self.pending:
            try:
                pending_numbers.append(frame_number(name))
            except ValueError:
                continue
        first_pending = min(pending_numbers, default=None)
        while self.ready:
            n = min(self.ready)
            frame = self.ready[n]
            in_order = frame.number is None or self.next_number is None or n <= self.next_number
            if not in_order and not force:
                if first_pending is not None and first_pending < n:
                    break  # a predecessor exists but is still being written
                now = self.clock()
                self.blocked_since = self.blocked_since if self.blocked_since is not None else now
                if now - self.blocked_since < self.reorder_wait:
                    break
            self.blocked_since = None
            del self.ready[n]
            if frame.number is not None:
                self.next_number = max(self.next_number if self.next_number is not None else n + 1, n + 1)
            out.append(frame)
        return out


# --- predicting ------------------------------------------------------------------------------------


@dataclass
class StreamResult:
    """The prediction of one frame.

    Attributes:
        frame: frame number.
        present: the main person is in the frame (else every prediction is empty).
        probs: ``(C,)`` class probabilities, or None; va: ``(2,)`` valence, arousal, or None.
        label: class index (-1 without a person), or None when the model gives no class.
        latency_ms: compute time of the step that produced this prediction (see the module docstring).
        problem: why the frame's file could not be used, if it could not.
    """

    frame: int
    present: bool
    probs: np.ndarray | None = None
    va: np.ndarray | None = None
    label: int | None = None
    latency_ms: float = 0.0
    problem: str | None = None


class StreamPredictor:
    """Predict frames pushed one at a time (see the module docstring for windows and lag).

    Args:
        predictor: the model and its input pipeline.
        smoothing: causal temporal smoothing (:class:`OnlineSmoother`).
        causal: predict a centred-window model at once from the window ending at each frame.
        keep_frames: frames kept behind the newest for late arrivals (beyond what the window needs).
    """

    def __init__(
        self,
        predictor: Predictor,
        *,
        smoothing: Smoothing | None = None,
        causal: bool = False,
        keep_frames: int = 64,
    ) -> None:
        self.predictor = predictor
        kind = predictor.kind
        self.options = kind.causal(predictor.options) if causal else predictor.options
        self.offsets = kind.offsets(self.options)
        self.lag = int(max(self.offsets.max(), 0))
        self.reach = int(-min(self.offsets.min(), 0))
        self.keep_frames = keep_frames
        self.tracker = MainPersonTracker(predictor.layout, predictor.persons)
        self.smoothers = (OnlineSmoother(smoothing), OnlineSmoother(smoothing))
        self.reset()

    def reset(self) -> None:
        """Forget every frame (a new recording starts)."""
        self.frames: dict[int, np.ndarray] = {}  # frame number -> (M, V, 3) tracked slots
        self.problems: dict[int, str] = {}
        self.waiting: set[int] = set()  # pushed, not yet predicted
        self.newest: int | None = None
        self.tracker.reset()
        for s in self.smoothers:
            s.reset()

    def push(
        self,
        number: int,
        people: np.ndarray | None,
        person_ids: np.ndarray | None = None,
        problem: str | None = None,
        started: float | None = None,
    ) -> list[StreamResult]:
        """Add frame ``number`` (its people ``(P, V, 3)``, None for an unusable file) and return the predictions
        that are now due (this frame's, or for a centred window the frame ``lag`` before, plus late frames).

        ``started``: ``time.perf_counter()`` when work on this frame began (default now), for the latency.
        """
        start = time.perf_counter() if started is None else started
        if self.knows(number):
            raise ValueError(f"frame {number} was pushed twice")
        if people is None or len(people) == 0:
            slots = self.tracker.empty.copy()
        else:
            ids = person_ids if person_ids is not None else np.full(len(people), -1)
            slots = self.tracker.update(number, people, ids)
        self.frames[number] = slots
        if problem:
            self.problems[number] = problem
        self.waiting.add(number)
        self.newest = number if self.newest is None else max(self.newest, number)
        due = sorted(f for f in self.waiting if f + self.lag <= self.newest)
        results = self._predict(due, start)
        self._trim()
        return results

    def knows(self, number: int) -> bool:
        """Whether frame ``number`` was pushed (and is still kept)."""
        return number in self.frames or number in self.waiting

    def flush(self) -> list[StreamResult]:
        """Predict every frame still waiting for later frames (the stream ended: the future is missing)."""
        return self._predict(sorted(self.waiting), time.perf_counter())

    def _window(self, frame: int) -> np.ndarray:
        """Raw ``(T, M, V, 3)`` keypoints of the frames a sample of ``frame`` reads, from the kept frames (unknown
        frames empty)."""
        empty = self.tracker.empty
        return np.stack([self.frames.get(frame + int(o), empty) for o in self.offsets])

    def _predict(self, frames: list[int], start: float) -> list[StreamResult]:
        results = []
        p = self.predictor
        mark = start  # the first prediction also carries the push's own work (parsing, tracking)
        for f in frames:
            self.waiting.discard(f)
            slots = self.frames[f]
            result = StreamResult(f, bool((slots[0, :, 2] > 0).any()), problem=self.problems.pop(f, None))
            if result.present:
                sample = p.kind.from_frames(self._window(f), self.options)
                out = p.infer([p.encode(sample)])
                probs = out.get("probs")
                va = out.get("va")
                if probs is not None:
                    probs = renormalize(self.smoothers[0].update(probs[0])[None])[0]
                if va is not None:
                    va = self.smoothers[1].update(va[0])
                result.probs, result.va = probs, va
                labels = p.labels(None if probs is None else probs[None], None if va is None else va[None])
                result.label = None if labels is None else int(labels[0])
            elif p.has_label:
                result.label = -1
            now = time.perf_counter()
            result.latency_ms, mark = (now - mark) * 1e3, now
            results.append(result)
        return results

    def _trim(self) -> None:
        if self.newest is None:
            return
        oldest_needed = min(self.waiting, default=self.newest) - self.reach - self.keep_frames
        for f in [f for f in self.frames if f < oldest_needed]:
            del self.frames[f]


# --- the loop -------------------------------------------------------------------------------------


@dataclass
class StreamSummary:
    """What a stream run did; latencies (ms) are those of the frames with a person (the model ran)."""

    frames: int = 0
    with_person: int = 0
    bad_files: int = 0
    skipped: int = 0
    resets: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    stopped_by: str = ""

    def stats(self) -> dict[str, float]:
        """``mean``, ``p50``, ``p99`` latency in ms and ``fps`` (frames the compute could sustain per second)."""
        lat = np.asarray(self.latencies_ms)
        if not len(lat):
            return {"mean": float("nan"), "p50": float("nan"), "p99": float("nan"), "fps": float("nan")}
        p50, p99 = np.percentile(lat, [50, 99])
        return {"mean": float(lat.mean()), "p50": float(p50), "p99": float(p99), "fps": float(1e3 / lat.mean())}

    def format(self) -> str:
        s = self.stats()
        return (
            f"stream stopped ({self.stopped_by}): {self.frames} frames in {self.seconds:.1f} s, "
            f"{self.with_person} with a person, {self.bad_files} bad file(s), {self.skipped} skipped file(s), "
            f"{self.resets} reset(s)\n"
            f"latency per frame: mean {s['mean']:.2f} ms, p50 {s['p50']:.2f} ms, p99 {s['p99']:.2f} ms "
            f"-> {s['fps']:.0f} frames/s of compute"
        )


def watch_folder(
    predictor: Predictor,
    folder: str | os.PathLike[str],
    *,
    on_result: Callable[[StreamResult], Any] | None = None,
    on_notice: Callable[[str], Any] | None = None,
    smoothing: Smoothing | None = None,
    causal: bool = False,
    poll_interval: float = 0.005,
    partial_timeout: float = 2.0,
    reorder_wait: float = 0.25,
    skip_existing: bool = False,
    idle_timeout: float | None = None,
    max_frames: int | None = None,
    stop_event: threading.Event | None = None,
) -> StreamSummary:
    """Follow ``folder`` and predict each frame file once as it lands, until stopped.

    Args:
        predictor: the model and its input pipeline.
        folder: the folder ``openpose --write_json`` writes into.
        on_result: called with each :class:`StreamResult` (in the order they are made).
        on_notice: called with a line for events (bad file, folder emptied).
        smoothing, causal: see :class:`StreamPredictor`.
        poll_interval: seconds between polls when nothing new came.
        partial_timeout, reorder_wait, skip_existing: see :class:`FolderWatcher`.
        idle_timeout: stop after this many seconds without a new file.
        max_frames: stop after this many frame files.
        stop_event: stop when set (from another thread). Ctrl-C (``KeyboardInterrupt``) also stops cleanly.

    Returns:
        A :class:`StreamSummary`; frames still waiting (centred windows) are predicted before returning.
    """
    watcher = FolderWatcher(
        folder, partial_timeout=partial_timeout, reorder_wait=reorder_wait, skip_existing=skip_existing
    )
    stream = StreamPredictor(predictor, smoothing=smoothing, causal=causal)
    summary = StreamSummary()
    layout = predictor.layout
    began = time.monotonic()

    def emit(results: list[StreamResult]) -> None:
        for r in results:
            summary.with_person += int(r.present)
            if r.present:
                summary.latencies_ms.append(r.latency_ms)
            if on_result is not None:
                on_result(r)

    def notice(text: str) -> None:
        if on_notice is not None:
            on_notice(text)

    try:
        while True:
            if stop_event is not None and stop_event.is_set():
                summary.stopped_by = "stop event"
                break
            events = watcher.poll()
            for path, reason in watcher.take_skipped():
                summary.skipped += 1
                notice(f"skipped {path}: {reason}")
            for event in events:
                if isinstance(event, FolderReset):
                    emit(stream.flush())
                    stream.reset()
                    summary.resets += 1
                    notice(f"{watcher.folder}: emptied; starting afresh")
                    continue
                started = time.perf_counter() - event.read_seconds
                people = ids = None
                problem = event.error
                if event.doc is not None:
                    try:
                        frame = frame_from_doc(event.doc, event.path, layout)
                        people, ids = frame.people, frame.person_ids
                    except OpenPoseFormatError as exc:
                        problem = exc.reason
                if problem:
                    summary.bad_files += 1
                    notice(f"bad file {event.path}: {problem}")
                if event.number is None:
                    continue
                if stream.knows(event.number):
                    summary.skipped += 1
                    notice(f"skipped {event.path}: frame {event.number} was already given by another file")
                    continue
                summary.frames += 1
                emit(stream.push(event.number, people, ids, problem, started))
                if max_frames is not None and summary.frames >= max_frames:
                    break
            if max_frames is not None and summary.frames >= max_frames:
                summary.stopped_by = f"{max_frames} frames"
                break
            if idle_timeout is not None and watcher.idle_for() >= idle_timeout:
                summary.stopped_by = f"idle for {idle_timeout:g} s"
                break
            if not events:
                if stop_event is not None:
                    stop_event.wait(poll_interval)
                else:
                    time.sleep(poll_interval)
    except KeyboardInterrupt:
        summary.stopped_by = "Ctrl-C"
    emit(stream.flush())
    summary.seconds = time.monotonic() - began
    return summary


def result_row(predictor: Predictor, video: str, result: StreamResult) -> dict[str, Any]:
    """A :class:`StreamResult` as an output row (:meth:`Predictor.columns` plus ``latency_ms``)."""
    row = frame_row(predictor, video, result.frame, result.present, result.probs, result.va, result.label)
    row["latency_ms"] = round(result.latency_ms, 3)
    return row


def format_result(predictor: Predictor, result: StreamResult) -> str:
    """One console line: frame, emotion and its probability, valence/arousal, latency."""
    text = f"frame {result.frame:>8}"
    if not result.present:
        text += "  (no person)" + (f"  [{result.problem}]" if result.problem else "")
        return text
    if result.label is not None and result.label >= 0:
        name = predictor.class_names[result.label]
        prob = f" {result.probs[result.label]:.2f}" if result.probs is not None else ""
        text += f"  {name:<10}{prob}"
    if result.va is not None:
        text += f"  V {result.va[0]:+.2f} A {result.va[1]:+.2f}"
    return text + f"  {result.latency_ms:6.2f} ms"
