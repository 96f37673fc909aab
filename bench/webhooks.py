"""Benchmark `POST /webhooks/replicate/` under gunicorn (4 workers) on PostgreSQL.

    .venv/bin/python bench/webhooks.py [--senders 16] [--workers 4] [--server URL]

A database of its own (`bench_webhooks_<pid>_<random>`, created, migrated, then copied as the
template `..._seed`; both dropped at the end, and no other database is ever touched) holds 400
orders in `training` and 70 orders in `generating` with 5 predictions each in `starting`.
Each of those 750 Replicate objects has two real events, start (`processing`) and completion
(`succeeded`, or `failed` for one in five trainings and one in ten predictions): 1,500 unique
deliveries, plus 500 re-sends of an earlier webhook-id (a quarter of the 2,000). About one
object in six has its completion delivered before its start. Each body is signed with the
Standard Webhooks secret at send time. No task worker runs: follow-ups are only rows in
django_tasks_db's table.

Two runs on the same deliveries, each on a fresh copy of the database: the baseline (one
sender, one delivery at a time) and the benchmark (16 concurrent senders on a shared queue).
Each run is checked: every answer 200, one WebhookDelivery per webhook-id, every order and
prediction in the state its real events imply, one TrainingEvent per finished training, and
exactly the follow-up tasks the real events call for (none for a repeat or a late start).

Targets: >= 200 deliveries/s and p99 <= 100 ms with 16 senders. With more senders (e.g. 200)
the rate must hold, every delivery must be answered and pass the checks, and p99 must stay
within twice the queueing time (senders / rate): degraded by waiting, never by loss.

Where the time goes (py-spy over the gunicorn workers, 16 senders, 2 cores): about 43 % of a
request waits on PostgreSQL (about ten round trips: the connection health check, BEGIN, the
delivery row, the order or prediction locked and updated, its event, the follow-up task row,
the delivery's outcome, COMMIT), 18 % is the transaction's begin and commit, 12 % the delivery
row's insert and update, 10 % the middleware stack, 1 % the signature check.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import queue
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The options, read before Django starts, so that `--help` does nothing else."""
    parser = argparse.ArgumentParser(
        description="Benchmark POST /webhooks/replicate/ under gunicorn on PostgreSQL, in "
        "databases of its own (created and dropped by this run only)."
    )
    parser.add_argument(
        "--senders", type=int, default=16, help="concurrent senders of the benchmark run (16)"
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (4)")
    parser.add_argument(
        "--server", default="postgresql://postgres@127.0.0.1:5432",
        help="PostgreSQL server to create this run's databases on (user with CREATEDB)",
    )  # fmt: skip
    return parser.parse_args(argv)


ARGS = parse_args() if __name__ == "__main__" else parse_args([])
# Named for this run: the benchmark creates, copies and drops its own databases and no other.
DB_NAME = f"bench_webhooks_{os.getpid()}_{secrets.token_hex(4)}"
SEED_DB = f"{DB_NAME}_seed"
SERVER_URL = ARGS.server.rstrip("/")
ADMIN_URL = f"{SERVER_URL}/postgres"
CREATED: set[str] = set()
SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
SERVER_ENV = {
    "DATABASE_URL": f"{SERVER_URL}/{DB_NAME}",
    "DJANGO_SETTINGS_MODULE": "headshots.settings",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "DEBUG": "false",
    "SECURE_SSL_REDIRECT": "false",
    "ALLOWED_HOSTS": "127.0.0.1",
    "REPLICATE_WEBHOOK_SECRET": SECRET,
    "TASKS_BACKEND": "database",
    "LOG_LEVEL": "WARNING",
}
os.environ.update(SERVER_ENV)

import django  # noqa: E402

django.setup()

from django.db import connections  # noqa: E402
from django_tasks_db.models import DBTaskResult  # noqa: E402

from accounts.models import User  # noqa: E402
from training.models import (  # noqa: E402
    Order,
    Prediction,
    Status,
    TrainingEvent,
    WebhookDelivery,
)
from training.replicate.signatures import sign_webhook  # noqa: E402

TRAININGS, PREDICTION_ORDERS, PROMPTS = 400, 70, 5
TOTAL, SENDERS, WORKERS, TIME_LIMIT = 2_000, ARGS.senders, ARGS.workers, 120.0
TARGET_RATE, TARGET_P99_MS = 200.0, 100.0
# The latency target holds up to this many senders; beyond it requests queue for the two cores
# (Little's law: senders / rate), and the target is graceful degradation: the rate holds, every
# delivery is answered (none times out), nothing is lost or applied twice (the checks).
TARGET_SENDERS = 16
URL = "/webhooks/replicate/"
TRAINER_VERSION = "e440909d3512c31646ee2e0c7d6f6f4923224863a6a10c494606e79fb5844497"


@dataclass(frozen=True)
class ReplicateObject:
    """A training or prediction we seeded, and how Replicate will say it ended."""

    kind: str  # "training" or "prediction"
    replicate_id: str
    pk: int  # the order's pk for a training, the prediction's pk for a prediction
    order_pk: int
    ends: str  # "succeeded" or "failed"


@dataclass(frozen=True)
class Delivery:
    webhook_id: str
    body: bytes


@dataclass
class RunResult:
    wall_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    cpu_ms: float = 0.0  # gunicorn + PostgreSQL + senders, per delivery
    others: float = 0.0  # share of the machine used by unrelated processes during the run

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall_seconds if self.wall_seconds else 0.0

    def percentile_ms(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def cpu_ticks() -> tuple[int, int]:
    """Busy clock ticks of the whole machine, and of this run's processes (bench, gunicorn,
    postgres): the difference tells whether something else was competing for the CPU."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    ours = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
            stats = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(pid) == os.getpid() or b"gunicorn" in command or b"postgres" in command:
            ours += int(stats[11]) + int(stats[12])
    return sum(fields) - fields[3] - fields[4], ours  # all but idle and iowait


def admin(*statements: str) -> None:
    """Run statements on the `postgres` database, outside any transaction."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)


def create_database(name: str, *, template: str | None = None) -> None:
    """Create one of this run's databases (the name is new: CREATE fails on a clash)."""
    admin(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    CREATED.add(name)


def drop_database(name: str) -> None:
    """Drop a database this run created, never another (and without forcing anyone off)."""
    if name in CREATED:
        connections.close_all()
        admin(f"DROP DATABASE IF EXISTS {name}")
        CREATED.discard(name)


def prepare_database() -> list[ReplicateObject]:
    """Migrate a fresh database, seed it, and keep a copy as the template for every run."""
    connections.close_all()
    create_database(DB_NAME)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=PROJECT_DIR,
        check=True,
    )
    objects = seed()
    connections.close_all()
    create_database(SEED_DB, template=DB_NAME)
    return objects


def reset_database() -> None:
    """A fresh copy of the seeded database (the server must be stopped)."""
    drop_database(DB_NAME)
    create_database(DB_NAME, template=SEED_DB)


def seed() -> list[ReplicateObject]:
    """Orders waiting for their training, and orders waiting for their predictions."""
    rng = random.Random(7)
    objects: list[ReplicateObject] = []
    count = TRAININGS + PREDICTION_ORDERS
    users = User.objects.bulk_create(User(email=f"bench{n}@example.com") for n in range(count))
    common = {"name": "Bench", "package": "professional", "subject_type": "woman"}
    for n, user in enumerate(users[:TRAININGS]):
        order = Order.objects.create(
            user=user,
            status=Status.TRAINING,
            replicate_training_id=f"trn{n:05d}",
            training_input_url=f"https://example.com/sets/{n}.zip",
            **common,
        )
        ends = "failed" if rng.random() < 0.2 else "succeeded"
        objects.append(
            ReplicateObject("training", order.replicate_training_id, order.pk, order.pk, ends)
        )
    for n, user in enumerate(users[TRAININGS:]):
        order = Order.objects.create(
            user=user,
            status=Status.GENERATING,
            replicate_version_id=f"headshots/headshots-{n}:{'ab' * 32}",
            **common,
        )
        for index in range(PROMPTS):
            prediction = Prediction.objects.create(
                order=order,
                prompt_index=index,
                prompt=f"ohwx woman, headshot {index}",
                replicate_prediction_id=f"prd{n:03d}x{index}",
                status=Prediction.State.STARTING,
            )
            ends = "failed" if rng.random() < 0.1 else "succeeded"
            objects.append(
                ReplicateObject(
                    "prediction", prediction.replicate_prediction_id, prediction.pk, order.pk, ends
                )
            )
    return objects


def payload(obj: ReplicateObject, status: str) -> dict[str, object]:
    """The JSON Replicate sends for `obj` in `status`."""
    done = status != "processing"
    body: dict[str, object] = {
        "id": obj.replicate_id,
        "status": status,
        "created_at": "2026-11-24T10:00:00.000000Z",
        "started_at": "2026-11-24T10:00:05.000000Z",
        "completed_at": "2026-11-24T10:19:12.000000Z" if done else None,
        "error": "CUDA out of memory" if status == "failed" else None,
        "metrics": {"predict_time": 1147.2} if done else {},
    }
    if obj.kind == "training":
        body |= {
            "model": "ostris/flux-dev-lora-trainer",
            "version": TRAINER_VERSION,
            "input": {"input_images": f"https://example.com/sets/{obj.pk}.zip", "steps": 1000},
            "logs": "flux_train_replicate: 40%|####      | 400/1000\n",
            "output": None,
        }
        if status == "succeeded":
            body["output"] = {
                "version": f"headshots/headshots-{obj.pk}:{'cd' * 32}",
                "weights": f"https://replicate.delivery/xezq/{obj.pk}/weights.tar",
            }
    else:
        output = [f"https://replicate.delivery/{obj.replicate_id}/{i}.webp" for i in range(4)]
        body |= {
            "model": "headshots/headshots",
            "version": "ab" * 32,
            "input": {"prompt": "ohwx woman, headshot", "num_outputs": 4},
            "logs": "",
            "output": output if status == "succeeded" else None,
        }
    return body


def build_deliveries(objects: list[ReplicateObject], rng: random.Random) -> list[Delivery]:
    """Every real event once, at a random place; 1 in 6 completions before their start;
    then re-sends of earlier deliveries until the total, each placed after its original."""
    keyed: list[tuple[float, Delivery]] = []
    for obj in objects:
        events = [
            Delivery(f"msg_{obj.replicate_id}_{status}", json.dumps(payload(obj, status)).encode())
            for status in ("processing", obj.ends)
        ]
        if rng.random() < 1 / 6:
            events.reverse()
        keys = sorted(rng.random() for _ in events)
        keyed += zip(keys, events, strict=True)
    for key, original in rng.sample(keyed, TOTAL - len(keyed)):
        keyed.append((rng.uniform(key, 1.0), original))
    keyed.sort(key=lambda item: item[0])
    return [delivery for _, delivery in keyed]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(port: int, log: Path) -> subprocess.Popen[bytes]:
    """gunicorn with WORKERS sync workers, answering once every worker is up."""
    server = subprocess.Popen(
        [
            str(PROJECT_DIR / ".venv/bin/gunicorn"),
            "headshots.wsgi",
            f"--workers={WORKERS}",
            f"--bind=127.0.0.1:{port}",
        ],
        cwd=PROJECT_DIR,
        env={**os.environ, **SERVER_ENV},
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log.read_text()[-2000:]}")
        try:
            post(http.client.HTTPConnection("127.0.0.1", port, timeout=5), "warmup", b"{}", "x")
            break
        except OSError:
            time.sleep(0.2)
    for n in range(8 * WORKERS):  # load every worker's code and open its database connection
        body = json.dumps({"id": f"warmup{n}", "status": "processing"}).encode()
        post(http.client.HTTPConnection("127.0.0.1", port, timeout=5), f"warmup{n}", body)
    return server


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def post(
    conn: http.client.HTTPConnection, webhook_id: str, body: bytes, secret: str = SECRET
) -> tuple[int, bytes]:
    """One signed delivery (signed at send time, as Replicate does); the status and body."""
    if secret == SECRET:
        headers = sign_webhook(
            secret=secret, webhook_id=webhook_id, timestamp=int(time.time()), body=body
        )
    else:  # not signed: answered 400 before the database is touched
        headers = {}
    conn.request("POST", URL, body, {"Content-Type": "application/json", **headers})
    response = conn.getresponse()
    return response.status, response.read()


def send_all(port: int, deliveries: list[Delivery], senders: int) -> RunResult:
    """`senders` threads take deliveries from one queue; each POST is timed on its own."""
    work: queue.SimpleQueue[Delivery] = queue.SimpleQueue()
    for delivery in deliveries:
        work.put(delivery)
    result, lock = RunResult(), threading.Lock()
    deadline = time.monotonic() + TIME_LIMIT

    def sender() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < deadline:
            try:
                delivery = work.get_nowait()
            except queue.Empty:
                break
            started = time.perf_counter()
            status, body = post(conn, delivery.webhook_id, delivery.body)
            elapsed = time.perf_counter() - started
            outcome = json.loads(body).get("outcome", "?") if status == 200 else "?"
            with lock:
                result.latencies.append(elapsed)
                result.statuses[status] += 1
                result.outcomes[outcome] += 1
        conn.close()

    threads = [threading.Thread(target=sender) for _ in range(senders)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.wall_seconds = time.perf_counter() - started
    return result


def check(objects: list[ReplicateObject], deliveries: list[Delivery], result: RunResult) -> bool:
    """PASS/FAIL for every promise of the endpoint; True when all pass."""
    unique = {d.webhook_id for d in deliveries}
    trainings = [o for o in objects if o.kind == "training"]
    predictions = [o for o in objects if o.kind == "prediction"]
    real = WebhookDelivery.objects.exclude(webhook_id__startswith="warmup")
    statuses = dict(Order.objects.values_list("pk", "status"))
    states = dict(Prediction.objects.filter(attempt=1).values_list("pk", "status"))
    retries = Counter(
        Prediction.objects.filter(attempt=2, status="pending").values_list("order_id", flat=True)
    )
    events = Counter(TrainingEvent.objects.values_list("order_id", "status"))
    tasks = Counter(
        (path.rsplit(".", 1)[-1], args["args"][0])
        for path, args in DBTaskResult.objects.values_list("task_path", "args_kwargs")
    )
    expected_tasks: Counter[tuple[str, int]] = Counter()
    expected_retries: Counter[int] = Counter()
    for o in objects:
        if o.kind == "training":
            expected_tasks[
                "generate_headshots" if o.ends == "succeeded" else "roll_back", o.pk
            ] += 1
        elif o.ends == "succeeded":
            expected_tasks["store_headshots", o.pk] += 1
        else:
            expected_tasks["generate_headshots", o.order_pk] += 1
            expected_retries[o.order_pk] += 1
    outcome_events = {"succeeded": "success", "failed": "failure"}
    final = {"succeeded": Status.GENERATING, "failed": Status.FAILED}
    stored = set(real.values_list("webhook_id", flat=True))
    wrong: dict[str, Sequence[object]] = {  # what breaks each promise; empty means PASS
        f"all {TOTAL} deliveries answered 200": sorted(set(result.statuses) - {200}),
        "each webhook-id applied once, repeats answered 'duplicate'": []
        if result.outcomes == Counter(applied=len(unique), duplicate=TOTAL - len(unique))
        else [dict(result.outcomes)],
        "one WebhookDelivery per webhook-id": sorted(stored ^ unique)
        + ([f"{real.count()} rows"] if real.count() != len(unique) else []),
        "every training order in its final status": [
            o.replicate_id for o in trainings if statuses[o.pk] != final[o.ends]
        ],
        "one TrainingEvent per finished training": [
            o.replicate_id for o in trainings if events[o.pk, outcome_events[o.ends]] != 1
        ]
        + ([f"{events.total()} events"] if events.total() != len(trainings) else []),
        "every prediction in its final status": [
            f"{o.replicate_id}: {states[o.pk]}" for o in predictions if states[o.pk] != o.ends
        ],
        "one retry row per failed prediction": list(
            ((retries - expected_retries) + (expected_retries - retries)).items()
        ),
        "prediction orders still generating": sorted(
            {o.order_pk for o in predictions if statuses[o.order_pk] != Status.GENERATING}
        ),
        "exactly the follow-up tasks the real events call for": [
            f"missing {key}" for key in expected_tasks - tasks
        ]
        + [f"extra {key}" for key in tasks - expected_tasks],
    }
    for name, offenders in wrong.items():
        detail = f" ({len(offenders)}: {', '.join(map(str, offenders[:3]))})" if offenders else ""
        print(f"  {'FAIL' if offenders else 'PASS'}  {name}{detail}")
    return not any(wrong.values())


def run(
    label: str, objects: list[ReplicateObject], deliveries: list[Delivery], senders: int
) -> tuple[RunResult, bool]:
    """A fresh database, a fresh server, the deliveries, the checks."""
    reset_database()
    log = Path(tempfile.mkstemp(prefix="bench-gunicorn-", suffix=".log")[1])
    port = free_port()
    server = start_server(port, log)
    try:
        busy, ours = cpu_ticks()
        result = send_all(port, deliveries, senders)
        busy, ours = (
            after - before for after, before in zip(cpu_ticks(), (busy, ours), strict=True)
        )
    finally:
        stop_server(server)
    ticks = os.sysconf("SC_CLK_TCK")
    result.cpu_ms = 1000 * ours / ticks / len(deliveries)
    result.others = max(0, busy - ours) / ticks / result.wall_seconds / (os.cpu_count() or 1)
    print(
        f"{label}: {len(result.latencies)} deliveries in {result.wall_seconds:.2f} s; "
        f"unrelated processes used {result.others:.0%} of the machine meanwhile"
    )
    passed = check(objects, deliveries, result)
    if not passed:
        print(f"  gunicorn log: {log}")
    return result, passed


def main() -> int:
    try:
        return measure()
    finally:
        for name in (DB_NAME, SEED_DB):
            drop_database(name)


def measure() -> int:
    """Both runs on the same deliveries, then the table and the verdict."""
    objects = prepare_database()
    deliveries = build_deliveries(objects, random.Random(2026))
    print(
        f"{len(deliveries)} deliveries: {len({d.webhook_id for d in deliveries})} unique, "
        f"{len(objects)} trainings and predictions; gunicorn {WORKERS} workers on PostgreSQL\n"
    )
    base, base_ok = run("baseline, 1 sender", objects, deliveries, senders=1)
    bench, bench_ok = run(f"benchmark, {SENDERS} senders", objects, deliveries, SENDERS)
    rows = [
        ("deliveries/s", base.rate, bench.rate),
        ("p50 latency (ms)", base.percentile_ms(0.5), bench.percentile_ms(0.5)),
        ("p99 latency (ms)", base.percentile_ms(0.99), bench.percentile_ms(0.99)),
        ("CPU ms/delivery", base.cpu_ms, bench.cpu_ms),
    ]
    print(f"\n{'':18}{'1 sender':>12}{f'{SENDERS} senders':>14}{'ratio':>9}")
    for name, before, after in rows:
        print(f"{name:18}{before:12.1f}{after:14.1f}{after / before:8.2f}x")
    rate_ok = bench.rate >= TARGET_RATE
    print(f"\n  {'PASS' if rate_ok else 'FAIL'}  >= {TARGET_RATE:.0f} deliveries/s")
    if SENDERS <= TARGET_SENDERS:
        p99_ok = bench.percentile_ms(0.99) <= TARGET_P99_MS
        print(f"  {'PASS' if p99_ok else 'FAIL'}  p99 <= {TARGET_P99_MS:.0f} ms")
    else:
        queueing_ms = 1000 * SENDERS / bench.rate
        p99_ok = bench.percentile_ms(0.99) <= 2 * queueing_ms
        print(
            f"  {'PASS' if p99_ok else 'FAIL'}  p99 within twice the queueing time of "
            f"{SENDERS} senders at this rate ({2 * queueing_ms:.0f} ms; the {TARGET_P99_MS:.0f} ms "
            f"target is for {TARGET_SENDERS} senders)"
        )
    if bench.others > 0.1:
        print(f"  (other processes took {bench.others:.0%} of the CPU: the figures are low)")
    return 0 if base_ok and bench_ok and rate_ok and p99_ok else 1


if __name__ == "__main__":
    sys.exit(main())
