"""The reference suite: its scenarios (driven through the stripe SDK), re-capturing them, localstripe as a
local target, and the demo."""
