"""The web app's extension singletons (sign-in, CSRF, rate limits), created unbound;
``webapp.factory.create_app`` binds them. Kept apart from ``extensions`` so the worker and the
``flask`` command, which serve no requests, never import them."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
