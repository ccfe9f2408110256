"""Fake or real speech: a Streamlit page over assignment 3's detectors (``make app``).

    streamlit run apps/fake_or_real.py    # then open http://localhost:8501
                                          # (http://localhost:8501/?clip=<example id> opens one example)

Pick a saved detector (the reference LSTM of ``artifacts/app/`` or a model your notebook saved in
``artifacts/a3/``), upload a recording or pick an example clip of the testing split, and read
P(fake), the verdict, the waveform, the log-mel spectrogram and, for a clip longer than the
model's one-second window, the score over time. All the logic is in :mod:`apps.fake_or_real_core`.
"""
from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import streamlit as st  # noqa: E402

from apps import fake_or_real_core as core  # noqa: E402
from kit import plots  # noqa: E402
from source_data.errors import DataError  # noqa: E402

DPI = 110   # of the figures (10 inches wide: 1,100 pixels)

st.set_page_config(page_title="Fake or real speech", layout="wide")
st.title("Fake or real speech")
st.caption("Assignment 3's spoofing detectors on your recordings: the detector scores one second of 8 kHz "
           f"speech; longer clips (up to {core.MAX_SECONDS / 60:g} minutes) are also scored with a sliding "
           f"window (hop {core.HOP_SECONDS} s). The corpus' clips are silence-trimmed and loudness-normalised; "
           "a recording made otherwise is outside what the detector was trained on.")


def _figure(fig: Any) -> None:
    """Show a Matplotlib figure as a PNG of ``DPI`` dots per inch, and close it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    st.image(buffer.getvalue())


def _show(analysis: core.Analysis) -> None:
    audio = analysis.audio
    for note in audio.notes:
        st.info(f"{audio.name}: {note}.")
    threshold = core.threshold()
    colour = "red" if analysis.verdict == "fake" else "green"
    sign = "≥" if analysis.verdict == "fake" else "<"
    left, right = st.columns([1, 3])
    left.metric("P(fake)", f"{analysis.p_fake:.3f}")
    right.markdown(f"### :{colour}[Verdict: {analysis.verdict.upper()}]\n"
                   f"P(fake) = {analysis.p_fake:.3f} {sign} {threshold} for **{audio.name}** "
                   f"({audio.seconds:.2f} s, {audio.original_sr} Hz), detector **{analysis.detector}**"
                   + (f" — the first second, as `predict_fake` scores it; over time, "
                      f"{float(np.mean(analysis.scores >= threshold)):.0%} of the one-second windows are called fake "
                      f"(max P(fake) {float(np.max(analysis.scores)):.3f})." if analysis.longer_than_window else "."))
    st.audio(audio.signal, sample_rate=core.answers().SR)
    ans = core.answers()
    fig = plots.plot_clips([audio.signal], sr=ans.SR, titles=[audio.name], n_fft=ans.N_FFT,
                           hop_length=ans.HOP_LENGTH, n_mels=ans.N_MELS)
    fig.set_size_inches(10, 4.5)
    fig.axes[1].set_title("log-mel spectrogram (dB re max)", fontsize=9)
    _figure(fig)
    if analysis.longer_than_window:
        centres = analysis.starts + ans.SEGMENT / ans.SR / 2
        ax = plots.plot_series({"P(fake), 1 s window": (centres, analysis.scores)}, xlabel="time (s, window centre)",
                               ylabel="P(fake)", title="score over time")
        ax.axhline(threshold, color="grey", linestyle="--", linewidth=0.8)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlim(0, audio.seconds)
        ax.figure.set_size_inches(10, 2.8)
        _figure(ax.figure)
        fake = float(np.mean(analysis.scores >= threshold))
        st.caption(f"{analysis.scores.size} windows: mean P(fake) {float(np.mean(analysis.scores)):.3f}, "
                   f"max {float(np.max(analysis.scores)):.3f}; {fake:.0%} of the windows called fake.")


def main() -> None:
    try:
        with st.spinner("loading TensorFlow and the master's answers ..."):
            core.answers()   # once per server process: a few seconds
    except Exception as e:   # GraderError: the master's answer cells do not import
        st.error(str(e))
        return
    try:
        clips = core.examples()
    except DataError as e:
        clips = ()
        st.warning(f"no example clips: {e}")
    with st.sidebar:
        st.header("Detector")
        student_dir = st.text_input("Your notebook's artifacts folder", str(core.STUDENT_ARTIFACTS), key="student_dir",
                                    help="where the assignment 3 notebook saved lstm.keras, fusion_*.keras and "
                                         "normaliser.npz (relative to the kit's folder)")
        choices = core.list_detectors(student_dir)
        if len(choices) == 1:
            st.caption(f"No saved model (lstm.keras, fusion_relu.keras, fusion_gelu.keras) in {student_dir!r} yet: "
                       "run the assignment 3 notebook to the end to try yours.")
        picked = st.selectbox("Saved detector", [c.label for c in choices], key="detector")
        choice = next(c for c in choices if c.label == picked)
    try:
        with st.spinner("loading the detector ..."):
            detector = core.cached_detector(choice)
    except core.AppError as e:
        st.error(str(e))
        return

    keys = [c.key for c in clips]
    asked = st.query_params.get("clip")
    modes = ["example clip", "upload a file"] if clips else ["upload a file"]
    mode = st.radio("Input", modes, horizontal=True, key="mode")
    if mode == "example clip":
        index = keys.index(asked) if asked in keys else 0
        label = st.selectbox("Example clip of the testing split", [c.label for c in clips], index=index,
                             key="example")
        clip = next(c for c in clips if c.label == label)
        run = lambda: core.analyse(clip.path, detector, name=clip.key)  # noqa: E731
        st.caption(f"truth: {clip.truth}")
    else:
        upload = st.file_uploader(f"A recording ({', '.join(core.SUFFIXES)}; at most {core.MAX_SECONDS / 60:g} min)",
                                  type=[s.lstrip(".") for s in core.SUFFIXES], key="upload")
        if upload is None:
            st.info("Upload a recording to score it.")
            return
        data, filename = upload.getvalue(), upload.name
        run = lambda: core.analyse_upload(data, filename, detector)  # noqa: E731
    try:
        with st.spinner("scoring ..."):
            analysis = run()
    except core.AppError as e:
        st.error(str(e))
        return
    except Exception as e:   # never a traceback on the page
        st.error(f"unexpected {type(e).__name__} while scoring: {e}; try another file, and report this one")
        return
    _show(analysis)


main()
