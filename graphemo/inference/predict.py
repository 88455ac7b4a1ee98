"""Batch prediction: OpenPose folders -> per-frame class probabilities, predicted emotion, valence/arousal.

A :class:`Predictor` turns raw keypoints into exactly the input the model was trained on (its input kind's
:meth:`~graphemo.graphs.kinds.InputKind.encode`, the function the training dataset uses), runs the model and
decodes its heads. :func:`predict_keypoints` does one video,
:func:`predict_folder` a folder or a root of many (``graphemo predict``).

Every frame of a video gets a row; frames without the main person get empty predictions. Window models
see the window of the bundle (centred on the frame, or ending at it). Optional temporal smoothing runs over
the frames with a person: an exponential moving average (``ema:ALPHA``, causal) or a centred running
median (``median:K``); the class is then re-decided from the smoothed values.
"""

from __future__ import annotations

import csv
import os
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from graphemo.inference.bundle import ModelBundle


@dataclass(frozen=True)
class Smoothing:
    """Temporal smoothing of probabilities and valence/arousal.

    Attributes:
        method: ``"ema"`` (``s_t = alpha x_t + (1 - alpha) s_(t-1)``, causal) or ``"median"`` (running median over
            ``param`` frames: centred in batch prediction, trailing in streaming).
        param: ``alpha`` in (0, 1] for EMA; the window in frames (>= 1) for the median.
    """

    method: str
    param: float

    def __post_init__(self) -> None:
        if self.method == "ema" and not 0.0 < self.param <= 1.0:
            raise ValueError(f"ema smoothing needs 0 < alpha <= 1, got {self.param}")
        if self.method == "median" and (self.param < 1 or int(self.param) != self.param):
            raise ValueError(f"median smoothing needs a window of >= 1 frames, got {self.param}")
        if self.method not in ("ema", "median"):
            raise ValueError(f"smoothing must be ema:ALPHA or median:FRAMES, got {self.method!r}")

    @classmethod
    def parse(cls, text: str | None) -> Smoothing | None:
        """``"ema:0.3"``, ``"median:9"``, ``"none"``/``""``/None -> a :class:`Smoothing` or None."""
        if not text or text.lower() == "none":
            return None
        method, _, value = text.lower().partition(":")
        defaults = {"ema": "0.3", "median": "9"}
        if method not in defaults:
            raise ValueError(f"smoothing must be ema:ALPHA or median:FRAMES, got {text!r}")
        try:
            param = float(value or defaults[method])
        except ValueError:
            raise ValueError(f"smoothing {text!r}: {value!r} is not a number") from None
        return cls(method, param)

    def __str__(self) -> str:
        return f"{self.method}:{self.param:g}"


def smooth_sequence(values: np.ndarray, smoothing: Smoothing | None, valid: np.ndarray | None = None) -> np.ndarray:
    """Smooth a sequence along time over its valid rows (the others are skipped and stay as they are).

    Args:
        values: ``(T, K)`` per-frame values (probabilities, or valence and arousal).
        smoothing: the method, or None (values returned unchanged).
        valid: ``(T,)`` bool, rows to use (default: all).

    Returns:
        ``(T, K)`` float array. EMA starts at the first valid value; the median uses the nearest value
        beyond the ends.
    """
    from scipy.ndimage import median_filter
    from scipy.signal import lfilter

    out = np.array(values, dtype=np.float64)
    rows = np.flatnonzero(np.ones(len(out), bool) if valid is None else valid)
    if smoothing is None or len(rows) == 0:
        return out
    x = out[rows]
    if smoothing.method == "ema":
        a = smoothing.param
        x, _ = lfilter([a], [1.0, a - 1.0], x, axis=0, zi=(1.0 - a) * x[:1])
    else:
        x = median_filter(x, size=(int(smoothing.param), 1), mode="nearest")
    out[rows] = x
    return out


class OnlineSmoother:
    """The streaming counterpart of :func:`smooth_sequence`: one frame at a time, causal.

    EMA gives the same values as :func:`smooth_sequence`; the median runs over the last ``param`` frames.
    """

    def __init__(self, smoothing: Smoothing | None) -> None:
        self.smoothing = smoothing
        self.state: np.ndarray | None = None
        self.history: deque[np.ndarray] = deque(maxlen=int(smoothing.param) if smoothing else 1)

    def reset(self) -> None:
        self.state = None
        self.history.clear()

    def update(self, values: np.ndarray) -> np.ndarray:
        """``(K,)`` values of the next valid frame -> ``(K,)`` smoothed values."""
        values = np.asarray(values, dtype=np.float64)
        if self.smoothing is None:
            return values
        if self.smoothing.method == "ema":
            a = self.smoothing.param
            self.state = values if self.state is None else a * values + (1.0 - a) * self.state
            return self.state
        self.history.append(values)
        return np.median(np.stack(self.history), axis=0)


