"""Metrics and losses against scikit-learn and hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score
from sklearn.utils.class_weight import compute_class_weight

from graphemo.labels import EMOTIONS
from graphemo.training.config import LossConfig
from graphemo.training.losses import MultiTaskLoss, balanced_class_weights, ccc_loss, masked_mse
from graphemo.training.metrics import Predictions, ccc, classification_metrics, clip_predictions, evaluate, va_metrics

NAMES = list(EMOTIONS)


def test_ccc_hand_computed():
    # x = 1..4, y = x + 1: means differ by 1, var x = var y = cov = 1.25 -> 2 * 1.25 / (1.25 + 1.25 + 1) = 5/7
    assert ccc([1, 2, 3, 4], [2, 3, 4, 5]) == pytest.approx(5 / 7)
    assert ccc([0.1, -0.3, 0.8], [0.1, -0.3, 0.8]) == pytest.approx(1.0)
    assert ccc([0.1, -0.3, 0.2], [-0.1, 0.3, -0.2]) == pytest.approx(-1.0)  # zero mean: negation is -1
    # scaled predictions are perfectly correlated but not concordant: x vs 2x, x = (-1, 0, 1)
    # var x = 2/3, var 2x = 8/3, cov = 4/3 -> 2 * 4/3 / (10/3) = 0.8
    assert ccc([-1, 0, 1], [-2, 0, 2]) == pytest.approx(0.8)
    assert ccc([1, 2, np.nan, 4], [2, 3, 100, 5]) == pytest.approx(ccc([1, 2, 4], [2, 3, 5]))
    assert np.isnan(ccc([1.0], [1.0]))


def test_classification_metrics_match_scikit_learn(rng):
    y = rng.integers(-1, 7, 500)
    p = np.where(rng.random(500) < 0.6, y, rng.integers(0, 7, 500)).clip(0)
    m = classification_metrics(y, p, NAMES)
    keep = y >= 0
    assert m["n"] == keep.sum()
    assert m["f1"] == pytest.approx(f1_score(y[keep], p[keep], average="macro", labels=range(7)))
    assert m["accuracy"] == pytest.approx(accuracy_score(y[keep], p[keep]))
    assert m["uar"] == pytest.approx(balanced_accuracy_score(y[keep], p[keep]))
    assert (m["confusion"] == confusion_matrix(y[keep], p[keep], labels=range(7))).all()
    assert m["abaw2_expr"] == pytest.approx(0.67 * m["f1"] + 0.33 * m["accuracy"])
    assert m["per_class"]["anger"]["support"] == int((y == 0).sum())


def test_macro_f1_averages_over_the_classes_that_exist():
    y = np.array([0, 0, 1, 1])
    m = classification_metrics(y, y, NAMES)
    assert m["accuracy"] == 1.0 and m["f1"] == 1.0  # the 5 classes absent from the data are not scored 0


def test_a_four_class_datasets_macro_f1_by_hand():
    """4 classes, 8 clips; by hand: per-class F1 = 2PR/(P+R)."""
    names = ["anger", "happiness", "sadness", "neutral"]
    y = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    p = np.array([0, 1, 1, 1, 2, 0, 3, 3])
    # anger P=1/2 R=1/2 F=1/2; happiness P=2/3 R=1 F=4/5; sadness P=1 R=1/2 F=2/3; neutral F=1
    m = classification_metrics(y, p, names)
    assert m["f1"] == pytest.approx((1 / 2 + 4 / 5 + 2 / 3 + 1) / 4)
    assert m["accuracy"] == pytest.approx(6 / 8) and m["uar"] == pytest.approx((1 / 2 + 1 + 1 / 2 + 1) / 4)
    assert m["confusion"].shape == (4, 4) and m["confusion"][0].tolist() == [1, 1, 0, 0]
    # predicting a class the data lacks costs the true class its recall (the absent class itself is not averaged)
    m = classification_metrics(np.array([0, 0, 1]), np.array([0, 3, 1]), names)
    assert m["f1"] == pytest.approx((2 / 3 + 1) / 2)


def test_va_metrics_mask_each_dimension():
    true = np.array([[0.1, np.nan], [0.5, 0.2], [-0.4, 0.9], [0.0, -0.5]])
    pred = np.array([[0.2, 0.3], [0.4, 0.1], [-0.5, 0.8], [0.1, -0.4]])
    m = va_metrics(true, pred)
    assert m["ccc_valence"] == pytest.approx(ccc(true[:, 0], pred[:, 0]))
    assert m["ccc_arousal"] == pytest.approx(ccc(true[1:, 1], pred[1:, 1]))
    assert m["ccc_mean"] == pytest.approx((m["ccc_valence"] + m["ccc_arousal"]) / 2)
    assert m["mse_arousal"] == pytest.approx(np.mean((true[1:, 1] - pred[1:, 1]) ** 2))


def test_clip_level_aggregates_probabilities_per_video():
    probs = np.array([[0.6, 0.4], [0.1, 0.9], [0.2, 0.8], [0.9, 0.1], [0.8, 0.2]])
    pred = Predictions(video=np.array([0, 0, 0, 1, 1]), frame=np.arange(5), y=np.array([0, 0, 1, 1, -1]),
                       va=np.full((5, 2), np.nan), probs=probs)  # fmt: skip
    videos, y_true, y_pred = clip_predictions(pred)
    assert videos.tolist() == [0, 1] and y_pred.tolist() == [1, 0]
    assert y_true.tolist() == [0, 1]  # most frequent frame label
    _, y_true, _ = clip_predictions(pred, clip_labels={1: 0})
    assert y_true.tolist() == [0, 0]  # a DFEW clip label wins


def test_evaluate_headline_score_per_task(rng):
    n = 60
    y = np.repeat(rng.integers(0, 7, 6), 10)  # one emotion per video of 10 frames
    y[::10] = (y[::10] + 1) % 7  # and one frame of another: the clip label is still the majority
    va = rng.uniform(-1, 1, (n, 2))
    probs = np.eye(7)[y] * 0.9 + 0.01
    pred = Predictions(video=np.arange(n) // 10, frame=np.arange(n), y=y, va=va, probs=probs, va_pred=va * 0.5)
    expr = evaluate(pred, "expr", NAMES)
    assert expr["score"] == expr["f1"] == pytest.approx(1.0) and "ccc_mean" not in expr
    assert expr["clip_war"] == pytest.approx(1.0)
    both = evaluate(pred, "both", NAMES)
    assert both["score"] == pytest.approx((both["f1"] + both["ccc_mean"]) / 2)
    assert both["abaw_mtl"] == pytest.approx(both["f1"] + both["ccc_mean"])
    va_only = evaluate(Predictions(pred.video, pred.frame, y, va, va_pred=va), "va", NAMES, va_classes=y)
    assert va_only["score"] == pytest.approx(1.0) and va_only["va2class_f1"] == pytest.approx(1.0)


def test_balanced_weights_match_scikit_learn(rng):
    labels = np.concatenate([rng.integers(0, 5, 300), np.full(40, -1), np.full(5, 6)])
    weights = balanced_class_weights(labels, 7).numpy()
    present = np.unique(labels[labels >= 0])
    expected = compute_class_weight("balanced", classes=present, y=labels[labels >= 0])
    assert np.allclose(weights[present], expected) and weights[5] == 0.0


def test_ccc_loss_is_one_minus_ccc_and_masks_nan():
    pred = torch.tensor([[0.1, 0.5], [0.4, -0.2], [-0.3, 0.3], [0.8, 0.0]], requires_grad=True)
    target = torch.tensor([[0.0, np.nan], [0.5, -0.1], [-0.2, 0.4], [0.6, 0.1]])
    loss = ccc_loss(pred, target)
    p, t = pred.detach().numpy(), target.numpy()
    expected = np.mean([1 - ccc(t[:, 0], p[:, 0]), 1 - ccc(t[1:, 1], p[1:, 1])])
    assert float(loss.detach()) == pytest.approx(expected, abs=1e-5)
    loss.backward()
    assert torch.isfinite(pred.grad).all()
    assert float(masked_mse(pred, target).detach()) == pytest.approx(float(np.nanmean((p - t) ** 2)), abs=1e-6)


def test_multitask_loss_ignores_unannotated_frames():
    torch.manual_seed(0)
    outputs = {"expr": torch.randn(6, 7, requires_grad=True), "va": torch.tanh(torch.randn(6, 2, requires_grad=True))}
    y = torch.tensor([0, -1, 3, -1, 6, 2])
    va = torch.full((6, 2), float("nan"))
    parts = MultiTaskLoss(LossConfig(va="mse"))(outputs, y, va)
    keep = y >= 0
    expected = torch.nn.functional.cross_entropy(outputs["expr"][keep], y[keep])
    assert float(parts["loss"].detach()) == pytest.approx(float(expected.detach()), abs=1e-6)
    assert "loss_va" not in parts  # no annotated VA in the batch: no VA loss, and no NaN
    parts["loss"].backward()
    assert torch.isfinite(outputs["expr"].grad).all()


@pytest.mark.parametrize("name", ["onecycle", "cosine", "plateau", "none"])
def test_schedules_survive_a_weights_only_checkpoint(tmp_path, name):
    from graphemo.training.checkpoint import load_checkpoint, save_atomic
    from graphemo.training.config import OptimConfig, ScheduleConfig
    from graphemo.training.trainer import build_optimizer, build_scheduler

    def make():
        model = torch.nn.Linear(3, 2)
        optimizer = build_optimizer(model.parameters(), OptimConfig(name="sgd", lr=0.1))
        return optimizer, *build_scheduler(optimizer, ScheduleConfig(name=name, warmup_epochs=1), 5, 4)

    optimizer, scheduler, unit = make()
    assert unit == {"onecycle": "step", "cosine": "epoch", "plateau": "metric", "none": "none"}[name]
    for _ in range(6):
        optimizer.step()
        if unit == "metric":
            scheduler.step(0.5)  # a stalled score: the LR must drop after `patience` epochs
        elif scheduler is not None:
            scheduler.step()
    lr = optimizer.param_groups[0]["lr"]
    if name != "none":
        assert lr != 0.1
    save_atomic({"format": 1, "scheduler": scheduler.state_dict() if scheduler else None,
                 "optimizer": optimizer.state_dict()}, tmp_path / "c.pt")  # fmt: skip
    state = load_checkpoint(tmp_path / "c.pt")  # weights_only=True
    optimizer2, scheduler2, _ = make()
    optimizer2.load_state_dict(state["optimizer"])
    if scheduler2 is not None:
        scheduler2.load_state_dict(state["scheduler"])
        assert scheduler2.state_dict() == scheduler.state_dict()
    assert optimizer2.param_groups[0]["lr"] == pytest.approx(lr)


def test_scores_take_plain_arrays(rng):
    from graphemo.training.metrics import scores

    y = rng.integers(-1, 7, 300)
    logits = rng.normal(size=(300, 7))
    logits[np.arange(300), y.clip(0)] += 1.5
    va = rng.uniform(-1, 1, (300, 2))
    va[::7, 0] = np.nan
    va_pred = va + rng.normal(0, 0.3, (300, 2))
    out = scores(y_true=y, y_pred=logits, va_true=va, va_pred=va_pred)
    keep = y >= 0
    assert out["f1"] == pytest.approx(f1_score(y[keep], logits.argmax(1)[keep], average="macro"))
    assert out["f1"] == scores(y_true=y, y_pred=logits.argmax(1))["f1"], "classes or scores, the same"
    assert out["ccc_valence"] == pytest.approx(ccc(va[:, 0], va_pred[:, 0]))
    assert out["abaw_mtl"] == pytest.approx(out["f1"] + out["ccc_mean"])
    assert set(scores(va_true=va, va_pred=va_pred)) == {"ccc_valence", "ccc_arousal", "ccc_mean", "abaw_va",
                                                        "mse_valence", "mse_arousal"}  # fmt: skip
    assert list(classification_metrics(y, logits.argmax(1))["per_class"]) == NAMES
    assert list(classification_metrics([0, 9], [0, 1])["per_class"]) == [str(c) for c in range(10)]
    with pytest.raises(ValueError, match="shapes differ"):
        scores(y_true=y, y_pred=y[:-1])
    with pytest.raises(ValueError, match="y_true with y_pred"):
        scores(y_true=y)
