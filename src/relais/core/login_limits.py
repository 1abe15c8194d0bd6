"""Failed logins limited per client network and per account, across the whole site.

django-axes locks one (username, address) pair after ``AXES_FAILURE_LIMIT`` failures; it
does not stop one machine trying a few passwords on many accounts (password spraying),
nor many machines trying one account. On top of it, for every login form (the
professionals' and the admin's):

- a **network** (IPv4 /24, IPv6 /64: :func:`relais.core.network.client_network`) that
  failed ``RELAIS_LOGIN_MAX_FAILURES_PER_NETWORK`` times this hour, whatever the
  accounts, is refused until the hour is over;
- an **account name** that failed ``RELAIS_LOGIN_MAX_FAILURES_PER_ACCOUNT`` times this
  hour, whatever the networks, is refused too — whether or not such an account exists,
  so the answer says nothing about who has an account.

Refused attempts never reach the password check: :class:`LoginLimitBackend` (listed
before Django's ModelBackend) stops authentication, and :class:`LoginLimitMiddleware`
answers 429. Failures are counted from Django's ``user_login_failed`` signal.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from . import ratelimit
from .network import client_network

NETWORK = "login-network"
ACCOUNT = "login-account"
LIMITED = "relais_login_limited"  # request attribute set when an attempt was refused


def account_name(username) -> str:
    return str(username or "").strip().lower()


def login_allowed(network: str, username) -> bool:
    """False once this network or this account name used up its failures for the hour."""
    return not (
        ratelimit.reached(NETWORK, network, settings.RELAIS_LOGIN_MAX_FAILURES_PER_NETWORK)
        or ratelimit.reached(ACCOUNT, account_name(username),
                             settings.RELAIS_LOGIN_MAX_FAILURES_PER_ACCOUNT)
    )


def count_failure(network: str, username) -> None:
    ratelimit.add(NETWORK, network)
    ratelimit.add(ACCOUNT, account_name(username))


class LoginLimitBackend:
    """Authenticates nobody; refuses (PermissionDenied) an attempt past the limits.

    No ``get_user``: sessions are never attributed to this backend.
    """

    def authenticate(self, request, username=None, **credentials):
        if request is None:
            return None
        if not login_allowed(client_network(request), username):
            setattr(request, LIMITED, True)
            raise PermissionDenied("too many failed logins")
        return None


def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    """``user_login_failed`` receiver: count the failure for the network and the account."""
    if request is None:
        return
    count_failure(client_network(request), credentials.get("username"))


class LoginLimitMiddleware:
    """429, the same page whatever the account, for an attempt the backend refused."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, LIMITED, False):
            response = TemplateResponse(request, "core/login_limited.html", status=429)
            response.render()
        return response
