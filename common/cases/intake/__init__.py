"""Intake (申请、补齐补正、受理、不予受理、送达、撤回): filing a case and what the window does
with it until it is accepted, and again when the result is delivered."""
