"""Send an e-mail from a template triplet, in the recipient's language.

Every mail is `templates/emails/<name>-subject.txt`, `<name>-body.txt` and `<name>-body.html`,
rendered with the language switched to the recipient's, whatever language the request or
worker happens to be in.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation


def send_templated_email(*, to: str, template: str, context: dict[str, Any], language: str) -> None:
    """Render the triplet `emails/<template>-*` in `language` and send it to one address."""
    full_context = {"site_url": settings.SITE_URL, **context}
    with translation.override(language):
        subject = render_to_string(f"emails/{template}-subject.txt", full_context)
        text_body = render_to_string(f"emails/{template}-body.txt", full_context)
        html_body = render_to_string(f"emails/{template}-body.html", full_context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),  # a subject is one line, whatever the template did
        body=text_body,
        to=[to],
    )
    message.attach_alternative(html_body, "text/html")
    message.send()
