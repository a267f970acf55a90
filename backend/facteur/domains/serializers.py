from __future__ import annotations

from rest_framework import serializers

from facteur.domains.models import Mailbox, MailboxAccess, MailboxKind, MailboxRole, MailDomain


class MailboxSerializer(serializers.ModelSerializer):
    address = serializers.CharField(read_only=True)
    domain = serializers.CharField(source="domain.name", read_only=True)
    aliases = serializers.SerializerMethodField()
    role = serializers.SerializerMethodField()
    unread_count = serializers.IntegerField(read_only=True, default=0)
    total_count = serializers.IntegerField(read_only=True, default=0)
    # Disabled (itself or its domain): no mail in or out; what it holds stays readable.
    is_disabled = serializers.SerializerMethodField()

    class Meta:
        model = Mailbox
        fields = [
            "id",
            "address",
            "domain",
            "local_part",
            "kind",
            "display_name",
            "aliases",
            "managed",
            "is_disabled",
            "role",
            "unread_count",
            "total_count",
        ]
        read_only_fields = fields

    def get_aliases(self, mailbox: Mailbox) -> list[str]:
        return [alias.address for alias in mailbox.aliases.all()]

    def get_is_disabled(self, mailbox: Mailbox) -> bool:
        return not mailbox.accepts_mail

    def get_role(self, mailbox: Mailbox) -> str | None:
        roles = self.context.get("roles")
        return roles.on_mailbox(mailbox.pk) if roles else None


class MailboxCreateSerializer(serializers.Serializer):
    local_part = serializers.CharField(max_length=64)
    kind = serializers.ChoiceField(choices=MailboxKind.choices, default=MailboxKind.PERSONAL)
    display_name = serializers.CharField(max_length=200, required=False, default="")


class MailboxAccessSerializer(serializers.ModelSerializer):
    user_email = serializers.CharField(source="user.email", read_only=True)
    user_name = serializers.CharField(source="user.full_name", read_only=True)

    class Meta:
        model = MailboxAccess
        fields = ["id", "mailbox", "user", "user_email", "user_name", "role", "created_at"]
        read_only_fields = fields


class MailboxAccessCreateSerializer(serializers.Serializer):
    user = serializers.EmailField(help_text="E-mail of an existing user.")
    role = serializers.ChoiceField(choices=MailboxRole.choices)


class MailboxAccessUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=MailboxRole.choices)


class MailDomainSerializer(serializers.ModelSerializer):
    mailbox_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = MailDomain
        fields = ["id", "name", "managed", "is_disabled", "mailbox_count", "created_at"]
        read_only_fields = fields
