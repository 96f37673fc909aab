"""The staff console for orders (more actions arrive with the Replicate stage)."""

from __future__ import annotations

from django.contrib import admin

from training.models import HeadshotModel, TrainingEvent


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
    readonly_fields = (
        "uuid", "user", "package", "subject_type", "status", "failure_stage", "error",
        "error_detail", "replicate_model_id", "replicate_version_id", "replicate_training_id",
        "training_zip", "image_count", "zip_size", "input_size", "cost", "created_at",
        "updated_at", "queued_at", "training_started_at", "training_finished_at", "ready_at",
        "failed_at", "canceled_at",
    )  # fmt: skip

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False  # orders come from people's photos, never from the admin
