"""`narrator voices pull`: Coqui's own download path, pointed at a local server holding a tiny model.

The model list given to the command is Coqui's own, with the one model's address changed to the
local server; the download goes through Coqui's ModelManager exactly as a real pull does. The
server can also fail, cut the download short, or stall until the command is killed: none of these
may leave a half-installed model or a voice that points at one.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("TTS") is None,
                                reason="the coqui extra is not installed")

ROOT = Path(__file__).resolve().parents[1]
MODEL = "tts_models/en/vctk/vits"
FOLDER = "tts_models--en--vctk--vits"
SPEAKER_INFO = "ID  AGE  GENDER  ACCENTS  REGION\np225  23  F    English    Southern England\n" \
               "p226  22  M    English    Surrey\n"


def tiny_model_zip(tmp_path_factory) -> bytes:
    """The tiny two-speaker VITS of test_coqui (speakers p225, p226) zipped as Coqui releases are,
    with the corpus' speaker-info.txt."""
    import torch
    from TTS.config.shared_configs import BaseAudioConfig
    from TTS.tts.configs.vits_config import VitsConfig
    from TTS.tts.models.vits import Vits, VitsArgs

    folder = tmp_path_factory.mktemp("tiny") / FOLDER
    folder.mkdir()
    args = VitsArgs(
        hidden_channels=32, hidden_channels_ffn_text_encoder=64, num_layers_text_encoder=2,
        num_layers_posterior_encoder=2, num_layers_flow=2, upsample_initial_channel_decoder=64,
        resblock_kernel_sizes_decoder=[3], resblock_dilation_sizes_decoder=[[1, 3, 5]],
        use_sdp=False, init_discriminator=False, use_speaker_embedding=True,
        speaker_embedding_channels=16)
    config = VitsConfig(model_args=args, audio=BaseAudioConfig(sample_rate=22050),
                        text_cleaner="english_cleaners", use_phonemes=False, add_blank=True,
                        use_speaker_embedding=True, speakers=["p225", "p226"])
    torch.manual_seed(0)
    model = Vits(config).eval()
    torch.save({"model": model.state_dict(), "config": model.config.to_dict()},
               folder / "model_file.pth")
    model.config.save_json(str(folder / "config.json"))
    (folder / "speaker-info.txt").write_text(SPEAKER_INFO)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in folder.iterdir():
            archive.write(path, f"{FOLDER}/{path.name}")
    return buffer.getvalue()


class ModelServer:
    """A local HTTP server: /ok.zip serves the model, /error.zip a 500 page, /cut.zip half the
    bytes then a closed connection, /stall.zip half the bytes then nothing until released."""

    def __init__(self, body: bytes):
        self.body = body
        self.release = threading.Event()
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                name = self.path.rsplit("/", 1)[-1]
                if name == "error.zip":
                    self.send_response(500)
                    self.send_header("Content-Type", "text/html")
                    self.end_headers()
                    self.wfile.write(b"<html>Internal Server Error</html>")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                if name == "ok.zip":
                    self.wfile.write(server.body)
                    return
                self.wfile.write(server.body[:len(server.body) // 2])
                self.wfile.flush()
                if name == "stall.zip":
                    server.release.wait(60)
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.httpd.shutdown()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = ModelServer(tiny_model_zip(tmp_path_factory))
    yield server
    server.close()


def models_file(tmp_path, url: str) -> Path:
    """Coqui's own model list with the VCTK VITS address pointed at `url`."""
    models = json.loads((importlib.resources.files("TTS") / ".models.json").read_text())
    models["tts_models"]["en"]["vctk"]["vits"]["github_rls_url"] = url
    path = tmp_path / "models.json"
    path.write_text(json.dumps(models))
    return path


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "PYTHONPATH": str(ROOT), "TTS_HOME": str(tmp_path / "tts-home"),
            "NARRATOR_DATA_DIR": str(tmp_path / "data"), "NARRATOR_VOICES_FILE": ""}


def pull(tmp_path, env, url: str, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "cli", "voices", "pull", MODEL, "--models-file",
         str(models_file(tmp_path, url))], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=300, **kwargs)


