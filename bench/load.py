"""Benchmark: the web app's ``/ask`` API under concurrent load. Prints throughput and latency.

    .venv/bin/python bench/load.py [--clients 32] [--questions 20] [--port N] [--json PATH]
                                   [--concurrency-limit N|none]

Starts ``python -m qa serve`` on 127.0.0.1 (a free port unless ``--port``) in a subprocess, over
the default corpus with a scratch index in bench/.cache/load/ (built by the app on its first
start), and waits until it answers. It then asks every question of questions/default.jsonl once,
one at a time: those answers are the reference (and are checked against the question set's gold
answers). Then ``--clients`` threads, each with its own HTTP connection, start together and ask
``--questions`` questions each (client i starts at its own offset in the set and goes round it),
through the plain HTTP API the README documents (POST /gradio_api/call/ask, then read the event
stream). Under load every answer must be the very answer the same server gave unloaded (same
sentence or abstention, offsets, span and citations); an error event, a failed request or a
different answer counts against the run, and the exit status is 1 if there is any. The server's
CPU time during the load and the 1-minute load average before and after are printed too: on a
shared machine, throughput means little without them.

Gradio runs at most ``concurrency_limit`` calls of an event at a time, 1 unless the app says
otherwise; ``--concurrency-limit`` starts the app with GRADIO_DEFAULT_CONCURRENCY_LIMIT set
(``none``: no limit), to measure what a higher limit would give. The server is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from qa.metrics import contains_answer, percentile
from qa.questions import Question, load_questions

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from webserver import free_port, stop, wait_until_up  # noqa: E402  (the tests' app helpers)

CACHE = ROOT / "bench" / ".cache" / "load"
QUESTIONS = ROOT / "questions" / "default.jsonl"
HOST = "127.0.0.1"
#: Seconds to wait for the app to answer: it loads the models, and builds the index the first time.
START_TIMEOUT = 300.0
#: Seconds one request may take, queueing included, before it counts as an error.
REQUEST_TIMEOUT = 300.0
#: The fields of the API's JSON that make an answer: everything but the scores.
ANSWER_FIELDS = ("question", "answer", "abstained", "doc_id", "start", "end", "span")


class AskError(Exception):
    """A request that did not end in a ``complete`` event."""


# --- the server --------------------------------------------------------------------------------


def start_server(
    port: int, concurrency_limit: str | None, log_file: Path
) -> subprocess.Popen[bytes]:
    """``python -m qa serve`` on HOST:port in its own process group, logging to ``log_file``."""
    env = {
        **os.environ,
        "QA_CORPUS_DIR": str(ROOT / "corpus"),
        "QA_INDEX_DIR": str(CACHE / "index"),
        "QA_FEEDBACK_FILE": str(CACHE / "feedback.jsonl"),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("GRADIO_DEFAULT_CONCURRENCY_LIMIT", None)
    if concurrency_limit is not None:
        env["GRADIO_DEFAULT_CONCURRENCY_LIMIT"] = concurrency_limit
    log_file.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "qa", "-v", "serve", "--host", HOST, "--port", str(port)]
    with log_file.open("wb") as log:
        return subprocess.Popen(
            command,
            cwd=CACHE,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process ``pid`` so far (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the client --------------------------------------------------------------------------------


def ask(client: httpx.Client, question: str) -> dict[str, Any]:
    """One call of ``/ask`` over plain HTTP: post the question, then read the event stream until
    ``complete`` (its answer) or ``error`` (raised as AskError)."""
    posted = client.post("/gradio_api/call/ask", json={"data": [question]})
    posted.raise_for_status()
    event_id = posted.json()["event_id"]
    event = None
    with client.stream("GET", f"/gradio_api/call/ask/{event_id}") as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line.startswith("event:"):
                event = line.partition(":")[2].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                data = json.loads(line.partition(":")[2])
                if event == "error":
                    raise AskError(f"error event: {data}")
                if not isinstance(data, list) or len(data) != 1 or not isinstance(data[0], dict):
                    raise AskError(f"unexpected data in the complete event: {data!r}")
                return data[0]
    raise AskError(f"the event stream ended without a result (last event: {event})")


def answer_key(result: dict[str, Any]) -> tuple[Any, ...]:
    """What must not change under load: the answer and its citations, without the scores."""
    citations = tuple((c["rank"], c["doc_id"], c["start"], c["end"]) for c in result["citations"])
    span = result["span"]
    span_key = None if span is None else (span["start"], span["end"])
    return (*(result[name] for name in ANSWER_FIELDS if name != "span"), span_key, citations)


def scores(result: dict[str, Any]) -> list[float]:
    return [result["score"], *(c["score"] for c in result["citations"])]


# --- the run -----------------------------------------------------------------------------------


@dataclass
class Client:
    """One load client: the questions it asks (indexes into the set) and what it saw."""

    number: int
    plan: list[int]
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    score_drift: float = 0.0


def reference_pass(url: str, questions: list[Question]) -> tuple[list[dict[str, Any]], list[float]]:
    """Every question once, one at a time: the reference answers and their latencies (ms)."""
    results, latencies = [], []
    with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT) as client:
        ask(client, questions[0].question)  # warm: the first call loads the models
        for question in questions:
            started = time.perf_counter()
            results.append(ask(client, question.question))
            latencies.append((time.perf_counter() - started) * 1000)
    return results, latencies


def run_client(
    client: Client,
    url: str,
    questions: list[Question],
    reference: list[dict[str, Any]],
    barrier: threading.Barrier,
) -> None:
    keys = [answer_key(r) for r in reference]
    with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT) as http:
        barrier.wait()
        for position in client.plan:
            text = questions[position].question
            started = time.perf_counter()
            try:
                result = ask(http, text)
            except (httpx.HTTPError, AskError, ValueError, KeyError) as error:
                client.errors.append(f"client {client.number}, {text!r}: {error!r}")
                continue
            finally:
                client.latencies_ms.append((time.perf_counter() - started) * 1000)
            try:
                same = answer_key(result) == keys[position]
            except (KeyError, TypeError) as error:
                client.errors.append(f"client {client.number}, {text!r}: bad JSON {error!r}")
                continue
            if not same:
                client.mismatches.append(
                    f"client {client.number}, {text!r}: got {result.get('answer')!r} "
                    f"(abstained={result.get('abstained')}), reference "
                    f"{reference[position]['answer']!r} "
                    f"(abstained={reference[position]['abstained']})"
                )
                continue
            drift = max(abs(a - b) for a, b in zip(scores(result), scores(reference[position])))
            client.score_drift = max(client.score_drift, drift)


def load_pass(
    url: str,
    questions: list[Question],
    reference: list[dict[str, Any]],
    n_clients: int,
    per_client: int,
) -> tuple[list[Client], float]:
    """``n_clients`` threads asking ``per_client`` questions each, started together; the clients
    and the wall time in seconds from the start to the last answer."""
    n = len(questions)
    clients = [
        Client(i, [(i * n // n_clients + j) % n for j in range(per_client)])
        for i in range(n_clients)
    ]
    barrier = threading.Barrier(n_clients + 1)
    threads = [
        threading.Thread(
            target=run_client, args=(c, url, questions, reference, barrier), daemon=True
        )
        for c in clients
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return clients, time.perf_counter() - started


def gold_summary(questions: list[Question], reference: list[dict[str, Any]]) -> dict[str, int]:
    """How many reference answers hold a gold answer (answerable questions) and how many
    abstain (unanswerable ones)."""
    answerable = [(q, r) for q, r in zip(questions, reference) if q.answerable]
    unanswerable = [r for q, r in zip(questions, reference) if not q.answerable]
    return {
        "answerable": len(answerable),
        "answerable_with_gold": sum(
            not r["abstained"]
            and r["answer"] is not None
            and contains_answer(r["answer"], q.answers)
            for q, r in answerable
        ),
        "unanswerable": len(unanswerable),
        "unanswerable_abstained": sum(bool(r["abstained"]) for r in unanswerable),
    }


def ms(value: float | None) -> float:
    return round(value or 0.0, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (32)")
    parser.add_argument("--questions", type=int, default=20, help="questions per client (20)")
    parser.add_argument("--port", type=int, help="port of the app (default: a free one)")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    parser.add_argument(
        "--concurrency-limit",
        help="start the app with GRADIO_DEFAULT_CONCURRENCY_LIMIT set to this (a number, or "
        "'none' for no limit); default: the app's own setting",
    )
    args = parser.parse_args(argv)
    if args.clients < 1 or args.questions < 1:
        parser.error("--clients and --questions must be 1 or more")

    questions = load_questions(QUESTIONS)
    port = args.port or free_port()
    url = f"http://{HOST}:{port}/"
    log_file = CACHE / "app.log"
    limit = args.concurrency_limit
    print(
        f"Starting the app on {url} (concurrency limit: "
        f"{limit if limit is not None else 'as the app sets it'}; log in {log_file})"
    )
    started = time.perf_counter()
    process = start_server(port, limit, log_file)
    try:
        wait_until_up(url, process, log_file, START_TIMEOUT)
        startup = time.perf_counter() - started
        reference, reference_ms = reference_pass(url, questions)
        load_before, cpu_before = os.getloadavg()[0], cpu_seconds(process.pid)
        clients, wall = load_pass(url, questions, reference, args.clients, args.questions)
        load_after, cpu_after = os.getloadavg()[0], cpu_seconds(process.pid)
    finally:
        stop(process)

    golds = gold_summary(questions, reference)
    latencies = [value for c in clients for value in c.latencies_ms]
    errors = [e for c in clients for e in c.errors]
    mismatches = [m for c in clients for m in c.mismatches]
    total = args.clients * args.questions
    server_cpu = None
    if cpu_before is not None and cpu_after is not None:
        server_cpu = round(cpu_after - cpu_before, 2)
    figures: dict[str, Any] = {
        "url": url,
        "concurrency_limit": limit,
        "startup_s": round(startup, 2),
        "questions_in_set": len(questions),
        "reference": {
            **golds,
            "latency_ms_p50": ms(percentile(reference_ms, 50)),
            "latency_ms_p95": ms(percentile(reference_ms, 95)),
        },
        "clients": args.clients,
        "questions_per_client": args.questions,
        "requests": total,
        "errors": len(errors),
        "mismatches": len(mismatches),
        "max_score_drift": max(c.score_drift for c in clients),
        "wall_s": round(wall, 2),
        "throughput_rps": round(total / wall, 2),
        "latency_ms_p50": ms(percentile(latencies, 50)),
        "latency_ms_p95": ms(percentile(latencies, 95)),
        "latency_ms_max": ms(max(latencies)),
        "server_cpu_s": server_cpu,
        "server_cpu_ms_per_request": None if server_cpu is None else ms(server_cpu * 1000 / total),
        "load_average_1min": [round(load_before, 2), round(load_after, 2)],
        "cores": os.cpu_count(),
        "error_samples": errors[:10],
        "mismatch_samples": mismatches[:10],
    }

    ref = figures["reference"]
    print(
        f"App up in {startup:.1f} s. Reference pass, {len(questions)} questions one at a time: "
        f"p50 {ref['latency_ms_p50']} ms, p95 {ref['latency_ms_p95']} ms; "
        f"{golds['answerable_with_gold']}/{golds['answerable']} answers hold a gold answer, "
        f"{golds['unanswerable_abstained']}/{golds['unanswerable']} unanswerable abstained"
    )
    rows = [
        ("clients", args.clients),
        ("questions per client", args.questions),
        ("total requests", total),
        ("errors", len(errors)),
        ("mismatches", len(mismatches)),
        ("max score drift", f"{figures['max_score_drift']:.3g}"),
        ("wall time", f"{wall:.2f} s"),
        ("throughput", f"{figures['throughput_rps']:.2f} requests/s"),
        ("latency p50", f"{figures['latency_ms_p50']:.1f} ms"),
        ("latency p95", f"{figures['latency_ms_p95']:.1f} ms"),
        ("latency max", f"{figures['latency_ms_max']:.1f} ms"),
    ]
    if server_cpu is not None:
        rows.append(
            (
                "server CPU",
                f"{server_cpu:.1f} s, {figures['server_cpu_ms_per_request']:.1f} ms per request "
                f"({server_cpu / wall:.2f} of {os.cpu_count()} cores)",
            )
        )
    rows.append(("load average (1 min)", f"{load_before:.2f} before, {load_after:.2f} after"))
    print(f"\nUnder load (concurrency limit: {limit if limit is not None else 'app default'}):")
    for name, value in rows:
        print(f"  {name:22s} {value}")
    for line in errors[:10] + mismatches[:10]:
        print(f"  ! {line}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
        print(f"Figures written to {args.json}")
    return 1 if errors or mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
