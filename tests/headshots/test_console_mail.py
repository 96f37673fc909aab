"""`make run` prints e-mail a person can read: the code in plain sight, accents intact."""

from __future__ import annotations

import io

from django.core.mail import EmailMultiAlternatives

from lib.console_mail import EmailBackend


def test_it_prints_the_body_decoded_not_quoted_printable() -> None:
    stream = io.StringIO()
    message = EmailMultiAlternatives(
        subject="Tu código para entrar",
        body="Tu código es: ABC-123\nÚsalo en la página, caduca pronto.",
        from_email="Headshots <hola@headshots.local>",
        to=["dora@example.com"],
    )
    message.attach_alternative("<p>Tu código es: <b>ABC-123</b></p>", "text/html")

    sent = EmailBackend(stream=stream).send_messages([message])

    printed = stream.getvalue()
    assert sent == 1
    assert "Subject: Tu código para entrar" in printed
    assert "Tu código es: ABC-123\nÚsalo en la página" in printed
    assert "=C3" not in printed
    assert "base64" not in printed
    assert "To: dora@example.com" in printed
    assert "[text/html version not shown]" in printed