def installed(tmp_path) -> list[str]:
    """What is in Coqui's cache besides staging leftovers, and whether voices were registered."""
    cache = tmp_path / "tts-home" / "tts"
    names = sorted(p.name for p in cache.iterdir() if not p.name.startswith(".")) \
        if cache.is_dir() else []
    registered = (tmp_path / "data" / "voices.pulled.json").exists()
    return names + (["voices.pulled.json"] if registered else [])


@pytest.mark.slow
def test_pull_downloads_through_coqui_and_registers_each_speaker_with_its_gender(
        tmp_path, env, server, monkeypatch):
    result = pull(tmp_path, env, f"{server.url}/ok.zip")
    assert result.returncode == 0, result.stderr
    assert "registered 2 voice(s)" in result.stdout
    assert installed(tmp_path) == [FOLDER, "voices.pulled.json"]
    assert not list((tmp_path / "tts-home" / "tts").glob(".narrator-pull-*"))
    listing = subprocess.run([sys.executable, "-m", "cli", "voices"], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
    rows = {line.split()[0]: line.split() for line in listing.stdout.splitlines()[1:]
            if line.startswith("vctk-")}
    assert rows["vctk-vits-p225"][-4:] == ["female", "coqui", "en", "yes"]
    assert rows["vctk-vits-p226"][-4:] == ["male", "coqui", "en", "yes"]
    # The registered voice loads by name from the cache (no network: the list is Coqui's own).
    import voices

    monkeypatch.setenv("TTS_HOME", env["TTS_HOME"])
    monkeypatch.setenv("NARRATOR_DATA_DIR", env["NARRATOR_DATA_DIR"])
    monkeypatch.delenv("NARRATOR_VOICES_FILE", raising=False)
    engine = voices.load_engine(voices.load_catalogue().find("vctk-vits-p226"))
    assert engine.sample_rate == 22050 and engine.speakers == ["p225", "p226"]
    assert engine.synthesize("A short test.").seconds > 0
    # Pulling again downloads nothing and registers the same voices once.
    before = len(server.requests)
    again = pull(tmp_path, env, f"{server.url}/ok.zip")
    assert again.returncode == 0, again.stderr
    assert len(server.requests) == before
    entries = json.loads((tmp_path / "data" / "voices.pulled.json").read_text())["voices"]
    assert sorted(entry["id"] for entry in entries) == ["vctk-vits-p225", "vctk-vits-p226"]


@pytest.mark.parametrize("name", ["error.zip", "cut.zip"])
def test_a_failed_or_cut_download_installs_nothing(tmp_path, env, server, name):
    result = pull(tmp_path, env, f"{server.url}/{name}")
    assert result.returncode == 1
    assert result.stderr.startswith(f"narrator: Downloading {MODEL} failed")
    assert "nothing was installed" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert installed(tmp_path) == []
    assert not list((tmp_path / "tts-home" / "tts").glob(".narrator-pull-*"))


@pytest.mark.slow
def test_a_pull_killed_mid_download_leaves_no_model_and_the_next_pull_works(
        tmp_path, env, server):
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "voices", "pull", MODEL, "--models-file",
         str(models_file(tmp_path, f"{server.url}/stall.zip"))], env=env, cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not any(path.endswith("stall.zip") for path in server.requests):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.1)
    time.sleep(0.5)  # half the bytes are on disk now
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    assert installed(tmp_path) == []
    # The voices file names no model that is not there; a later pull installs it whole.
    result = pull(tmp_path, env, f"{server.url}/ok.zip")
    assert result.returncode == 0, result.stderr
    assert installed(tmp_path) == [FOLDER, "voices.pulled.json"]


@pytest.mark.parametrize("model, message", [
    ("tts_models/en/nowhere/vits", "model list has no"),
    ("not-a-model-name", "is not a Coqui model name"),
    ("tts_models/multilingual/multi-dataset/xtts_v2", "model hub"),
])
def test_pull_refuses_what_it_cannot_install_in_one_line(tmp_path, env, model, message):
    result = subprocess.run([sys.executable, "-m", "cli", "voices", "pull", model], env=env,
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert installed(tmp_path) == []
