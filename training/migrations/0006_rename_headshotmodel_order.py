"""`HeadshotModel` becomes `Order` (a headshot is an image; this is an order). The table stays
`models`, as the spec says; staff keep their rights, whose codenames follow the new name."""

from django.db import migrations

ACTIONS = ("add", "change", "delete", "view")


def rename_permissions(apps, schema_editor, old="headshotmodel", new="order"):  # noqa: ANN001
    Permission = apps.get_model("auth", "Permission")
    for action in ACTIONS:
        Permission.objects.filter(
            content_type__app_label="training", codename=f"{action}_{old}"
        ).update(codename=f"{action}_{new}", name=f"Can {action} order")


def restore_permissions(apps, schema_editor):  # noqa: ANN001
    rename_permissions(apps, schema_editor, old="order", new="headshotmodel")


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("training", "0005_staff_permissions"),
    ]

    operations = [
        migrations.RenameModel(old_name="HeadshotModel", new_name="Order"),
        migrations.RunPython(rename_permissions, restore_permissions),
    ]
