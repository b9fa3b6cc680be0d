"""mitmproxy addons of card-conformance: what runs inside mitmproxy.

Load one with ``mitmdump -s proxy/recorder.py`` (or through ``conformance record``).
"""