def renormalize(probs: np.ndarray) -> np.ndarray:
    """Rows of ``(N, C)`` scaled to sum to 1 (a median of probability vectors need not)."""
    total = probs.sum(axis=-1, keepdims=True)
    return np.divide(probs, total, out=np.full_like(probs, np.nan), where=total > 0)


class DenseModel(nn.Module):
    """A bundle's model behind one dense input and a tuple of outputs (what export and fast inference run).

    Input: the input kind's dense tensor (:meth:`graphemo.graphs.kinds.InputKind.forward_dense`): graph models
    ``(N, V, F)`` per-frame features (the skeleton's edges and the PyG batch vector are built inside, so no PyG
    batching is needed); window models ``(N, C, T, V, M)``; image models ``(N, 3, S, S)``.
    Output: the heads the task has, in the order of :attr:`keys` (``expr`` logits ``(N, C)``, ``va`` ``(N, 2)``).
    """

    def __init__(self, model: nn.Module, bundle: ModelBundle) -> None:
        super().__init__()
        from graphemo.labels.tasks import HEADS
        from graphemo.skeleton import get_layout

        self.model = model
        self.kind = bundle.kind
        self.keys = list(HEADS[bundle.task])
        self.register_buffer("edge_index", get_layout(bundle.layout).edge_index(), persistent=False)

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        out = self.kind.forward_dense(self.model, x, self.edge_index)
        return tuple(out[k] for k in self.keys)


def example_input(bundle: ModelBundle, batch: int, generator: torch.Generator | None = None) -> Tensor:
    """A random input of ``batch`` samples in :class:`DenseModel`'s input shape."""
    from graphemo.skeleton import get_layout

    v = get_layout(bundle.layout).num_joints
    return bundle.kind.example_input(batch, v, bundle.in_channels, bundle.input_spec(), generator)


