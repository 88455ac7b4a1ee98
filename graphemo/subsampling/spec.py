"""The trainer's hook: which training frames of a prepared store to keep.

An experiment's YAML section maps 1:1 onto :class:`SubsampleSpec`::

    subsample: {strategy: kcenter, ratio: 0.1, parts: [body]}

The trainer calls :func:`select_training_frames` on its **training** videos only and passes the frames to
the dataset as ``frames=`` (:func:`graphemo.graphs.dataset.anchor_frames`). Validation and test sets are
never subsampled: they are scored on every annotated frame, as ABAW does.

A video's distances are measured on its main person (slot 0), centred per frame and scaled by the
video's median body size (:meth:`SubsampleSpec.distance_pose`), restricted to ``parts``. The frames that
can be kept are those where the main person is present, the task's label is annotated and the
selected parts show at least one joint (a frame with only a face detected has no body pose to compare).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from graphemo.labels import EMOTIONS_WITH_OTHER
from graphemo.labels.tasks import annotated
from graphemo.skeleton import Layout
from graphemo.specs import SpecError, build_spec, check_spec, option
from graphemo.subsampling.budgets import class_budgets, class_counts, select_frames_per_class
from graphemo.subsampling.distance import PART_ALIASES, embed_pose, part_joints
from graphemo.subsampling.report import DUPLICATE_THRESHOLD, aggregate_reports, redundancy_report
from graphemo.subsampling.strategies import STRATEGIES, eligible_frames, resolve_count, select_frames

if TYPE_CHECKING:
    from graphemo.store import PreparedStore

STRATEGY_NAMES = ("none", *STRATEGIES)
PART_NAMES = ("body", "face", "hand_left", "hand_right", "hand", *PART_ALIASES)
BUDGET_FIELDS = ("ratio", "count", "n", "threshold", "total")
_CENTERS = ("neck", "mid_hip")
_SCALES = ("body", "shoulders", "torso")
_SCALE_PER = ("video", "frame")


@dataclass(frozen=True)
class SubsampleSpec:
    """How to subsample the training frames: the ``subsample:`` section of an experiment, field for field.

    Attributes:
        strategy: ``every_nth``, ``motion``, ``kcenter`` or ``none`` (keep every eligible frame).
        ratio: budget, fraction of each video's eligible frames to keep, in ``(0, 1]``; with
            ``class_aware`` the fraction of the whole training set.
        count: budget, frames to keep per video (all of them if fewer).
        n: budget, ``every_nth`` only: keep every ``n``-th eligible frame.
        threshold: budget, ``motion`` only: keep a frame once it moved this far (shoulder widths, RMS over
            joints) from the last kept one.
        class_aware: share a dataset-wide budget (``ratio`` or ``total``) among the emotion classes
            ``∝ frames ** power``, so rare classes keep a larger share (:mod:`~graphemo.subsampling.budgets`);
            the strategy then runs inside each (video, class) group. Needs expression labels (task ``expr``
            or ``both``; with ``both``, frames with valence/arousal only form one more group).
        total: budget, ``class_aware`` only: frames to keep over the whole training set.
        power: exponent of the class allocation, in ``[0, 1]``: 1 = same fraction of every class,
            0 = same number of frames per class.
        parts: layout parts the distance is measured on (``body``, ``face``, ``hand_left``, ``hand_right``,
            ``hands``), e.g. ``[body, face]``.
        center: pose normalisation centre, ``neck`` or ``mid_hip``
            (:func:`graphemo.graphs.normalize.body_frame`).
        scale: pose normalisation scale, ``body`` (the larger of shoulder width and torso), ``shoulders`` or
            ``torso`` (:func:`graphemo.graphs.normalize.body_frame`).
        scale_per: ``video`` (default): every frame is divided by the video's median scale; ``frame``: by
            its own, as :func:`~graphemo.graphs.normalize.normalize_pose` does. Per frame, a shoulder that
            flickers in and out of detection switches the scale to a fallback measure and back, so that
            the same pose jumps by shoulder widths (measured on the real MPIIEmo clip: see the README).
        duplicate_threshold: distance under which two kept frames count as duplicates in the report.
        report: compute the redundancy report (costs about as much as the selection; with ``none`` it is
            quadratic in the video length). Without it only the frame and label counts are reported.

    Exactly one budget is given, and none with ``strategy: none``. Bad values raise
    :class:`~graphemo.specs.SpecError` (a ``ValueError``) naming the field (``subsample.<field>``). Frozen, so
    that a spec stays valid: change it with ``dataclasses.replace``.
    """

    SECTION: ClassVar[str] = "subsample"

    strategy: str = option("none", choices=STRATEGY_NAMES)
    ratio: float | None = option(None, gt=0.0, max=1.0)
    count: int | None = option(None, min=0)
    n: int | None = option(None, min=1)
    threshold: float | None = option(None, min=0.0)
    class_aware: bool = False
    total: int | None = option(None, min=0)
    power: float = option(0.5, min=0.0, max=1.0)
    parts: list[str] = option(default_factory=lambda: ["body"], choices=PART_NAMES, min_len=1)
    center: str = option("neck", choices=_CENTERS)
    scale: str = option("body", choices=_SCALES)
    scale_per: str = option("video", choices=_SCALE_PER)
    duplicate_threshold: float = option(DUPLICATE_THRESHOLD, gt=0.0)
    report: bool = True

    def __post_init__(self) -> None:
        check_spec(self)
        if len(set(self.parts)) != len(self.parts):
            raise SpecError(("subsample", "parts"), f"names a part twice, got {self.parts!r}")
        self._check_budget()

    def _check_budget(self) -> None:
        given = [name for name in BUDGET_FIELDS if getattr(self, name) is not None]

        def bad(name: str, why: str) -> SpecError:
            return SpecError(("subsample", name), why)

        if self.strategy == "none":
            if given:
                raise bad(given[0], "strategy 'none' keeps every frame and takes no budget")
            if self.class_aware:
                raise bad("class_aware", "strategy 'none' keeps every frame; it cannot be class-aware")
            return
        allowed = ("ratio", "total") if self.class_aware else STRATEGIES[self.strategy].budgets
        if not given:
            raise bad(allowed[0], f"strategy {self.strategy!r}{' with class_aware' if self.class_aware else ''} "
                      f"needs a budget, one of {', '.join(allowed)}")  # fmt: skip
        if len(given) > 1:
            raise bad(given[1], f"give exactly one budget, got {' and '.join(given)}")
        if given[0] == "total" and not self.class_aware:
            raise bad("total", "a dataset-wide total is a class-aware budget; set class_aware: true")
        if given[0] not in allowed:
            what = "with class_aware (a dataset-wide budget)" if self.class_aware else f"for {self.strategy!r}"
            raise bad(given[0], f"not a budget {what}; give one of {', '.join(allowed)}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> SubsampleSpec:
        """The spec of a YAML ``subsample:`` mapping (``None`` or empty: no subsampling).

        Raises:
            ValueError: an unknown key (with the closest known one) or a bad value.
        """
        return build_spec(cls, data, ("subsample",))

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (e.g. for ``mlflow.log_params`` or writing back to YAML)."""
        return asdict(self)

    @property
    def enabled(self) -> bool:
        """False for ``strategy: none``."""
        return self.strategy != "none"

    def budget(self) -> dict[str, float | int]:
        """The per-video budget keyword for :func:`~graphemo.subsampling.select_frames` (not class-aware)."""
        return {name: getattr(self, name) for name in BUDGET_FIELDS if getattr(self, name) is not None}

    def describe(self) -> str:
        """One line, e.g. ``kcenter ratio=0.1 parts=body``."""
        words = [self.strategy, *(f"{k}={v:g}" for k, v in self.budget().items())]
        if self.class_aware:
            words.append(f"class_aware power={self.power:g}")
        words.append("parts=" + "+".join(self.parts))
        return " ".join(words)

    def distance_pose(self, keypoints: np.ndarray, layout: Layout) -> np.ndarray:
        """The pose the distances are measured on.

        Args:
            keypoints: ``(T, V, 3)`` pixel ``(x, y, confidence)`` of one person in ``layout`` (one video).
            layout: the store's layout.

        Returns:
            ``(T, V', 3)`` float32 normalised (see :attr:`scale_per`) and restricted to :attr:`parts`;
            missing joints ``(0, 0, 0)``.
        """
        from graphemo.graphs.normalize import body_frame

        kp = np.asarray(keypoints, dtype=np.float32)
        body = _body_layout(layout) if self.parts == ["body"] else None
        if body is not None:  # the same result, 3x faster on a whole-body layout: only body joints are read
            kp, layout = kp[..., : body.num_joints, :], body
        centre, size = body_frame(kp, layout, self.center, self.scale)  # type: ignore[arg-type]
        if self.scale_per == "video":
            finite = size[np.isfinite(size) & (size > 0)]
            size = np.full_like(size, np.median(finite) if len(finite) else 1.0)
        size = np.where(np.isfinite(size) & (size > 0), size, 1.0)
        centre = np.where(np.isfinite(centre), centre, 0.0)
        if body is None:
            kp = kp[..., part_joints(layout, self.parts), :]
        visible = kp[..., 2] > 0
        out = np.zeros_like(kp)
        out[..., :2] = np.where(visible[..., None], (kp[..., :2] - centre[..., None, :]) / size[..., None, None], 0.0)
        out[..., 2] = np.where(visible, kp[..., 2], 0.0)
        return out


