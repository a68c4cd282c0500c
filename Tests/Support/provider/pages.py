"""HTML pages of the test provider (sign-in forms a person, or tests/support's Person, fill in).
Rendered with Jinja autoescaping; they never echo a password or a TOTP code back."""

from flask import render_template_string

_LAYOUT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }} - Latchkey test provider</title>
<style>body{font-family:sans-serif;max-width:32em;margin:3em auto}label{display:block;margin:.6em 0}
.error{color:#a00}</style></head>
<body><h1>{{ title }}</h1>
{% if message %}<p class="{{ 'error' if error else 'info' }}" id="message">{{ message }}</p>{% endif %}
{% if result %}<p id="result" data-result="{{ result }}">{{ result_text }}</p>{% endif %}
{{ body|safe }}
</body></html>"""

_SIGNIN_FIELDS = """
<label>Username <input name="username" autocomplete="username" value="{{ login_hint }}"></label>
<label>Password <input type="password" name="password" autocomplete="current-password"></label>
<label>Authenticator code <input name="totp" inputmode="numeric" autocomplete="one-time-code"></label>
<button type="submit" name="action" value="approve">Approve</button>
<button type="submit" name="action" value="deny">Deny</button>
"""

_DEVICE_FORM = """<form method="post" action="/device">
<p>Enter the code shown on your device, then sign in to approve it.</p>
<label>Code <input name="user_code" value="{{ user_code }}" autocomplete="off"></label>
""" + _SIGNIN_FIELDS + "</form>"

_AUTHORIZE_FORM = """<form method="post" action="/authorize">
<p>{{ client_id }} asks for access: {{ scope }}</p>
{% for name, value in hidden %}<input type="hidden" name="{{ name }}" value="{{ value }}">
{% endfor %}""" + _SIGNIN_FIELDS + "</form>"


def page(title, body_template="", status=200, message=None, error=False, result=None,
         result_text=None, **context):
    body = render_template_string(body_template, **context) if body_template else ""
    html = render_template_string(_LAYOUT, title=title, body=body, message=message, error=error,
                                  result=result, result_text=result_text)
    return html, status, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}


def device_form(user_code="", status=200, message=None, error=False, login_hint=""):
    return page("Sign in to connect a device", _DEVICE_FORM, status=status, message=message,
                error=error, user_code=user_code, login_hint=login_hint)


def authorize_form(hidden, client_id, scope, status=200, message=None, error=False,
                   login_hint=""):
    return page("Sign in", _AUTHORIZE_FORM, status=status, message=message, error=error,
                hidden=hidden, client_id=client_id, scope=scope, login_hint=login_hint)


def result_page(title, result, text, status=200):
    return page(title, status=status, result=result, result_text=text)


def error_page(title, text, status):
    return page(title, status=status, message=text, error=True)


def fault_html(status):
    body = ("<!DOCTYPE html><html><head><title>Service unavailable</title></head><body>"
            f"<h1>Error {status}</h1><p>The service is temporarily unavailable. "
            "Please try again later.</p></body></html>")
    return body


def sign_in_html():
    """What a sign-in portal in front of Autodiscover answers instead of JSON or XML."""
    return ("<!DOCTYPE html><html><head><title>Sign in</title></head><body><h1>Sign in</h1>"
            "<p>Sign in with your work or school account to continue.</p></body></html>")
