"""The local CPU engines' inference: they load artefacts that ``training`` built (``make models``), never train.

One module per engine or per piece the engines share (encoder, lexicons, patterns, slots, scene). Services
import them from here; ``training`` imports them too, to build and evaluate the artefacts they load.
"""
