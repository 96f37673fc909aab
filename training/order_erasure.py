"""An order's erasure: its files and its model on Replicate go; its row stays, anonymous.

Used when a person deletes an order (the purge after `orders.order_delete`) and when they
delete their account (privacy/erasure.py). The row keeps what staff figures and the accounts
need (state, package, dates, spend, the rating's stars) and loses everything personal (owner,
name, face descriptors, the rating's comment, file names, the training's input). The person
never sees it again: it has no owner and `deleted_at` hides it.

Files first, strictly (a failure raises and the caller tries again), and the rows that point
to them only afterwards, so a second try still knows what is left to delete.
"""

from __future__ import annotations

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import Storage
from django.utils import timezone

from training.lifecycle import cancel_remote_jobs
from training.models import Order, OrderRating, TrainingEvent
from training.replicate.client import ReplicateGateway


def order_erase(order: Order, *, gateway: ReplicateGateway, storage: Storage) -> None:
    """One order: its files and model go, its row stays for accounting with nothing personal."""
    cancel_remote_jobs(order_id=order.pk, gateway=gateway)  # first: a running job stops billing
    delete_folder(storage, f"headshots/{order.uuid}")
    for headshot in order.headshots.all():
        for stored in (headshot.image, headshot.preview, headshot.jpeg):
            if stored:
                storage.delete(str(stored.name))
    if order.training_zip:
        storage.delete(str(order.training_zip.name))
    order.headshots.all().delete()
    if order.training_file_id:
        gateway.delete_file(order.training_file_id)
    if order.replicate_model_id:
        owner, name = order.replicate_model_id.split("/", 1)
        gateway.delete_model_with_versions(owner=owner, name=name)  # raises: tried again
    OrderRating.objects.filter(order=order).update(comment="")
    TrainingEvent.objects.filter(order=order).update(metadata={}, error="")
    order.predictions.update(output_urls=[], error="")
    order_type = ContentType.objects.get_for_model(Order)
    LogEntry.objects.filter(content_type=order_type, object_id=str(order.pk)).update(
        object_repr=str(order.uuid)  # the admin's history named the order as the person did
    )
    Order.objects.filter(pk=order.pk).update(
        user=None,
        name="",
        face_embeddings=[],
        training_zip="",
        training_file_id="",
        training_input_url="",
        replicate_weights_url="",
        error_detail="",
        deleted_at=order.deleted_at or timezone.now(),
    )


def delete_folder(storage: Storage, folder: str) -> None:
    """Every object below a folder (an S3 prefix), strictly: a failure raises."""
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in files:
        storage.delete(f"{folder}/{name}")
    for child in folders:
        delete_folder(storage, f"{folder}/{child}")
