"""The emulator's endpoints: Checkout Sessions (create, retrieve, expire), refunds, and the
hosted checkout page with its "Pagar" and "Cancelar" buttons.

Validation follows Stripe's: the fields we send are required and checked, amounts are
positive integers in the smallest unit, and an Idempotency-Key replays the first answer (or
refuses different parameters under the same key, as Stripe does).
"""

from __future__ import annotations

import html
import time
from typing import Any

from stripe_emulator.events import EventSender, event_json
from stripe_emulator.http import Reply, Request, Route, StripeError, route
from stripe_emulator.store import EmulatorState, charge_json, new_id, session_json

CURRENCIES = ("eur", "usd", "gbp")


class Endpoints:
    """Endpoints over one emulator's state; each method is one route."""

    def __init__(self, state: EmulatorState, sender: EventSender) -> None:
        self.state = state
        self.sender = sender

    def routes(self) -> list[Route]:
        return [
            route("POST", "/v1/checkout/sessions", self.idempotent(self.create_session)),
            route("GET", "/v1/checkout/sessions/{id}", self.get_session),
            route("POST", "/v1/checkout/sessions/{id}/expire", self.expire_session),
            route("POST", "/v1/refunds", self.idempotent(self.create_refund)),
            route("GET", "/checkout/{id}", self.hosted_page, public=True),
            route("POST", "/checkout/{id}/pay", self.pay, public=True),
            route("POST", "/checkout/{id}/cancel", self.cancel, public=True),
        ]

    def idempotent(self, endpoint: Any) -> Any:
        """Replay the first answer given under an Idempotency-Key; refuse other parameters."""

        def replayed(request: Request) -> Reply:
            key = request.headers.get("idempotency-key")
            if not key:
                return endpoint(request)
            with self.state.lock:
                if key in self.state.idempotent:
                    form, status, body = self.state.idempotent[key]
                    if form != request.form:
                        raise StripeError(
                            400,
                            "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with.",
                            kind="idempotency_error",
                        )
                    return Reply(status, body, headers={"Idempotent-Replayed": "true"})
                reply = endpoint(request)
                self.state.idempotent[key] = (request.form, reply.status, reply.body)
                return reply

        return replayed

    def create_session(self, request: Request) -> Reply:
        form = request.form
        for name in ("mode", "success_url", "cancel_url", "line_items"):
            if not form.get(name):
                raise StripeError(400, f"Missing required param: {name}.", param=name)
        if form["mode"] != "payment":
            raise StripeError(400, "This emulator only takes mode=payment.", param="mode")
        amount, currency = _line_items_total(form["line_items"])
        with self.state.lock:
            session = session_json(
                form=form, root=self.state.config.root, amount=amount, currency=currency
            )
            self.state.sessions[session["id"]] = session
        return Reply(200, _public(session))

    def get_session(self, request: Request) -> Reply:
        with self.state.lock:
            return Reply(200, _public(self._session(request.params["id"])))

    def expire_session(self, request: Request) -> Reply:
        with self.state.lock:
            session = self._session(request.params["id"])
            if session["status"] != "open":
                raise StripeError(
                    400,
                    f"Only Checkout Sessions with a status of open can be expired; "
                    f"this one is {session['status']}.",
                )
            session["status"] = "expired"
            self.sender.emit([event_json("checkout.session.expired", _public(session))])
            return Reply(200, _public(session))

    def create_refund(self, request: Request) -> Reply:
        intent = request.form.get("payment_intent")
        with self.state.lock:
            charge = self.state.charges.get(str(intent))
            if charge is None:
                raise StripeError(
                    400, f"No such payment_intent: '{intent}'", param="payment_intent"
                )
            left = charge["amount"] - charge["amount_refunded"]
            if left == 0:
                raise StripeError(
                    400, f"Charge {charge['id']} has already been refunded.",
                    code="charge_already_refunded",
                )  # fmt: skip
            amount = _positive(request.form.get("amount", str(left)), "amount")
            if amount > left:
                raise StripeError(400, "Refund amount is greater than unrefunded amount.")
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] == charge["amount"]
            refund = {
                "id": new_id("re_test"), "object": "refund", "amount": amount,
                "charge": charge["id"], "payment_intent": intent, "currency": charge["currency"],
                "status": "succeeded", "created": int(time.time()),
                "metadata": request.form.get("metadata") or {},
            }  # fmt: skip
            self.state.refunds[refund["id"]] = refund
            self.sender.emit([event_json("charge.refunded", charge)])
        return Reply(200, refund)

    def hosted_page(self, request: Request) -> Reply:
        with self.state.lock:
            session = self._session(request.params["id"])
        return Reply(200, _page(session), content_type="text/html; charset=utf-8")

    def pay(self, request: Request) -> Reply:
        """The buyer pays: the session completes and its events go out."""
        with self.state.lock:
            session = self._session(request.params["id"])
            if session["status"] == "open":
                self._complete(session)
            url = str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session["id"])
        return Reply(303, b"", content_type="text/plain", headers={"Location": url})

    def cancel(self, request: Request) -> Reply:
        """The buyer goes back: as on Stripe, the session stays open until it expires."""
        with self.state.lock:
            session = self._session(request.params["id"])
        url = str(session["cancel_url"])
        return Reply(303, b"", content_type="text/plain", headers={"Location": url})

    def _complete(self, session: dict[str, Any]) -> None:
        session["status"] = "complete"
        session["payment_intent"] = new_id("pi_test")
        charge = charge_json(session)
        self.state.charges[session["payment_intent"]] = charge
        if not self.state.faults.async_payments:
            session["payment_status"] = "paid"
            self.sender.emit([event_json("checkout.session.completed", _public(session))])
            return
        completed = event_json("checkout.session.completed", _public(session))
        if self.state.faults.events_reversed:  # sent after the settlement's own event
            self.state.unsettled.append((session["id"], completed))
        else:
            self.sender.emit([completed])
            self.state.unsettled.append((session["id"], None))

    def settle_payments(self) -> int:
        """The delayed payments (`async_payments`) arrive: sessions paid, events sent."""
        with self.state.lock:
            unsettled, self.state.unsettled = self.state.unsettled, []
            for session_id, held in unsettled:
                session = self.state.sessions[session_id]
                session["payment_status"] = "paid"
                kind = "checkout.session.async_payment_succeeded"
                succeeded = event_json(kind, _public(session))
                self.sender.emit([held, succeeded] if held else [succeeded])
        return len(unsettled)

    def _session(self, session_id: str) -> dict[str, Any]:
        session = self.state.sessions.get(session_id)
        if session is None:
            raise StripeError(
                404, f"No such checkout.session: '{session_id}'", code="resource_missing"
            )
        return session


