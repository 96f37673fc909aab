from django.apps import AppConfig
from django.conf import settings


class TrainingConfig(AppConfig):
    """Everything about an order: photos, the training on Replicate, the headshots."""

    name = "training"

    def ready(self) -> None:
        from training.photos.pixels import configure_image_libraries

        configure_image_libraries(photo_workers=settings.PHOTO_WORKERS)
