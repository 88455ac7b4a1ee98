import numpy as np
import pytest

from graphemo.labels import (
    EMOTIONS,
    UNANNOTATED,
    LabelFormatError,
    VideoLabels,
    canonical_video_id,
    emotion_index,
    read_abaw_expr,
    read_abaw_folder,
    read_abaw_va,
    read_dfew_csv,
    read_dfew_fold,
    read_label_csv,
    write_abaw_expr,
    write_abaw_va,
    write_dfew_csv,
)
from graphemo.labels.emotions import ABAW_EXPR_HEADER, abaw_to_graphemo, dfew_to_graphemo, graphemo_to_abaw


def test_canonical_order_and_dataset_mappings():
    assert EMOTIONS == ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")
    # ABAW: Neutral, Anger, Disgust, Fear, Happiness, Sadness, Surprise, Other
    assert abaw_to_graphemo().tolist() == [6, 0, 1, 2, 3, 4, 5, -1]
    assert abaw_to_graphemo(keep_other=True).tolist() == [6, 0, 1, 2, 3, 4, 5, 7]
    assert (graphemo_to_abaw()[abaw_to_graphemo(keep_other=True)] == np.arange(8)).all()
    # DFEW: 1 happy, 2 sad, 3 neutral, 4 angry, 5 surprise, 6 disgust, 7 fear
    assert [EMOTIONS[i] for i in dfew_to_graphemo()[1:]] == [
        "happiness", "sadness", "neutral", "anger", "surprise", "disgust", "fear",
    ]  # fmt: skip
    assert emotion_index("Happy") == 3 and emotion_index("other") == UNANNOTATED
    with pytest.raises(KeyError, match="unknown emotion"):
        emotion_index("bored")


def test_abaw_expr_round_trip_and_unannotated(tmp_path):
    path = tmp_path / "video1.txt"
    write_abaw_expr(path, np.array([0, 4, -1, 7, 1]))
    assert path.read_text().splitlines()[0] == ABAW_EXPR_HEADER
    assert read_abaw_expr(path).tolist() == [6, 3, -1, -1, 0]
    assert read_abaw_expr(path, keep_other=True).tolist() == [6, 3, -1, 7, 0]


@pytest.mark.parametrize(
    ("content", "match", "line"),
    [
        ("Neutral,Anger\n1\n", "expected the header", 1),
        (ABAW_EXPR_HEADER + "\n1\n9\n", "not in -1..7", 3),
        (ABAW_EXPR_HEADER + "\n1\nhappy\n", "expected an integer", 3),
    ],
)
def test_abaw_expr_errors_name_file_and_line(tmp_path, content, match, line):
    path = tmp_path / "v.txt"
    path.write_text(content)
    with pytest.raises(LabelFormatError, match=match) as info:
        read_abaw_expr(path)
    assert info.value.line == line and f"{path}:{line}" in str(info.value)


def test_abaw_va_round_trip_and_errors(tmp_path):
    path = tmp_path / "v.txt"
    write_abaw_va(path, np.array([[0.5, -0.25], [np.nan, np.nan]]))
    assert path.read_text().splitlines()[2] == "-5,-5"
    va = read_abaw_va(path)
    assert va[0].tolist() == [0.5, -0.25] and np.isnan(va[1]).all()
    path.write_text("valence,arousal\n0.1,0.2\n1.5,0\n")
    with pytest.raises(LabelFormatError, match="outside") as info:
        read_abaw_va(path)
    assert info.value.line == 3
    path.write_text("valence,arousal\nnan,0\n")
    with pytest.raises(LabelFormatError):
        read_abaw_va(path)


def test_abaw_folder_gives_splits_and_keeps_going_after_a_bad_file(tmp_path):
    (tmp_path / "Train_Set").mkdir()
    (tmp_path / "Validation_Set").mkdir()
    write_abaw_expr(tmp_path / "Train_Set" / "a.txt", np.array([1, 2]))
    write_abaw_expr(tmp_path / "Validation_Set" / "b.txt", np.array([3]))
    (tmp_path / "Train_Set" / "c.txt").write_text("garbage\n")
    table = read_abaw_folder(tmp_path, "expr")
    assert table["a"].split == "train" and table["b"].split == "val"
    assert isinstance(table["c"], LabelFormatError)


def test_per_frame_length_mismatch_is_an_error_not_a_shift():
    labels = VideoLabels(expr=np.array([0, 1, 2], np.int8), sources=("EXPR/v.txt",))
    with pytest.raises(LabelFormatError, match="3 frames but the keypoints have 4"):
        labels.per_frame(4)
    expr, va = labels.per_frame(3)
    assert expr.tolist() == [0, 1, 2] and np.isnan(va).all()


def test_clip_labels_broadcast_to_frames():
    expr, va = VideoLabels(clip_label=4, clip_va=np.array([0.1, 0.2], np.float32)).per_frame(3)
    assert expr.tolist() == [4, 4, 4] and np.allclose(va, [[0.1, 0.2]] * 3)


def test_dfew_fold_and_ids(tmp_path):
    for split in ("train", "test"):
        (tmp_path / f"{split}(single-labeled)").mkdir()
    write_dfew_csv(tmp_path / "train(single-labeled)" / "set_2.csv", [(1, 1), (2, 7)])
    write_dfew_csv(tmp_path / "test(single-labeled)" / "set_2.csv", [(3, 4)])
    fold = read_dfew_fold(tmp_path, 2)
    assert fold["1"].clip_label == EMOTIONS.index("happiness") and fold["2"].clip_label == EMOTIONS.index("fear")
    assert fold["3"].split == "test" and fold["3"].clip_label == EMOTIONS.index("anger")
    assert canonical_video_id("00001") == "1" and canonical_video_id(" video_7 ") == "video_7"
    bad = tmp_path / "bad.csv"
    bad.write_text("video_name,label\n1,3\n2,8\n")
    with pytest.raises(LabelFormatError, match=r"not in 1\.\.7") as info:
        read_dfew_csv(bad)
    assert info.value.line == 3
    with pytest.raises(FileNotFoundError):
        read_dfew_fold(tmp_path, 1)


def test_generic_csv_frames_and_clips(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text("video,frame,label,valence,arousal,split\nv,0,happy,0.5,0.1,train\nv,2,3,,,train\n")
    table = read_label_csv(path)
    expr, va = table["v"].per_frame(4)
    assert expr.tolist() == [3, -1, 3, -1] and va[0].tolist() == [0.5, pytest.approx(0.1)] and np.isnan(va[2]).all()
    assert table["v"].split == "train"
    with pytest.raises(LabelFormatError, match="3 frames but the keypoints have 2"):
        VideoLabels(expr=np.zeros(3, np.int8), exact_length=False).per_frame(2)
    path.write_text("video,label\nclip1,sad\nclip1,happy\n")
    with pytest.raises(LabelFormatError, match="listed twice"):
        read_label_csv(path)
    path.write_text("video,label\nclip1,sad\n")
    assert read_label_csv(path)["clip1"].clip_label == EMOTIONS.index("sadness")
    path.write_text("name,label\n")
    with pytest.raises(LabelFormatError, match="'video' column"):
        read_label_csv(path)
