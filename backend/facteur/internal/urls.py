from django.urls import path

from facteur.internal import apis, operator_apis

urlpatterns = [
    # ``path`` converter: an address may hold characters a ``str`` segment refuses.
    path("mta/recipients/<path:address>/", apis.MtaRecipientApi.as_view(), name="mta-recipient"),
    path(
        "operator/domains/<str:name>/",
        operator_apis.OperatorDomainApi.as_view(),
        name="operator-domain",
    ),
    path(
        "operator/domains/<str:name>/dkim/",
        operator_apis.OperatorDkimKeyApi.as_view(),
        name="operator-dkim-key",
    ),
    path(
        "operator/mailboxes/",
        operator_apis.OperatorMailboxBatchApi.as_view(),
        name="operator-mailboxes",
    ),
    path(
        "operator/mailboxes/<path:address>/",
        operator_apis.OperatorMailboxApi.as_view(),
        name="operator-mailbox",
    ),
]
