"""The figures staff watch (spec section 8), for the dashboard and for Prometheus.

Every figure is computed from rows we keep anyway: orders, their TrainingEvents (one per stage,
with its duration), webhook deliveries (received and processed times, and the event's own
completion time) and headshots. A window is the last N days.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from training.models import Headshot, Order, Stage, TrainingEvent, WebhookDelivery

WINDOWS = (7, 30)
TOP_USERS = 20


@dataclass(frozen=True)
class UserUsage:
    email: str
    orders: int
    storage_bytes: int
    spend: Decimal


@dataclass
class WindowFigures:
    """Everything the dashboard shows for one window."""

    days: int
    orders_by_status: dict[str, int] = field(default_factory=dict)
    training_seconds_mean: float | None = None
    training_seconds_median: float | None = None
    outcomes_by_stage: dict[str, dict[str, int]] = field(default_factory=dict)
    spend: Decimal = Decimal(0)
    webhook_latency_p50: float | None = None
    webhook_latency_p95: float | None = None
    webhook_processing_p50: float | None = None
    webhook_processing_p95: float | None = None
    usage: list[UserUsage] = field(default_factory=list)

    def failure_rate(self, stage: str) -> float | None:
        """Failures over finished attempts of a stage, or None when there were none."""
        counts = self.outcomes_by_stage.get(stage, {})
        total = counts.get("success", 0) + counts.get("failure", 0)
        return counts.get("failure", 0) / total if total else None


def window_figures(days: int) -> WindowFigures:
    """The figures of the last `days` days."""
    since = timezone.now() - timedelta(days=days)
    figures = WindowFigures(days=days)
    orders = Order.objects.filter(created_at__gte=since)
    figures.orders_by_status = dict(
        orders.values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    figures.spend = orders.aggregate(total=Sum("cost"))["total"] or Decimal(0)
    events = TrainingEvent.objects.filter(created_at__gte=since)
    training_times = list(
        events.filter(stage=Stage.TRAINING, status=TrainingEvent.Outcome.SUCCESS).values_list(
            "duration", flat=True
        )
    )
    if training_times:
        figures.training_seconds_mean = statistics.fmean(training_times)
        figures.training_seconds_median = statistics.median(training_times)
    outcomes: dict[str, Counter[str]] = {stage: Counter() for stage in Stage.values}
    for stage, status, count in events.values_list("stage", "status").annotate(n=Count("pk")):
        outcomes[stage][status] += count
    figures.outcomes_by_stage = {stage: dict(counter) for stage, counter in outcomes.items()}
    add_webhook_figures(figures, since)
    figures.usage = usage_per_user(since)
    return figures


def add_webhook_figures(figures: WindowFigures, since: object) -> None:
    """Latency: from the event's completion at Replicate to our processing; and our own time."""
    deliveries = WebhookDelivery.objects.filter(received_at__gte=since, processed_at__isnull=False)
    latencies, processing = [], []
    for completed, received, processed in deliveries.values_list(
        "event_completed_at", "received_at", "processed_at"
    ):
        if processed is None:  # excluded by the query; keeps the types honest
            continue
        processing.append((processed - received).total_seconds())
        if completed is not None:
            latencies.append(max(0.0, (processed - completed).total_seconds()))
    figures.webhook_latency_p50, figures.webhook_latency_p95 = percentiles(latencies)
    figures.webhook_processing_p50, figures.webhook_processing_p95 = percentiles(processing)


def percentiles(values: list[float]) -> tuple[float | None, float | None]:
    """The 50th and 95th percentiles (nearest rank), or None for no values."""
    if not values:
        return None, None
    ordered = sorted(values)

    def rank(share: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]

    return rank(0.50), rank(0.95)


def usage_per_user(since: object) -> list[UserUsage]:
    """The heaviest users of the window: orders, storage held now, spend."""
    rows = (
        Order.objects.filter(created_at__gte=since, user__isnull=False)  # erased: nobody's
        .values("user__email")
        .annotate(
            orders=Count("pk"),
            zips=Sum("zip_size", filter=~Q(training_zip="")),
            spend=Sum("cost"),
        )
        .order_by("-orders", "user__email")[:TOP_USERS]
    )
    emails = [row["user__email"] for row in rows]
    images = dict(
        Headshot.objects.filter(order__user__email__in=emails)
        .values_list("order__user__email")
        .annotate(total=Sum("size_bytes"))
        .values_list("order__user__email", "total")
    )
    return [
        UserUsage(
            email=row["user__email"],
            orders=row["orders"],
            storage_bytes=int(row["zips"] or 0) + int(images.get(row["user__email"]) or 0),
            spend=row["spend"] or Decimal(0),
        )
        for row in rows
    ]


def temporary_storage_bytes() -> int:
    """Bytes held now in training ZIPs (temporary by the cleanup policy)."""
    total = Order.objects.exclude(training_zip="").aggregate(total=Sum("zip_size"))
    return int(total["total"] or 0)


def prometheus_text() -> str:
    """The same figures in Prometheus's text exposition format."""
    lines = [
        "# TYPE headshots_temporary_storage_bytes gauge",
        f"headshots_temporary_storage_bytes {temporary_storage_bytes()}",
    ]
    for days in WINDOWS:
        lines += window_lines(window_figures(days))
    return "\n".join(lines) + "\n"


def window_lines(figures: WindowFigures) -> list[str]:
    """One window's figures as metric lines labelled with the window."""
    window = {"window": f"{figures.days}d"}
    lines = [
        metric("headshots_orders", {"status": status, **window}, count)
        for status, count in figures.orders_by_status.items()
    ]
    for stage, counts in figures.outcomes_by_stage.items():
        for outcome, count in counts.items():
            labels = {"stage": stage, "outcome": outcome, **window}
            lines.append(metric("headshots_stage_events", labels, count))
    lines.append(metric("headshots_replicate_spend_usd", window, figures.spend))
    latency, processing = (
        "headshots_webhook_latency_seconds",
        "headshots_webhook_processing_seconds",
    )
    p50, p95 = {"quantile": "0.5", **window}, {"quantile": "0.95", **window}
    optional: list[tuple[str, dict[str, str], float | None]] = [
        ("headshots_training_seconds_mean", window, figures.training_seconds_mean),
        ("headshots_training_seconds_median", window, figures.training_seconds_median),
        (latency, p50, figures.webhook_latency_p50),
        (latency, p95, figures.webhook_latency_p95),
        (processing, p50, figures.webhook_processing_p50),
        (processing, p95, figures.webhook_processing_p95),
    ]
    lines += [metric(name, labels, value) for name, labels, value in optional if value is not None]
    return lines


def metric(name: str, labels: dict[str, str], value: object) -> str:
    """`name{label="value",...} value`."""
    rendered = ",".join(f'{key}="{label}"' for key, label in labels.items())
    return f"{name}{{{rendered}}} {value}"
