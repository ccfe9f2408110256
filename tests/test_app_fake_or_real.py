"""Assignment 3's app: the core logic, the Streamlit page (AppTest) and the page in a real browser.

A tiny reference detector (the app's own ``train_reference`` on 800 training clips, 4 epochs,
about 6 s) is trained once per session in a temporary folder; every test uses it through
``KIT_APP_MODEL_DIR``. The browser test starts ``streamlit run`` on a free localhost port and
drives headless Chromium through the DevTools protocol (no WebDriver needed): it opens an example
clip, uploads a file into the page's file input and reads the verdict from the DOM.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pytest
import soundfile as sf

from apps import fake_or_real_core as core

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "apps" / "fake_or_real.py"
SR = 8000


# --------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tiny detector goes (the browser's server is told before it is trained)."""
    return tmp_path_factory.mktemp("app") / "model"


@pytest.fixture(scope="session")
def tiny_dir(model_dir: Path, browser_page: BrowserPage | None) -> Path:
    """A quickly trained reference detector: lstm.keras, normaliser.npz, model.json.

    ``browser_page`` is started first, so that the server imports TensorFlow and the master's
    answers on the second core while this process trains.
    """
    core.train_reference(model_dir, epochs=4, limit=800, verbose=0)
    return model_dir


@pytest.fixture(scope="session")
def detector(tiny_dir: Path) -> core.Detector:
    """The tiny detector, through the cache the page uses (one graph trace for all the tests)."""
    return core.cached_detector(core.DetectorChoice("tiny", tiny_dir, "lstm"))


@pytest.fixture(scope="session")
def clips() -> dict[str, core.Example]:
    return {ex.key: ex for ex in core.examples()}


