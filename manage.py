#!/usr/bin/env python
"""Django's command-line utility for Headshots."""

import os
import sys


def main() -> None:
    """Run a management command; a bad setting ends with one line naming the variable."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "headshots.settings")
    import django
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 - loading the settings is the point
        django.setup()  # the apps' ready() may refuse too (an upload folder it cannot make)
    except ImproperlyConfigured as error:
        sys.exit(f"headshots: {error}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
