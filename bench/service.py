"""Benchmark: the service (`narrator up`, two worker processes) against the core in one process.

In one run, on the same machine: the raw engine speaking the sample's sentences in a plain loop,
the same text narrated by `narration.pipeline.narrate` in this process (the CLI, caches off), the
sample submitted over HTTP until its MP3 is ready (and until its first chapter is playable), then
POST and GET latency under 50 concurrent clients while the workers synthesize, and hostile 1 MB
bodies: how long the POST takes, how long planning takes, and how slow other requests get
meanwhile. The service starts with empty caches. Writes the "Service" section of
docs/performance.md.

    .venv/bin/python bench/service.py [--voice male] [--clients 50] [--requests 400] [--pace 1]
    .venv/bin/python bench/service.py --latency-only     # the two latency runs alone
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.narrate_sample import DEFAULT_SAMPLE, write_section  # noqa: E402
from cli.embedded import free_port  # noqa: E402


UNLIMITED = {"NARRATOR_RATE_LIMIT": "", "NARRATOR_RATE_LIMIT_IP": "",
             "NARRATOR_QUOTA_ACTIVE_JOBS": "0", "NARRATOR_QUOTA_CHARS_PER_DAY": "0"}
"""The latency run floods one user with hundreds of jobs: limits and quotas would refuse most."""
KEY = ""
"""The local user's API key, as `narrator up` prints it."""


def start_service(data_dir: Path, workers: int) -> tuple[subprocess.Popen, str]:
    global KEY
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "DATABASE_URL", "MEDIA_URL")}
    env.update(NARRATOR_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT), **UNLIMITED)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "up", "--port", str(port), "--workers", str(workers)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in process.stdout:
        if line.strip().startswith("API key:"):
            KEY = line.split(":", 1)[1].split()[0]
            break
    threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    call(url, "GET", "/api/v1/voices", retry=True)
    return process, url


def call(url: str, method: str, path: str, body: dict | None = None, retry: bool = False):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {KEY}"})
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.load(response)
        except urllib.error.URLError:
            if not retry or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def time_service(url: str, text: str, voice: str) -> dict:
    """Seconds from POST until the first chapter is playable and until the MP3 is ready."""
    started = time.perf_counter()
    job = call(url, "POST", "/api/v1/narrations", {"text": text, "voice": voice})
    first_chapter = None
    while True:
        job = call(url, "GET", f"/api/v1/narrations/{job['id']}")
        now = time.perf_counter() - started
        if first_chapter is None and any(c.get("audio") for c in job["chapters"]):
            first_chapter = now
        if job["status"] in ("done", "failed", "canceled"):
            break
        time.sleep(0.25)
    assert job["status"] == "done", job
    return {"wall": now, "first_chapter": first_chapter, "chapters": len(job["chapters"])}


def time_single_process(text: str, voice: str, workdir: Path) -> dict:
    """The CLI's pipeline narrating the same text here, caches off, engine loaded in the timing."""
    import voices
    from narration.pipeline import narrate
    from narration.reading import read_plain

    started = time.perf_counter()
    engine = voices.load_engine(voices.load_catalogue().find(voice))
    files = narrate(read_plain(text), engine, workdir / "single.mp3")
    return {"wall": time.perf_counter() - started, "audio": files.duration}


def time_raw_engine(text: str, voice: str) -> dict:
    """The engine alone speaking every utterance of the script, engine loaded in the timing."""
    import voices
    from narration.reading import read_plain
    from narration.script import build_script

    started = time.perf_counter()
    engine = voices.load_engine(voices.load_catalogue().find(voice))
    for script in build_script(read_plain(text), max_chars=engine.max_chars):
        for utterance in script.utterances:
            engine.synthesize(utterance.spoken, 1.0)
    return {"wall": time.perf_counter() - started}


