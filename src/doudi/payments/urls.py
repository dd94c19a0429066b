from django.urls import path

from doudi.payments import views

app_name = "payments"
urlpatterns = [
    path("accounts/pending/", views.account_queue, name="account_queue"),
    path("accounts/<int:pk>/approve/", views.account_approve, name="account_approve"),
    path("accounts/<int:pk>/reject/", views.account_reject, name="account_reject"),
    path("persons/<int:person_pk>/account/", views.account_propose, name="account_propose"),
    path("payroll/", views.payroll_runs, name="payroll_runs"),
    path("payroll/<int:pk>/", views.payroll_run, name="payroll_run"),
    path("payroll/<int:pk>/progress/", views.payroll_progress, name="payroll_progress"),
    path("payroll/<int:pk>/lines/", views.payroll_lines, name="payroll_lines"),
    path("payroll/<int:pk>/files/", views.issue_files, name="issue_files"),
    path("payroll/arrears/", views.arrears_create, name="arrears_create"),
    path("payroll/<int:pk>/reductions/", views.arrears_reductions, name="arrears_reductions"),
    path("payroll/batches/<int:pk>/sign/", views.batch_sign, name="batch_sign"),
    path("payroll/files/<int:pk>/", views.bank_file_download, name="bank_file_download"),
    path("payroll/files/<int:pk>/return/", views.return_upload, name="return_upload"),
    path("banks/", views.bank_list, name="bank_list"),
    path("banks/new/", views.bank_edit, name="bank_new"),
    path("banks/<int:pk>/", views.bank_edit, name="bank_edit"),
]
