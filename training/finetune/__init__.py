"""Fine-tuning the platform's LLMs with LLaMA-Factory, and serving them with vLLM: configs and launchers.

Offline tooling like the rest of ``training``; nothing here runs in a service, and nothing here imports
torch or LLaMA-Factory (they run where the GPUs are), except the CPU fine-tune below, which needs the
``finetune`` extra.

- ``configs/``: LLaMA-Factory YAML (the guide's full fine-tune of Llama-2-13b-chat with DeepSpeed ZeRO-3
  offload, a LoRA variant on the pool's base model, the summary model and its BLEU/ROUGE prediction run, the
  LoRA merge), and ``vllm_serving.yaml``, what the GPU pool serves (``serving``).
- ``deepspeed/``: ZeRO-3 with parameter and optimizer offload to CPU; ZeRO-2.
- ``datasets``: the SFT dataset names shared with the builder (``python -m training.sft``).
- ``python -m training.finetune local|sagemaker|serve-args`` (``__main__``): ``local`` runs
  ``llamafactory-cli`` here, ``sagemaker`` submits a training job through boto3 (``sagemaker``), whose
  container runs ``container/entry.py``.
- ``make finetune-cpu``: a real LoRA fine-tune of SmolLM2-135M on the CPU (``cpu``, its data ``cpu_data``),
  served by a transformers-backed OpenAI-compatible server (``serve``) and scored on extraction (``score``);
  ``check`` tests that torch code on a tiny random model.
"""
