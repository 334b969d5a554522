"""Tests of the screening engine (bot.screening) and its rules file."""
