"""Offline tooling of the local CPU engines: training them, building their artefacts, evaluating, measuring.

The engines themselves, what the services run, are ``shared.engines``; no service imports this package.
Training: ``train_intent``, ``train_extraction``, ``fit``, ``data`` (``augment`` for a distillation study).
Artefacts: ``python -m training.build`` (``make models``). Evaluation: ``python -m training.harness`` (``make eval``:
JSON and an HTML report, in-process or over HTTP), the text reports ``python -m training.evaluate`` (evaluations in
``registry``), and ``python -m training.bench`` (``make bench``).
"""
