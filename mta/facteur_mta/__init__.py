"""Python helpers of the Postfix MTAs: the recipient policy service and the config renderer.

This package never imports Django: it talks to the backend over its internal HTTP API.
"""
