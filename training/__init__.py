"""The local CPU engines of the NLU services and how they are built, evaluated and measured.

Runtime (loaded by services/intent and services/extraction): ``intent_model``, ``extraction_model``,
``scene`` and what they read with (``encoder``, ``lexicon``, ``patterns``, ``slots``, ``linear``).
Build: ``python -m training.build`` (``make models``). Reports: ``python -m training.evaluate``
(``make eval``, evaluations in ``registry``) and ``python -m training.bench`` (``make bench``).
"""
