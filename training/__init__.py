"""The local CPU engines of the NLU services and how they are built, evaluated and measured.

Runtime (loaded by services/intent and services/extraction): ``intent_model``, ``extraction_model``;
what they read with (encoder, term lexicons, patterns, slots, scene, linear softmax) is in ``shared.engines``.
Build: ``python -m training.build`` (``make models``). Reports: ``python -m training.evaluate``
(``make eval``, evaluations in ``registry``) and ``python -m training.bench`` (``make bench``).
"""
