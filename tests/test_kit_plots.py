"""Does kit.plots draw the numbers it is given?"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from kit import plots  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_does_the_confusion_matrix_count_true_rows_and_predicted_columns():
    y_true = np.array([0, 0, 1, 2, 2, 2])
    y_pred = np.array([0, 1, 1, 2, 2, 0])
    ax = plots.plot_confusion_matrix(y_true, y_pred, labels=[0, 1, 2])
    counts = np.asarray(ax.images[0].get_array())
    np.testing.assert_array_equal(counts, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert sorted(t.get_text() for t in ax.texts) == ["1", "1", "1", "1", "2"]   # zeros are left blank
    from sklearn.metrics import confusion_matrix

    np.testing.assert_array_equal(counts, confusion_matrix(y_true, y_pred))


def test_does_the_confusion_matrix_refuse_labels_that_miss_a_class():
    with pytest.raises(ValueError, match=r"\[2\]"):
        plots.plot_confusion_matrix([0, 2], [0, 1], labels=[0, 1])


def test_are_training_curves_drawn_from_the_history_values():
    history = {"loss": [1.0, 0.5], "val_loss": [1.2, 0.7], "micro_f1": [0.3, 0.6]}
    fig = plots.plot_training_curves(history, metrics=("loss", "micro_f1"))
    loss_ax, f1_ax = fig.axes
    (train, val) = loss_ax.lines
    np.testing.assert_array_equal(train.get_xdata(), [1, 2])
    np.testing.assert_array_equal(train.get_ydata(), [1.0, 0.5])
    np.testing.assert_array_equal(val.get_ydata(), [1.2, 0.7])
    assert len(f1_ax.lines) == 1    # no val_micro_f1 in the history


def test_does_a_missing_metric_name_the_metrics_there_are():
    with pytest.raises(KeyError, match="val_loss"):
        plots.plot_training_curves({"loss": [1.0], "val_loss": [1.0]}, metrics=("accuracy",))


def test_does_the_histogram_mark_the_cutoff_and_count_every_value():
    values = np.array([0.1, 0.2, 0.2, 0.9])
    ax = plots.plot_histogram(values, bins=4, marks={"cut-off": 0.8})
    assert sum(p.get_height() for p in ax.patches) == 4
    (line,) = ax.lines
    assert line.get_xdata()[0] == pytest.approx(0.8)
    assert ax.get_legend().get_texts()[0].get_text() == "cut-off"


def test_does_the_waveform_shade_exactly_the_padding():
    signal = np.zeros(100, dtype=np.float32)
    mask = np.arange(100) < 60
    ax = plots.plot_waveform(signal, sr=100, mask=mask)
    (span,) = ax.patches
    x0, x1 = span.get_bbox().x0, span.get_bbox().x1
    assert x0 == pytest.approx(0.6) and x1 == pytest.approx(1.0)
    np.testing.assert_allclose(ax.lines[0].get_xdata()[[0, -1]], [0.0, 0.99])


def test_is_a_time_major_spectrogram_drawn_with_time_on_x():
    spec = np.zeros((5, 3))
    spec[4, 0] = 1.0                     # last frame, lowest band
    ax = plots.plot_spectrogram(spec, sr=100, hop_length=10, mask=np.arange(5) < 4)
    image = np.asarray(ax.images[0].get_array())
    assert image.shape == (3, 5) and image[0, 4] == 1.0
    assert ax.images[0].get_extent() == [0, 0.5, 0, 3]
    assert ax.lines[0].get_xdata()[0] == pytest.approx(0.4)   # padding starts after 4 frames


def test_are_clip_panels_one_column_per_clip():
    rng = np.random.default_rng(0)
    fig = plots.plot_clips([rng.standard_normal(800).astype(np.float32)] * 3, sr=8000, titles=["a", "b", "c"])
    assert len(fig.axes) == 6
    assert [ax.get_title() for ax in fig.axes[:3]] == ["a", "b", "c"]
    spec = np.asarray(fig.axes[3].images[0].get_array())
    assert spec.shape[0] == 64 and spec.max() == pytest.approx(0.0) and spec.min() >= -80.0


def test_are_series_drawn_with_their_labels():
    ax = plots.plot_series({"a": (np.array([0, 1]), np.array([2.0, 3.0]))}, logy=True)
    assert ax.get_yscale() == "log"
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [2.0, 3.0])
    with pytest.raises(ValueError, match="'b'"):
        plots.plot_series({"b": (np.zeros(2), np.zeros(3))})


@pytest.mark.parametrize("call", [
    lambda: plots.plot_waveform(np.zeros((2, 3)), sr=8000),
    lambda: plots.plot_waveform(np.zeros(3), sr=0),
    lambda: plots.plot_spectrogram(np.zeros(3), sr=8000, hop_length=160),
    lambda: plots.plot_histogram([], bins=3),
    lambda: plots.plot_clips([], sr=8000),
])
def test_are_bad_inputs_refused_with_a_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_is_the_displayed_log_mel_independent_of_the_clips_loudness():
    y = np.random.default_rng(1).standard_normal(1600).astype(np.float32) * np.hanning(1600).astype(np.float32)
    fig = plots.plot_clips([y, 1e-4 * y], sr=8000)
    loud, quiet = (np.asarray(ax.images[0].get_array()) for ax in fig.axes[2:])
    np.testing.assert_allclose(quiet, loud, atol=1e-3)
    assert loud.max() == pytest.approx(0.0)


def test_does_the_error_tradeoff_curve_meet_the_diagonal_at_the_equal_error_rate():
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    perfect = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9])
    one_swap = np.array([0.1, 0.2, 0.3, 0.75, 0.6, 0.7, 0.8, 0.9])   # one real above one fake
    ax = plots.plot_error_tradeoff(y, {"perfect": perfect, "swap": one_swap})
    fpr, fnr = ax.lines[0].get_data()
    assert fpr[0] == 0.0 and fnr[0] == 1.0 and fpr[-1] == 1.0 and fnr[-1] == 0.0
    assert ax.lines[1].get_data()[0][0] == 0.0, "a perfect detector's EER is 0"
    assert ax.lines[3].get_data()[0][0] == pytest.approx(0.25), "one swap in 4 + 4: EER 1/4"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["perfect (EER 0.000)", "swap (EER 0.250)"]
    with pytest.raises(ValueError, match="both labels"):
        plots.plot_error_tradeoff(np.ones(4), {"x": np.ones(4)})
    with pytest.raises(ValueError, match="3 values for 8 labels"):
        plots.plot_error_tradeoff(y, {"short": perfect[:3]})


def test_is_the_learning_curve_drawn_in_the_order_of_its_sizes_whatever_the_insertion_order():
    """A4's curve came as {"all": ..., 5: ..., 20: ...} and was drawn as a V on a categorical axis."""
    curve = {"all": {"scratch": 0.99, "transfer": 0.98, "n_train": 360},
             5: {"scratch": 0.57, "transfer": 0.70, "n_train": 30},
             20: {"scratch": 0.90, "transfer": 0.89, "n_train": 120}}
    ax = plots.plot_learning_curve(curve, ("scratch", "transfer"))
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["scratch"].get_xdata()) == [30, 120, 360]
    assert list(lines["scratch"].get_ydata()) == [0.57, 0.90, 0.99]
    assert list(lines["transfer"].get_ydata()) == [0.70, 0.89, 0.98]
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["30\n(5/class)", "120\n(20/class)", "360\n(all)"]
    assert ax.get_xlabel() == "labelled training clips" and ax.get_ylabel() == "accuracy"
    with pytest.raises(ValueError, match="lacks \\['transfer'\\]"):
        plots.plot_learning_curve({5: {"scratch": 0.5, "n_train": 30}}, ("scratch", "transfer"))


def test_does_the_confusion_matrix_name_the_classes():
    ax = plots.plot_confusion_matrix(np.array([0, 1, 2]), np.array([0, 2, 2]), labels=[0, 1, 2],
                                     names=["george", "jackson", "lucas"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["george", "jackson", "lucas"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["george", "jackson", "lucas"]
    with pytest.raises(ValueError, match="one name per class: 2 names for 3 classes"):
        plots.plot_confusion_matrix(np.array([0, 1, 2]), np.array([0, 2, 2]), labels=[0, 1, 2], names=["a", "b"])