def _public(session: dict[str, Any]) -> dict[str, Any]:
    """The session as the API shows it (without the emulator's own notes)."""
    return {key: value for key, value in session.items() if key != "line_items_summary"}


def _positive(raw: Any, name: str) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise StripeError(400, f"Invalid integer: {raw}", param=name) from None
    if value <= 0:
        raise StripeError(400, f"Invalid {name}: must be at least 1", param=name)
    return value


def _line_items_total(items: Any) -> tuple[int, str]:
    """The total of `price_data` line items, all in one currency."""
    if not isinstance(items, list) or not items:
        raise StripeError(400, "Invalid array", param="line_items")
    total, currencies = 0, set()
    for index, item in enumerate(items):
        price = item.get("price_data") if isinstance(item, dict) else None
        if not isinstance(price, dict) or not (price.get("product_data") or {}).get("name"):
            raise StripeError(400, "Missing price_data.", param=f"line_items[{index}]")
        currency = str(price.get("currency", "")).lower()
        if currency not in CURRENCIES:
            raise StripeError(400, f"Invalid currency: {currency}", param="currency")
        currencies.add(currency)
        unit = _positive(price.get("unit_amount"), "unit_amount")
        total += unit * _positive(item.get("quantity", "1"), "quantity")
    if len(currencies) > 1:
        raise StripeError(400, "All line items must share one currency.")
    return total, currencies.pop()


def _page(session: dict[str, Any]) -> str:
    """The hosted checkout page: what is bought, for how much, and the two buttons."""
    escape = html.escape
    lines = "".join(f"<li>{escape(line)}</li>" for line in session["line_items_summary"])
    amount = f"{session['amount_total'] / 100:.2f} {session['currency'].upper()}"
    if session["status"] != "open":
        state = escape(session["status"])
        body = f"<p id='closed'>Esta sesión de pago ya está cerrada ({state}).</p>"
    else:
        sid = escape(session["id"])
        body = (
            f"<form method='post' action='/checkout/{sid}/pay'>"
            "<button id='pay' type='submit'>Pagar</button></form>"
            f"<form method='post' action='/checkout/{sid}/cancel'>"
            "<button id='cancel' type='submit'>Cancelar</button></form>"
        )
    return (
        "<!DOCTYPE html><html lang='es'><head><meta charset='utf-8'>"
        "<title>Pago (emulador de Stripe)</title></head><body>"
        "<p><strong>Emulador de Stripe</strong>: no se cobra nada.</p>"
        f"<ul>{lines}</ul><p id='amount'>{escape(amount)}</p>"
        f"<p>{escape(str(session.get('customer_email') or ''))}</p>{body}</body></html>"
    )