HOSTILE = {
    "`a! ` × 340,000 (text)": {"text": "a! " * 340_000},
    "`\"![` × 250,000 (Markdown)": {"markdown": '"![' * 250_000},
    "`![a](` × 160,000 (Markdown)": {"markdown": "![a](" * 160_000},
    "malformed raw HTML × 58,000 (Markdown)": {"markdown": "<div><p>x<a href='" * 58_000},
}
"""About 1 MB each, shaped to be slow to read: dense sentence ends, nested link and image
openers, unclosed attributes."""


def hostile(url: str) -> list[dict]:
    """Per body: POST time, time until the plan is stored (or the job failed), and the slowest
    of the GET /api/v1/voices calls made meanwhile, one every 0.1 s."""
    results = []
    for name, fields in HOSTILE.items():
        started = time.perf_counter()
        try:
            job = call(url, "POST", "/api/v1/narrations", {**fields, "voice": "male"})
        except urllib.error.HTTPError as refused:  # refused by the request's cheap checks
            posted = time.perf_counter() - started
            code = json.load(refused).get("error", {}).get("code")
            results.append({"name": name, "bytes": len(json.dumps(fields)), "post": posted,
                            "plan": 0.0, "slowest_other": 0.0,
                            "outcome": f"{refused.code} {code} at once"})
            print("hostile:", results[-1], flush=True)
            continue
        posted = time.perf_counter() - started
        slowest = 0.0
        while True:
            t = time.perf_counter()
            call(url, "GET", "/api/v1/voices")
            slowest = max(slowest, time.perf_counter() - t)
            state = call(url, "GET", f"/api/v1/narrations/{job['id']}")
            if state["chapters"] or state["status"] == "failed":
                break
            if time.perf_counter() - started > 120:
                state = {"status": "still reading after 120 s"}
                break
            time.sleep(0.1)
        call(url, "DELETE", f"/api/v1/narrations/{job['id']}")
        results.append({"name": name, "bytes": len(json.dumps(fields)), "post": posted,
                        "plan": time.perf_counter() - started, "slowest_other": slowest,
                        "outcome": state.get("error", {}).get("code") or state["status"]})
        print("hostile:", results[-1], flush=True)
    return results


