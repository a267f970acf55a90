from django.contrib import admin

from facteur.domains.models import Mailbox, MailboxAccess, MailboxAlias, MailDomain, MailDomainAdmin


class MailDomainAdminInline(admin.TabularInline):
    model = MailDomainAdmin
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(MailDomain)
class MailDomainModelAdmin(admin.ModelAdmin):
    list_display = ["name", "managed", "created_at"]
    list_filter = ["managed"]
    search_fields = ["name"]
    inlines = [MailDomainAdminInline]


class MailboxAccessInline(admin.TabularInline):
    model = MailboxAccess
    extra = 0
    autocomplete_fields = ["user"]


class MailboxAliasInline(admin.TabularInline):
    model = MailboxAlias
    fk_name = "mailbox"
    extra = 0


@admin.register(Mailbox)
class MailboxModelAdmin(admin.ModelAdmin):
    list_display = ["__str__", "kind", "display_name", "managed", "created_at"]
    list_filter = ["kind", "managed", "domain"]
    search_fields = ["local_part", "domain__name", "display_name"]
    list_select_related = ["domain"]
    inlines = [MailboxAliasInline, MailboxAccessInline]
