"""The staff console for orders: find them, look inside, and retry, cancel, refund or delete them.

Every action calls a stage function and enqueues its follow-ups: cancel and delete call the very
functions a person's own request calls (`lifecycle.order_cancel`, `orders.order_delete`); retry
(`lifecycle.order_retry`) and refund (`credits_refund_order`) are for staff only, and go through
the same state machine, ledger and clean-up, so staff can do nothing the model would refuse. State
fields are read-only here: the state machine owns them. Each action needs its own permission
(`retry_order`, `cancel_order`, `refund_order`, and the built-in `delete` for deleting with
files): a staff member who may only look is offered none and can forge none.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.credits import credits_refund_order
from lib.files import private_file_response
from privacy.models import StaffView
from training import lifecycle, orders
from training.links import staff_file_link, staff_link_is_valid
from training.models import (
    Headshot,
    Order,
    OrderRating,
    Prediction,
    TrainingEvent,
    WebhookDelivery,
)
from training.packages import package_title
from training.tasks import enqueue_followups

REPLICATE_WEB = "https://replicate.com"
STAFF_REFUND_REASON = "staff refund"  # stored in the ledger as written, like the other reasons


def replicate_link(replicate_id: str, *, page: str = "p/{}") -> SafeString | str:
    """The id as a link to its page on replicate.com, opened in a new tab; a dash when empty."""
    if not replicate_id:
        return "-"
    url = f"{REPLICATE_WEB}/{page.format(quote(replicate_id, safe='/'))}"
    return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, replicate_id)


class ReadOnlyInline(admin.TabularInline):
    """Rows written by the stages: shown, never added, changed or deleted here."""

    extra = 0
    can_delete = False
    show_change_link = False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Part of the order: whoever may view the order sees its history, nobody else."""
        order_admin = self.admin_site.get_model_admin(self.parent_model)
        return bool(order_admin.has_view_permission(request, obj))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TrainingEventInline(ReadOnlyInline):
    model = TrainingEvent
    readonly_fields = ("created_at", "stage", "status", "duration", "error", "metadata")
    fields = readonly_fields


class PredictionInline(ReadOnlyInline):
    model = Prediction
    readonly_fields = (
        "prompt_index", "style", "attempt", "is_top_up", "status", "replicate_prediction",
        "predict_time", "error", "completed_at",
    )  # fmt: skip
    fields = readonly_fields

    @admin.display(description=_("Replicate prediction"))
    def replicate_prediction(self, prediction: Prediction) -> SafeString | str:
        return replicate_link(prediction.replicate_prediction_id)


class RatingInline(ReadOnlyInline):
    model = OrderRating
    readonly_fields = ("stars", "comment", "created_at", "updated_at")
    fields = readonly_fields


class HeadshotInline(ReadOnlyInline):
    model = Headshot
    readonly_fields = (
        "thumbnail", "style", "output_index", "face_count", "likeness", "hidden", "width",
        "height", "size_bytes", "is_favourite",
    )  # fmt: skip
    fields = readonly_fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Headshot]:
        return super().get_queryset(request).select_related("prediction")

    @admin.display(description=_("preview"))
    def thumbnail(self, headshot: Headshot) -> SafeString:
        def url(variant: str) -> str:
            return staff_file_link(headshot_id=headshot.pk, variant=variant)

        return format_html(
            '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="{}" height="96" '
            'loading="lazy"></a>',
            url("image"), url("preview"), headshot.prediction.style,
        )  # fmt: skip

    @admin.display(description=_("style"))
    def style(self, headshot: Headshot) -> str:
        return headshot.prediction.style


