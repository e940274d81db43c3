"""closer-look: a reproducible companion to Zhou & Srikumar (ACL 2022), "A Closer Look at How Fine-tuning
Changes BERT".

The pipeline, one module per stage:
    data -> representations -> finetune -> probes (mlp, directprobe) -> geometry -> plots
"""
__version__ = "0.1.0"
