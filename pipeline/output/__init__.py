"""The output stage: an output folder's files (atomic writes, names, quarantine), its catalogue, the one
recovery after a killed run, and `doctor`. `OutputFolder` (pipeline.output.folder) saves an image."""
