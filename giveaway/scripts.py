"""The words the browser scripts show, in the reader's language.

Scripts carry no sentence of their own: base.html renders these messages,
translated, into `<script type="application/json" id="script-messages">`
(the CSP allows a data block, not inline code), and static/js/webauthn.js,
copy.js and tables.js read them from there. One place, so a translator finds
every sentence a script can show in the catalog like any other.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup


def webauthn() -> dict[str, str]:
    """The security key ceremony (static/js/webauthn.js): states and the browser's refusals."""
    touch = _("Touch your security key now (it may blink).")
    return {
        "unsupported": _(
            "This browser cannot use security keys. Please use a current version of Firefox, "
            "Chrome, Edge or Safari with JavaScript turned on."
        ),
        "cancelled": _(
            "The security key request was cancelled. Insert your key, click the button again "
            "and touch the key."
        ),
        "timedOut": _(
            "The security key request timed out: no key was touched in time. Insert your key, "
            "click the button again and touch the key."
        ),
        # At sign-in the browser lists only this account's keys; another key
        # cannot answer, and the browser reports that as it reports a cancel.
        "notRegistered": _(
            "No key registered to this account answered. If you touched a key, it is not "
            "registered to this account: try another of your keys, or use a recovery code. "
            "If you cancelled, click the button again."
        ),
        "duplicate": _("This security key is already registered to your account. Use another key."),
        "security": _(
            "The browser refused the request for this site's address. "
            "Open the portal at its usual address."
        ),
        "network": _("The portal could not be reached. Check your connection and try again."),
        "label": _("Give the key a name first, so you can tell your keys apart."),
        "labelLong": _("Use at most %(count)s characters for the name.", count=64),
        "giveUp": _(
            "Claim your free keys first, or tick the box to confirm that you give them up."
        ),
        # Only when a 429 answer has no words of its own (the server's JSON says how long).
        "tooMany": _(
            "You have tried this too often in a short time. Please wait a little and try again."
        ),
        "waitingCreate": touch,
        "waitingGet": touch,
        "checking": _("Checking…"),
        "preparing": _("Getting ready…"),
        "done": _("Done."),
        "ready": "",
    }


def copy() -> dict[str, str]:
    """The copy buttons (static/js/copy.js)."""
    return {
        "copied": _("Copied to the clipboard."),
        "selected": _("Selected: press Ctrl+C (or ⌘C) to copy."),
    }


def tables() -> dict[str, str]:
    """The cue above a table wider than the screen (static/js/tables.js)."""
    return {
        "scrollCue": _(
            "This table is wider than the screen: scroll it sideways to see every column →"
        ),
    }


def messages() -> dict[str, dict[str, str]]:
    """Every script's messages, by script: what base.html renders for them."""
    return {"webauthn": webauthn(), "copy": copy(), "tables": tables()}


def block() -> Markup:
    """`messages()` as the JSON of base.html's data block, in the reader's language.

    Every page carries it, and its words only change with the language: worded
    and serialised once per locale and app (a third of a millisecond a page
    otherwise, on the launch's path)."""
    made: dict[str, Markup] = current_app.extensions.setdefault("script_messages", {})
    locale = str(get_locale())
    if locale not in made:
        made[locale] = htmlsafe_json_dumps(messages(), ensure_ascii=False)
    return made[locale]
