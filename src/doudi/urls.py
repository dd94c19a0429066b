from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include("doudi.api.urls")),
    path("console/regions/", include("doudi.regions.urls")),
    path("console/parameters/", include("doudi.parameters.urls")),
    path("console/registry/", include("doudi.registry.urls")),
    path("console/verification/", include("doudi.verification.urls")),
    path("console/cases/", include("doudi.intake.urls")),
    path("console/benefits/", include("doudi.benefits.urls")),
    path("console/payments/", include("doudi.payments.urls")),
    path("console/care/", include("doudi.care.urls")),
    path("console/rescue/", include("doudi.rescue.urls")),
    path("console/volunteers/", include("doudi.volunteers.urls")),
    path("console/reports/", include("doudi.reports.urls")),
    path("console/supervision/", include("doudi.supervision.urls")),
    path("console/discovery/", include("doudi.discovery.urls")),
    path("console/", include("doudi.console.urls")),
    path("hotlines/", include("doudi.regions.public_urls")),
    path("gongshi/", include("doudi.disclosure.urls")),
    path("", include("doudi.portal.urls")),
]
