"""The record side, used by the recorder addon and ``conformance record``: turning an HTTP exchange into a
redacted interaction, and running mitmdump with an addon. It never imports the replay side."""
