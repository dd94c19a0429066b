from django.urls import path

from doudi.intake import views

app_name = "intake"
urlpatterns = [
    path("", views.case_list, name="list"),
    path("bulk/", views.case_bulk, name="bulk"),
    path("export/", views.case_export, name="export"),
    path("new/", views.case_new, name="new"),
    path("new/change-report/", views.change_report_new, name="new_change_report"),
    path("<int:pk>/", views.case_detail, name="case"),
    path("<int:pk>/act/<slug:action>/", views.case_act, name="act"),
    path("<int:pk>/comment/", views.case_comment, name="comment"),
    path("<int:pk>/attach/", views.case_attach, name="attach"),
    path("<int:pk>/assign/", views.case_assign, name="assign"),
    path("<int:pk>/identify/", views.case_identify, name="identify"),
    path("<int:pk>/transfer/", views.case_transfer, name="transfer"),
    path("<int:pk>/refer/", views.case_refer, name="refer"),
    path("<int:pk>/notice/<int:seq>/", views.notice, name="notice"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
    path("handoffs/", views.transfers, name="transfers"),
    path("transfers/<int:pk>/accept/", views.transfer_accept, name="transfer_accept"),
    path("transfers/<int:pk>/return/", views.transfer_return, name="transfer_return"),
    path("transfers/<int:pk>/withdraw/", views.transfer_withdraw, name="transfer_withdraw"),
    path("referrals/<int:pk>/ack/", views.referral_ack, name="referral_ack"),
    path("referrals/<int:pk>/answer/", views.referral_answer, name="referral_answer"),
    path("covid/", views.covid, name="covid"),
    path("covid/import/", views.covid_import, name="covid_import"),
    path("covid/<int:pk>/void/", views.covid_void, name="covid_void"),
    path("coverage/", views.coverage, name="coverage"),
    path("coverage/export/", views.coverage_export, name="coverage_export"),
    path("holidays/", views.holiday_years, name="holidays"),
]
