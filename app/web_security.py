"""What every response carries and every request is held to: security headers (CSP with a
nonce, no framing, no sniffing, referrer policy, HSTS in production), a request size limit,
CSRF on the REST API when it is used with the browser's cookie, no FAB route Ruxue does not use."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface

from app.extensions import csrf, talisman


def _store_origins(config: dict) -> list[str]:
    """Where the browser may load a previewed upload from: S3's presigned links leave the site."""
    if config.get("STORAGE_BACKEND") != "s3":
        return []
    endpoint = config.get("S3_ENDPOINT_URL")
    if endpoint:
        parts = urlsplit(endpoint)
        return [f"{parts.scheme}://{parts.netloc}", f"{parts.scheme}://*.{parts.netloc}"]
    return ["https://*.amazonaws.com"]


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed session cookie, its serializer built once per key instead of on every
    request (open and save each built one: a noticeable share of a parent's cheap request)."""

    def __init__(self):
        self._kept = (None, None)

    def get_signing_serializer(self, app: Flask):
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if self._kept[0] != keys:  # a key changed (tests, rotation): build again
            self._kept = (keys, super().get_signing_serializer(app))
        return self._kept[1]


def secure(app: Flask) -> None:
    app.session_interface = SessionCookies()
    production = app.config["RUXUE_ENV"] == "production"
    stores = _store_origins(app.config)
    policy = {
        "default-src": "'self'",
        "script-src": "'self'",  # plus this response's nonce: the only inline scripts that run
        "style-src": ["'self'", "'unsafe-inline'"],  # style attributes only, never script
        "img-src": ["'self'", "data:", *stores],
        "object-src": ["'self'", *stores],  # PDF previews
        "frame-src": ["'self'", *stores],
        "font-src": ["'self'", "data:"],
        "connect-src": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
        "base-uri": "'self'",
    }
    talisman.init_app(
        app,
        force_https=False,  # nginx redirects to HTTPS; the app behind it speaks plain HTTP
        strict_transport_security=production,
        strict_transport_security_max_age=31_536_000,
        content_security_policy=policy,
        content_security_policy_nonce_in=["script-src"],
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",  # same-origin forms keep their Referer (CSRF over HTTPS)
        session_cookie_secure=production,
        session_cookie_http_only=True,
        force_file_save=False,
    )
    app.before_request(_api_state_changes_need_a_token)


def _api_state_changes_need_a_token():
    """The REST API with the browser's session cookie changes nothing without the CSRF token;
    with a bearer token (JWT) it is not a browser and needs none."""
    if not request.path.startswith("/api/") or request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    if request.headers.get("Authorization", "").lower().startswith("bearer "):
        return None
    if request.path.rstrip("/").endswith("/security/login"):
        return None
    csrf.protect()
    return None