def _body_layout(layout: Layout) -> Layout | None:
    """The body layout a whole-body layout starts with (``body25`` of ``body25_face_hands``), if any.

    Normalisation reads only body joints, except as a last resort in frames with no body joint, where
    a body-only pose has nothing to normalise anyway.
    """
    from graphemo.skeleton import get_layout

    if "body" not in layout.parts or layout.parts["body"][0] != 0:
        return None
    try:
        body = get_layout(layout.name.partition("_")[0])
    except KeyError:
        return None
    same = (body.neck, body.hips, body.shoulders) == (layout.neck, layout.hips, layout.shoulders)
    return body if same and body.parts == {"body": layout.parts["body"]} else None


def candidate_frames(store: PreparedStore, task: str | None = "expr") -> np.ndarray:
    """``(N,)`` bool over the store's frames: main person present and the task's label annotated.

    ``task``: ``"expr"``, ``"va"``, ``"both"`` or ``None`` (:func:`graphemo.labels.tasks.annotated`).
    """
    return np.asarray(store.present, dtype=bool) & annotated(store.expr, store.va, task)


def _num_classes(store: PreparedStore) -> int:
    return len(store.classes)


def _class_names(num_classes: int, store: PreparedStore | None = None) -> list:
    names = store.classes if store is not None else list(EMOTIONS_WITH_OTHER)
    return list(names[:num_classes]) if num_classes <= len(names) else list(range(num_classes))