class StaffViewInline(ReadOnlyInline):
    """Who of the staff opened which of the order's images, and when."""

    model = StaffView
    readonly_fields = ("viewed_at", "staff_email", "headshot_id", "variant")
    fields = readonly_fields
    verbose_name_plural = _("Staff views of the headshots")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Orders with filters and search, their history inline, and the staff actions."""

    list_display = (
        "name", "user", "package_name", "status", "failure_stage", "image_count", "cost",
        "created_at", "deleted_at",
    )  # fmt: skip
    list_filter = ("status", "failure_stage", "package", "created_at")
    search_fields = ("user__email", "name", "uuid")
    list_select_related = ("user",)
    date_hierarchy = "created_at"
    inlines = (
        RatingInline, TrainingEventInline, PredictionInline, HeadshotInline, StaffViewInline,
    )  # fmt: skip

    @admin.display(description=_("package"), ordering="package")
    def package_name(self, order: Order) -> str:
        """The package's name in the staff member's language, not its slug."""
        return str(package_title(order.package))

    actions = ("retry_orders", "cancel_orders", "refund_orders", "delete_orders_with_files")
    fieldsets = (
        (None, {"fields": (
            "uuid", "user", "name", "package", "subject_type", "status", "failure_stage", "error",
            "error_detail",
        )}),
        (_("Replicate"), {"fields": (
            "replicate_training", "replicate_model", "replicate_version_id", "predict_time",
            "cost",
        )}),
        (_("Photos"), {"fields": ("training_set", "image_count", "zip_size", "input_size")}),
        (_("Dates"), {"fields": (
            "created_at", "updated_at", "queued_at", "training_started_at",
            "training_finished_at", "ready_at", "failed_at", "canceled_at", "deleted_at",
        )}),
    )  # fmt: skip
    readonly_fields = (
        "uuid", "user", "package", "subject_type", "status", "failure_stage", "error",
        "error_detail", "replicate_training", "replicate_model", "replicate_version_id",
        "predict_time", "cost", "training_set", "image_count", "zip_size", "input_size",
        "created_at", "updated_at", "queued_at", "training_started_at", "training_finished_at",
        "ready_at", "failed_at", "canceled_at", "deleted_at",
    )  # fmt: skip  # everything but the name

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders come from people's photos, never from the admin

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a bare row delete would leave files and the model on Replicate behind

    def has_delete_with_files_permission(self, request: HttpRequest) -> bool:
        """The built-in "delete order" permission, spent on the only delete that cleans up."""
        return request.user.has_perm("training.delete_order")

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("training.retry_order")

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("training.cancel_order")

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("training.refund_order")

    @admin.display(description=_("Replicate training"))
    def replicate_training(self, order: Order) -> SafeString | str:
        return replicate_link(order.replicate_training_id)

    @admin.display(description=_("Replicate model"))
    def replicate_model(self, order: Order) -> SafeString | str:
        return replicate_link(order.replicate_model_id, page="{}")  # "owner/name"

    @admin.display(description=_("training ZIP"))
    def training_set(self, order: Order) -> str:
        return str(order.training_zip.name) or "-"  # the media folder is never served raw

    def get_urls(self) -> list[URLPattern]:
        image = path(
            "headshots/<int:headshot_id>/<str:variant>/",
            self.admin_site.admin_view(self.headshot_file_view),
            name="training_headshot_file",
        )
        return [image, *super().get_urls()]

    def headshot_file_view(
        self, request: HttpRequest, headshot_id: int, variant: str
    ) -> HttpResponseBase:
        """Any order's image for staff, through the signed links of the order's page only; each
        view is recorded on the order's history (privacy: who saw whose face, and when)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        headshot = get_object_or_404(Headshot.objects.select_related("prediction"), pk=headshot_id)
        if variant not in ("preview", "image"):
            raise Http404
        token = request.GET.get("t", "")
        if not staff_link_is_valid(token, headshot_id=headshot.pk, variant=variant):
            raise PermissionDenied
        StaffView.record(
            order_id=headshot.order_id, staff=request.user, headshot_id=headshot.pk, variant=variant
        )
        stored = headshot.preview if variant == "preview" and headshot.preview else headshot.image
        extension = str(stored.name).rsplit(".", 1)[-1]
        filename = f"{variant}-{headshot.pk}.{extension}"
        return private_file_response(str(stored.name), filename, download=False)

    @admin.action(description=_("Retry the selected failed orders"), permissions=["retry"])
    def retry_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        """Failed orders start again where they can: headshots again, or the training again."""
        retried, not_failed, photos_gone = 0, [], []
        for order in queryset.select_related("user"):
            try:
                followups = lifecycle.order_retry(order)
            except lifecycle.PhotosGone:
                photos_gone.append(order.name)
                continue
            if followups is None:
                not_failed.append(order.name)
                continue
            enqueue_followups(followups)
            self.log_change(request, order, str(_("Retried.")))
            retried += 1
        if retried:
            message = ngettext("%d order retried.", "%d orders retried.", retried) % retried
            self.message_user(request, message, messages.SUCCESS)
        self.tell_not_retried(request, not_failed=not_failed, photos_gone=photos_gone)

    def tell_not_retried(
        self, request: HttpRequest, *, not_failed: list[str], photos_gone: list[str]
    ) -> None:
        """Why some orders did not start again: staff need to know whom to ask for a new order."""
        if not_failed:
            self.message_user(
                request,
                _("Not retried (not failed): %(names)s") % {"names": ", ".join(not_failed)},
                messages.WARNING,
            )
        if photos_gone:
            self.message_user(
                request,
                _(
                    "Not retried: the photos of %(names)s are deleted (they are kept %(hours)d "
                    "hours after a failure), so the training cannot run again. Ask the person "
                    "to place a new order."
                )
                % {"names": ", ".join(photos_gone), "hours": settings.TEMP_RETENTION_HOURS},
                messages.WARNING,
            )

    @admin.action(
        description=_("Cancel the selected orders (also on Replicate) and refund them"),
        permissions=["cancel"],
    )
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        """Orders in progress stop here and on Replicate; their credit goes back."""
        canceled, finished = 0, []
        for order in queryset.select_related("user"):
            followups = lifecycle.order_cancel(order)
            if not followups:
                finished.append(order.name)
                continue
            enqueue_followups(followups)
            self.log_change(request, order, str(_("Canceled (also on Replicate) and refunded.")))
            canceled += 1
        if canceled:
            message = ngettext("%d order canceled.", "%d orders canceled.", canceled) % canceled
            self.message_user(request, message, messages.SUCCESS)
        if finished:
            self.message_user(
                request,
                _("Not canceled (already finished): %(names)s") % {"names": ", ".join(finished)},
                messages.WARNING,
            )

    @admin.action(description=_("Refund the credit of the selected orders"), permissions=["refund"])
    def refund_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        """Give an order's credit back, at most once per order (the ledger refuses a second)."""
        refunded, nothing = 0, 0
        for order in queryset.select_related("user"):
            if order.user is not None and credits_refund_order(
                user=order.user, order_uuid=order.uuid, reason=STAFF_REFUND_REASON
            ):
                self.log_change(request, order, str(_("Credit refunded.")))
                refunded += 1
            else:
                nothing += 1
        if refunded:
            message = ngettext("%d order refunded.", "%d orders refunded.", refunded) % refunded
            self.message_user(request, message, messages.SUCCESS)
        if nothing:
            message = ngettext(
                "%d order had nothing to refund (no credit spent, or already refunded).",
                "%d orders had nothing to refund (no credit spent, or already refunded).",
                nothing,
            )
            self.message_user(request, message % nothing, messages.WARNING)

    @admin.action(
        description=_("Delete the selected orders with their files"),
        permissions=["delete_with_files"],
    )
    def delete_orders_with_files(
        self, request: HttpRequest, queryset: QuerySet[Order]
    ) -> TemplateResponse | None:
        """After a confirmation: hidden at once; the purge task erases files and model and keeps
        the row, anonymous, for the figures and the accounts."""
        if request.POST.get("post") != "yes":
            return self.confirm_deletion(request, queryset)
        count = 0
        for order in queryset.select_related("user"):
            enqueue_followups(orders.order_delete(order))
            self.log_change(request, order, str(_("Deleted with its files.")))
            count += 1
        message = ngettext(
            "%d order deleted; its files and its model on Replicate are being removed.",
            "%d orders deleted; their files and their models on Replicate are being removed.",
            count,
        )
        self.message_user(request, message % count, messages.SUCCESS)
        return None

    def confirm_deletion(self, request: HttpRequest, queryset: QuerySet[Order]) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Delete orders with their files?"),
            "intro": _(
                "These orders, their photos, their headshots and their trained models on "
                "Replicate will be deleted for good. Credits are not refunded by this action."
            ),
            "submit_label": _("Yes, delete them"),
            "objects": queryset.select_related("user"),
            "action": "delete_orders_with_files",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "confirm_field": "post",
        }
        return TemplateResponse(request, "admin/action_confirmation.html", context)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """Replicate's webhooks as they arrived: evidence, so nobody adds, changes or deletes them."""

    list_display = (
        "webhook_id", "object_id", "event_status", "outcome", "received_at", "processed_at",
        "latency",
    )  # fmt: skip
    list_filter = ("outcome", "event_status", "received_at")
    search_fields = ("webhook_id", "object_id")
    date_hierarchy = "received_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("latency (s)"))
    def latency(self, delivery: WebhookDelivery) -> str:
        """From Replicate finishing the job to our having applied the news (as in the metrics)."""
        completed, processed = delivery.event_completed_at, delivery.processed_at
        if completed is None or processed is None:
            return "-"
        return f"{max(0.0, (processed - completed).total_seconds()):.1f}"
