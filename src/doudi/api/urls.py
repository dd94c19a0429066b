from functools import partial

from django.urls import path
from ninja.openapi.views import openapi_view

from doudi.api.api import api

# No app_name here: the API's own namespace is "api" (reverse("api:openapi-json")).
urlpatterns = [
    path("v1/", api.urls),
    path("docs", partial(openapi_view, api=api), name="api-docs"),
]