def _map(fn: Callable[[int], Any], items: Sequence[int], workers: int, bar: Any) -> Iterator[Any]:
    """``fn`` over ``items`` in order, in ``workers`` threads (numpy's products release the GIL).

    BLAS is held to one thread meanwhile: the videos are the parallelism, and OpenBLAS threads on these
    small products mostly spin (3x the CPU time for the report's products, measured).
    """
    if workers <= 1 or len(items) <= 1:
        for item in items:
            yield fn(item)
            bar.update()
        return
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(max_workers=workers) as pool:
        for result in pool.map(fn, items):
            yield result
            bar.update()


def _counts_report(
    frames: int, eligible: np.ndarray, kept: np.ndarray, labels: np.ndarray, num_classes: int, names: list
) -> dict[str, Any]:
    """The part of a redundancy report that needs no distance (``SubsampleSpec.report = False``)."""
    return {
        "frames": frames,
        "eligible": len(eligible),
        "kept": len(kept),
        "dropped": len(eligible) - len(kept),
        "class_names": names,
        "labels_before": class_counts(labels[eligible], num_classes).tolist(),
        "labels_after": class_counts(labels[kept], num_classes).tolist(),
    }


def select_training_frames(
    store: PreparedStore,
    videos: np.ndarray,
    spec: SubsampleSpec,
    *,
    task: str | None = "expr",
    progress: bool = False,
    workers: int | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Subsample the training frames of some videos of a prepared store.

    Args:
        store: the prepared store.
        videos: ``(num_videos,)`` video indices (the training split; never validation or test).
        spec: the strategy, budget and distance (see :class:`SubsampleSpec`).
        task: which label a frame must have to be eligible: ``"expr"``, ``"va"``, ``"both"`` (either), or
            ``None`` (none needed).
        progress: show a tqdm bar over the videos.
        workers: threads working on videos in parallel (default: CPUs, at most 8).

    Returns:
        ``(frames, report)``: sorted ``(K,)`` int64 global frame indices to keep (main person present, label
        annotated, in ``videos``), and the redundancy report aggregated over the videos with an eligible
        frame (:func:`~graphemo.subsampling.aggregate_reports`; feed it to
        :func:`~graphemo.subsampling.report_metrics` for MLflow, :func:`~graphemo.subsampling.format_report`
        to print). With ``strategy: none`` every candidate frame is returned (the same frames as
        ``anchor_frames``); the report then measures those that show the parts.

    Raises:
        ValueError: a video index out of range, a part the store's layout lacks, ``class_aware`` without
            expression labels, or a ``total`` above the eligible frames.
    """
    from graphemo.progress import progress as show_progress

    videos = np.unique(np.asarray(videos, dtype=np.int64).reshape(-1))
    if len(videos) and (videos[0] < 0 or videos[-1] >= len(store.videos)):
        bad = videos[0] if videos[0] < 0 else videos[-1]
        raise ValueError(f"video index {bad} out of range: the store {store.path} has {len(store.videos)} videos")
    try:
        joints = part_joints(store.layout, spec.parts)
    except ValueError as exc:
        raise ValueError(f"subsample.parts: {exc}") from None
    if spec.class_aware and task not in ("expr", "both"):
        raise ValueError(f"subsample.class_aware: needs expression labels (task 'expr' or 'both'), got task {task!r}")
    workers = workers or min(os.cpu_count() or 1, 8)
    candidates = candidate_frames(store, task)
    num_classes = _num_classes(store)
    names = _class_names(num_classes, store)
    records = [store.videos[int(v)] for v in videos]
    todo = [i for i, r in enumerate(records) if candidates[r.frames].any()]

    budgets: dict[int, np.ndarray] = {}
    groups: dict[int, np.ndarray] = {}
    if spec.class_aware:
        # Budgets need every video's eligible frames per class first; the parts' confidences suffice.
        has_va = np.isfinite(store.va).all(axis=1)
        visible: dict[int, np.ndarray] = {}
        for i in todo:
            sl = records[i].frames
            lab = store.expr[sl].astype(np.int64)
            groups[i] = np.where((lab < 0) & has_va[sl], num_classes, lab) if task == "both" else lab
            confidence = np.asarray(store.keypoints[sl, 0, :, 2])[:, joints]
            visible[i] = candidates[sl] & (confidence > 0).any(axis=1)
        eligible_total = int(sum(int(visible[i].sum()) for i in todo))
        total = spec.total if spec.total is not None else resolve_count(eligible_total, ratio=spec.ratio)
        if total > eligible_total:
            raise ValueError(f"subsample.total: {total} is more than the {eligible_total} eligible training frames")
        table = class_budgets(
            [groups[i] for i in todo],
            total,
            power=spec.power,
            num_classes=num_classes + (task == "both"),
            candidates_per_video=[visible[i] for i in todo],
        )
        budgets = {i: row for i, row in zip(todo, table, strict=True)}

    def work(i: int) -> tuple[np.ndarray, dict[str, Any] | None]:
        record = records[i]
        cand = candidates[record.frames]
        labels = store.expr[record.frames].astype(np.int64)
        pose = spec.distance_pose(np.asarray(store.keypoints[record.frames, 0]), store.layout)
        emb = embed_pose(pose)
        if spec.strategy == "none":
            kept = eligible_frames(pose, cand)
        elif spec.class_aware:
            kept = select_frames_per_class(pose, groups[i], budgets[i], spec.strategy, candidates=cand, embedding=emb)
        else:
            kept = select_frames(pose, spec.strategy, candidates=cand, embedding=emb, **spec.budget())
        if spec.report:
            report = redundancy_report(
                pose,
                kept,
                candidates=cand,
                labels=labels,
                num_classes=num_classes,
                duplicate_threshold=spec.duplicate_threshold,
                embedding=emb,
            )
            report["class_names"] = names
        else:
            report = _counts_report(record.length, eligible_frames(pose, cand), kept, labels, num_classes, names)
        if spec.strategy == "none":
            kept = np.flatnonzero(cand).astype(np.int64)
        return record.start + kept, report if report["eligible"] else None

    bar = show_progress(total=len(todo), unit="video", desc=f"subsample {spec.strategy}", enabled=progress)
    with bar:
        results = list(_map(work, todo, workers, bar))
    kept_all = [r[0] for r in results]
    frames = np.sort(np.concatenate(kept_all)) if kept_all else np.empty(0, dtype=np.int64)
    reports = [r[1] for r in results if r[1] is not None]
    if spec.report:
        summary = aggregate_reports(reports)
    else:
        summary = {"videos": len(reports)}
        for key in ("frames", "eligible", "kept", "dropped"):
            summary[key] = int(sum(r[key] for r in reports))
        summary["kept_fraction"] = summary["kept"] / summary["eligible"] if summary["eligible"] else float("nan")
        summary["class_names"] = names
        for key in ("labels_before", "labels_after"):
            summary[key] = np.sum([r[key] for r in reports], axis=0).tolist() if reports else [0] * num_classes
    return frames.astype(np.int64), summary
