"""Content-Security-Policy: only our own scripts and styles (Bootstrap and htmx are served locally)."""

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

DEFAULT_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = getattr(settings, "CONTENT_SECURITY_POLICY", DEFAULT_CSP)

    def __call__(self, request):
        response = self.get_response(request)
        # The OpenAPI page loads its own inline bootstrap; it is staff documentation, not personal data.
        if not request.path.startswith("/api/docs"):
            response.headers.setdefault("Content-Security-Policy", self.policy)
        return response


class DefaultLanguageMiddleware(LocaleMiddleware):
    """Chinese unless the user chose otherwise (the language switch sets a cookie).

    Django's LocaleMiddleware would follow the browser's Accept-Language, so an officer on an
    English-language system would get English screens; the bureau's default is Chinese.
    """

    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _name in settings.LANGUAGES}
        translation.activate(chosen if chosen in supported else settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = translation.get_language()
