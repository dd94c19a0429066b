from django.urls import path

from doudi.payments import views

app_name = "payments"
urlpatterns = [
    path("accounts/pending/", views.account_queue, name="account_queue"),
    path("accounts/<int:pk>/approve/", views.account_approve, name="account_approve"),
    path("accounts/<int:pk>/reject/", views.account_reject, name="account_reject"),
    path("persons/<int:person_pk>/account/", views.account_propose, name="account_propose"),
]
