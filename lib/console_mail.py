"""E-mail printed to the terminal as a person reads it, for `make run` without a provider.

Django's console backend prints the raw MIME message: accented text comes out quoted-printable
("C=C3=B3digo") and the code a newcomer needs to sign in is hard to find. This one prints the
headers that matter and the plain-text body, decoded; the HTML part is only announced.
"""

from __future__ import annotations

from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.console import EmailBackend as DjangoConsoleBackend

RULE = "-" * 79


def readable(message: EmailMessage) -> str:
    """The message as a person would read it in a mail client's plain-text view."""
    lines = [
        f"From: {message.from_email}",
        f"To: {', '.join(message.to)}",
        f"Subject: {message.subject}",
        "",
        str(message.body),
    ]
    if isinstance(message, EmailMultiAlternatives):
        lines += [f"[{mimetype} version not shown]" for _content, mimetype in message.alternatives]
    return "\n".join(lines)


class EmailBackend(DjangoConsoleBackend):
    """The console backend, decoded."""

    def write_message(self, message: EmailMessage) -> None:
        self.stream.write(f"{readable(message)}\n{RULE}\n")