@contextmanager
def quiet_jit() -> Iterator[None]:
    """Silence ``torch.jit``'s deprecation and tracer warnings (traced models are checked numerically instead)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\..*")
        yield


def single_sample_model(
    dense: DenseModel, bundle: ModelBundle, device: torch.device, *, atol: float = 1e-4, rtol: float = 1e-3
) -> tuple[Callable[[Tensor], tuple[Tensor, ...]], str]:
    """``dense`` traced and frozen for one sample at a time (streaming): no Python per layer, BatchNorm folded
    into the convolutions. Traced at batch size 1 (a trace at another size runs batch 1 at half the speed).

    The frozen model is compared with ``dense`` on random inputs; if tracing fails or the outputs differ beyond
    ``atol``/``rtol``, ``dense`` itself is returned.

    Returns:
        ``(model, how)``: the model to run on batches of one and ``"torchscript (frozen)"`` or ``"eager (why)"``.
    """
    generator = torch.Generator().manual_seed(0)
    try:
        with quiet_jit(), torch.inference_mode():
            example = example_input(bundle, 1, generator).to(device)
            frozen = torch.jit.freeze(torch.jit.trace(dense, (example,), check_trace=False))
            for _ in range(2):
                x = example_input(bundle, 1, generator).to(device)
                for e, g in zip(dense(x), frozen(x), strict=True):
                    if e.shape != g.shape or not torch.allclose(g, e, atol=atol, rtol=rtol):
                        return dense, "eager (the traced model differs)"
    except Exception as err:  # tracing can fail in many ways; eager always works
        return dense, f"eager (tracing failed: {type(err).__name__})"
    return frozen, "torchscript (frozen)"


class Predictor:
    """A bundle's model with the input pipeline of its training data.

    Args:
        bundle: the model bundle.
        device: torch device.
        optimize: run single samples (streaming) through a traced, frozen copy of the model (see
            :func:`single_sample_model`; faster for small models on one CPU thread); batches of several samples
            always run the eager model.

    Attributes:
        kind: the :class:`~graphemo.graphs.kinds.InputKind`; options: its options (e.g. the window).
        persons: person slots the model reads (``M`` of a window model, else 1).
        lag: frames after the predicted one that its input needs (those after the centre of a centred window,
            times the stride; 0 for frame models and windows that end at the frame).
    """

    def __init__(self, bundle: ModelBundle, *, device: str | torch.device = "cpu", optimize: bool = False) -> None:
        from graphemo.skeleton import get_layout

        self.bundle = bundle
        self.device = torch.device(device)
        self.model = bundle.build(self.device)
        self.kind = bundle.kind
        self.options = bundle.input_spec()
        self.layout = get_layout(bundle.layout)
        self.features = bundle.feature_spec()
        self.class_names = list(bundle.class_names)
        self.va_mapper = bundle.va_mapper()
        self.has_expr = bundle.task in ("expr", "both")
        self.has_va = bundle.task in ("va", "both")
        self.has_label = self.has_expr or self.va_mapper is not None
        self.persons = self.kind.persons(self.options)
        self.lag = self.kind.lag(self.options)
        self.dense = DenseModel(self.model, bundle).to(self.device).eval()
        self.single: Callable[[Tensor], tuple[Tensor, ...]] = self.dense
        self.how = "eager"
        if optimize:
            self.single, self.how = single_sample_model(self.dense, bundle, self.device)

    def columns(self) -> list[str]:
        """Output columns: ``video, frame, person``, ``p_<class>`` per class, ``emotion``, ``valence, arousal``
        (only what the task predicts; a VA model with a VA-to-class mapper also gives ``emotion``)."""
        cols = ["video", "frame", "person"]
        if self.has_expr:
            cols += [f"p_{name}" for name in self.class_names]
        if self.has_label:
            cols.append("emotion")
        if self.has_va:
            cols += ["valence", "arousal"]
        return cols

    def sample_keypoints(self, keypoints: np.ndarray, frame: int) -> np.ndarray:
        """The raw keypoints one prediction of local ``frame`` needs from a video's ``(T, M, V, 3)`` keypoints
        (:meth:`graphemo.graphs.kinds.InputKind.sample_keypoints`)."""
        return self.kind.sample_keypoints(keypoints, frame, self.options)

    def encode(self, keypoints: np.ndarray) -> np.ndarray | Tensor:
        """Raw keypoints of one sample -> the model input of one sample, exactly as in training."""
        return self.kind.encode(keypoints, self.layout, self.features, self.options)

    def forward(self, inputs: Sequence[np.ndarray | Tensor]) -> dict[str, Tensor]:
        """Run the model on ``B`` encoded samples; returns its raw outputs (``expr`` logits, ``va``)."""
        x = torch.as_tensor(inputs[0])[None] if len(inputs) == 1 else torch.stack([torch.as_tensor(i) for i in inputs])
        model = self.single if len(inputs) == 1 else self.dense
        with torch.inference_mode():
            return dict(zip(self.dense.keys, model(x.to(self.device)), strict=True))

    def infer(self, inputs: Sequence[np.ndarray | Tensor]) -> dict[str, np.ndarray]:
        """``B`` encoded samples -> ``{"probs": (B, C), "va": (B, 2)}`` float64 (the keys the task gives)."""
        out = self.forward(inputs)
        result = {}
        if "expr" in out:
            result["probs"] = torch.softmax(out["expr"].float(), dim=-1).cpu().numpy().astype(np.float64)
        if "va" in out:
            result["va"] = out["va"].float().cpu().numpy().astype(np.float64)
        return result

    def labels(self, probs: np.ndarray | None, va: np.ndarray | None) -> np.ndarray | None:
        """Class index per row: argmax of ``probs``, else the VA-to-class mapper on ``va``, else None."""
        if probs is not None:
            return np.argmax(np.nan_to_num(probs, nan=-1.0), axis=-1)
        if va is not None and self.va_mapper is not None:
            return self.va_mapper.predict(va)
        return None


def frame_row(
    predictor: Predictor,
    video: str,
    frame: int,
    present: bool,
    probs: np.ndarray | None,
    va: np.ndarray | None,
    label: int | None,
) -> dict[str, Any]:
    """One output row with :meth:`Predictor.columns` keys; without a person every prediction is None."""
    row: dict[str, Any] = {"video": video, "frame": frame, "person": int(present)}
    if predictor.has_expr:
        values = probs if present and probs is not None else [None] * len(predictor.class_names)
        row.update(
            {f"p_{n}": (None if p is None else float(p)) for n, p in zip(predictor.class_names, values, strict=True)}
        )
    if predictor.has_label:
        row["emotion"] = predictor.class_names[label] if present and label is not None and label >= 0 else None
    if predictor.has_va:
        ok = present and va is not None
        row["valence"], row["arousal"] = (float(va[0]), float(va[1])) if ok else (None, None)
    return row


@dataclass
class VideoPrediction:
    """Predictions for the frames of one video.

    Attributes:
        video: video id.
        frames: ``(K,)`` frame numbers.
        present: ``(K,)`` bool, the main person is in the frame (predicted); other rows are NaN / -1.
        probs: ``(K, C)`` class probabilities, or None (VA-only model).
        va: ``(K, 2)`` valence, arousal, or None (expression-only model).
        label: ``(K,)`` class index (-1 without a person), or None (VA-only model without a mapper).
    """

    video: str
    frames: np.ndarray
    present: np.ndarray
    probs: np.ndarray | None = None
    va: np.ndarray | None = None
    label: np.ndarray | None = None
    problems: list[str] = field(default_factory=list)

    def rows(self, predictor: Predictor) -> Iterator[dict[str, Any]]:
        """One dict per frame with :meth:`Predictor.columns` keys; empty predictions are None."""
        for k, frame in enumerate(self.frames.tolist()):
            yield frame_row(
                predictor,
                self.video,
                frame,
                bool(self.present[k]),
                None if self.probs is None else self.probs[k],
                None if self.va is None else self.va[k],
                None if self.label is None else int(self.label[k]),
            )

    def summary(self, class_names: Sequence[str]) -> dict[str, Any]:
        """Video-level summary: frames, frames with a person, dominant emotion and its share, mean V/A."""
        n = int(self.present.sum())
        out: dict[str, Any] = {"video": self.video, "frames": len(self.frames), "with_person": n}
        if self.label is not None:
            counts = np.bincount(self.label[self.present], minlength=len(class_names))
            top = int(np.argmax(counts))
            out["emotion"] = class_names[top] if n else None
            out["share"] = float(counts[top] / n) if n else None
        if self.va is not None:
            out["valence"] = float(self.va[self.present, 0].mean()) if n else None
            out["arousal"] = float(self.va[self.present, 1].mean()) if n else None
        return out


def predict_keypoints(
    predictor: Predictor,
    keypoints: np.ndarray,
    frames: np.ndarray | None = None,
    *,
    video: str = "video",
    smoothing: Smoothing | None = None,
    batch_size: int = 256,
    progress: Callable[[int], object] | None = None,
) -> VideoPrediction:
    """Predict the frames of one video.

    Args:
        predictor: the model and its input pipeline.
        keypoints: ``(T, M, V, 3)`` raw tracked keypoints in the bundle's layout (slot 0 the main person),
            frame ``t`` at row ``t`` (as :func:`graphemo.keypoints.openpose.read_openpose_video` returns).
        frames: frame numbers to predict (default all ``T``).
        video: id written in the rows.
        smoothing: temporal smoothing over the frames with a person.
        batch_size: samples per forward pass.
        progress: called with the number of frames done after each batch (e.g. ``tqdm.update``).

    Returns:
        A :class:`VideoPrediction`.
    """
    if keypoints.ndim != 4 or keypoints.shape[2] != predictor.layout.num_joints:
        raise ValueError(
            f"{video}: keypoints must be (T, M, {predictor.layout.num_joints}, 3) in layout "
            f"{predictor.layout.name}, got {keypoints.shape}"
        )
    frames = np.arange(len(keypoints)) if frames is None else np.asarray(frames, dtype=np.int64)
    present = (keypoints[frames, 0, :, 2] > 0).any(axis=-1)
    k = len(frames)
    probs = np.full((k, len(predictor.class_names)), np.nan) if predictor.has_expr else None
    va = np.full((k, 2), np.nan) if predictor.has_va else None
    for start in range(0, k, batch_size):
        rows = np.arange(start, min(start + batch_size, k))
        rows = rows[present[rows]]
        if len(rows):
            out = predictor.infer(
                [predictor.encode(predictor.sample_keypoints(keypoints, int(frames[r]))) for r in rows]
            )
            if probs is not None:
                probs[rows] = out["probs"]
            if va is not None:
                va[rows] = out["va"]
        if progress is not None:
            progress(min(batch_size, k - start))
    if smoothing is not None:
        if probs is not None:
            probs = smooth_sequence(probs, smoothing, present)
            probs[present] = renormalize(probs[present])
        if va is not None:
            va = smooth_sequence(va, smoothing, present)
    label = predictor.labels(probs, va)
    if label is not None:
        label = np.where(present, label, -1)
    return VideoPrediction(video, frames, present, probs, va, label)


def predict_folder(
    predictor: Predictor,
    root: str | os.PathLike[str],
    *,
    smoothing: Smoothing | None = None,
    batch_size: int = 256,
    progress: bool = True,
) -> list[VideoPrediction]:
    """Predict every video folder of OpenPose JSON under ``root`` (``root`` itself may be one video folder).

    Folders are found as ``graphemo prepare`` finds them (:func:`graphemo.store.find_video_folders`);
    each is read in the bundle's layout and tracked (``read_openpose_video``); unreadable files count as frames
    without a person and are listed in the result's ``problems``.

    Returns:
        One :class:`VideoPrediction` per folder (rows for the frame numbers that have a file).

    Raises:
        ValueError: no OpenPose ``.json`` file under ``root``.
    """
    from graphemo.keypoints.openpose import ReadProblem, read_openpose_video
    from graphemo.progress import progress as show_progress
    from graphemo.store import find_video_folders

    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder")
    folders = find_video_folders(root)
    if not folders:
        raise ValueError(f"{root}: no OpenPose .json files in it or below it")
    results = []
    with show_progress(total=sum(len(f) for _, f in folders), unit="frame", desc="predict", enabled=progress) as bar:
        for folder, files in folders:
            problems: list[ReadProblem] = []
            seq = read_openpose_video(folder, layout=predictor.layout.name, max_people=predictor.persons,
                                      problems=problems)  # fmt: skip
            numbers = np.array([n for n, _ in files], dtype=np.int64)
            pred = predict_keypoints(predictor, seq.keypoints, numbers, video=seq.video_id, smoothing=smoothing,
                                     batch_size=batch_size, progress=bar.update)  # fmt: skip
            pred.problems = [str(p) for p in problems]
            results.append(pred)
    return results


def write_predictions(
    path: str | os.PathLike[str], predictions: Sequence[VideoPrediction], predictor: Predictor, **extra: Any
) -> None:
    """Write per-frame rows to ``.csv`` (empty cells for empty predictions) or ``.json`` (with the summaries).

    The JSON file is ``{"model", "columns", "summary": [per video], "frames": [rows], **extra}``.
    """
    path = Path(path)
    columns = predictor.columns()
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".csv":
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, columns)
            writer.writeheader()
            for pred in predictions:
                writer.writerows(_csv_row(row) for row in pred.rows(predictor))
    elif path.suffix.lower() == ".json":
        import orjson

        doc = {
            "model": predictor.bundle.describe(),
            "columns": columns,
            **extra,
            "summary": [p.summary(predictor.class_names) for p in predictions],
            "frames": [row for p in predictions for row in p.rows(predictor)],
        }
        path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    else:
        raise ValueError(f"{path}: write .csv or .json")


def write_summary(path: str | os.PathLike[str], summaries: Sequence[dict[str, Any]]) -> None:
    """Write per-video summaries as ``.csv`` or ``.json``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".json":
        import orjson

        path.write_bytes(orjson.dumps(list(summaries), option=orjson.OPT_INDENT_2))
        return
    if path.suffix.lower() != ".csv":
        raise ValueError(f"{path}: write .csv or .json")
    columns = list(dict.fromkeys(k for s in summaries for k in s))
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows(_csv_row(s) for s in summaries)


def _csv_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: "" if v is None else (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()}


def format_summary(summaries: Sequence[dict[str, Any]], max_rows: int = 30) -> str:
    """A fixed-width table of per-video summaries (the first ``max_rows`` videos, then a total line)."""
    lines = [f"{'video':<24} {'frames':>7} {'person':>7} {'emotion':<10} {'share':>6} {'valence':>8} {'arousal':>8}"]

    def num(value: Any, fmt: str) -> str:
        return format(value, fmt) if isinstance(value, float) else "-"

    for s in summaries[:max_rows]:
        lines.append(
            f"{s['video'][:24]:<24} {s['frames']:>7} {s['with_person']:>7} {s.get('emotion') or '-':<10} "
            f"{num(s.get('share'), '6.0%'):>6} {num(s.get('valence'), '+8.3f'):>8} {num(s.get('arousal'), '+8.3f'):>8}"
        )
    if len(summaries) > max_rows:
        lines.append(f"... {len(summaries) - max_rows} more videos")
    frames = sum(s["frames"] for s in summaries)
    person = sum(s["with_person"] for s in summaries)
    lines.append(f"{len(summaries)} video(s), {frames} frames, {person} with a person")
    return "\n".join(lines)
