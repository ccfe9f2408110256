"""Does kit.tblogs read back exactly what TensorBoard writers wrote?"""
from __future__ import annotations

import numpy as np
import pytest

from kit import tblogs


@pytest.fixture(scope="module")
def tf():
    import tensorflow

    return tensorflow


def _write(tf, folder, fn):
    writer = tf.summary.create_file_writer(str(folder))
    with writer.as_default():
        fn()
    writer.close()


def test_are_scalars_read_per_run_and_tag_in_step_order(tmp_path, tf):
    def train():
        for step, value in [(2, 0.25), (0, 1.0), (1, 0.5)]:
            tf.summary.scalar("epoch_loss", value, step=step)

    def validation():
        tf.summary.scalar("epoch_loss", 0.75, step=0)
        tf.summary.scalar("epoch_micro_f1", 0.125, step=0)

    _write(tf, tmp_path / "train", train)
    _write(tf, tmp_path / "validation", validation)
    scalars = tblogs.read_scalars(tmp_path)
    assert sorted(scalars) == ["train", "validation"]
    np.testing.assert_array_equal(scalars["train"]["epoch_loss"].steps, [0, 1, 2])
    np.testing.assert_allclose(scalars["train"]["epoch_loss"].values, [1.0, 0.5, 0.25])
    assert scalars["validation"]["epoch_micro_f1"].values.tolist() == [0.125]
    assert scalars["train"]["epoch_loss"].steps.dtype == np.int64


def test_is_a_step_logged_twice_read_as_its_last_value(tmp_path, tf):
    _write(tf, tmp_path, lambda: [tf.summary.scalar("x", v, step=0) for v in (1.0, 3.0)])
    series = tblogs.read_scalars(tmp_path)["."]["x"]
    assert series.steps.tolist() == [0] and series.values.tolist() == [3.0]


def test_are_histogram_buckets_read_with_their_counts(tmp_path, tf):
    values = np.array([0.0, 1.0, 1.0, 3.0, 4.0])
    _write(tf, tmp_path / "gradients", lambda: tf.summary.histogram("grad/dense/kernel", values, step=4, buckets=4))
    hists = tblogs.read_histograms(tmp_path)
    series = hists["gradients"]["grad/dense/kernel"]
    assert series.steps.tolist() == [4]
    buckets = series.buckets[0]
    assert buckets.shape == (4, 3)
    assert buckets[:, 2].sum() == 5
    np.testing.assert_allclose(buckets[[0, -1], [0, 1]], [0.0, 4.0])   # edges span min..max
    np.testing.assert_allclose(buckets[:, 2], [1, 2, 0, 2])             # 0 | 1,1 | - | 3,4


def test_do_scalar_and_histogram_readers_keep_to_their_own_kind(tmp_path, tf):
    def both():
        tf.summary.scalar("s", 1.0, step=0)
        tf.summary.histogram("h", [1.0, 2.0], step=0)

    _write(tf, tmp_path, both)
    assert list(tblogs.read_scalars(tmp_path)["."]) == ["s"]
    assert list(tblogs.read_histograms(tmp_path)["."]) == ["h"]


def test_does_an_empty_log_folder_give_no_series(tmp_path):
    assert tblogs.event_files(tmp_path) == []
    assert tblogs.read_scalars(tmp_path) == {}
    assert tblogs.read_histograms(tmp_path) == {}


def test_does_a_missing_log_folder_raise_with_the_path_and_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.*TensorBoard"):
        tblogs.read_scalars(tmp_path / "nowhere")


def test_are_histogram_moments_those_of_the_bucket_centres():
    buckets = np.array([[0.0, 2.0, 1.0], [2.0, 4.0, 3.0]])   # centres 1 and 3, weights 1 and 3
    mean, std = tblogs.histogram_moments(buckets)
    assert mean == pytest.approx(2.5)
    assert std == pytest.approx(np.sqrt((1 * 1.5**2 + 3 * 0.5**2) / 4))
    assert all(np.isnan(tblogs.histogram_moments(np.zeros((3, 3)))))


@pytest.mark.parametrize("bad", [np.zeros((3, 2)), np.array([[0.0, 1.0, -1.0]])])
def test_are_malformed_buckets_refused(bad):
    with pytest.raises(ValueError, match="buckets|count"):
        tblogs.histogram_moments(bad)