def latency(url: str, clients: int, requests: int, pace: float = 0.0) -> dict:
    """p50/p99 of POST (a short text) and GET (its status) from `clients` threads at once.

    With `pace` 0 each client sends its next POST as soon as its GET is answered (closed loop:
    this measures throughput, since 50 requests always wait in line for one web process); with
    `pace` > 0 each client starts a POST every `pace` seconds, the clients spread over the first
    interval, as people using the service do (open loop: the latency a user sees)."""
    posts, gets, errors = [], [], []
    lock = threading.Lock()
    begun = time.perf_counter()

    def client(n: int) -> None:
        for i in range(requests // clients):
            if pace:
                time.sleep(max(0.0, begun + pace * (i + n / clients) - time.perf_counter()))
            try:
                t = time.perf_counter()
                job = call(url, "POST", "/api/v1/narrations",
                           {"text": f"Client {n} says hello for the {i + 1}th time.",
                            "voice": "male"})
                t2 = time.perf_counter()
                call(url, "GET", f"/api/v1/narrations/{job['id']}")
                t3 = time.perf_counter()
                with lock:
                    posts.append(t2 - t)
                    gets.append(t3 - t2)
            except Exception as error:  # counted, reported
                with lock:
                    errors.append(repr(error))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    def pct(values, q):
        return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 1 else float("nan")

    return {"post_p50": pct(posts, 50), "post_p99": pct(posts, 99), "get_p50": pct(gets, 50),
            "get_p99": pct(gets, 99), "requests": len(posts), "errors": len(errors),
            "per_second": len(posts) / (time.perf_counter() - begun)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--voice", default="male")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--pace", type=float, default=1.0,
                        help="seconds between one client's POSTs in the paced latency run")
    parser.add_argument("--sample", type=Path, default=DEFAULT_SAMPLE)
    parser.add_argument("--latency-only", action="store_true",
                        help="only the two latency runs, printed (docs/performance.md untouched)")
    args = parser.parse_args()
    text = args.sample.read_text()
    if args.latency_only:
        with tempfile.TemporaryDirectory() as tmp:
            process, url = start_service(Path(tmp) / "service", args.workers)
            try:
                for pace in (args.pace, 0.0):
                    print(f"latency, pace {pace:g} s:",
                          latency(url, args.clients, args.requests, pace=pace), flush=True)
            finally:
                process.send_signal(signal.SIGINT)
                process.wait(120)
        return
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        raw = time_raw_engine(text, args.voice)
        print("raw engine:", raw, flush=True)
        single = time_single_process(text, args.voice, workdir)
        print("single process:", single, flush=True)
        process, url = start_service(workdir / "service", args.workers)
        try:
            service = time_service(url, text, args.voice)
            print("service:", service, flush=True)
            attacks = hostile(url)
            load = latency(url, args.clients, args.requests)
            print("latency, closed loop:", load, flush=True)
            paced = latency(url, args.clients, args.requests, pace=args.pace)
            print("latency, paced:", paced, flush=True)
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(120)
    ratio, raw_ratio = service["wall"] / single["wall"], service["wall"] / raw["wall"]
    report = "\n".join([
        f"`bench/service.py` ({time.strftime('%Y-%m-%d')}, 2 cores): the sample "
        f"({single['audio']:.0f} s of audio, {service['chapters']} chapters, voice "
        f"`{args.voice}`) submitted over HTTP to `narrator up` with {args.workers} worker "
        "processes, against `narrate()` in one process (the CLI, sentence and segment caches "
        "off) and against the raw engine speaking the same sentences in a loop; the service "
        "starts with empty caches; all load the voice inside the timing. Requests carry the "
        "local user's API key; rate limits and quotas are off, since the latency run puts "
        "hundreds of jobs in line for one user.",
        "",
        "| measure | value |", "|---|---|",
        f"| raw engine loop | {raw['wall']:.1f} s |",
        f"| single process (CLI), until the MP3 is written | {single['wall']:.1f} s |",
        f"| service, POST until the MP3 is ready | {service['wall']:.1f} s |",
        f"| ratio service / single process (target ≤ 0.9) | {ratio:.2f} |",
        f"| ratio service / raw engine loop (target ≤ 1.0) | {raw_ratio:.2f} |",
        f"| service, POST until the first chapter is playable | {service['first_chapter']:.1f} s "
        f"({100 * service['first_chapter'] / service['wall']:.0f} % of the job; target ≤ 15 %) |",
        *[f"| POST latency p50 / p99, {args.clients} clients, {name} (target ≤ 30 / 100 ms) | "
          f"{run['post_p50']:.0f} / {run['post_p99']:.0f} ms |\n"
          f"| GET latency p50 / p99, {args.clients} clients, {name} (target p99 ≤ 100 ms) | "
          f"{run['get_p50']:.0f} / {run['get_p99']:.0f} ms |\n"
          f"| requests measured / errors / POSTs per second, {name} | {run['requests']} / "
          f"{run['errors']} / {run['per_second']:.1f} |"
          for name, run in ((f"each every {args.pace:g} s", paced), ("back to back", load))],
        "",
        "Hostile bodies (target: POST < 1 s, planned or failed readably within 30 s, other "
        "requests under 1 s meanwhile):",
        "",
        "| body | bytes | POST | until planned | slowest other request | outcome |",
        "|---|---|---|---|---|---|",
        *[f"| {a['name']} | {a['bytes']:,} | {1000 * a['post']:.0f} ms | {a['plan']:.1f} s | "
          f"{1000 * a['slowest_other']:.0f} ms | {a['outcome']} |" for a in attacks],
    ])
    print(report)
    write_section(ROOT / "docs" / "performance.md", "Service", report)


if __name__ == "__main__":
    main()
