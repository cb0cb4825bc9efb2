"""Synthetic Chinese microdrama episodes with ground truth (`localize sample`)."""

from localize.sample.generator import DEFAULT_SCRIPT, SampleEpisode, generate_sample
from localize.sample.script import Character, Line, Script, load_script, parse_script

__all__ = ["DEFAULT_SCRIPT", "SampleEpisode", "generate_sample", "Character", "Line", "Script", "load_script",
           "parse_script"]
