"""The staff console for orders (more actions arrive with the Replicate stage)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from training import trainings
from training.models import HeadshotModel, TrainingEvent
from training.tasks import enqueue_followups


class TrainingEventInline(admin.TabularInline):
    model = TrainingEvent
    extra = 0
    can_delete = False
    readonly_fields = ("created_at", "stage", "status", "duration", "error", "metadata")
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(HeadshotModel)
class HeadshotModelAdmin(admin.ModelAdmin):
    """Orders with filters and search; state fields are read-only (the state machine owns them)."""

    list_display = (
        "name",
        "user",
        "package",
        "status",
        "failure_stage",
        "image_count",
        "created_at",
    )
    list_filter = ("status", "failure_stage", "package", "created_at")
    search_fields = ("user__email", "name", "uuid")
    list_select_related = ("user",)
    date_hierarchy = "created_at"
    inlines = (TrainingEventInline,)
    actions = ("retry_orders",)
    readonly_fields = (
        "uuid", "user", "package", "subject_type", "status", "failure_stage", "error",
        "error_detail", "replicate_model_id", "replicate_version_id", "replicate_training_id",
        "training_zip", "image_count", "zip_size", "input_size", "cost", "created_at",
        "updated_at", "queued_at", "training_started_at", "training_finished_at", "ready_at",
        "failed_at", "canceled_at",
    )  # fmt: skip

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False  # orders come from people's photos, never from the admin

    @admin.action(description=_("Retry the selected failed orders"))
    def retry_orders(self, request: HttpRequest, queryset: QuerySet[HeadshotModel]) -> None:
        """Failed orders start again where they can: headshots again, or the training again."""
        retried, impossible = 0, []
        for order in queryset.select_related("user"):
            followups = trainings.order_retry(order)
            if followups is None:
                impossible.append(order.name)
                continue
            enqueue_followups(followups)
            retried += 1
        if retried:
            message = ngettext("%d order retried.", "%d orders retried.", retried) % retried
            self.message_user(request, message, messages.SUCCESS)
        if impossible:
            self.message_user(
                request,
                _("Not retried (not failed, or its photos are already deleted): %(names)s")
                % {"names": ", ".join(impossible)},
                messages.WARNING,
            )
