"""The Kubernetes operator (kopf) for MailDomain and Mailbox resources (docs/operator.md).

``specs``, ``dkim``, ``dns`` and ``conditions`` are pure: a resource's spec in, the
objects and status it should have out. ``kube`` and ``backend`` talk to the Kubernetes
API and to the backend's internal API; ``handlers`` wires them into kopf.
"""
