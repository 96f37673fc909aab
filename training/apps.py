from django.apps import AppConfig


class TrainingConfig(AppConfig):
    """Everything about an order: photos, the training on Replicate, the headshots."""

    name = "training"
