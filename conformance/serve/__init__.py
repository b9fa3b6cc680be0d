"""The serve side, used by the serving addon: matching live requests to recorded interactions."""
