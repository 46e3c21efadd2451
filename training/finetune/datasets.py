"""The SFT datasets, by the names LLaMA-Factory reads from ``<DATASET_DIR>/dataset_info.json``.

One list for both sides: the builder (``python -m training.sft``) writes these entries (sharegpt format),
the fine-tuning configs (``configs/*.yaml``) name them; tests check the configs against it.
"""

from __future__ import annotations

# Relative to the project root, as the configs write it; the SageMaker job gets it as its "sft" channel.
DATASET_DIR = "var/sft"

# Training sets: the guide's dialogs (with its API calls), extraction and intent as API-call samples, and the
# customer-service summaries.
DATASETS: tuple[str, ...] = ("guide", "extraction", "intent", "summary")
# Held out from training, for the BLEU-4/ROUGE comparison of the summary model with its base.
EVAL_DATASETS: tuple[str, ...] = ("summary_test",)
