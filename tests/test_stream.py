"""Streaming: a background writer fills a folder as OpenPose does; every frame is predicted exactly once."""

from __future__ import annotations

import csv
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import orjson
import pytest
import torch

from graphemo.cli import main
from graphemo.inference.bundle import save_bundle
from graphemo.inference.predict import Predictor, predict_folder
from graphemo.inference.stream import (
    FolderReset,
    FolderWatcher,
    MainPersonTracker,
    StreamPredictor,
    watch_folder,
)
from graphemo.skeleton import get_layout
from graphemo.sources.synth import SynthConfig, generate_dataset
from tests.test_bundle import WINDOW, tiny_bundle

LAYOUT = "body25_face_hands"


@pytest.fixture(autouse=True)
def one_thread():
    """Stream as deployed: one torch thread (several threads thrash on a busy 2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    """One synthetic video folder (one person, some frames with nobody)."""
    root = tmp_path_factory.mktemp("synth")
    config = SynthConfig(empty_frame_rate=0.15, empty_stretch_frames=3, bystander_rate=0.0)
    generate_dataset(root, 1, seed=5, frames=(40, 40), workers=1, config=config, progress=False)
    return root / "keypoints" / "00001"


class LiveWriter(threading.Thread):
    """Writes a video's frame files into a folder one by one, in place (not atomically), as OpenPose does.

    Args:
        files: source files, in writing order.
        folder: destination.
        slow: indices (into ``files``) written in two halves with a pause between (a reader sees a
            truncated file first).
        never_finished: indices whose second half is never written.
    """

    def __init__(self, files, folder, *, slow=(), never_finished=(), delay=0.002, pause=0.06) -> None:
        super().__init__(daemon=True)
        self.files, self.folder = list(files), Path(folder)
        self.slow, self.never_finished = set(slow), set(never_finished)
        self.delay, self.pause = delay, pause

    def run(self) -> None:
        for i, src in enumerate(self.files):
            raw = src.read_bytes()
            with open(self.folder / src.name, "wb") as f:
                if i in self.slow or i in self.never_finished:
                    f.write(raw[: len(raw) // 2])
                    f.flush()
                    time.sleep(self.pause)
                    if i in self.never_finished:
                        continue
                    f.write(raw[len(raw) // 2 :])
                else:
                    f.write(raw)
            time.sleep(self.delay)


def save(tmp_path, name, task="both", anchor="center"):
    _, bundle = tiny_bundle(name, task, layout=LAYOUT)
    if bundle.input_kind == "window":
        bundle.input_options = {**WINDOW, "anchor": anchor}
    path = tmp_path / f"{name}-{anchor}.pt"
    save_bundle(bundle, path)
    return Predictor(bundle, optimize=True)  # as `graphemo stream` runs it: a traced, frozen model


def people_in(path: Path) -> int:
    return len(orjson.loads(path.read_bytes())["people"])


@pytest.mark.parametrize(
    ("name", "causal"),
    [("mlp", False), ("stgcn", False), ("stgcn", True), ("stgcnpp", False), ("ctrgcn", False),
     ("stream_ensemble", True), ("kinematic", False)],
)  # fmt: skip
def test_stream_predicts_every_frame_once(tmp_path, video, name, causal):
    files = sorted(video.glob("*.json"))
    order = list(range(len(files)))
    order[20], order[21] = order[21], order[20]  # two frames land out of order
    live = tmp_path / "live"
    live.mkdir()
    predictor = save(tmp_path, name)
    writer = LiveWriter([files[i] for i in order], live, slow={3, 12, 20, 30})
    results = []
    writer.start()
    # reorder_wait: a generous wait for the late frame, so that a loaded machine cannot reorder the test
    summary = watch_folder(predictor, live, on_result=results.append, idle_timeout=0.5, causal=causal, reorder_wait=2.0)
    writer.join()
    frames = [r.frame for r in results]
    assert sorted(frames) == list(range(len(files)))  # each frame exactly once
    assert summary.frames == len(files) and summary.bad_files == 0 and summary.stopped_by.startswith("idle")
    results.sort(key=lambda r: r.frame)
    people = [people_in(f) for f in files]
    assert 0 in people
    assert [r.present for r in results] == [n > 0 for n in people]
    assert all(r.probs is None and r.label == -1 for r in results if not r.present)
    # the same predictions as the batch command on the finished folder (a causal stream = an end-anchored model)
    offline_predictor = save(tmp_path, name, anchor="end") if causal else predictor
    (offline,) = predict_folder(offline_predictor, video, progress=False)
    present = offline.present
    np.testing.assert_allclose(np.stack([r.probs for r in results if r.present]), offline.probs[present], atol=1e-5)
    np.testing.assert_allclose(np.stack([r.va for r in results if r.present]), offline.va[present], atol=1e-5)
    assert [r.label for r in results if r.present] == offline.label[present].tolist()
    assert all(r.latency_ms > 0 for r in results)
    assert len(summary.latencies_ms) == int(present.sum())


def test_a_file_that_stays_truncated_is_reported_and_skipped(tmp_path, video):
    files = sorted(video.glob("*.json"))[:12]
    victim = next(i for i, f in enumerate(files) if people_in(f))
    live = tmp_path / "live"
    live.mkdir()
    notices, results = [], []
    writer = LiveWriter(files, live, never_finished={victim})
    writer.start()
    summary = watch_folder(save(tmp_path, "mlp"), live, on_result=results.append, on_notice=notices.append,
                           partial_timeout=0.3, idle_timeout=0.4)  # fmt: skip
    writer.join()
    assert sorted(r.frame for r in results) == list(range(len(files)))
    bad = next(r for r in results if r.frame == victim)
    assert not bad.present and "not valid JSON" in bad.problem and "unchanged for 0.3 s" in bad.problem
    assert summary.bad_files == 1 and any(files[victim].name in n for n in notices)


def test_a_partial_file_deleted_before_it_completes_is_reported_as_skipped(tmp_path, video):
    files = sorted(video.glob("*.json"))[:8]
    live = tmp_path / "live"
    live.mkdir()
    notices, results = [], []

    def writer():
        LiveWriter(files[:4], live).run()
        raw = files[4].read_bytes()
        (live / files[4].name).write_bytes(raw[: len(raw) // 2])  # a writer that dies half-way
        time.sleep(0.2)
        (live / files[4].name).unlink()
        LiveWriter(files[5:], live).run()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    summary = watch_folder(save(tmp_path, "mlp"), live, on_result=results.append, on_notice=notices.append,
                           partial_timeout=5.0, idle_timeout=0.6)  # fmt: skip
    thread.join()
    assert summary.skipped == 1 and f"{files[4].name}: deleted before it was complete" in " ".join(notices)
    assert "1 skipped file(s)" in summary.format()
    assert 4 not in {r.frame for r in results if r.present}


def test_an_emptied_folder_starts_afresh(tmp_path, video):
    files = sorted(video.glob("*.json"))
    live = tmp_path / "live"
    live.mkdir()
    results, notices = [], []
    reset_seen = threading.Event()

    def notice(text):
        notices.append(text)
        if "emptied" in text:
            reset_seen.set()

    predictor = save(tmp_path, "stgcn")

    def recorder():
        LiveWriter(files[:10], live).run()
        while len(results) < 10 - predictor.lag:  # the last frames of a centred window wait for the future
            time.sleep(0.01)
        for f in live.iterdir():
            f.unlink()
        reset_seen.wait(5)
        LiveWriter(files[:6], live).run()  # a new recording: the same file names again

    thread = threading.Thread(target=recorder, daemon=True)
    thread.start()
    summary = watch_folder(predictor, live, on_result=results.append, on_notice=notice, idle_timeout=0.5)
    thread.join()
    assert [r.frame for r in results] == list(range(10)) + list(range(6))
    assert summary.resets == 1 and summary.frames == 16


def test_stops_cleanly(tmp_path, video):
    files = sorted(video.glob("*.json"))
    shutil.copytree(video, tmp_path / "full")
    predictor = save(tmp_path, "stgcn")
    results = []
    summary = watch_folder(predictor, tmp_path / "full", on_result=results.append, max_frames=7)
    assert summary.stopped_by == "7 frames" and summary.frames == 7
    assert sorted(r.frame for r in results) == list(range(7))  # the centred-window frames are flushed

    stop = threading.Event()
    timer = threading.Timer(0.3, stop.set)
    timer.start()
    summary = watch_folder(predictor, tmp_path / "empty", stop_event=stop)
    timer.join()
    assert summary.stopped_by == "stop event" and summary.frames == 0

    results.clear()

    def interrupt(result):  # Ctrl-C arrives while a result is handled
        results.append(result)
        if len(results) == 3:
            raise KeyboardInterrupt

    summary = watch_folder(predictor, tmp_path / "full", on_result=interrupt)
    assert summary.stopped_by == "Ctrl-C" and len(results) > 3  # the frames already read are still predicted
    assert len({r.frame for r in results}) == len(results) and summary.frames <= len(files)


def test_watcher_orders_frames_and_waits_for_partial_files(tmp_path):
    now = [0.0]
    watcher = FolderWatcher(tmp_path, partial_timeout=1.0, reorder_wait=0.25, clock=lambda: now[0])

    def write(n, text='{"version": 1.3, "people": []}'):
        (tmp_path / f"v_{n:012d}_keypoints.json").write_text(text)

    def numbers():
        return [e.number for e in watcher.poll()]

    write(0)
    write(2)
    assert numbers() == [0]  # 2 waits for 1
    now[0] += 0.1
    assert numbers() == []
    now[0] += 0.2
    assert numbers() == [2]  # 1 did not come in time
    write(1)
    assert numbers() == [1]  # late, still handed out once
    write(3, '{"version": 1.3, "peo')  # being written
    write(4)
    assert numbers() == []  # 4 waits for 3, however long: 3 exists
    now[0] += 0.5
    assert numbers() == []
    write(3)
    assert numbers() == [3, 4]
    write(5, "{")
    assert numbers() == []
    now[0] += 0.6
    assert numbers() == []
    now[0] += 0.6  # unchanged for more than partial_timeout
    (bad,) = watcher.poll()
    assert bad.number == 5 and bad.doc is None and "not valid JSON" in bad.error
    assert numbers() == []
    for f in tmp_path.iterdir():  # the folder is emptied for a new recording
        f.unlink()
    assert watcher.poll() == [FolderReset()]
    write(0)  # the same names again
    assert numbers() == [0]


def test_watcher_follows_the_expected_names_without_listing(tmp_path, monkeypatch):
    now = [0.0]
    watcher = FolderWatcher(tmp_path, reorder_wait=0.25, clock=lambda: now[0])
    listings = []
    scan = watcher._scan
    monkeypatch.setattr(watcher, "_scan", lambda: listings.append(1) or scan())

    def write(name):
        (tmp_path / name).write_text('{"version": 1.3, "people": []}')

    def numbers():
        return [e.number for e in watcher.poll()]

    write("v_000000000000_keypoints.json")
    assert numbers() == [0] and len(listings) == 1
    for n in range(1, 30):
        write(f"v_{n:012d}_keypoints.json")
        assert numbers() == [n]
    assert numbers() == [] and len(listings) == 1  # found by name: the folder was not listed again
    write("w_000000000040_keypoints.json")  # a name that does not follow: found by listing
    assert numbers() == [] and len(listings) == 2
    now[0] += 0.3
    assert numbers() == [40]


def test_skip_existing(tmp_path):
    (tmp_path / "v_000000000000_keypoints.json").write_text('{"people": []}')
    watcher = FolderWatcher(tmp_path, skip_existing=True)
    assert watcher.poll() == []
    (tmp_path / "v_000000000001_keypoints.json").write_text('{"people": []}')
    assert [e.number for e in watcher.poll()] == [1]


def _person(x: float, size: float) -> np.ndarray:
    """A body25 person: joints on a grid of ``size`` pixels around ``x``."""
    layout = get_layout("body25")
    pose = np.ones((layout.num_joints, 3), np.float32)
    rng = np.random.default_rng(int(x))
    pose[:, :2] = rng.random((layout.num_joints, 2)) * size + [x, 100.0]
    return pose


def test_tracker_keeps_the_main_person():
    layout = get_layout("body25")
    tracker = MainPersonTracker(layout, persons=2, lost_after=5)
    a, b = _person(100, 100), _person(700, 300)  # b is bigger: more visible
    ids = np.array([-1, -1])
    assert np.array_equal(tracker.update(0, a[None], ids[:1])[0], a)  # the first person seen
    slots = tracker.update(1, np.stack([b, a]), ids)
    assert np.array_equal(slots[0], a) and np.array_equal(slots[1], b)  # a stays the main person
    slots = tracker.update(2, b[None], ids[:1])
    assert not (slots[0, :, 2] > 0).any() and np.array_equal(slots[1], b)  # a is away: no main person
    slots = tracker.update(8, b[None], ids[:1])  # a unseen for more than lost_after frames: b takes over
    assert np.array_equal(slots[0], b)
    tracker.reset()
    assert np.array_equal(tracker.update(0, np.stack([a, b]), ids)[0], b)  # the most visible
    tracked = MainPersonTracker(layout)
    tracked.update(0, np.stack([a, b]), np.array([4, 9]))
    moved = _person(1200, 300)  # b (id 9, the most visible) jumps far: still followed by its person_id
    assert np.array_equal(tracked.update(1, np.stack([a, moved]), np.array([4, 9]))[0], moved)


def test_stream_predictor_rejects_a_frame_twice(video):
    _, bundle = tiny_bundle("mlp", layout=LAYOUT)
    stream = StreamPredictor(Predictor(bundle))
    stream.push(0, None)
    with pytest.raises(ValueError, match="pushed twice"):
        stream.push(0, None)


def test_stream_command_appends_rows(tmp_path, video, capsys):
    bundle = tiny_bundle("mlp", "both", layout=LAYOUT)[1]
    save_bundle(bundle, tmp_path / "b.pt")
    out = tmp_path / "live.csv"
    args = ["stream", "--model", str(tmp_path / "b.pt"), "--watch", str(video), "--out", str(out)]
    assert main([*args, "--idle-timeout", "0.2", "--smooth", "ema:0.5"]) == 0
    printed = capsys.readouterr().out
    assert "latency per frame" in printed and "frame" in printed
    assert main([*args, "--idle-timeout", "0.2", "--quiet"]) == 0
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    n = len(list(video.glob("*.json")))
    assert len(rows) == 2 * n  # appended, one header
    assert rows[0].keys() >= {"video", "frame", "person", "p_anger", "emotion", "valence", "arousal", "latency_ms"}
    assert [int(r["frame"]) for r in rows] == list(range(n)) * 2
