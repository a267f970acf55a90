from django.urls import path

from facteur.domains import apis

urlpatterns = [
    path("mailboxes/", apis.MailboxListApi.as_view(), name="mailboxes-list"),
    path("mailboxes/<uuid:mailbox_id>/", apis.MailboxDetailApi.as_view(), name="mailboxes-detail"),
    path(
        "mailboxes/<uuid:mailbox_id>/accesses/",
        apis.MailboxAccessListApi.as_view(),
        name="mailboxes-accesses",
    ),
    path(
        "mailboxes/<uuid:mailbox_id>/accesses/<uuid:access_id>/",
        apis.MailboxAccessDetailApi.as_view(),
        name="mailboxes-accesses-detail",
    ),
    path("maildomains/", apis.MailDomainListApi.as_view(), name="maildomains-list"),
    path(
        "maildomains/<uuid:domain_id>/",
        apis.MailDomainDetailApi.as_view(),
        name="maildomains-detail",
    ),
    path(
        "maildomains/<uuid:domain_id>/mailboxes/",
        apis.MailDomainMailboxesApi.as_view(),
        name="maildomains-mailboxes",
    ),
]
