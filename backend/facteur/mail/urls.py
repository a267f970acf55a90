from django.urls import path

from facteur.mail import apis

urlpatterns = [
    path("threads/", apis.ThreadListApi.as_view(), name="threads-list"),
    path("threads/<uuid:thread_id>/", apis.ThreadDetailApi.as_view(), name="threads-detail"),
    path(
        "threads/<uuid:thread_id>/messages/",
        apis.ThreadMessagesApi.as_view(),
        name="threads-messages",
    ),
    path(
        "threads/<uuid:thread_id>/accesses/",
        apis.ThreadAccessListApi.as_view(),
        name="threads-accesses",
    ),
    path(
        "threads/<uuid:thread_id>/accesses/<uuid:access_id>/",
        apis.ThreadAccessDetailApi.as_view(),
        name="threads-accesses-detail",
    ),
    path("messages/<uuid:message_id>/", apis.MessageDetailApi.as_view(), name="messages-detail"),
    path("messages/<uuid:message_id>/raw/", apis.MessageRawApi.as_view(), name="messages-raw"),
    path(
        "messages/<uuid:message_id>/cancel-send/",
        apis.MessageCancelSendApi.as_view(),
        name="messages-cancel-send",
    ),
    path(
        "messages/<uuid:message_id>/retry-send/",
        apis.MessageRetrySendApi.as_view(),
        name="messages-retry-send",
    ),
    path("outbox/", apis.OutboxApi.as_view(), name="outbox"),
    path("flags/", apis.FlagsApi.as_view(), name="flags"),
    path("labels/", apis.LabelListApi.as_view(), name="labels-list"),
    path("labels/<uuid:label_id>/", apis.LabelDetailApi.as_view(), name="labels-detail"),
    path("labels/<uuid:label_id>/threads/", apis.LabelThreadsApi.as_view(), name="labels-threads"),
    path(
        "labels/<uuid:label_id>/threads/remove/",
        apis.LabelThreadsRemoveApi.as_view(),
        name="labels-threads-remove",
    ),
    path("contacts/", apis.ContactListApi.as_view(), name="contacts-list"),
    path("drafts/", apis.DraftListApi.as_view(), name="drafts-list"),
    path("drafts/<uuid:draft_id>/", apis.DraftDetailApi.as_view(), name="drafts-detail"),
    path("drafts/<uuid:draft_id>/send/", apis.DraftSendApi.as_view(), name="drafts-send"),
]
