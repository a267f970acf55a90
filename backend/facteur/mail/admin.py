"""Staff views of the mail store: for support and inspection, read-only where it matters."""

from django.contrib import admin

from facteur.mail.models import Label, Message, Thread


@admin.register(Thread)
class ThreadModelAdmin(admin.ModelAdmin):
    list_display = ["subject", "mailbox", "message_count", "last_activity_at"]
    list_select_related = ["mailbox__domain"]
    search_fields = ["subject"]
    readonly_fields = [f.name for f in Thread._meta.fields]
    show_full_result_count = False


@admin.register(Message)
class MessageModelAdmin(admin.ModelAdmin):
    list_display = ["subject", "sender_email", "mailbox", "received_at", "is_malformed"]
    list_filter = ["is_malformed", "is_draft", "is_spam", "is_trashed"]
    list_select_related = ["mailbox__domain"]
    search_fields = ["subject", "sender_email", "mime_id"]
    # Bodies are never shown here: staff inspect structure, not content.
    exclude = ["text_body", "html_body", "headers"]
    readonly_fields = [
        f.name for f in Message._meta.fields if f.name not in {"text_body", "html_body", "headers"}
    ]
    show_full_result_count = False


@admin.register(Label)
class LabelModelAdmin(admin.ModelAdmin):
    list_display = ["name", "mailbox", "color"]
    search_fields = ["name"]