@pytest.fixture()
def app_env(tiny_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(core.MODEL_DIR_ENV, str(tiny_dir))
    return tiny_dir


def predict(detector: core.Detector, paths: list[Path]) -> np.ndarray:
    """The master's predict_fake: what the grader scores."""
    return core.answers().predict_fake(detector.model, detector.kind, paths, detector.mean, detector.std)


def first(clips: dict[str, core.Example], truth: str) -> core.Example:
    return next(c for c in clips.values() if c.truth == truth and not c.parts)


# --------------------------------------------------------------------------------------------
# (a) the core logic


def test_the_trained_detector_is_saved_with_its_figures(tiny_dir: Path, detector: core.Detector) -> None:
    info = json.loads((tiny_dir / "model.json").read_text())
    assert info["clips"] == 800 and info["epochs"] == 4 and info["model"] == "lstm"
    assert info["testing"]["f1"] > 0.6 and info["testing"]["eer"] < 0.35, info["testing"]
    assert detector.kind == "lstm" and detector.mean.shape == (core.answers().N_FEATURES,)
    assert not any(p.name.startswith(".tmp") for p in tiny_dir.parent.iterdir()), "the temporary folder is left"


def test_known_real_and_fake_clips_get_the_right_verdict(detector: core.Detector,
                                                         clips: dict[str, core.Example]) -> None:
    singles = [c for c in clips.values() if not c.parts]
    assert {c.truth for c in singles} == {"real", "fake"} and len(singles) == 5
    scores = predict(detector, [c.path for c in singles])
    for clip, expected in zip(singles, scores):
        a = core.analyse(clip.path, detector)
        assert a.p_fake == pytest.approx(float(expected), abs=1e-6), "P(fake) is predict_fake's"
        assert a.verdict == clip.truth, (clip.key, a.p_fake)
        assert a.audio.signal.shape == (SR,) and a.audio.original_sr == SR and a.audio.notes == ()
        # a one-second clip has one window, scored through the same feature path
        assert a.starts.tolist() == [0.0] and a.scores[0] == pytest.approx(a.p_fake, abs=1e-5)
        assert not a.longer_than_window
    real, fake = first(clips, "real"), first(clips, "fake")
    assert core.analyse(real.path, detector).p_fake < 0.3 and core.analyse(fake.path, detector).p_fake > 0.6


@pytest.mark.parametrize("n, hop, expected", [
    (0, 2000, [0]), (5000, 2000, [0]), (8000, 2000, [0]),
    (24000, 2000, list(range(0, 16001, 2000))),          # 3 s: 9 windows, the last ends at the end
    (8800, 2000, [0, 800]),                              # a tail shorter than a hop gets its window
    (17000, 4000, [0, 4000, 8000, 9000]),
])
def test_window_starts_cover_the_clip(n: int, hop: int, expected: list[int]) -> None:
    starts = core.window_starts(n, hop=hop, window=SR)
    assert starts.tolist() == expected
    if n > SR:
        assert starts.size == 1 + int(np.ceil((n - SR) / hop)) and starts[-1] + SR == n


def test_the_montage_is_one_file_named_by_its_content(clips: dict[str, core.Example]) -> None:
    # a server stopped by a signal runs no atexit handler: nothing may depend on one for clean-up
    path = clips["montage"].path
    data = path.read_bytes()
    assert path.parent == Path(tempfile.gettempdir()) and path.name.startswith("fake-or-real-")
    assert core._stored(data, ".wav") == path and path.read_bytes() == data
    assert core._stored(data + b"x", ".wav") != path
    core._stored(data + b"x", ".wav").unlink()


def test_the_score_over_time_follows_the_montage(detector: core.Detector, clips: dict[str, core.Example]) -> None:
    montage = clips["montage"]
    a = core.analyse(montage.path, detector)
    assert a.audio.seconds == pytest.approx(4.0) and a.longer_than_window
    assert np.allclose(a.starts, np.arange(13) * 0.25)
    parts = predict(detector, list(montage.parts))
    # the windows that coincide with a part score exactly as predict_fake scores that part's file
    assert np.allclose(a.scores[::4], parts, atol=1e-5), (a.scores[::4], parts)
    assert a.p_fake == pytest.approx(float(parts[0]), abs=1e-6), "the headline is the first second"
    assert [s >= 0.5 for s in a.scores[::4]] == [False, True, False, True], a.scores
    starts, scores = core.window_scores(detector, a.audio.signal, hop_seconds=1.0)
    assert np.allclose(starts, [0, 1, 2, 3]) and np.allclose(scores, parts, atol=1e-5)


def test_the_last_window_ends_with_the_clip(detector: core.Detector, clips: dict[str, core.Example]) -> None:
    real, fake = (sf.read(first(clips, t).path, dtype="float32")[0] for t in ("real", "fake"))
    signal = np.concatenate([real, fake[:800]])
    starts, scores = core.window_scores(detector, signal)
    assert np.allclose(starts, [0.0, 0.1])
    assert scores[1] == pytest.approx(float(core.window_scores(detector, signal[800:])[1][0]), abs=1e-6)


def test_a_fusion_detector_is_scored_through_its_own_inputs(tmp_path: Path, tiny_dir: Path,
                                                            clips: dict[str, core.Example]) -> None:
    core.answers().build_fusion("relu").save(tmp_path / "fusion_relu.keras")
    shutil.copy(tiny_dir / "normaliser.npz", tmp_path)
    fusion = core.load_detector(tmp_path, "fusion_relu")
    assert fusion.kind == "fusion"
    montage = clips["montage"]
    a = core.analyse(montage.path, fusion)
    assert np.allclose(a.scores[::4], predict(fusion, list(montage.parts)), atol=1e-5)


def test_other_formats_and_rates_are_read_and_said(tmp_path: Path, detector: core.Detector,
                                                   clips: dict[str, core.Example]) -> None:
    clip = first(clips, "fake")
    y, _ = sf.read(clip.path, dtype="float32")
    base = core.analyse(clip.path, detector)
    sf.write(tmp_path / "c.flac", y, SR, subtype="PCM_16")
    flac = core.analyse(tmp_path / "c.flac", detector)
    assert flac.p_fake == pytest.approx(base.p_fake, abs=1e-6) and flac.audio.notes == ()
    import librosa

    up = librosa.resample(y, orig_sr=SR, target_sr=16000)
    sf.write(tmp_path / "c16k.wav", np.stack([up, up], axis=1), 16000, subtype="FLOAT")
    hi = core.analyse(tmp_path / "c16k.wav", detector)
    assert hi.audio.notes == ("resampled from 16000 Hz to 8000 Hz, the rate the detector was trained at",
                              "2 channels averaged to mono")
    assert hi.audio.signal.shape == (SR,) and hi.audio.original_sr == 16000 and hi.audio.channels == 2
    assert np.corrcoef(hi.audio.signal, y)[0, 1] > 0.99
    # the same resampling as predict_fake's load_clips: the headline and the window agree
    assert hi.p_fake == pytest.approx(float(predict(detector, [tmp_path / "c16k.wav"])[0]), abs=1e-6)
    assert hi.scores[0] == pytest.approx(hi.p_fake, abs=1e-5)
    sf.write(tmp_path / "c.ogg", y, SR, format="OGG", subtype="VORBIS")
    ogg = core.read_audio(tmp_path / "c.ogg")
    assert ogg.signal.shape == (SR,) and np.corrcoef(ogg.signal, y)[0, 1] > 0.9


def _bad_inputs(tmp: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, what the message must say)."""
    (tmp / "notes.wav").write_text("these are notes, not audio\n")
    (tmp / "clip.mp3").write_bytes(b"ID3\x03\x00")
    (tmp / "empty.wav").write_bytes(b"")
    sf.write(tmp / "nothing.wav", np.zeros(0, np.int16), SR, subtype="PCM_16")
    sf.write(tmp / "hour.wav", np.zeros(3600 * 1000, np.int16), 1000, subtype="PCM_16")   # 1 hour at 1 kHz
    sf.write(tmp / "silence.flac", np.zeros(SR, np.int16), SR, subtype="PCM_16")
    (tmp / "truncated.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVE")   # a header and nothing else
    return {
        "not audio": (tmp / "notes.wav", "'notes.wav' is not audio that can be read (Error opening 'notes.wav': "
                                         "Format not recognised); upload a .wav, .flac or .ogg recording"),
        "wrong extension": (tmp / "clip.mp3", "'clip.mp3' has the extension '.mp3'; upload a .wav, .flac or .ogg file"),
        "empty file": (tmp / "empty.wav", "'empty.wav' is empty (0 bytes); upload a recording"),
        "0-length audio": (tmp / "nothing.wav", "'nothing.wav' holds no audio (0 samples, 0 s)"),
        "1-hour file": (tmp / "hour.wav", "'hour.wav' lasts 3600 s (60.0 min), over the app's cap of 600 s "
                                          "(10 min); cut it shorter, e.g. `sox in.wav out.wav trim 0 600`"),
        "silence": (tmp / "silence.flac", "'silence.flac' is silent (all 8000 samples are 0)"),
        "truncated header": (tmp / "truncated.wav", "'truncated.wav' is not audio that can be read"),
    }


BAD = ["not audio", "wrong extension", "empty file", "0-length audio", "1-hour file", "silence", "truncated header"]


@pytest.mark.parametrize("case", BAD)
def test_every_bad_input_raises_the_app_error_with_the_fix(case: str, tmp_path: Path,
                                                           detector: core.Detector) -> None:
    path, message = _bad_inputs(tmp_path)[case]
    with pytest.raises(core.AppError) as by_path:
        core.analyse(path, detector)
    assert message in str(by_path.value)
    with pytest.raises(core.AppError) as by_upload:
        core.analyse_upload(path.read_bytes(), path.name, detector)
    assert message in str(by_upload.value), "an upload gets the same message, naming the upload"
    assert "/tmp" not in str(by_upload.value), "the message names the user's file, not a temporary copy"


def test_a_missing_file_and_a_bad_hop_are_app_errors(tmp_path: Path, detector: core.Detector) -> None:
    with pytest.raises(core.AppError, match="'gone.wav' was not found"):
        core.read_audio(tmp_path / "gone.wav")
    with pytest.raises(core.AppError, match="hop_seconds must be positive, got 0"):
        core.window_scores(detector, np.ones(SR), hop_seconds=0)
    with pytest.raises(core.AppError, match=r"signal must be 1-D mono samples, got shape \(2, 8000\)"):
        core.window_scores(detector, np.ones((2, SR)))
    with pytest.raises(core.AppError, match="lasts 2 s .* over the app's cap of 1 s"):
        sf.write(tmp_path / "two.wav", 0.1 * np.ones(2 * SR), SR, subtype="PCM_16")
        core.read_audio(tmp_path / "two.wav", max_seconds=1.0)


def test_broken_detectors_are_app_errors_that_say_how_to_fix_them(tmp_path: Path, tiny_dir: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(core.MODEL_DIR_ENV, str(tmp_path / "none"))
    with pytest.raises(core.AppError, match=r"none/lstm.keras is missing; run `make app` \(it trains"):
        core.load_detector(core.default_model_dir())
    student = tmp_path / "a3"
    student.mkdir()
    shutil.copy(tiny_dir / "lstm.keras", student)
    with pytest.raises(core.AppError, match="normaliser.npz is missing; run the assignment 3 notebook"):
        core.load_detector(student, "lstm")
    np.savez(student / "normaliser.npz", mean=np.zeros(5, np.float32), std=np.ones(5, np.float32))
    with pytest.raises(core.AppError, match="holds 5 features, the detector takes 72"):
        core.load_detector(student, "lstm")
    shutil.copy(tiny_dir / "normaliser.npz", student)
    (student / "fusion_gelu.keras").write_bytes(b"not a zip")
    with pytest.raises(core.AppError, match="fusion_gelu.keras does not load as a Keras model"):
        core.load_detector(student, "fusion_gelu")
    shutil.copy(tiny_dir / "lstm.keras", student / "fusion_relu.keras")
    with pytest.raises(core.AppError, match="takes 2 inputs, but a fusion detector takes 3"):
        core.load_detector(student, "fusion_relu")
    with pytest.raises(core.AppError, match=r"unknown detector 'cnn'; choose one of \['fusion_gelu', 'fusion_relu', "
                                            r"'lstm'\]"):
        core.load_detector(student, "cnn")
    (student / "mine.keras").write_bytes(b"")
    labels = [c.label for c in core.list_detectors(student)]
    assert labels == [f"reference LSTM ({tmp_path / 'none'})", f"student lstm ({student})",
                      f"student fusion_relu ({student})", f"student fusion_gelu ({student})"]
    assert [c.label for c in core.list_detectors(None)] == labels[:1]
    assert core.main(["train", "--epochs", "0"]) == 2


# --------------------------------------------------------------------------------------------
# (b) the page, through streamlit.testing.v1.AppTest


def run_app(query: dict[str, str] | None = None) -> Any:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params.update(query or {})
    return at.run()


def shown(at: Any) -> dict[str, Any]:
    """What the page shows: no exception, the errors, infos, P(fake) metric, verdict line, images."""
    assert not at.exception, [e.value for e in at.exception]
    verdicts = [m.value for m in at.markdown if "Verdict:" in m.value]
    return {"errors": [e.value for e in at.error], "infos": [i.value for i in at.info],
            "p_fake": [m.value for m in at.metric if m.label == "P(fake)"],
            "verdict": verdicts[0].split("[Verdict: ")[1].split("]")[0] if verdicts else None,
            "images": len(at.get("image")), "captions": [c.value for c in at.caption]}


def test_app_shows_p_fake_and_the_verdict_of_example_clips(app_env: Path, detector: core.Detector,
                                                           clips: dict[str, core.Example]) -> None:
    at = run_app()
    page = shown(at)
    real = next(iter(clips.values()))
    assert page["errors"] == [] and page["verdict"] == "REAL", page
    assert page["p_fake"] == [f"{core.analyse(real.path, detector).p_fake:.3f}"]
    assert page["images"] == 1, "waveform and log-mel (one figure); no score over time for one second"
    fake = first(clips, "fake")
    page = shown(at.selectbox(key="example").select(fake.label).run())
    assert page["verdict"] == "FAKE" and page["p_fake"] == [f"{core.analyse(fake.path, detector).p_fake:.3f}"]
    page = shown(run_app({"clip": "montage"}))
    assert page["images"] == 2, "the score over time is plotted for the 4-second montage"
    assert any(c.startswith("13 windows: mean P(fake)") for c in page["captions"]), page["captions"]


def test_app_upload_shows_p_fake(app_env: Path, detector: core.Detector, clips: dict[str, core.Example],
                                 tmp_path: Path) -> None:
    at = run_app()
    at.radio(key="mode").set_value("upload a file").run()
    assert shown(at)["infos"] == ["Upload a recording to score it."]
    fake = first(clips, "fake")
    page = shown(at.file_uploader(key="upload").upload("mine.wav", fake.path.read_bytes(), "audio/wav").run())
    assert page["errors"] == [] and page["verdict"] == "FAKE"
    assert page["p_fake"] == [f"{core.analyse(fake.path, detector).p_fake:.3f}"]
    y, _ = sf.read(first(clips, "real").path, dtype="float32")
    import librosa

    sf.write(tmp_path / "r.wav", librosa.resample(y, orig_sr=SR, target_sr=22050), 22050)
    page = shown(at.file_uploader(key="upload").clear().upload("r.wav", (tmp_path / "r.wav").read_bytes(),
                                                               "audio/wav").run())
    assert page["verdict"] == "REAL"
    assert page["infos"] == ["r.wav: resampled from 22050 Hz to 8000 Hz, the rate the detector was trained at."]


def test_app_shows_bad_uploads_as_errors_without_a_traceback(app_env: Path, tmp_path: Path) -> None:
    bad = _bad_inputs(tmp_path)
    at = run_app()
    at.radio(key="mode").set_value("upload a file").run()
    for case in ("not audio", "empty file", "0-length audio", "1-hour file", "silence"):
        path, message = bad[case]
        page = shown(at.file_uploader(key="upload").clear().upload(path.name, path.read_bytes(), "audio/wav").run())
        assert len(page["errors"]) == 1 and message in page["errors"][0], (case, page["errors"])
        assert page["p_fake"] == [] and page["verdict"] is None, case


def test_app_without_its_detector_says_how_to_train_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       tiny_dir: Path) -> None:
    monkeypatch.setenv(core.MODEL_DIR_ENV, str(tmp_path / "none"))
    at = run_app()
    page = shown(at)
    assert page["errors"] == [f"{tmp_path / 'none' / 'lstm.keras'} is missing; run `make app` (it trains the "
                              "reference detector first) or `python -m apps.fake_or_real_core train`"]
    assert page["p_fake"] == []
    student = tmp_path / "a3"
    student.mkdir()
    for f in ("lstm.keras", "normaliser.npz"):
        shutil.copy(tiny_dir / f, student)
    at.text_input(key="student_dir").input(str(student)).run()
    at.selectbox(key="detector").select(f"student lstm ({student})").run()
    page = shown(at)
    assert page["errors"] == [] and page["verdict"] == "REAL", "a student's saved model scores the example"


# --------------------------------------------------------------------------------------------
# (c) the page in a real browser: streamlit run + headless Chromium over the DevTools protocol


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class Server:
    """``streamlit run apps/fake_or_real.py`` on a free localhost port, headless."""

    def __init__(self, model_dir: Path) -> None:
        self.url = f"http://127.0.0.1:{_free_port()}"
        self.log = tempfile.TemporaryFile()
        env = dict(os.environ, **{core.MODEL_DIR_ENV: str(model_dir)})
        self.proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
                                      "--server.address", "127.0.0.1", "--server.port", self.url.rsplit(":", 1)[1],
                                      "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                                     cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        _wait(self.healthy, 30, "the streamlit server")

    def healthy(self) -> bool:
        if self.proc.poll() is not None:
            self.log.seek(0)
            raise AssertionError(f"streamlit exited with {self.proc.returncode}: {self.log.read().decode()[-2000:]}")
        try:
            return urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=1).read() == b"ok"
        except OSError:
            return False

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(2)
        except subprocess.TimeoutExpired:   # it has nothing to save: do not wait for its threads
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class Browser:
    """Headless Chromium driven through the DevTools protocol (a websocket, no WebDriver)."""

    def __init__(self, profile: Path) -> None:
        from websockets.sync.client import connect

        self.proc = subprocess.Popen(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                                      "--remote-debugging-port=0", f"--user-data-dir={profile}",
                                      "--window-size=1400,1400", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        _wait(port_file.exists, 20, "chromium's DevTools port")
        port = int(_wait(lambda: port_file.read_text().split() or None, 5, "the port number")[0])
        tabs = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5))
        self.ws = connect(next(t for t in tabs if t["type"] == "page")["webSocketDebuggerUrl"], max_size=2**27,
                          legacy=True)
        self.calls = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.calls += 1
        self.ws.send(json.dumps({"id": self.calls, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv(timeout=30))
            if reply.get("id") == self.calls:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return reply["result"]

    def text(self) -> str:
        result = self.call("Runtime.evaluate", expression="document.body ? document.body.innerText : ''",
                           returnByValue=True)
        return str(result["result"].get("value", ""))

    def upload(self, path: Path) -> None:
        def file_input() -> int:
            root = self.call("DOM.getDocument", depth=-1)["root"]["nodeId"]
            return int(self.call("DOM.querySelector", nodeId=root, selector="input[type=file]")["nodeId"])

        self.call("DOM.setFileInputFiles", files=[str(path)], nodeId=_wait(file_input, 20, "the file input"))

    def close(self) -> None:
        self.ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class BrowserPage:
    server: Server
    browser: Browser


@pytest.fixture(scope="session")
def browser_page(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserPage | None]:
    """The server and a headless Chromium that has opened the page once (None without chromium).

    The first visit makes the server import the page (TensorFlow, the master's answers: seconds);
    the detector is not trained yet, so that visit shows the missing-detector error.
    """
    if shutil.which("chromium") is None:
        yield None
        return
    server = Server(model_dir)
    try:
        browser = Browser(tmp_path_factory.mktemp("chromium"))
    except BaseException:
        server.close()
        raise
    try:
        browser.call("Page.enable")
        browser.call("Page.navigate", url=server.url)
        yield BrowserPage(server, browser)
    finally:
        browser.close()
        server.close()


def _verdict_line(text: str, name: str) -> str | None:
    return next((line for line in text.splitlines() if line.startswith("P(fake) = ") and f" for {name} " in line),
                None)


def _page_with_verdict(browser: Browser, name: str) -> Callable[[], str | None]:
    def poll() -> str | None:
        text = browser.text()
        return text if _verdict_line(text, name) else None
    return poll


def test_a_real_browser_shows_the_verdict_of_an_example_and_of_an_upload(
        browser_page: BrowserPage | None, tmp_path: Path, detector: core.Detector,
        clips: dict[str, core.Example]) -> None:
    if browser_page is None:
        pytest.skip("chromium not installed: apt-get install chromium")
    fake, real = first(clips, "fake"), first(clips, "real")
    browser = browser_page.browser
    browser.call("Page.navigate", url=f"{browser_page.server.url}/?clip={urllib.parse.quote(fake.key)}")
    text = _wait(_page_with_verdict(browser, fake.key), 60, "the example's verdict")
    p = core.analyse(fake.path, detector).p_fake
    assert "Verdict: FAKE" in text and _verdict_line(text, fake.key).startswith(f"P(fake) = {p:.3f} ≥ 0.5")
    click = ("[...document.querySelectorAll('label')].find(l => l.innerText.trim() === 'upload a file')"
             ".click()")
    browser.call("Runtime.evaluate", expression=click)
    upload = tmp_path / "my recording.wav"
    shutil.copy(real.path, upload)
    browser.upload(upload)
    text = _wait(_page_with_verdict(browser, upload.name), 60, "the upload's verdict")
    p = core.analyse(real.path, detector).p_fake
    assert "Verdict: REAL" in text and _verdict_line(text, upload.name).startswith(f"P(fake) = {p:.3f} < 0.5")
    widths = ("[...document.images].filter(i => i.complete && i.src.includes('/media/'))"
              ".map(i => i.naturalWidth)")

    def figure_shown() -> list[int] | None:
        shown = browser.call("Runtime.evaluate", expression=widths, returnByValue=True)["result"].get("value")
        return shown or None

    assert max(_wait(figure_shown, 30, "the waveform and log-mel figure")) > 800, "the figure is 10 in at 110 dpi"
    shot = base64.b64decode(browser.call("Page.captureScreenshot", format="png")["data"])
    (tmp_path / "page.png").write_bytes(shot)
    assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 20_000
    if os.environ.get("KIT_APP_SCREENSHOT"):
        Path(os.environ["KIT_APP_SCREENSHOT"]).write_bytes(shot)
